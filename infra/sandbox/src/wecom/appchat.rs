//! App chats (应用群聊, §3; docs 90245 create, 98913/90246 update, 90247 get, 90248 send).
//! There is no disband API (notes Q3) and none is emulated.

use serde_json::{json, Value};

use super::reply::{bad_param, codes, fail, ok, Reply};
use super::state::{alnum, App, Chat, ChatMessage, Sender, State};
use super::{Req, SandboxConfig};

/// §3: userlist 2..2000 (older doc: 500); group size ≤ 2000.
const MIN_MEMBERS: usize = 2;
const MAX_MEMBERS: usize = 2000;
/// §3: `name` ≤ 50 UTF-8 characters, "超过将截断".
const MAX_NAME_CHARS: usize = 50;
/// §3: text content ≤ 2048 bytes.
const MAX_TEXT_BYTES: usize = 2048;
/// UNCERTAIN: the markdown limit for app messages is not in the reference; 4096 bytes (the
/// figure WeCom gives for markdown elsewhere).
const MAX_MARKDOWN_BYTES: usize = 4096;

/// A list of userids, duplicates dropped (first occurrence kept).
fn strings(v: &Value) -> Option<Vec<String>> {
    let list: Vec<String> = match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<_>>()?,
        _ => return None,
    };
    let mut seen = std::collections::HashSet::new();
    Some(list.into_iter().filter(|u| seen.insert(u.clone())).collect())
}

/// §3: "≤32 chars `[0-9a-zA-Z]`".
fn valid_chatid(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The app's own chat, or 86003 (unknown) / 86008 (another app's, or one users made).
fn own_chat<'a>(st: &'a State, app: &App, chatid: &str, ip: &str) -> Result<&'a Chat, Reply> {
    match st.chat(chatid) {
        None => Err(fail(codes::CHAT_NOT_FOUND, "chatid not found", ip)),
        Some(c) if c.app != Some(app.agent_id) => Err(fail(codes::NOT_OWN_CHAT, "not allow to operate chat not created by the app", ip)),
        Some(c) => Ok(c),
    }
}

/// `POST /cgi-bin/appchat/create {name, owner, userlist, chatid}` → `{"chatid"}`.
pub(crate) fn create(st: &mut State, req: &Req, app: &App, config: &SandboxConfig) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(members) = strings(&body["userlist"]) else { return bad_param("userlist must be an array of userids", &req.ip) };
    if !(MIN_MEMBERS..=MAX_MEMBERS).contains(&members.len()) {
        return fail(codes::BAD_MEMBER_COUNT, "chat member count must be 2..2000", &req.ip);
    }
    if let Some(unknown) = members.iter().find(|m| st.user(m).is_none()) {
        return fail(codes::INVALID_MEMBER, &format!("invalid chat member {unknown}"), &req.ip);
    }
    let owner = match body["owner"].as_str().filter(|o| !o.is_empty()) {
        Some(o) if !members.iter().any(|m| m == o) => return fail(codes::OWNER_NOT_MEMBER, "owner not in userlist", &req.ip),
        Some(o) => o.to_string(),
        // "random member if omitted": the sandbox takes the first, so tests can predict it.
        None => members[0].clone(),
    };
    let chatid = match body["chatid"].as_str().filter(|c| !c.is_empty()) {
        Some(c) if !valid_chatid(c) => return fail(codes::INVALID_CHATID, "invalid chatid", &req.ip),
        Some(c) if st.chat(c).is_some() => return fail(codes::CHATID_EXISTS, "chatid exists", &req.ip),
        Some(c) => c.to_string(),
        // UNCERTAIN: generated ids' shape; `wr` + 30 alphanumerics (the `wr…` form seen in notes Q1).
        None => format!("wr{}", alnum(30)),
    };
    let name: String = body["name"].as_str().unwrap_or_default().chars().take(MAX_NAME_CHARS).collect();
    let now = st.now();
    let day = (app.corp_id.clone(), st.china_day(now));
    let created = st.chat_creates.entry(day).or_default();
    if *created >= config.chat_creates_per_day {
        // §3: ≤1000 per corp per day. UNCERTAIN: the code; the frequency code 45009.
        return fail(codes::FREQ_LIMIT, "reach max api daily quota limit", &req.ip);
    }
    *created += 1;
    st.chats.push(Chat { chatid: chatid.clone(), app: Some(app.agent_id), name, owner, members, messages: Vec::new() });
    ok(json!({"chatid": chatid}))
}

/// `POST /cgi-bin/appchat/update {chatid, name, owner, add_user_list, del_user_list}`.
pub(crate) fn update(st: &mut State, req: &Req, app: &App, config: &SandboxConfig) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let chatid = body["chatid"].as_str().unwrap_or_default();
    let chat = match own_chat(st, app, chatid, &req.ip) {
        Ok(c) => c.clone(),
        Err(r) => return r,
    };
    let (Some(add), Some(del)) = (strings(&body["add_user_list"]), strings(&body["del_user_list"])) else {
        return bad_param("add_user_list / del_user_list must be arrays of userids", &req.ip);
    };
    if let Some(bad) = add.iter().find(|u| st.user(u).is_none()) {
        return fail(codes::INVALID_MEMBER, &format!("invalid chat member {bad}"), &req.ip);
    }
    if let Some(bad) = del.iter().find(|u| !chat.members.contains(u)) {
        return fail(codes::INVALID_MEMBER, &format!("invalid chat member {bad}"), &req.ip);
    }
    let mut members = chat.members.clone();
    members.extend(add.into_iter().filter(|u| !chat.members.contains(u)));
    members.retain(|m| !del.contains(m));
    if members.len() > MAX_MEMBERS {
        return fail(codes::BAD_MEMBER_COUNT, "chat member count must be 2..2000", &req.ip);
    }
    // UNCERTAIN (notes Q3): whether the 2-member minimum and the owner block removals is not
    // stated; the sandbox allows both, and a removed owner passes to the first remaining member.
    let mut owner = chat.owner.clone();
    if let Some(o) = body["owner"].as_str().filter(|o| !o.is_empty()) {
        if !members.iter().any(|m| m == o) {
            return fail(codes::OWNER_NOT_MEMBER, "owner not in chat member list", &req.ip);
        }
        owner = o.to_string();
    } else if !members.contains(&owner) {
        owner = members.first().cloned().unwrap_or_default();
    }
    let now = st.now();
    let hour = (app.corp_id.clone(), st.hour(now));
    let changes = st.chat_changes.entry(hour).or_default();
    if *changes >= config.chat_changes_per_hour {
        // §3: ≤1000 changes per corp per hour. UNCERTAIN: the code; the frequency code 45009.
        return fail(codes::FREQ_LIMIT, "api freq out of limit", &req.ip);
    }
    *changes += 1;
    let Some(c) = st.chat_mut(chatid) else { return fail(codes::CHAT_NOT_FOUND, "chatid not found", &req.ip) };
    if let Some(name) = body["name"].as_str() {
        c.name = name.chars().take(MAX_NAME_CHARS).collect();
    }
    c.members = members;
    c.owner = owner;
    ok(json!({}))
}

/// `GET /cgi-bin/appchat/get?chatid=` → `{"chat_info": {chatid, name, owner, userlist}}`.
pub(crate) fn get(st: &State, req: &Req, app: &App) -> Reply {
    let chatid = req.q("chatid").unwrap_or_default();
    match own_chat(st, app, chatid, &req.ip) {
        Ok(c) => ok(json!({"chat_info": {"chatid": c.chatid, "name": c.name, "owner": c.owner, "userlist": c.members, "chat_type": 0}})),
        Err(r) => r,
    }
}

/// The body fields each msgtype needs (doc 90248). `template_card` is not among them (notes Q2).
fn required(msgtype: &str) -> Option<&'static [&'static str]> {
    Some(match msgtype {
        "text" | "markdown" => &["content"],
        "image" | "voice" | "file" => &["media_id"],
        "video" => &["media_id"],
        "textcard" => &["title", "description", "url"],
        "news" | "mpnews" => &["articles"],
        _ => return None,
    })
}

/// `POST /cgi-bin/appchat/send {chatid, msgtype, <msgtype>: {...}, safe}`.
pub(crate) fn send(st: &mut State, req: &Req, app: &App) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let msgtype = body["msgtype"].as_str().unwrap_or_default().to_string();
    let Some(fields) = required(&msgtype) else {
        return fail(codes::INVALID_MSGTYPE, &format!("invalid message type {msgtype}"), &req.ip);
    };
    let content = body[msgtype.as_str()].clone();
    if let Some(missing) = fields.iter().find(|f| content[**f].is_null()) {
        return bad_param(&format!("{msgtype}.{missing} is required"), &req.ip);
    }
    let size = content["content"].as_str().map(str::len).unwrap_or(0);
    if (msgtype == "text" && size > MAX_TEXT_BYTES) || (msgtype == "markdown" && size > MAX_MARKDOWN_BYTES) {
        return fail(codes::CONTENT_TOO_LONG, "content size out of limit", &req.ip);
    }
    let chatid = body["chatid"].as_str().unwrap_or_default().to_string();
    if let Err(r) = own_chat(st, app, &chatid, &req.ip) {
        return r;
    }
    let at = st.now();
    let message =
        ChatMessage { id: format!("msg{}", alnum(24)), sender: Sender::App(app.agent_id), msgtype, content, per_user: Default::default(), updates: 0, at };
    if let Some(c) = st.chat_mut(&chatid) {
        c.messages.push(message);
    }
    ok(json!({}))
}
