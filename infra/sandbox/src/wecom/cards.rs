//! App messages to users (`POST /cgi-bin/message/send`, doc 90236) — template cards above all —
//! and `POST /cgi-bin/message/update_template_card` (doc 94888), per notes Q2:
//!
//! - `button_interaction` needs `task_id` and ≤ 6 buttons `{text, style, key}`; the answer
//!   carries `response_code` for interactive card types only;
//! - each card is per recipient; each response code (the send-time one, and each click's)
//!   is usable **once, within 72 h**;
//! - per app to one member ≤ 30 messages/min, excess "silently dropped" (§5).
//!
//! Not emulated: "没有配置回调接口的应用不可发送支持回调的卡片" (notes Q2) — no source gives the
//! code, so an app without a callback URL may still send interactive cards here.

use std::time::Duration;

use serde_json::{json, Value};

use super::ratelimit::MINUTE;
use super::reply::{bad_param, codes, fail, ok, Reply};
use super::state::{alnum, App, CodeScope, Dropped, ResponseCode, State, UserCard};
use super::{Req, SandboxConfig};

/// "72小时内有效，且只能使用一次" (notes Q2, doc 90236 / 94888).
pub const RESPONSE_CODE_TTL: Duration = Duration::from_secs(72 * 3600);
/// notes Q1 (101032): `button_list` ≤ 6.
const MAX_BUTTONS: usize = 6;
/// notes Q1 (101032): task_id ≤ 128 bytes of `[0-9A-Za-z_-@]`.
const MAX_TASK_ID: usize = 128;
/// UNCERTAIN (the one place): when `update_template_card` names neither `userids` nor `atall`,
/// the sandbox updates every recipient — the rule the bot's passive reply documents (notes Q1:
/// "If `userids` is omitted, the card is replaced for all users"); doc 94888 is silent.
const NO_TARGET_MEANS_ALL: bool = true;

/// Card types that call back and get a `response_code` (notes Q2).
fn interactive(card: &Value) -> bool {
    match card["card_type"].as_str().unwrap_or_default() {
        "button_interaction" | "vote_interaction" | "multiple_interaction" => true,
        "text_notice" | "news_notice" => card["action_menu"].is_object(),
        _ => false,
    }
}

fn check_card(card: &Value) -> Result<(), String> {
    let card_type = card["card_type"].as_str().unwrap_or_default();
    if !matches!(card_type, "text_notice" | "news_notice" | "button_interaction" | "vote_interaction" | "multiple_interaction") {
        return Err(format!("template_card.card_type {card_type:?}"));
    }
    if interactive(card) {
        let task_id = card["task_id"].as_str().unwrap_or_default();
        let charset = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'@');
        if task_id.is_empty() || task_id.len() > MAX_TASK_ID || !task_id.bytes().all(charset) {
            return Err("template_card.task_id (1..128 bytes of [0-9A-Za-z_-@])".into());
        }
    }
    if card_type == "button_interaction" {
        let buttons = card["button_list"].as_array().cloned().unwrap_or_default();
        if buttons.is_empty() || buttons.len() > MAX_BUTTONS {
            return Err("template_card.button_list (1..6 buttons)".into());
        }
        if buttons.iter().any(|b| !b["text"].is_string() || (b["type"].as_i64().unwrap_or(0) == 0 && !b["key"].is_string())) {
            return Err("template_card.button_list[] needs text and key".into());
        }
    }
    Ok(())
}

pub(crate) fn new_code(st: &mut State, agent_id: i64, msgid: &str, scope: CodeScope) -> String {
    let code = alnum(43);
    let issued_at = st.now();
    st.codes.insert(code.clone(), ResponseCode { agent_id, msgid: msgid.to_string(), scope, issued_at, used_at: None });
    code
}

/// `{touser: "a|b", msgtype, agentid, <msgtype>: {...}}` → `{invaliduser, msgid, response_code?}`.
pub(crate) fn send(st: &mut State, req: &Req, app: &App, config: &SandboxConfig) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    if body["agentid"].as_i64() != Some(app.agent_id) {
        return fail(codes::WRONG_AGENT, "api forbidden for the agentid", &req.ip);
    }
    let msgtype = body["msgtype"].as_str().unwrap_or_default().to_string();
    if !matches!(msgtype.as_str(), "text" | "markdown" | "textcard" | "news" | "template_card") {
        return fail(codes::INVALID_MSGTYPE, &format!("invalid message type {msgtype}"), &req.ip);
    }
    let content = body[msgtype.as_str()].clone();
    if !content.is_object() {
        return bad_param(&format!("{msgtype} is required"), &req.ip);
    }
    if msgtype == "template_card" {
        if let Err(what) = check_card(&content) {
            return bad_param(&what, &req.ip);
        }
    }
    let to: Vec<String> = body["touser"].as_str().unwrap_or_default().split('|').filter(|s| !s.is_empty()).map(str::to_string).collect();
    let (valid, invalid): (Vec<String>, Vec<String>) = to.into_iter().partition(|u| st.user(u).is_some());
    if valid.is_empty() {
        return fail(codes::ALL_RECIPIENTS_INVALID, "user & party & tag all invalid", &req.ip);
    }
    let msgid = alnum(48);
    let now = st.now();
    let wall_ms = st.wall(now).as_millis() as u64;
    for user in &valid {
        let key = format!("msg {} {user}", app.agent_id);
        if config.enforce_rate_limits && !st.limiter.admit(&key, config.user_messages_per_minute, MINUTE, now) {
            let reason = format!("over {} app messages per minute to one member", config.user_messages_per_minute);
            st.dropped.push(Dropped { userid: user.clone(), msgid: msgid.clone(), msgtype: msgtype.clone(), reason, at_ms: wall_ms });
            continue;
        }
        if msgtype == "template_card" {
            st.cards.push(UserCard {
                msgid: msgid.clone(),
                agent_id: app.agent_id,
                userid: user.clone(),
                task_id: content["task_id"].as_str().unwrap_or_default().to_string(),
                card_type: content["card_type"].as_str().unwrap_or_default().to_string(),
                card: content.clone(),
                replace_name: None,
                updates: Vec::new(),
                at: now,
            });
        } else {
            st.direct.push((user.clone(), msgtype.clone(), content.clone()));
        }
    }
    let mut answer = json!({"invaliduser": invalid.join("|"), "msgid": msgid});
    if msgtype == "template_card" && interactive(&content) {
        answer["response_code"] = json!(new_code(st, app.agent_id, &msgid, CodeScope::Send));
    }
    ok(answer)
}

/// Marks `code` used if it is live and the app's: `Ok(code record)`, or the refusal.
pub(crate) fn take_code(st: &mut State, code: &str, agent_id: i64) -> Option<ResponseCode> {
    let now = st.now();
    let rc = st.codes.get_mut(code).filter(|rc| rc.agent_id == agent_id && rc.used_at.is_none() && now < rc.issued_at + RESPONSE_CODE_TTL)?;
    rc.used_at = Some(now);
    Some(rc.clone())
}

/// Applies an update to the cards of `users` (all recipients of `msgid` when empty).
pub(crate) fn apply_update(st: &mut State, msgid: &str, users: &[String], replace_name: Option<&str>, card: Option<&Value>, via: Value) -> Vec<String> {
    let mut touched = Vec::new();
    for c in st.cards.iter_mut().filter(|c| c.msgid == msgid && (users.is_empty() || users.contains(&c.userid))) {
        if let Some(name) = replace_name {
            c.replace_name = Some(name.to_string());
        }
        if let Some(card) = card {
            c.card = card.clone();
            c.card_type = card["card_type"].as_str().unwrap_or(&c.card_type).to_string();
            c.replace_name = None;
        }
        c.updates.push(via.clone());
        touched.push(c.userid.clone());
    }
    touched
}

/// `{userids, atall, agentid, response_code, button: {replace_name} | template_card}` →
/// `{"invaliduser": [...]}`.
pub(crate) fn update(st: &mut State, req: &Req, app: &App) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    if body["agentid"].as_i64() != Some(app.agent_id) {
        return fail(codes::WRONG_AGENT, "api forbidden for the agentid", &req.ip);
    }
    let replace_name = body["button"]["replace_name"].as_str();
    let card = body["template_card"].as_object().map(|_| body["template_card"].clone());
    if replace_name.is_none() && card.is_none() {
        return bad_param("button.replace_name or template_card is required", &req.ip);
    }
    let code = body["response_code"].as_str().unwrap_or_default().to_string();
    let Some(rc) = take_code(st, &code, app.agent_id) else {
        return fail(codes::RESPONSE_CODE_INVALID, "invalid response_code (unknown, used or older than 72 h)", &req.ip);
    };
    let named: Vec<String> = body["userids"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(str::to_string)).collect();
    let all = body["atall"].as_i64() == Some(1) || (named.is_empty() && NO_TARGET_MEANS_ALL);
    let recipients: Vec<String> = st.cards.iter().filter(|c| c.msgid == rc.msgid).map(|c| c.userid.clone()).collect();
    let (targets, invalid): (Vec<String>, Vec<String>) = if all { (Vec::new(), Vec::new()) } else { named.into_iter().partition(|u| recipients.contains(u)) };
    let scope = match &rc.scope {
        CodeScope::Send => "send",
        CodeScope::Click { .. } => "click",
    };
    let via = json!({"via": "update_template_card", "code_from": scope, "replace_name": replace_name, "template_card": card});
    if all || !targets.is_empty() {
        apply_update(st, &rc.msgid, &targets, replace_name, card.as_ref(), via);
    }
    ok(json!({"invaliduser": invalid}))
}
