//! The gateway in front of every token-bearing endpoint, in WeCom's order as far as the
//! reference shows it: token (missing 41001, unknown 40014, expired 42001), trusted IP (60020,
//! §6: gettoken itself is not checked), then the per-corp per-API limit (45009, §5).

use super::ratelimit::MINUTE;
use super::reply::{codes, fail, Reply};
use super::state::{App, State};
use super::{Req, SandboxConfig};

/// The endpoints behind the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    ChatCreate,
    ChatUpdate,
    ChatGet,
    ChatSend,
    MessageSend,
    UpdateCard,
    UserByMobile,
    UserByEmail,
}

impl Route {
    /// Paths from §3, §4, notes Q2 (`weworkapi_python` `CorpApi.py` endpoint table).
    pub fn parse(method: &str, path: &str) -> Option<Route> {
        Some(match (method, path) {
            ("POST", "/cgi-bin/appchat/create") => Route::ChatCreate,
            ("POST", "/cgi-bin/appchat/update") => Route::ChatUpdate,
            ("GET", "/cgi-bin/appchat/get") => Route::ChatGet,
            ("POST", "/cgi-bin/appchat/send") => Route::ChatSend,
            ("POST", "/cgi-bin/message/send") => Route::MessageSend,
            ("POST", "/cgi-bin/message/update_template_card") => Route::UpdateCard,
            ("POST", "/cgi-bin/user/getuserid") => Route::UserByMobile,
            ("POST", "/cgi-bin/user/get_userid_by_email") => Route::UserByEmail,
            _ => return None,
        })
    }

    /// §5: app messages are "not counted in basic frequency".
    fn counted(self) -> bool {
        !matches!(self, Route::MessageSend)
    }
}

/// `Ok(app)` lets the call through; `Err((agent id if known, reply))` refuses it.
pub(crate) fn gate(st: &mut State, req: &Req, route: Route, config: &SandboxConfig) -> Result<App, (Option<i64>, Reply)> {
    let Some(token) = req.q("access_token") else {
        return Err((None, fail(codes::MISSING_TOKEN, "access_token missing", &req.ip)));
    };
    let now = st.now();
    let Some(t) = st.tokens.get(token) else {
        return Err((None, fail(codes::INVALID_TOKEN, "invalid access_token", &req.ip)));
    };
    let agent_id = t.agent_id;
    if t.expires_at <= now {
        return Err((Some(agent_id), fail(codes::TOKEN_EXPIRED, "access_token expired", &req.ip)));
    }
    let Some(app) = st.apps.get(&agent_id).cloned() else {
        return Err((None, fail(codes::INVALID_TOKEN, "invalid access_token", &req.ip)));
    };
    if app.trusted_ips.as_ref().is_some_and(|ips| !ips.contains(&req.ip)) {
        // §6: "not allow to access from your ip, hint: [...], from ip: <ip>".
        return Err((Some(agent_id), fail(codes::UNTRUSTED_IP, "not allow to access from your ip", &req.ip)));
    }
    if config.enforce_rate_limits && route.counted() {
        let key = format!("{} {route:?}", app.corp_id);
        if !st.limiter.admit(&key, config.api_per_minute, MINUTE, now) {
            return Err((Some(agent_id), fail(codes::FREQ_LIMIT, "api freq out of limit", &req.ip)));
        }
    }
    Ok(app)
}
