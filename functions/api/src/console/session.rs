//! Console sessions: a stateless, signed token in an HttpOnly cookie.
//!
//! The token names the tenant and who signed in: the public id of an admin key (the first
//! 16 hex digits of its hash, useless for finding the key), or an admin member who signed
//! in through the team's IM (the member and the integration they signed in through); an
//! expiry and a nonce, signed with the console's session key ([`super::signing`]). No key
//! is ever put in the cookie or a page. Every request re-reads who signed in: a revoked
//! key, a deleted, demoted or unlinked member signs their sessions out.

use super::dispatch::Api;
use super::flash::{self, Flash};
use super::layout;
use super::signing::{self, Keys};
use crate::extract::Caller;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use warroom_core::{IntegrationId, KeyScope, MemberId, MemberRole, TenantId, Timestamp};
use warroom_http::AppState;

pub const COOKIE: &str = "warroom_console";
/// How long a session lasts from sign-in.
pub const LIFETIME_SECS: i64 = 12 * 3600;
const VERSION: &str = "v1";

/// A signed-in admin: who they act as, and what the forms need.
pub struct Session {
    pub caller: Caller,
    /// Who signed in.
    pub principal: Principal,
    /// The cookie's token (forms carry a token bound to it).
    pub token: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// The API, called as this session's caller.
    pub api: Api,
    pub keys: Keys,
    /// What the last form did, carried over its redirect ([`flash`]).
    pub flash: Option<Flash>,
    /// Whether cookies are set `Secure` (served over HTTPS).
    pub secure: bool,
}

impl Session {
    /// The public id of the admin key that signed in ("" for a member's session).
    pub fn key_id(&self) -> &str {
        match &self.principal {
            Principal::Key(id) => id,
            Principal::Member { .. } => "",
        }
    }
}

/// Who a session belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// An admin API key, by its public id.
    Key(String),
    /// An admin member who signed in through an integration's IM sign-in.
    Member { member: MemberId, integration: IntegrationId },
}

impl Principal {
    /// The token's field: a key id is lowercase hex, so a member's `m_…` never reads as one.
    fn encode(&self) -> String {
        match self {
            Principal::Key(id) => id.clone(),
            Principal::Member { member, integration } => format!("m_{}_{}", hex::encode(member.as_str()), hex::encode(integration.as_str())),
        }
    }

    fn decode(field: &str) -> Option<Self> {
        let Some(rest) = field.strip_prefix("m_") else {
            return (!field.is_empty() && field.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Principal::Key(field.to_owned()));
        };
        let (member, integration) = rest.split_once('_')?;
        let text = |h: &str| hex::decode(h).ok().and_then(|b| String::from_utf8(b).ok()).filter(|s| !s.is_empty());
        Some(Principal::Member { member: MemberId::new(text(member)?), integration: IntegrationId::new(text(integration)?) })
    }
}

/// The parts of a verified token.
#[derive(Debug, PartialEq, Eq)]
pub struct Claims {
    pub tenant: TenantId,
    pub principal: Principal,
    pub expires: i64,
}

/// A new token for `principal` of `tenant`, valid for [`LIFETIME_SECS`] from `now`.
pub fn issue(keys: &Keys, tenant: &TenantId, principal: &Principal, now: Timestamp) -> String {
    let expires = now.0 / 1000 + LIFETIME_SECS;
    let payload = format!("{VERSION}.{}.{}.{expires}.{}", hex::encode(tenant.as_str()), principal.encode(), warroom_core::ids::random_suffix());
    let signature = keys.sign_session(&payload);
    format!("{payload}.{signature}")
}

/// The claims of a well-signed, unexpired token.
pub fn verify(keys: &Keys, token: &str, now: Timestamp) -> Option<Claims> {
    let (payload, signature) = token.rsplit_once('.')?;
    if !keys.verify_session(payload, signature) {
        return None;
    }
    let mut parts = payload.split('.');
    let (version, tenant, principal, expires) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let expires: i64 = expires.parse().ok()?;
    if version != VERSION || expires <= now.0 / 1000 {
        return None;
    }
    let tenant = String::from_utf8(hex::decode(tenant).ok()?).ok()?;
    Some(Claims { tenant: TenantId::from(tenant.as_str()), principal: Principal::decode(principal)?, expires })
}

/// The session cookie's value in the request, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// A cookie's value in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
}

pub(crate) fn secure(state: &AppState) -> &'static str {
    // Over plain HTTP (warroom-local) a Secure cookie would never come back.
    if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(state: &AppState, token: &str) -> HeaderValue {
    let value = format!("{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={LIFETIME_SECS}{}", secure(state));
    HeaderValue::from_str(&value).expect("a token is ASCII without separators")
}

/// `Set-Cookie` that removes the session.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    let value = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}", secure(state));
    HeaderValue::from_str(&value).expect("ASCII")
}

/// Why there is no session: back to the sign-in page (clearing a stale cookie), or a
/// failure page when the store could not be read.
pub enum NoSession {
    SignIn { had_cookie: bool },
    Unavailable,
}

impl NoSession {
    pub fn into_response(self, state: &AppState) -> Response {
        match self {
            NoSession::SignIn { had_cookie } => {
                let to = if had_cookie { "/console/?expired=1" } else { "/console/" };
                let mut response = Redirect::to(to).into_response();
                *response.status_mut() = StatusCode::SEE_OTHER;
                if had_cookie {
                    response.headers_mut().insert(header::SET_COOKIE, clear_cookie(state));
                }
                response
            }
            NoSession::Unavailable => layout::failure_page(StatusCode::SERVICE_UNAVAILABLE, "The console is briefly unavailable; try again shortly."),
        }
    }
}

/// The session of a request, verified against the store.
pub async fn load(state: &AppState, headers: &HeaderMap) -> Result<Session, NoSession> {
    let Some(token) = cookie_token(headers).filter(|t| !t.is_empty()) else { return Err(NoSession::SignIn { had_cookie: false }) };
    let signed_out = NoSession::SignIn { had_cookie: true };
    let keys = match signing::keys(state).await {
        Ok(keys) => keys,
        Err(e) => {
            tracing::warn!(error = %e, "console keys unavailable");
            return Err(NoSession::Unavailable);
        }
    };
    let Some(claims) = verify(&keys, &token, state.clock().now()) else { return Err(signed_out) };
    let caller = match caller(state, &claims).await {
        Ok(Some(caller)) => caller,
        Ok(None) => return Err(signed_out),
        Err(e) => {
            tracing::warn!(error = %e, "console session check failed");
            return Err(NoSession::Unavailable);
        }
    };
    let csrf = keys.csrf_for(&token);
    let api = Api::new(state, caller.clone());
    let flash = flash::read(state, headers, &token);
    Ok(Session { caller, principal: claims.principal, token, csrf, api, keys, flash, secure: !secure(state).is_empty() })
}

/// Who the session acts as, read again from the store: `None` when the key was revoked (or
/// is no admin key), or the member was deleted, demoted or unlinked from the integration
/// they signed in through.
async fn caller(state: &AppState, claims: &Claims) -> Result<Option<Caller>, warroom_core::StoreError> {
    let store = state.store();
    match &claims.principal {
        Principal::Key(key_id) => {
            let records = store.list_api_keys(&claims.tenant).await?;
            let record = records.into_iter().find(|r| crate::keys::key_id(r) == *key_id && r.scope == KeyScope::Admin);
            Ok(record.map(|r| Caller { tenant: r.tenant_id, label: r.label, prefix: r.prefix, member: None }))
        }
        Principal::Member { member, integration } => {
            let Some(m) = store.get_member(&claims.tenant, member).await?.filter(|m| m.role == MemberRole::Admin) else { return Ok(None) };
            if store.link_by_member(&claims.tenant, integration, member).await?.is_none() {
                return Ok(None);
            }
            Ok(Some(Caller { tenant: m.tenant_id, label: m.name, prefix: "member".into(), member: Some(m.id) }))
        }
    }
}

/// The extractor: a page without a valid session redirects to sign-in.
pub struct Signed(pub Session);

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        load(state, &parts.headers).await.map(Signed).map_err(|e| e.into_response(state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_until_it_expires_and_not_when_altered() {
        let keys = Keys::from_master(b"m");
        let now = Timestamp(1_700_000_000_000);
        let token = issue(&keys, &"ten_a".into(), &Principal::Key("0123456789abcdef".into()), now);
        let claims = verify(&keys, &token, now).unwrap();
        assert_eq!(claims.tenant.as_str(), "ten_a");
        assert_eq!(claims.principal, Principal::Key("0123456789abcdef".into()));
        assert!(verify(&keys, &token, Timestamp(now.0 + LIFETIME_SECS * 1000)).is_none(), "expired");
        let other = token.replacen(&hex::encode("ten_a"), &hex::encode("ten_b"), 1);
        assert!(verify(&keys, &other, now).is_none(), "another tenant's name breaks the signature");
        assert!(verify(&Keys::from_master(b"x"), &token, now).is_none());
        assert!(verify(&keys, "garbage", now).is_none());
    }

    #[test]
    fn a_members_token_names_the_member_and_the_integration_and_never_reads_as_a_key() {
        let keys = Keys::from_master(b"m");
        let now = Timestamp(1_700_000_000_000);
        let who = Principal::Member { member: "mem_ada".into(), integration: "int_1".into() };
        let token = issue(&keys, &"ten_a".into(), &who, now);
        assert_eq!(verify(&keys, &token, now).unwrap().principal, who);
        assert_eq!(Principal::decode("m_zz_00"), None, "not hex");
        assert_eq!(Principal::decode("m_"), None);
        assert_eq!(Principal::decode("mem"), None, "neither a key id nor a member");
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; warroom_console=tok.en; b=2"));
        assert_eq!(cookie_token(&headers).as_deref(), Some("tok.en"));
    }
}
