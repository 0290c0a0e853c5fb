//! OAuth v2: `GET /oauth/v2/authorize` (the sandbox's "user" approves at once) and the
//! `oauth.v2.access` exchange. Fields and errors from slack-api-ref
//! `docs.slack.dev/methods/oauth.v2.access.json` (reference §1).

use std::time::{Duration, Instant};

use axum::extract::{Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{err, Args, Reply};
use super::state::{random_alnum, random_digits, OAuthCode, State};
use super::SlackSandbox;

/// Codes are single use and short lived; the docs' "expire after ten minutes" is the figure
/// used here (UNCERTAIN: not in the reference).
const CODE_TTL: Duration = Duration::from_secs(600);

#[derive(Deserialize)]
pub(crate) struct AuthorizeQuery {
    client_id: Option<String>,
    scope: Option<String>,
    user_scope: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    /// Which workspace installs the app; the first one when absent.
    team: Option<String>,
}

fn page(status: StatusCode, error: &str) -> Response {
    let body = format!("<!doctype html><title>Slack sandbox</title><h1>Something went wrong</h1><p><code>{error}</code></p>");
    (status, Html(body)).into_response()
}

/// Scopes are comma-separated (`scope=commands,incoming-webhook` in the docs); a space inside
/// one is a caller mistake and fails here with `invalid_scope`.
fn parse_scopes(s: &str) -> Result<Vec<String>, ()> {
    let mut out = Vec::new();
    for sc in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        if !sc.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ":._-".contains(c)) {
            return Err(());
        }
        if !out.iter().any(|o: &String| o == sc) {
            out.push(sc.to_string());
        }
    }
    Ok(out)
}

pub(crate) async fn authorize(AxState(sb): AxState<SlackSandbox>, Query(q): Query<AuthorizeQuery>) -> Response {
    sb.with_state(|st| {
        if q.client_id.as_deref() != Some(st.cfg.client_id.as_str()) {
            return page(StatusCode::BAD_REQUEST, "invalid_client_id");
        }
        let Some(redirect_uri) = q.redirect_uri.clone().filter(|r| r.starts_with("http://") || r.starts_with("https://")) else {
            return page(StatusCode::BAD_REQUEST, "bad_redirect_uri");
        };
        let Ok(scopes) = parse_scopes(q.scope.as_deref().unwrap_or("")) else {
            return page(StatusCode::BAD_REQUEST, "invalid_scope");
        };
        let user_scopes = parse_scopes(q.user_scope.as_deref().unwrap_or("")).unwrap_or_default();
        if scopes.is_empty() && user_scopes.is_empty() {
            return page(StatusCode::BAD_REQUEST, "no_scopes");
        }
        let ws = match &q.team {
            Some(t) => st.workspace(t),
            None => st.workspaces.first(),
        };
        let Some(team_id) = ws.map(|w| w.id.clone()) else {
            return page(StatusCode::BAD_REQUEST, "team_not_found");
        };
        let code = format!("{}.{}.{}", random_digits(11), random_digits(13), random_alnum(64).to_lowercase());
        let oc = OAuthCode { team_id, scopes, redirect_uri: redirect_uri.clone(), issued: Instant::now(), used: false };
        st.codes.insert(code.clone(), oc);
        let mut pairs = vec![("code", code)];
        if let Some(state) = &q.state {
            pairs.push(("state", state.clone()));
        }
        let qs = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        let sep = if redirect_uri.contains('?') { '&' } else { '?' };
        (StatusCode::FOUND, [(header::LOCATION, format!("{redirect_uri}{sep}{qs}"))]).into_response()
    })
}

/// Client credentials from HTTP Basic auth (what the docs recommend) or the form.
fn client_credentials(headers: &HeaderMap, args: &Args) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| B64.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(i, p)| (i.to_string(), p.to_string())));
    match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (args.str("client_id"), args.str("client_secret")),
    }
}

/// The exchange. Success as in the docs example: `access_token`, `token_type: "bot"`, `scope`
/// (comma-separated), `bot_user_id`, `app_id`, `team{id,name}`, `enterprise: null`,
/// `is_enterprise_install`, `authed_user{id}` (no user token: user scopes are not emulated).
pub(crate) fn access(st: &mut State, headers: &HeaderMap, args: &Args) -> Reply {
    let (client_id, secret) = client_credentials(headers, args);
    if client_id.as_deref() != Some(st.cfg.client_id.as_str()) {
        return Err(err("invalid_client_id"));
    }
    if secret.as_deref() != Some(st.cfg.client_secret.as_str()) {
        return Err(err("bad_client_secret"));
    }
    match args.str("grant_type").as_deref() {
        None | Some("authorization_code") => {}
        // Token rotation is not emulated, so no refresh token is ever valid.
        Some("refresh_token") => return Err(err("invalid_refresh_token")),
        Some(_) => return Err(err("invalid_grant_type")),
    }
    let code = args.str("code").unwrap_or_default();
    let oc = st.codes.get_mut(&code).ok_or_else(|| err("invalid_code"))?;
    if oc.used || oc.issued.elapsed() > CODE_TTL {
        return Err(err("invalid_code"));
    }
    // "redirect_uri must match the originally submitted URI (if one was sent)".
    if args.str("redirect_uri").is_some_and(|r| r != oc.redirect_uri) {
        return Err(err("bad_redirect_uri"));
    }
    oc.used = true;
    let (team_id, scopes) = (oc.team_id.clone(), oc.scopes.clone());
    let ws = st.workspace(&team_id).ok_or_else(|| err("invalid_code"))?;
    let (team_name, bot_user_id, owner_id) = (ws.name.clone(), ws.bot_user_id.clone(), ws.owner_id.clone());
    let mut out = json!({"app_id": st.app_id, "authed_user": {"id": owner_id}, "team": {"id": team_id, "name": team_name},
        "enterprise": Value::Null, "is_enterprise_install": false});
    if !scopes.is_empty() {
        let token = st.issue_token(&team_id, scopes.clone());
        out["access_token"] = json!(token);
        out["token_type"] = json!("bot");
        out["scope"] = json!(scopes.join(","));
        out["bot_user_id"] = json!(bot_user_id);
    }
    Ok(out)
}
