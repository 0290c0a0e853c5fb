//! `GET /cgi-bin/gettoken?corpid=&corpsecret=` (§1) → `{"access_token","expires_in":7200}`; one
//! token per app. Unknown corp 40013, wrong secret 40001 (global table).

use std::time::Duration;

use serde_json::json;

use super::reply::{codes, fail, ok, Reply};
use super::state::{alnum, State, Token};
use super::Req;

pub(crate) fn get_token(st: &mut State, req: &Req, ttl: Duration) -> (Option<i64>, Reply) {
    let (corp, secret) = (req.q("corpid").unwrap_or_default(), req.q("corpsecret").unwrap_or_default());
    if !st.apps.values().any(|a| a.corp_id == corp) {
        return (None, fail(codes::INVALID_CORPID, "invalid corpid", &req.ip));
    }
    let Some(agent_id) = st.apps.values().find(|a| a.corp_id == corp && a.secret == secret).map(|a| a.agent_id) else {
        return (None, fail(codes::INVALID_SECRET, "invalid credential", &req.ip));
    };
    let now = st.now();
    // §1 says only that tokens must be cached and may be invalidated early. UNCERTAIN (the one
    // place): while the app's token is valid, gettoken returns it with its remaining lifetime.
    let current =
        st.latest_token.get(&agent_id).and_then(|t| st.tokens.get(t).filter(|info| info.expires_at > now).map(|info| (t.clone(), info.expires_at - now)));
    let (token, left) = current.unwrap_or_else(|| {
        // §1: "access_token up to 512 bytes"; live ones are ~200 characters.
        let t = alnum(192);
        (t, ttl)
    });
    st.tokens.insert(token.clone(), Token { agent_id, expires_at: now + left });
    st.latest_token.insert(agent_id, token.clone());
    (Some(agent_id), ok(json!({"access_token": token, "expires_in": left.as_secs()})))
}
