//! The OpenAPI gateway in front of every tenant-token endpoint: token check, app-level rate
//! limits, then the endpoint's scopes — in that order.

use axum::http::HeaderMap;

use super::ratelimit::{Rule, APP_QPS, MESSAGE_QPM, MINUTE, SECOND};
use super::reply::{fail, rate_limited, scope_denied, Reply};
use super::state::State;

/// The tenant-token endpoints the sandbox serves, with their path parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Route<'a> {
    ChatCreate,
    ChatList,
    ChatGet(&'a str),
    ChatDelete(&'a str),
    MembersAdd(&'a str),
    MessageSend,
    MessageReply(&'a str),
    CardCreate,
    CardUpdate(&'a str),
    CardSettings(&'a str),
    CardContent(&'a str, &'a str),
    MessagePatch(&'a str),
    MessageList,
    BatchGetId,
    Scopes,
    BotInfo,
}

impl<'a> Route<'a> {
    /// `method` + the path segments after `/open-apis/`.
    pub fn parse(method: &str, segs: &[&'a str]) -> Option<Route<'a>> {
        Some(match (method, segs) {
            ("POST", ["im", "v1", "chats"]) => Route::ChatCreate,
            ("GET", ["im", "v1", "chats"]) => Route::ChatList,
            ("GET", ["im", "v1", "chats", id]) => Route::ChatGet(id),
            ("DELETE", ["im", "v1", "chats", id]) => Route::ChatDelete(id),
            ("POST", ["im", "v1", "chats", id, "members"]) => Route::MembersAdd(id),
            ("POST", ["im", "v1", "messages"]) => Route::MessageSend,
            ("POST", ["im", "v1", "messages", id, "reply"]) => Route::MessageReply(id),
            ("POST", ["cardkit", "v1", "cards"]) => Route::CardCreate,
            ("PUT", ["cardkit", "v1", "cards", id]) => Route::CardUpdate(id),
            ("PATCH", ["cardkit", "v1", "cards", id, "settings"]) => Route::CardSettings(id),
            ("PUT", ["cardkit", "v1", "cards", id, "elements", element, "content"]) => Route::CardContent(id, element),
            ("GET", ["im", "v1", "messages"]) => Route::MessageList,
            ("PATCH", ["im", "v1", "messages", id]) => Route::MessagePatch(id),
            ("POST", ["contact", "v3", "users", "batch_get_id"]) => Route::BatchGetId,
            ("GET", ["application", "v6", "scopes"]) => Route::Scopes,
            ("GET", ["bot", "v3", "info"]) => Route::BotInfo,
            _ => return None,
        })
    }

    /// "开启其中任意一项权限即可调用": any one of these scopes suffices. Lists are the `md-perm`
    /// names on each API's page (open.feishu.cn server docs, mirrored in wxkingstar/doc-hub-mcp).
    pub fn scopes(&self) -> &'static [&'static str] {
        match self {
            Route::ChatCreate => &["im:chat", "im:chat:create"],
            Route::ChatList => &["im:chat", "im:chat:readonly", "im:chat:read", "im:chat.group_info:readonly"],
            Route::ChatGet(_) => &["im:chat", "im:chat:read", "im:chat:readonly"],
            Route::ChatDelete(_) => &["im:chat", "im:chat:delete"],
            Route::MembersAdd(_) => &["im:chat", "im:chat.members:write_only"],
            // The reply page lists the same scopes as send.
            Route::MessageSend | Route::MessageReply(_) => &["im:message", "im:message:send_as_bot", "im:message:send"],
            // "创建与更新卡片(cardkit:card:write)" on every CardKit page.
            Route::CardCreate | Route::CardUpdate(_) | Route::CardSettings(_) | Route::CardContent(..) => &["cardkit:card:write"],
            Route::MessagePatch(_) => &["im:message", "im:message:send_as_bot", "im:message:update"],
            Route::MessageList => &["im:message", "im:message:readonly", "im:message.history:readonly"],
            Route::BatchGetId => &["contact:user.id:readonly"],
            // application/v6/scopes and bot/v3/info: no scope required.
            Route::Scopes | Route::BotInfo => &[],
        }
    }

    fn is_message_write(&self) -> bool {
        matches!(self, Route::MessageSend | Route::MessageReply(_) | Route::MessagePatch(_))
    }
}

/// The bearer token of `Authorization: Bearer <token>`, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks the tenant token, the app-level limits and the route's scopes.
/// `Ok(app_id)` lets the call through; `Err((app_id if known, reply))` refuses it.
pub(crate) fn gate(st: &mut State, headers: &HeaderMap, route: &Route, enforce_limits: bool) -> Result<String, (Option<String>, Reply)> {
    // 99991661 / 99991663: generic error-code page; the 99991663 FAQ ("如何解决 tenant token
    // invalid (99991663) 错误") says it covers an expired or wrong tenant_access_token. HTTP 400
    // as live responses are reported (UNCERTAIN: some clients map these to 401).
    let Some(token) = bearer(headers) else {
        return Err((None, fail(400, 99991661, "Missing access token for authorization. Please make a request with token attached.")));
    };
    let now = st.now();
    let app_id = match st.tenant_tokens.get(token) {
        Some(t) if t.expires_at > now => t.app_id.clone(),
        _ => return Err((None, fail(400, 99991663, "Invalid access token for authorization. Please make a request with token attached."))),
    };
    if enforce_limits {
        let mut rules = vec![Rule::new(format!("app:{app_id}"), APP_QPS, SECOND)];
        if route.is_message_write() {
            rules.push(Rule::new(format!("messages:{app_id}"), MESSAGE_QPM, MINUTE));
        }
        if let Err(denied) = st.limiter.admit(now, &rules) {
            return Err((Some(app_id), rate_limited(&denied)));
        }
    }
    let needed = route.scopes();
    let app = st
        .apps
        .get(&app_id)
        .ok_or_else(|| (Some(app_id.clone()), fail(400, 99991663, "Invalid access token for authorization. Please make a request with token attached.")))?;
    if !needed.is_empty() && !app.has_any(needed) {
        return Err((Some(app_id.clone()), scope_denied(&app_id, needed)));
    }
    Ok(app_id)
}
