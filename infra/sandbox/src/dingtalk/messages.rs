//! Robot messages (reference §3 "Messages", §2b): `POST /v1.0/robot/groupMessages/send`
//! (SDK robot_1_0 `OrgGroupSend`) and the robot callback's `sessionWebhook` reply channel.

use base64::Engine;
use serde_json::{json, Value};

use super::groups::live_group;
use super::reply::{bad_param, new_fail, new_ok, old_fail, old_ok, Gen, Reply};
use super::state::{hex_id, Message, State};
use super::Req;

/// The `msgKey`s the sandbox knows, with the `msgParam` fields each requires (DingTalk's
/// "消息发送与接收类型" page as cited in notes Q8: text, markdown, link, image, action cards).
fn required_params(msg_key: &str) -> Option<&'static [&'static str]> {
    Some(match msg_key {
        "sampleText" => &["content"],
        "sampleMarkdown" => &["title", "text"],
        "sampleLink" => &["title", "text", "messageUrl"],
        "sampleImageMsg" => &["photoURL"],
        "sampleActionCard" => &["title", "text", "singleTitle", "singleURL"],
        "sampleActionCard2" | "sampleActionCard3" | "sampleActionCard4" | "sampleActionCard5" | "sampleActionCard6" => &["title", "text"],
        _ => return None,
    })
}

/// A `processQueryKey` (opaque base64 in live answers).
fn process_query_key() -> String {
    base64::engine::general_purpose::STANDARD.encode(hex_id(24))
}

/// `{robotCode, openConversationId, msgKey, msgParam: "<JSON string>"}` → `{"processQueryKey"}`.
/// Robot errors (notes Q9, secondary copies, UNCERTAIN): a robot not of this app
/// `invalidParameter.robotCode.auth`; a robot not in the group `invalidParameter.robotCode.notExsit`.
pub(crate) fn send(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (Some(robot_code), Some(ocid), Some(msg_key)) = (body["robotCode"].as_str(), body["openConversationId"].as_str(), body["msgKey"].as_str()) else {
        return bad_param(Gen::New, "robotCode, openConversationId and msgKey are required");
    };
    // `msgParam` is a JSON *string* (reference §3: "msgParam (JSON **string**)").
    let Some(param) = body["msgParam"].as_str().and_then(|s| serde_json::from_str::<Value>(s).ok()).filter(Value::is_object) else {
        return bad_param(Gen::New, "msgParam must be a JSON object serialized as a string");
    };
    let Some(required) = required_params(msg_key) else {
        return bad_param(Gen::New, &format!("msgKey {msg_key} is not supported"));
    };
    if let Some(missing) = required.iter().find(|f| !param[**f].is_string()) {
        return bad_param(Gen::New, &format!("msgParam.{missing} is required for {msg_key}"));
    }
    if !st.apps.get(app_id).is_some_and(|a| a.owns_robot(robot_code)) {
        return new_fail(400, "invalidParameter.robotCode.auth", "robotCode与应用不匹配");
    }
    let group = match live_group(st, app_id, ocid, Gen::New) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if group.robot_code != robot_code {
        return new_fail(400, "invalidParameter.robotCode.notExsit", "机器人不存在，请检查机器人是否在群内");
    }
    let key = process_query_key();
    let at = st.now();
    let message = Message { id: key.clone(), sender: robot_code.to_string(), from_robot: true, msg_key: msg_key.to_string(), param, at };
    if let Some(g) = st.group_mut(ocid) {
        g.messages.push(message);
    }
    new_ok(json!({"processQueryKey": key}))
}

/// `POST /robot/sendBySession?session=…` — the robot callback's `sessionWebhook` (§2b): text
/// `{"msgtype":"text","text":{"content"}}` or markdown `{"msgtype":"markdown","markdown":{"title","text"}}`;
/// no access token, not metered. "sessionWebhook cannot send interactive cards".
/// UNCERTAIN: an unknown or expired session is answered like an unknown webhook token,
/// `300005 token is not exist` (probe P5b).
pub(crate) fn send_by_session(st: &mut State, req: &Req) -> Reply {
    let now = st.now();
    let Some((ocid, _)) = req.q("session").and_then(|s| st.sessions.get(s)).filter(|(_, expires)| *expires > now).cloned() else {
        return old_fail(300005, "token is not exist");
    };
    let body = match req.json(Gen::Old) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (msg_key, param) = match body["msgtype"].as_str() {
        Some("text") if body["text"]["content"].is_string() => ("sampleText", json!({"content": body["text"]["content"]})),
        Some("markdown") if body["markdown"]["text"].is_string() => ("sampleMarkdown", body["markdown"].clone()),
        _ => return bad_param(Gen::Old, "msgtype text or markdown"),
    };
    let Some(group) = st.group(&ocid).filter(|g| !g.disbanded) else {
        return super::reply::chat_gone(Gen::Old);
    };
    let message = Message { id: process_query_key(), sender: group.robot_code.clone(), from_robot: true, msg_key: msg_key.to_string(), param, at: now };
    if let Some(g) = st.group_mut(&ocid) {
        g.messages.push(message);
    }
    old_ok(json!({}))
}
