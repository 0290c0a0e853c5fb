//! Tokens and sign-in: tenant_access_token, and the OAuth login used to link a Warroom account
//! to a Feishu user (authorize page → code → user_access_token → user info).

use std::time::Duration;

use serde_json::{json, Value};

use super::gate::bearer;
use super::reply::{fail, redirect, Reply};
use super::state::{hex_id, AuthCode, State, TenantToken, UserToken};
use super::Req;

/// "剩余有效期小于 30 分钟时 … 返回一个新的 tenant_access_token" (tenant_access_token_internal page).
const REFRESH_WINDOW: Duration = Duration::from_secs(30 * 60);
/// "授权码的有效期为 5 分钟，且只能被使用一次" (obtain-oauth-code page).
const CODE_TTL: Duration = Duration::from_secs(5 * 60);
const USER_TOKEN_TTL: Duration = Duration::from_secs(7200);

/// `POST /open-apis/auth/v3/tenant_access_token/internal` (custom apps).
/// Answer fields are top level: `{"code":0,"msg":"ok","tenant_access_token":"t-…","expire":7200}`.
/// The same token comes back while ≥ 30 min remain (with `expire` = seconds remaining); with
/// less, a new one is issued and the old one stays valid until it expires.
pub(crate) fn tenant_token(st: &mut State, req: &Req, ttl: Duration) -> (Option<String>, Reply) {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return (None, r),
    };
    let (Some(app_id), Some(secret)) = (body["app_id"].as_str(), body["app_secret"].as_str()) else {
        return (None, fail(400, 10003, "invalid param"));
    };
    // Unknown app_id: 10003 "invalid param" (UNCERTAIN: the generic page lists 10003 for bad
    // parameters; no page names the unknown-app case). Wrong secret: 10014 "app secret invalid",
    // what the live endpoint returns per many clients (UNCERTAIN: the generic page's table says
    // 10014 "app unauthorized" and 10015 "wrong app secret"). HTTP 400 (UNCERTAIN).
    let Some(app) = st.apps.get(app_id) else {
        return (None, fail(400, 10003, "invalid param"));
    };
    if app.secret != secret {
        return (Some(app_id.to_string()), fail(400, 10014, "app secret invalid"));
    }
    let now = st.now();
    let current = st
        .latest_token
        .get(app_id)
        .and_then(|t| st.tenant_tokens.get(t).map(|info| (t.clone(), info.expires_at)))
        .filter(|(_, expires_at)| expires_at.saturating_sub(now) >= REFRESH_WINDOW);
    let (token, remaining) = match current {
        Some((token, expires_at)) => (token, expires_at - now),
        None => {
            let token = format!("t-{}", hex_id(20));
            let info = TenantToken { app_id: app_id.to_string(), expires_at: now + ttl };
            st.tenant_tokens.insert(token.clone(), info);
            st.latest_token.insert(app_id.to_string(), token.clone());
            (token, ttl)
        }
    };
    let reply = Reply::json(200, json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": remaining.as_secs()}));
    (Some(app_id.to_string()), reply)
}

/// `GET /open-apis/authen/v1/authorize?client_id&redirect_uri&scope&state` (obtain-oauth-code
/// page; Feishu serves it on `accounts.feishu.cn`), also the legacy
/// `GET /open-apis/authen/v1/index?app_id&redirect_uri&state` ("获取登录预授权码" page).
/// Test extension: `user=<open_id>` picks who "clicks authorise" (default: the first user added);
/// an unknown user denies, redirecting with `error=access_denied` as Feishu does on refusal.
pub(crate) fn authorize(st: &mut State, req: &Req) -> (Option<String>, Reply) {
    let app_id = req.q("client_id").or_else(|| req.q("app_id")).unwrap_or_default().to_string();
    let Some(redirect_uri) = req.q("redirect_uri").map(str::to_string) else {
        return (Some(app_id), fail(400, 20001, "The request is missing a required parameter."));
    };
    if !st.apps.contains_key(&app_id) {
        return (None, fail(400, 20048, "The specified app does not exist."));
    }
    let mut params: Vec<(&str, String)> = Vec::new();
    let user = match req.q("user") {
        Some(id) => st.user(id).map(|u| u.open_id.clone()),
        None => st.users.first().map(|u| u.open_id.clone()),
    };
    match user {
        Some(open_id) => {
            let code = hex_id(24);
            let scope = req.q("scope").unwrap_or_default().to_string();
            let issued_at = st.now();
            let entry = AuthCode { app_id: app_id.clone(), open_id, redirect_uri: redirect_uri.clone(), scope, issued_at, used: false };
            st.auth_codes.insert(code.clone(), entry);
            params.push(("code", code));
        }
        None => params.push(("error", "access_denied".to_string())),
    }
    if let Some(state) = req.q("state") {
        params.push(("state", state.to_string()));
    }
    let query = serde_urlencoded::to_string(&params).unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    (Some(app_id), redirect(format!("{redirect_uri}{sep}{query}")))
}

/// `POST /open-apis/authen/v2/oauth/token` with `grant_type=authorization_code` (get-user-
/// access-token page): `{"code":0,"access_token","expires_in","token_type":"Bearer","scope"}`,
/// plus `refresh_token`/`refresh_token_expires_in` when `offline_access` was requested.
/// Errors `{"code","error","error_description"}` with the page's codes.
pub(crate) fn oauth_token(st: &mut State, req: &Req) -> (Option<String>, Reply) {
    let body = match req.json() {
        Ok(v) => v,
        Err(_) => return (None, oauth_error(20063, "invalid_request", "The request is malformed. Please check your request.")),
    };
    let app_id = body["client_id"].as_str().map(str::to_string);
    let result = exchange(st, &body);
    (app_id, result.unwrap_or_else(|r| r))
}

fn exchange(st: &mut State, body: &Value) -> Result<Reply, Reply> {
    if body["grant_type"].as_str() != Some("authorization_code") {
        // refresh_token grants are not emulated.
        return Err(oauth_error(20036, "unsupported_grant_type", "The specified grant_type is not supported."));
    }
    let (Some(client_id), Some(secret), Some(code)) = (body["client_id"].as_str(), body["client_secret"].as_str(), body["code"].as_str()) else {
        return Err(oauth_error(20001, "invalid_request", "The request is missing a required parameter."));
    };
    let app = st.apps.get(client_id).ok_or_else(|| oauth_error(20048, "invalid_client", "The specified app does not exist."))?;
    if app.secret != secret {
        return Err(oauth_error(20002, "invalid_client", "The client secret is invalid."));
    }
    let now = st.now();
    let grant = st.auth_codes.get_mut(code).ok_or_else(|| {
        oauth_error(20003, "invalid_grant", "The authorization code is not found. Please note that an authorization code can only be used once.")
    })?;
    if grant.app_id != client_id {
        return Err(oauth_error(20024, "invalid_grant", "The provided authorization code or refresh token does not match the provided client ID."));
    }
    if grant.used {
        return Err(oauth_error(20065, "invalid_grant", "The authorization code has been used. Please note that an authorization code can only be used once."));
    }
    if now.saturating_sub(grant.issued_at) > CODE_TTL {
        return Err(oauth_error(20004, "invalid_grant", "The authorization code has expired."));
    }
    grant.used = true;
    let (open_id, scope, _redirect) = (grant.open_id.clone(), grant.scope.clone(), grant.redirect_uri.clone());
    let token = format!("u-{}", hex_id(20));
    st.user_tokens.insert(token.clone(), UserToken { app_id: client_id.to_string(), open_id, expires_at: now + USER_TOKEN_TTL });
    let mut out = json!({"code": 0, "access_token": token, "expires_in": USER_TOKEN_TTL.as_secs(),
                         "token_type": "Bearer", "scope": scope});
    if scope.split(' ').any(|s| s == "offline_access") {
        out["refresh_token"] = json!(format!("ur-{}", hex_id(20)));
        out["refresh_token_expires_in"] = json!(604_800);
    }
    Ok(Reply::json(200, out))
}

fn oauth_error(code: i64, error: &str, description: &str) -> Reply {
    Reply::json(400, json!({"code": code, "error": error, "error_description": description}))
}

/// `GET /open-apis/authen/v1/user_info` with a user_access_token (login-state-management/get
/// page). `email` / `mobile` / `user_id` are field-permission gated on the app's scopes
/// `contact:user.email:readonly` / `contact:user.phone:readonly` /
/// `contact:user.employee_id:readonly`, as the page says.
pub(crate) fn user_info(st: &mut State, req: &Req) -> (Option<String>, Reply) {
    let Some(token) = bearer(&req.headers) else {
        return (None, fail(400, 99991661, "Missing access token for authorization. Please make a request with token attached."));
    };
    let now = st.now();
    let Some(grant) = st.user_tokens.get(token).cloned() else {
        // The page lists 20005 with HTTP 200.
        return (None, Reply::json(200, json!({"code": 20005, "msg": "The user access token passed is invalid. Please check the value"})));
    };
    if grant.expires_at <= now {
        // Generic error-code page: 99991677 "token expire" — the user token has expired.
        return (Some(grant.app_id), fail(400, 99991677, "Authentication token expired"));
    }
    let (Some(user), Some(app)) = (st.user(&grant.open_id), st.apps.get(&grant.app_id)) else {
        return (Some(grant.app_id), Reply::json(200, json!({"code": 20008, "msg": "User not exist"})));
    };
    let mut data = json!({
        "name": user.name, "en_name": user.name,
        "avatar_url": "", "avatar_thumb": "", "avatar_middle": "", "avatar_big": "",
        "open_id": user.open_id, "union_id": user.union_id, "tenant_key": st.tenant_key,
    });
    if let (Some(email), true) = (&user.email, app.has_any(&["contact:user.email:readonly"])) {
        data["email"] = json!(email);
    }
    if let (Some(mobile), true) = (&user.mobile, app.has_any(&["contact:user.phone:readonly"])) {
        data["mobile"] = json!(mobile);
    }
    if app.has_any(&["contact:user.employee_id:readonly"]) {
        data["user_id"] = json!(user.user_id);
    }
    (Some(grant.app_id), Reply::json(200, json!({"code": 0, "msg": "success", "data": data})))
}
