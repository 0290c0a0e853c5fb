//! Messages: send (uuid dedup, per-chat limit) and patch a card (shared cards only, per-message
//! limit, 14-day window); history listing is in `listing`. Pages: im-v1 message/create,
//! message-card/patch (open.feishu.cn server docs); codes from their error tables.

use std::time::Duration;

use serde_json::{json, Value};

use super::cardkit;
use super::ratelimit::{Rule, CHAT_QPS, MESSAGE_PATCH_QPS, SECOND};
use super::reply::{bad_json_type, fail, field_invalid, im_frequency_limited, ok, Reply};
use super::state::{hex_id, Chat, Message, State};
use super::Req;

/// "持有相同 uuid 的请求，在 1 小时内至多成功发送一条消息".
const MESSAGE_UUID_WINDOW: Duration = Duration::from_secs(3600);
/// "仅支持更新 14 天内发送的消息".
const EDIT_WINDOW: Duration = Duration::from_secs(14 * 24 * 3600);
/// "卡片消息、富文本消息请求体最大不能超过 30 KB", text 150 KB (measured on `content`).
const CARD_MAX: usize = 30 * 1024;
const TEXT_MAX: usize = 150 * 1024;

fn invalid_param(ext: &str) -> Reply {
    fail(400, 230001, format!("Your request contains an invalid request parameter, ext={ext}"))
}

/// `content` must be a JSON *string* (the serialized message body): missing → 99992402,
/// any other JSON type → 9499 "Invalid parameter type in json: content…".
fn content_string(body: &Value) -> Result<String, Reply> {
    match &body["content"] {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Err(field_invalid("content", "content is required")),
        other => Err(bad_json_type("content", other)),
    }
}

/// Validates `content` for `msg_type`, returning the parsed JSON.
fn check_content(msg_type: &str, content: &str) -> Result<Value, Reply> {
    let parsed: Value = match serde_json::from_str(content) {
        Ok(v) => v,
        Err(e) if msg_type == "interactive" => return Err(card_json_error(&e.to_string())),
        Err(_) => return Err(invalid_param("content is not a valid JSON string")),
    };
    let too_long = || fail(400, 230025, "The length of the message content reaches its limit.");
    match msg_type {
        "text" if !parsed["text"].is_string() => Err(invalid_param("text content must be {\"text\": string}")),
        "text" if content.len() > TEXT_MAX => Err(too_long()),
        "interactive" if !parsed.is_object() => Err(card_json_error("card must be a JSON object")),
        "interactive" | "post" if content.len() > CARD_MAX => Err(too_long()),
        "text" | "interactive" | "post" | "image" | "file" | "audio" | "media" | "sticker" | "share_chat" | "share_user" | "system" => Ok(parsed),
        _ => Err(invalid_param("unsupported msg_type")),
    }
}

/// 230099 with sub-code 200621 "parse card json err" (create page, "230099 子错误码").
fn card_json_error(detail: &str) -> Reply {
    fail(
        400,
        230099,
        format!(
        "Failed to create card content, ext=ErrCode: 200621; ErrMsg: parse card json err, please check whether the card json is correct; ErrorValue: {detail}"
    ),
    )
}

/// A shared card: `config.update_multi: true`; JSON 2.0 cards (`"schema": "2.0"`) are always
/// shared; template cards are taken as shared (UNCERTAIN: their setting lives in the template).
fn is_shared(card: &Value) -> bool {
    card["config"]["update_multi"] == json!(true) || card["schema"] == json!("2.0") || card["type"] == json!("template")
}

/// `POST /open-apis/im/v1/messages?receive_id_type=chat_id|open_id|union_id|user_id|email`.
pub(crate) fn send(st: &mut State, req: &Req, app_id: &str, enforce: bool) -> Reply {
    let Some(id_type) = req.q("receive_id_type") else {
        return field_invalid("receive_id_type", "receive_id_type is required");
    };
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (Some(receive_id), Some(msg_type)) = (body["receive_id"].as_str(), body["msg_type"].as_str()) else {
        return field_invalid("receive_id/msg_type", "receive_id and msg_type are required");
    };
    let content = match content_string(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let uuid = body["uuid"].as_str().unwrap_or_default();
    if uuid.chars().count() > 50 {
        return field_invalid("uuid", "the max len is 50");
    }
    let chat_id = match resolve_chat(st, app_id, id_type, receive_id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    deliver(st, app_id, Outgoing { chat_id, msg_type, content, uuid, parent_id: None }, enforce)
}

/// `POST /open-apis/im/v1/messages/:message_id/reply` `{"msg_type", "content", "uuid",
/// "reply_in_thread"}` (im-v1 message/reply page): the answer goes to the replied message's
/// chat, quoting it; same scopes, limits and answer as a send. `reply_in_thread` (a topic
/// thread) is accepted and not emulated.
pub(crate) fn reply(st: &mut State, req: &Req, app_id: &str, message_id: &str, enforce: bool) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(msg_type) = body["msg_type"].as_str() else {
        return field_invalid("msg_type", "msg_type is required");
    };
    let content = match content_string(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let uuid = body["uuid"].as_str().unwrap_or_default();
    if uuid.chars().count() > 50 {
        return field_invalid("uuid", "the max len is 50");
    }
    let Some(chat_id) = st.message_index.get(message_id).cloned() else {
        return invalid_param("message_id not found");
    };
    match st.chat(&chat_id) {
        None => return invalid_param("message_id not found"),
        Some(c) if c.disbanded => return fail(400, 232009, "Your request specifies a chat which has already been dissolved."),
        Some(c) if !c.bots.iter().any(|b| b == app_id) => return fail(400, 230002, "The bot can not be outside the group."),
        // 230011 "The message was recalled." (UNCERTAIN: from the reply page's table as remembered).
        Some(c) if !c.messages.iter().any(|m| m.message_id == message_id) => return fail(400, 230011, "The message was recalled."),
        Some(_) => {}
    }
    let out = Outgoing { chat_id, msg_type, content, uuid, parent_id: Some(message_id.to_string()) };
    deliver(st, app_id, out, enforce)
}

/// A message about to be stored.
struct Outgoing<'a> {
    chat_id: String,
    msg_type: &'a str,
    content: String,
    uuid: &'a str,
    parent_id: Option<String>,
}

/// uuid dedup, content checks (a card sent by `card_id` included), the per-chat limit, then
/// the message stored.
fn deliver(st: &mut State, app_id: &str, out: Outgoing, enforce: bool) -> Reply {
    let Outgoing { chat_id, msg_type, content, uuid, parent_id } = out;
    let now = st.now();
    let key = (app_id.to_string(), uuid.to_string());
    if !uuid.is_empty() {
        // A repeated uuid within 1 h sends nothing new; the sandbox answers with the message the
        // first request sent (UNCERTAIN: the page does not show the duplicate's answer).
        if let Some((message_id, at)) = st.message_uuids.get(&key) {
            let m = st.chat(&chat_id).and_then(|c| c.messages.iter().find(|m| &m.message_id == message_id));
            if let (Some(m), true) = (m, now.saturating_sub(*at) < MESSAGE_UUID_WINDOW) {
                return ok(st.message_json(m));
            }
        }
    }
    let parsed = match check_content(msg_type, &content) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let card_entity = match cardkit::check_card_reference(st, app_id, &parsed) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if enforce && st.limiter.admit(now, &[Rule::new(format!("chat:{chat_id}"), CHAT_QPS, SECOND)]).is_err() {
        return im_frequency_limited();
    }
    let message = Message {
        message_id: format!("om_{}", hex_id(16)),
        chat_id: chat_id.clone(),
        sender_id: app_id.to_string(),
        sender_type: "app",
        msg_type: msg_type.to_string(),
        content,
        mentions: Vec::new(),
        created_at: now,
        updated_at: now,
        updated_count: 0,
        parent_id,
    };
    if !uuid.is_empty() {
        st.message_uuids.insert(key, (message.message_id.clone(), now));
    }
    if let Some(card) = card_entity.and_then(|id| st.cards.get_mut(&id)) {
        card.message_id = Some(message.message_id.clone());
    }
    let mut data = st.message_json(&message);
    if let Some(parent) = &message.parent_id {
        data["parent_id"] = json!(parent);
        data["root_id"] = json!(parent);
    }
    st.message_index.insert(message.message_id.clone(), chat_id.clone());
    if let Some(chat) = st.chat_mut(&chat_id) {
        chat.messages.push(message);
    }
    ok(data)
}

/// The chat a send goes to; a user receiver gets (or starts) the bot's p2p chat.
fn resolve_chat(st: &mut State, app_id: &str, id_type: &str, receive_id: &str) -> Result<String, Reply> {
    let invalid_receiver = || fail(400, 230034, "The receive_id is invalid.");
    if id_type == "chat_id" {
        let chat = st.chat(receive_id).ok_or_else(invalid_receiver)?;
        if chat.disbanded {
            return Err(fail(400, 232009, "Your request specifies a chat which has already been dissolved."));
        }
        if !chat.bots.iter().any(|b| b == app_id) {
            return Err(fail(400, 230002, "The bot can not be outside the group."));
        }
        return Ok(chat.chat_id.clone());
    }
    if !matches!(id_type, "open_id" | "union_id" | "user_id" | "email") {
        return Err(field_invalid("receive_id_type", "receive_id_type must be one of open_id, union_id, user_id, email, chat_id"));
    }
    let open_id = st.user_by(id_type, receive_id).ok_or_else(invalid_receiver)?.open_id.clone();
    let existing = st.chats.iter().find(|c| c.chat_mode == "p2p" && c.members == [open_id.clone()] && c.bots.iter().any(|b| b == app_id));
    if let Some(chat) = existing {
        return Ok(chat.chat_id.clone());
    }
    let chat = Chat {
        chat_id: format!("oc_{}", hex_id(16)),
        name: String::new(),
        description: String::new(),
        chat_type: "p2p".to_string(),
        chat_mode: "p2p",
        owner_id: app_id.to_string(),
        creator_app: app_id.to_string(),
        members: vec![open_id],
        bots: vec![app_id.to_string()],
        bot_managers: Vec::new(),
        disbanded: false,
        messages: Vec::new(),
    };
    let id = chat.chat_id.clone();
    st.chats.push(chat);
    Ok(id)
}

/// `PATCH /open-apis/im/v1/messages/:message_id` body `{"content": "<card JSON string>"}`.
/// Answers `{"code":0,"data":{},"msg":"ok"}` (the page's example).
pub(crate) fn patch(st: &mut State, req: &Req, app_id: &str, message_id: &str, enforce: bool) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let content = match content_string(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(chat_id) = st.message_index.get(message_id).cloned() else {
        return invalid_param("message_id not found");
    };
    if st.chat(&chat_id).is_none_or(|c| c.disbanded) {
        return fail(400, 232009, "Your request specifies a chat which has already been dissolved.");
    }
    let now = st.now();
    let Some(old) = st.chat(&chat_id).and_then(|c| c.messages.iter().find(|m| m.message_id == message_id)) else {
        return fail(400, 230110, "Action unavailable as the message has been deleted.");
    };
    if old.sender_type != "app" || old.sender_id != app_id {
        // "调用该接口的身份（access_token）需与发送卡片的身份一致".
        return fail(400, 230027, "Lack of necessary permissions.");
    }
    if old.msg_type != "interactive" {
        // "仅支持更新消息卡片(interactive类型)"; the code for this case is not documented (UNCERTAIN).
        return invalid_param("only interactive (card) messages can be updated");
    }
    if now.saturating_sub(old.created_at) > EDIT_WINDOW {
        return fail(400, 230031, "Message can only be modified within 14 days after sending.");
    }
    let old_card: Value = serde_json::from_str(&old.content).unwrap_or(Value::Null);
    let new_card = match check_content("interactive", &content) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !is_shared(&old_card) || !is_shared(&new_card) {
        // "你需在更新前后卡片的 config 属性中，均显式声明 "update_multi":true". The page lists no
        // code for a non-shared card; 230001 is the sandbox's choice (UNCERTAIN).
        return invalid_param("the card is not a shared card; declare config.update_multi=true before and after the update");
    }
    if enforce && st.limiter.admit(now, &[Rule::new(format!("message:{message_id}"), MESSAGE_PATCH_QPS, SECOND)]).is_err() {
        return im_frequency_limited();
    }
    if let Some(m) = st.message_mut(message_id) {
        m.content = content;
        m.updated_at = now;
        m.updated_count += 1;
    }
    Reply::json(200, json!({"code": 0, "data": {}, "msg": "ok"}))
}
