//! The smart bot's active reply (notes Q1, doc 101138): `POST /cgi-bin/aibot/response?response_code=…`
//! with `{"msgtype":"markdown","markdown":{"content"}}` or `{"msgtype":"template_card",
//! "template_card":{…}}`; no access_token; each code once, valid 1 h; markdown ≤ 20480 bytes.
//! The reply is posted in the group as the bot.

use std::time::Duration;

use serde_json::json;

use super::reply::{bad_param, codes, fail, ok, Reply};
use super::state::{alnum, ChatMessage, Sender, State};
use super::Req;

pub const BOT_CODE_TTL: Duration = Duration::from_secs(3600);
const MAX_MARKDOWN_BYTES: usize = 20_480;

pub(crate) fn respond(st: &mut State, req: &Req) -> (Option<i64>, Reply) {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return (None, r),
    };
    let msgtype = body["msgtype"].as_str().unwrap_or_default().to_string();
    let content = body[msgtype.as_str()].clone();
    match msgtype.as_str() {
        "markdown" => match content["content"].as_str() {
            Some(c) if c.len() <= MAX_MARKDOWN_BYTES => {}
            Some(_) => return (None, fail(codes::CONTENT_TOO_LONG, "content size out of limit", &req.ip)),
            None => return (None, bad_param("markdown.content is required", &req.ip)),
        },
        "template_card" if content.is_object() => {}
        "template_card" => return (None, bad_param("template_card is required", &req.ip)),
        _ => return (None, fail(codes::INVALID_MSGTYPE, &format!("invalid message type {msgtype}"), &req.ip)),
    }
    let now = st.now();
    let code = req.q("response_code").unwrap_or_default().to_string();
    let Some(bc) = st.bot_codes.get_mut(&code).filter(|c| c.used_at.is_none() && now < c.issued_at + BOT_CODE_TTL) else {
        return (None, fail(codes::RESPONSE_CODE_INVALID, "invalid response_code (unknown, used or older than 1 h)", &req.ip));
    };
    bc.used_at = Some(now);
    let (agent_id, chatid, user) = (bc.agent_id, bc.chatid.clone(), bc.user.clone());
    let bot_id = st.apps.get(&agent_id).map(|a| a.bot_id.clone()).unwrap_or_default();
    let message =
        ChatMessage { id: format!("msg{}", alnum(24)), sender: Sender::Bot(bot_id), msgtype, content, per_user: Default::default(), updates: 0, at: now };
    st.bot_chat(&chatid, &user).messages.push(message);
    (Some(agent_id), ok(json!({})))
}
