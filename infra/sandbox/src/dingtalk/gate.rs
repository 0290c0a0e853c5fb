//! The gateway in front of every token-bearing endpoint: token, per-app per-API QPS, monthly
//! quota, then the endpoint's permission point — in that order.

use axum::http::HeaderMap;
use time::macros::format_description;

use super::ratelimit::SECOND;
use super::reply::{invalid_token, missing_token, permission_denied, qps_limited, quota_exhausted, Gen, Reply};
use super::state::State;
use super::Req;

/// The endpoints behind the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    SceneGroupCreate,
    SceneGroupCreateOld,
    MemberAdd,
    MemberRemove,
    SceneGroupUpdate,
    GroupInfo,
    GroupMembers,
    Disband,
    RobotSend,
    CardRegister,
    CardCreate,
    CardDeliver,
    CardCreateAndDeliver,
    CardUpdate,
    CardStreaming,
    UserByMobile,
}

impl Route {
    pub fn parse(method: &str, path: &str) -> Option<Route> {
        Some(match (method, path) {
            ("POST", "/v1.0/im/sceneGroup/create") => Route::SceneGroupCreate,
            ("POST", "/topapi/im/chat/scenegroup/create") => Route::SceneGroupCreateOld,
            ("POST", "/v1.0/im/sceneGroup/member/add") => Route::MemberAdd,
            ("POST", "/v1.0/im/sceneGroup/member/delete") => Route::MemberRemove,
            ("POST", "/v1.0/im/sceneGroup/update") => Route::SceneGroupUpdate,
            ("POST", "/v1.0/im/sceneGroups/query") => Route::GroupInfo,
            ("POST", "/v1.0/im/sceneGroups/members/query") => Route::GroupMembers,
            ("POST", "/v1.0/im/chat/scenegroup/disband") => Route::Disband,
            ("POST", "/v1.0/robot/groupMessages/send") => Route::RobotSend,
            ("POST", "/v1.0/card/callbacks/register") => Route::CardRegister,
            ("POST", "/v1.0/card/instances") => Route::CardCreate,
            ("POST", "/v1.0/card/instances/deliver") => Route::CardDeliver,
            ("POST", "/v1.0/card/instances/createAndDeliver") => Route::CardCreateAndDeliver,
            ("PUT", "/v1.0/card/instances") => Route::CardUpdate,
            ("PUT", "/v1.0/card/streaming") => Route::CardStreaming,
            ("POST", "/topapi/v2/user/getbymobile") => Route::UserByMobile,
            _ => return None,
        })
    }

    /// Permission points, any one of which suffices (reference §6; Flashduty's list in §3/Q5).
    /// Group reads accept either read point (UNCERTAIN which one each API checks).
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Route::SceneGroupCreate | Route::SceneGroupCreateOld | Route::MemberAdd | Route::MemberRemove | Route::SceneGroupUpdate | Route::Disband => {
                &["qyapi_chat_manage"]
            }
            Route::GroupInfo | Route::GroupMembers => &["qyapi_chat_read", "qyapi_chat_base_read"],
            Route::RobotSend => &["qyapi_robot_sendmsg"],
            Route::CardRegister | Route::CardCreate | Route::CardDeliver | Route::CardCreateAndDeliver | Route::CardUpdate => &["Card.Instance.Write"],
            // "权限要求 Card.Streaming.Write-AI卡片流式更新权限" (api-streamingupdate).
            Route::CardStreaming => &["Card.Streaming.Write"],
            Route::UserByMobile => &["qyapi_get_member_by_mobile"],
        }
    }

    /// Counted against the monthly quota: "Token, auth and contacts APIs are exempt" (notes Q9).
    pub fn metered(self) -> bool {
        self != Route::UserByMobile
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// Checks token, limits, quota and permission; counts the call. `Ok(app)` lets it through,
/// `Err((app if known, reply))` refuses it.
pub(crate) fn gate(st: &mut State, req: &Req, route: Route, enforce: bool) -> Result<String, (Option<String>, Reply)> {
    let gen = Gen::of(&req.path);
    // Old APIs read `?access_token=`, v1.0 reads the header only (probes P7, P9).
    let token = match gen {
        Gen::Old => req.q("access_token").filter(|t| !t.is_empty()),
        Gen::New => header(&req.headers, "x-acs-dingtalk-access-token"),
    };
    let Some(token) = token else { return Err((None, missing_token(gen))) };
    let now = st.now();
    let app_id = match st.tokens.get(token) {
        Some(t) if t.expires_at > now => t.app.clone(),
        _ => return Err((None, invalid_token(gen))),
    };
    let Some(app) = st.apps.get(&app_id).cloned() else { return Err((None, invalid_token(gen))) };
    let refuse = |reply| Err((Some(app_id.clone()), reply));
    if enforce {
        let key = format!("{app_id} {route:?}");
        if let Err(wait) = st.limiter.admit(&key, app.edition.qps(), SECOND, now) {
            return refuse(qps_limited(gen, &china_time(st.wall_ms(now + wait))));
        }
    }
    let month = st.month(now);
    let corp_key = (app.corp_id.clone(), month);
    if route.metered() && st.corp_usage.get(&corp_key).copied().unwrap_or(0) >= app.edition.monthly_quota() {
        return refuse(quota_exhausted(gen, app.edition.monthly_quota()));
    }
    let needed = route.permissions();
    if !needed.iter().any(|p| app.permissions.contains(*p)) {
        return refuse(permission_denied(gen, needed, &app.corp_id));
    }
    if route.metered() {
        // UNCERTAIN: which calls DingTalk meters; the sandbox counts every admitted call of a
        // metered API, whatever the API answers afterwards.
        *st.corp_usage.entry(corp_key).or_default() += 1;
        *st.app_usage.entry((app_id.clone(), month)).or_default() += 1;
    }
    Ok(app_id)
}

/// `YYYY-MM-DD HH:MM:SS` in China time, the format of the throttling message.
fn china_time(wall_ms: u128) -> String {
    let china = time::UtcOffset::from_hms(8, 0, 0).expect("a valid offset");
    let secs = (wall_ms / 1000) as i64 + 1;
    let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH).to_offset(china);
    t.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")).unwrap_or_default()
}
