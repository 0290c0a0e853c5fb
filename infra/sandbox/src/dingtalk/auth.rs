//! Access tokens (reference §1): old `GET /gettoken?appkey&appsecret` and v1.0
//! `POST /v1.0/oauth2/accessToken {appKey, appSecret}`. Both give the app's token for 7200 s.

use std::time::Duration;

use serde_json::json;

use super::reply::{bad_param, new_fail, new_ok, old_fail, old_ok, Gen, Reply};
use super::state::{hex_id, State, Token};
use super::Req;

/// `GET /gettoken` → `{"errcode":0,"errmsg":"ok","access_token","expires_in"}`; bad credentials
/// `40096 不合法的appKey或appSecret`, missing ones `40035 缺少参数 corpid or appkey` (probes P1, P2).
pub(crate) fn get_token(st: &mut State, req: &Req, ttl: Duration) -> (Option<String>, Reply) {
    let (Some(key), Some(secret)) = (req.q("appkey"), req.q("appsecret")) else {
        return (None, old_fail(40035, "缺少参数 corpid or appkey"));
    };
    match issue(st, key, secret, ttl) {
        Some((token, left)) => (Some(key.to_string()), old_ok(json!({"access_token": token, "expires_in": left.as_secs()}))),
        None => (None, old_fail(40096, "不合法的appKey或appSecret")),
    }
}

/// `POST /v1.0/oauth2/accessToken` → `{"accessToken","expireIn"}`; bad credentials 400
/// `invalidClientIdOrSecret` "无效的clientId或者clientSecret" (probe P3).
pub(crate) fn access_token(st: &mut State, req: &Req, ttl: Duration) -> (Option<String>, Reply) {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return (None, r),
    };
    let (Some(key), Some(secret)) = (body["appKey"].as_str(), body["appSecret"].as_str()) else {
        return (None, bad_param(Gen::New, "appKey and appSecret are required"));
    };
    match issue(st, key, secret, ttl) {
        Some((token, left)) => (Some(key.to_string()), new_ok(json!({"accessToken": token, "expireIn": left.as_secs()}))),
        None => (None, new_fail(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")),
    }
}

/// The app's current token while valid, else a new one. UNCERTAIN (one place, both generations
/// share it): reference §1 says a call "inside the validity window returns the same token (and
/// extends it)"; the sandbox returns the same token with its validity renewed to a full `ttl`.
fn issue(st: &mut State, key: &str, secret: &str, ttl: Duration) -> Option<(String, Duration)> {
    let app = st.apps.get(key)?;
    if app.client_secret != secret {
        return None;
    }
    let now = st.now();
    let current = st.latest_token.get(key).filter(|t| st.tokens.get(*t).is_some_and(|info| info.expires_at > now)).cloned();
    let token = current.unwrap_or_else(|| hex_id(16));
    st.tokens.insert(token.clone(), Token { app: key.to_string(), expires_at: now + ttl });
    st.latest_token.insert(key.to_string(), token.clone());
    Some((token, ttl))
}
