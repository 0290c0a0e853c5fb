//! One call path for both API generations (ref "Two API generations", §5, §6):
//! - old `oapi.dingtalk.com/...?access_token=`: HTTP 200 with `{"errcode", "errmsg"}`, 0 = ok;
//! - new `api.dingtalk.com/v1.0/...` with header `x-acs-dingtalk-access-token`: 2xx, or a
//!   non-2xx status with `{"code", "message", "requestid"}`.
//!
//! The same access token serves both: it is refreshed once on an invalid-token answer.
//! Failures map onto [`ImError`]; nothing sleeps (a rate limit returns its wait and the
//! engine defers the job). Neither the secret nor the token enters an error or a log line:
//! reqwest errors are stripped of their URL (the old API carries the token in the query).

use super::token::Tokens;
use super::DingTalkCredentials;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{Clock, ImError, ImResult, Store, Timestamp};

/// Which envelope an answer comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gen {
    Old,
    New,
}

/// Throttled (ref §5, notes Q9, official throttling page): 90002 global per API, 90018 per
/// app per API, 90019 per ISV app per org per API. Advice: wait a second and queue.
const QPS_ERRCODES: &[i64] = &[90002, 90018, 90019];
/// The v1.0 equivalents: `…QpsLimitForApi`, `…QpsLimitForAppkeyAndApi` (HTTP 403).
const QPS_CODE_PREFIX: &str = "Forbidden.AccessDenied.QpsLimit";
/// Custom-robot send limit, 20 a minute, excess blocked for 10 minutes (ref §5, secondary —
/// UNCERTAIN); only webhook robots hit it.
const ROBOT_SEND_TOO_FAST: i64 = 130101;
/// The organisation's monthly quota is used up (90020 / `…ApiCountLimitForOrg`): nothing to
/// retry before the 1st of next month, so it is `Rejected` and reaches the user as such.
const MONTHLY_QUOTA_ERRCODE: i64 = 90020;
const MONTHLY_QUOTA_CODE: &str = "Forbidden.AccessDenied.ApiCountLimitForOrg";
/// Missing permission point, v1.0: HTTP 403 with `accessdenieddetail.requiredScopes` (ref §6).
const PERMISSION_CODE: &str = "Forbidden.AccessDenied.AccessTokenPermissionDenied";
/// Missing permission point, old API: errcode 60011 "没有调用该接口的权限", also wrapped as
/// errcode 88 "…subcode=60011…应用尚未开通所需的权限：[point]" — UNCERTAIN (third-party copies).
const PERMISSION_ERRCODE: i64 = 60011;
/// The token is not (or no longer) good: refresh once and retry. Old: 40014 invalid,
/// 42001 expired; new: `InvalidAuthentication` (HTTP 401). Secondary sources — UNCERTAIN.
const INVALID_TOKEN_ERRCODES: &[i64] = &[40014, 42001];
const INVALID_TOKEN_CODES: &[&str] = &["InvalidAuthentication", "InvalidAccessToken"];
/// The group is gone or not ours: old 660023 (bad group id, ref §3), new
/// `invalid.openConversationId` (notes Q9, secondary) — UNCERTAIN as a complete list.
const CHAT_GONE_ERRCODES: &[i64] = &[660023];
const CHAT_GONE_CODES: &[&str] = &["invalid.openConversationId"];
/// No such user: 60121 "找不到该用户" (getbymobile; resigned users are not found, ref §4),
/// 33012 invalid userid — UNCERTAIN (widely reported codes, no official table read).
const USER_NOT_FOUND_ERRCODES: &[i64] = &[60121, 33012];
/// -1 "系统繁忙": try again.
const BUSY_ERRCODE: i64 = -1;
/// The per-IP block lasts five minutes (ref §5) and is answered by a page, not an errcode.
const IP_BLOCK: Duration = Duration::from_secs(5 * 60);

/// A response as received, before interpretation.
pub(crate) struct Sent {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Sent {
    /// Reads a response; network errors and timeouts are transient.
    pub(crate) async fn read(result: Result<reqwest::Response, reqwest::Error>) -> ImResult<Sent> {
        let transient = |e: reqwest::Error| ImError::Transient(format!("DingTalk unreachable: {}", e.without_url()));
        let response = result.map_err(transient)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transient)?.to_vec();
        Ok(Sent { status, body })
    }
}

/// Why a call failed: the token was refused (refresh and retry), or anything else.
#[derive(Debug, PartialEq)]
pub(crate) enum Failure {
    TokenRejected(String),
    Im(ImError),
}

fn limited(d: Duration) -> Failure {
    Failure::Im(ImError::RateLimited { retry_after: d.max(Duration::from_secs(1)) })
}

/// Interprets an answer: the JSON body (`Null` when empty) or the failure. `scope` is the
/// permission point the endpoint needs, named when DingTalk's answer names none.
pub(crate) fn classify(sent: &Sent, gen: Gen, scope: &str, now: Timestamp) -> Result<Value, Failure> {
    let json: Option<Value> = serde_json::from_slice(&sent.body).ok().filter(Value::is_object);
    // The per-IP block: `{"status":1111,"wait":5,"punish":"deny",…}` or an HTML page (ref §5).
    let blocked = match &json {
        Some(j) => j.get("status").and_then(Value::as_i64) == Some(1111) || j.get("punish").is_some(),
        None => String::from_utf8_lossy(&sent.body).contains("punish"),
    };
    if blocked {
        let minutes = json.as_ref().and_then(|j| j.get("wait")).and_then(Value::as_u64).filter(|m| *m > 0 && *m <= 60);
        return Err(limited(minutes.map_or(IP_BLOCK, |m| Duration::from_secs(m * 60))));
    }
    if sent.status == 429 {
        return Err(limited(Duration::from_secs(1)));
    }
    let (code, message) = match (gen, &json) {
        (Gen::Old, Some(j)) => {
            let errcode = j.get("errcode").and_then(Value::as_i64);
            (errcode.map(|c| c.to_string()), j.get("errmsg").and_then(Value::as_str).unwrap_or_default().to_owned())
        }
        (Gen::New, Some(j)) => {
            (j.get("code").and_then(Value::as_str).map(str::to_owned), j.get("message").and_then(Value::as_str).unwrap_or_default().to_owned())
        }
        (_, None) => (None, String::new()),
    };
    if sent.status >= 500 {
        return Err(Failure::Im(ImError::Transient(format!("DingTalk answered HTTP {}", sent.status))));
    }
    let ok_status = (200..300).contains(&sent.status);
    match (gen, code.as_deref()) {
        (Gen::Old, Some("0")) if ok_status => return Ok(json.unwrap_or(Value::Null)),
        // v1.0 errors come with a non-2xx status (ref "Two API generations"): a 2xx is an answer.
        (Gen::New, _) if ok_status => return Ok(json.unwrap_or(Value::Null)),
        (_, None) if sent.status == 401 => return Err(Failure::TokenRejected(format!("HTTP {}", sent.status))),
        (_, None) => {
            return Err(Failure::Im(match ok_status {
                true => ImError::Transient("unreadable answer from DingTalk".into()),
                false => ImError::Rejected { code: format!("http_{}", sent.status), message: "no DingTalk error envelope".into() },
            }))
        }
        _ => {}
    }
    let code = code.unwrap_or_default();
    let errcode: Option<i64> = code.parse().ok();
    let is = |codes: &[i64]| errcode.is_some_and(|c| codes.contains(&c));
    let named = |codes: &[&str]| codes.iter().any(|c| code.eq_ignore_ascii_case(c));
    if is(QPS_ERRCODES) || code.starts_with(QPS_CODE_PREFIX) {
        return Err(limited(limit_end(&message, now).unwrap_or(Duration::from_secs(1))));
    }
    if is(&[ROBOT_SEND_TOO_FAST]) {
        return Err(limited(Duration::from_secs(10 * 60)));
    }
    if is(INVALID_TOKEN_ERRCODES) || named(INVALID_TOKEN_CODES) {
        return Err(Failure::TokenRejected(format!("DingTalk refused the access token ({code})")));
    }
    if code == PERMISSION_CODE || is(&[PERMISSION_ERRCODE]) || (errcode.is_some() && message.contains("60011")) {
        return Err(Failure::Im(ImError::MissingPermission { scope: scope_named(json.as_ref(), &message, scope) }));
    }
    Err(Failure::Im(if is(&[MONTHLY_QUOTA_ERRCODE]) || code == MONTHLY_QUOTA_CODE {
        ImError::Rejected {
            code,
            message: "the organisation's monthly DingTalk API quota is used up (it resets on the 1st); upgrade the edition or wait".into(),
        }
    } else if is(&[BUSY_ERRCODE]) {
        ImError::Transient(format!("DingTalk is busy ({code}: {message})"))
    } else if is(CHAT_GONE_ERRCODES) || named(CHAT_GONE_CODES) {
        ImError::ChatGone
    } else if is(USER_NOT_FOUND_ERRCODES) {
        ImError::UserNotFound
    } else {
        ImError::Rejected { code, message }
    }))
}

/// The permission point a refusal names: v1.0 `accessdenieddetail.requiredScopes` (ref §6),
/// else the bracketed list of an old-API message; of several, one Warroom asks for wins;
/// with none named, the endpoint's own.
fn scope_named(json: Option<&Value>, message: &str, endpoint_scope: &str) -> String {
    let mut names: Vec<String> = json
        .and_then(|j| j.pointer("/accessdenieddetail/requiredScopes"))
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if names.is_empty() {
        // The innermost bracket: "…error[subcode=60011,submsg=…：[point]]" names `point`.
        let list = message.split_once([']', '］']).and_then(|(before, _)| before.rsplit_once(['[', '［'])).map(|(_, list)| list);
        names = list.into_iter().flat_map(|l| l.split([',', '，'])).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    }
    let wanted = names.iter().find(|n| super::REQUIRED_SCOPES.iter().any(|(s, _)| s == n));
    wanted.or(names.first()).cloned().unwrap_or_else(|| endpoint_scope.to_owned())
}

/// When a v1.0 QPS refusal says its limit ends ("请求过于频繁，限制将在 2026-09-21 12:00:04
/// 结束", ref §5): that time read as China time (UTC+8, UNCERTAIN), as a wait from `now`,
/// at most a minute.
fn limit_end(message: &str, now: Timestamp) -> Option<Duration> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let offset = time::UtcOffset::from_hms(8, 0, 0).ok()?;
    let end = (0..message.len()).filter(|i| message.is_char_boundary(*i)).find_map(|i| {
        let candidate = message.get(i..i + 19)?;
        time::PrimitiveDateTime::parse(candidate, &format).ok()
    })?;
    let end_ms = (end.assume_offset(offset).unix_timestamp_nanos() / 1_000_000) as i64;
    Some(now.until(Timestamp(end_ms)).min(Duration::from_secs(60)))
}

/// How long a refused permission point is remembered for `granted_scopes` (see
/// `DingTalkPlatform::granted_scopes`): long enough for an admin to see it, short enough
/// that a grant made in the console counts within the hour.
pub(crate) const DENIED_TTL: Duration = Duration::from_secs(60 * 60);

pub(crate) fn denied_key(client_id: &str, scope: &str) -> String {
    format!("dingtalk-denied:{client_id}:{scope}")
}

/// The authenticated client of one app.
pub(crate) struct Client {
    pub credentials: DingTalkCredentials,
    http: reqwest::Client,
    tokens: Tokens,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Client {
    pub(crate) fn new(credentials: DingTalkCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let tokens = Tokens::new(credentials.clone(), http.clone(), store.clone(), clock.clone());
        Self { credentials, http, tokens, store, clock }
    }

    /// Fetches a new token with exactly these credentials: a token cached for the app would
    /// hide a wrong secret, so connecting asks DingTalk itself.
    pub(crate) async fn prove_credentials(&self) -> ImResult<()> {
        self.tokens.refresh().await.map(drop)
    }

    /// A v1.0 call; `path` starts with `/v1.0/`.
    pub(crate) async fn new_api(&self, method: Method, path: &str, scope: &str, body: Option<&Value>) -> ImResult<Value> {
        self.call(Gen::New, method, path, scope, body).await
    }

    /// An old-API POST; `path` has no query (the token is appended).
    pub(crate) async fn old_api(&self, path: &str, scope: &str, body: &Value) -> ImResult<Value> {
        self.call(Gen::Old, Method::POST, path, scope, Some(body)).await
    }

    async fn call(&self, gen: Gen, method: Method, path: &str, scope: &str, body: Option<&Value>) -> ImResult<Value> {
        let token = self.tokens.current().await?;
        let result = match self.counted(gen, &method, path, scope, body, token.expose()).await {
            Err(Failure::TokenRejected(_)) => {
                tracing::info!(client_id = %self.credentials.client_id, "access token refused; refreshing once");
                let token = self.tokens.refresh().await?;
                self.counted(gen, &method, path, scope, body, token.expose()).await.map_err(|f| match f {
                    Failure::TokenRejected(msg) => ImError::Unauthorized(msg),
                    Failure::Im(e) => e,
                })
            }
            Err(Failure::Im(e)) => Err(e),
            Ok(v) => Ok(v),
        };
        if let Err(ImError::MissingPermission { scope }) = &result {
            self.remember_denied(scope).await;
        }
        result
    }

    /// One call, counted against the monthly quota when DingTalk meters it (`usage`).
    async fn counted(&self, gen: Gen, method: &Method, path: &str, scope: &str, body: Option<&Value>, token: &str) -> Result<Value, Failure> {
        let result = self.once(gen, method, path, scope, body, token).await;
        if super::usage::metered(path) {
            super::usage::record(self.store.as_ref(), &self.credentials, self.clock.now()).await;
        }
        result
    }

    async fn once(&self, gen: Gen, method: &Method, path: &str, scope: &str, body: Option<&Value>, token: &str) -> Result<Value, Failure> {
        let mut request = match gen {
            Gen::Old => {
                let query = serde_urlencoded::to_string([("access_token", token)]).map_err(|_| Failure::Im(ImError::Transient("unencodable token".into())))?;
                self.http.request(method.clone(), format!("{}{path}?{query}", self.credentials.oapi()))
            }
            Gen::New => self.http.request(method.clone(), format!("{}{path}", self.credentials.api())).header("x-acs-dingtalk-access-token", token),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        tracing::debug!(%method, path, "dingtalk call");
        let sent = Sent::read(request.send().await).await.map_err(Failure::Im)?;
        let result = classify(&sent, gen, scope, self.clock.now());
        if let Err(Failure::Im(e)) = &result {
            tracing::debug!(%method, path, status = sent.status, error = %e, "dingtalk call failed");
        }
        result
    }

    /// Notes a refused permission point Warroom needs, for `granted_scopes`.
    async fn remember_denied(&self, scope: &str) {
        if !super::REQUIRED_SCOPES.iter().any(|(s, _)| *s == scope) {
            return;
        }
        let key = denied_key(&self.credentials.client_id, scope);
        if let Err(e) = self.store.put_ephemeral(&key, "denied", DENIED_TTL, self.clock.now()).await {
            tracing::warn!(client_id = %self.credentials.client_id, error = %e, "could not note a refused permission");
        }
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
