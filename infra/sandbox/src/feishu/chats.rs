//! Group chats: create (with uuid dedup), list, get, disband, add members.
//! Pages: im-v1 chat/create, chat/list, chat/get, chat/delete, chat-members/create
//! (open.feishu.cn server docs, "群组").

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use super::reply::{fail, field_invalid, ok, Reply};
use super::state::{hex_id, Chat, State};
use super::Req;

/// "持有相同 uuid + owner_id（若有）的请求 10 小时内只可成功创建 1 个群聊".
const CHAT_UUID_WINDOW: Duration = Duration::from_secs(10 * 3600);

fn invalid_chat() -> Reply {
    fail(400, 232006, "Your request specifies a chat_id which is invalid.")
}
fn dissolved() -> Reply {
    fail(400, 232009, "Your request specifies a chat which has already been dissolved.")
}
fn not_in_chat() -> Reply {
    fail(400, 232011, "Operator can NOT be out of the chat.")
}

/// A JSON array of strings, or `Err` naming the field.
fn string_list(body: &Value, field: &str) -> Result<Vec<String>, Reply> {
    match &body[field] {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => {
            items.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>().ok_or_else(|| super::reply::bad_json_type(field, &body[field]))
        }
        other => Err(super::reply::bad_json_type(field, other)),
    }
}

/// `POST /open-apis/im/v1/chats?user_id_type&set_bot_manager&uuid`.
pub(crate) fn create(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id_type = req.q("user_id_type").unwrap_or("open_id");
    let uuid = req.q("uuid").unwrap_or_default();
    if uuid.chars().count() > 50 {
        return field_invalid("uuid", "the max len is 50");
    }
    let users = match string_list(&body, "user_id_list") {
        Ok(v) => v,
        Err(r) => return r,
    };
    if users.len() > 50 {
        return field_invalid("user_id_list", "the max len is 50");
    }
    let bots = match string_list(&body, "bot_id_list") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let owner = body["owner_id"].as_str().filter(|s| !s.is_empty());
    let now = st.now();
    let dedup_key = (app_id.to_string(), uuid.to_string(), owner.unwrap_or_default().to_string());
    if !uuid.is_empty() {
        if let Some((chat_id, at)) = st.chat_uuids.get(&dedup_key) {
            if now.saturating_sub(*at) < CHAT_UUID_WINDOW {
                if let Some(chat) = st.chat(chat_id) {
                    return ok(create_json(st, chat));
                }
            }
        }
    }
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let chat_type = body["chat_type"].as_str().unwrap_or("private").to_string();
    match chat_type.as_str() {
        "private" => {}
        "public" if name.is_empty() => return fail(400, 232042, "Public group chat's name should not be empty."),
        "public" if name.chars().count() < 2 => return fail(400, 232020, "Name can NOT be less than two characters for public chats."),
        "public" => {}
        _ => return fail(400, 232001, "Your request contains an invalid request parameter."),
    }
    let mut members = Vec::new();
    for id in &users {
        match st.user_by(id_type, id) {
            Some(u) if !members.contains(&u.open_id) => members.push(u.open_id.clone()),
            Some(_) => {}
            None => return fail(400, 232043, "Your request contains unavailable ids."),
        }
    }
    let owner_id = match owner {
        Some(id) => match st.user_by(id_type, id) {
            Some(u) => {
                if !members.contains(&u.open_id) {
                    members.push(u.open_id.clone());
                }
                u.open_id.clone()
            }
            None => return fail(400, 232030, "Your request specifies a user_id which is invalid."),
        },
        None => app_id.to_string(),
    };
    let mut chat_bots = vec![app_id.to_string()];
    for b in &bots {
        if !st.apps.contains_key(b) {
            return fail(400, 232043, "Your request contains unavailable ids.");
        }
        if !chat_bots.contains(b) {
            chat_bots.push(b.clone());
        }
    }
    let set_manager = req.q("set_bot_manager") == Some("true") && owner.is_some();
    let chat = Chat {
        chat_id: format!("oc_{}", hex_id(16)),
        name,
        description: body["description"].as_str().unwrap_or_default().to_string(),
        chat_type,
        chat_mode: "group",
        owner_id,
        creator_app: app_id.to_string(),
        members,
        bots: chat_bots,
        bot_managers: if set_manager { vec![app_id.to_string()] } else { Vec::new() },
        disbanded: false,
        messages: Vec::new(),
    };
    if !uuid.is_empty() {
        st.chat_uuids.insert(dedup_key, (chat.chat_id.clone(), now));
    }
    let data = create_json(st, &chat);
    st.chats.push(chat);
    ok(data)
}

fn owner_id_type(chat: &Chat) -> &'static str {
    if chat.bots.contains(&chat.owner_id) {
        "app_id"
    } else {
        "open_id"
    }
}

fn create_json(st: &State, chat: &Chat) -> Value {
    json!({
        "chat_id": chat.chat_id, "avatar": "", "name": chat.name, "description": chat.description,
        "owner_id": chat.owner_id, "owner_id_type": owner_id_type(chat),
        "add_member_permission": "all_members", "share_card_permission": "allowed",
        "at_all_permission": "all_members", "edit_permission": "all_members",
        "group_message_type": "chat", "chat_mode": chat.chat_mode, "chat_type": chat.chat_type,
        "chat_tag": "inner", "external": false, "tenant_key": st.tenant_key,
        "join_message_visibility": "all_members", "leave_message_visibility": "all_members",
        "membership_approval": "no_approval_required", "moderation_permission": "all_members",
    })
}

/// `GET /open-apis/im/v1/chats?page_size&page_token` — group chats the bot is in, oldest first.
/// `page_size` default 20, at most 100 (chat/list page). `page_token` is an opaque offset.
pub(crate) fn list(st: &State, req: &Req, app_id: &str) -> Reply {
    let mine: Vec<&Chat> = st.chats.iter().filter(|c| c.chat_mode == "group" && !c.disbanded && c.bots.iter().any(|b| b == app_id)).collect();
    let (start, size) = match page(req, 20, 100) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let items: Vec<Value> = mine
        .iter()
        .skip(start)
        .take(size)
        .map(|c| {
            json!({"chat_id": c.chat_id, "avatar": "", "name": c.name, "description": c.description,
                   "owner_id": c.owner_id, "owner_id_type": owner_id_type(c), "external": false,
                   "tenant_key": st.tenant_key, "chat_status": "normal"})
        })
        .collect();
    ok(page_json(items, start + size, mine.len()))
}

/// Parses `page_size` (default, max) and `page_token` (base64 offset).
pub(crate) fn page(req: &Req, default: usize, max: usize) -> Result<(usize, usize), Reply> {
    let size = match req.q("page_size") {
        None => default,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => return Err(field_invalid("page_size", &format!("page_size must be between 1 and {max}"))),
        },
    };
    let start = match req.q("page_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => base64::engine::general_purpose::STANDARD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("sandbox:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| field_invalid("page_token", "invalid page_token"))?,
    };
    Ok((start, size))
}

/// `{"items", "page_token" (only when has_more), "has_more"}`.
pub(crate) fn page_json(items: Vec<Value>, next: usize, total: usize) -> Value {
    let mut data = json!({"items": items, "has_more": next < total});
    if next < total {
        data["page_token"] = json!(base64::engine::general_purpose::STANDARD.encode(format!("sandbox:{next}")));
    }
    data
}

/// `GET /open-apis/im/v1/chats/:chat_id`. A disbanded chat answers with `chat_status`
/// `dissolved` (UNCERTAIN: the page lists the status value but no 232009 for this API).
pub(crate) fn get(st: &State, app_id: &str, chat_id: &str) -> Reply {
    let Some(chat) = st.chat(chat_id) else { return invalid_chat() };
    if !chat.disbanded && !chat.bots.iter().any(|b| b == app_id) {
        return not_in_chat();
    }
    let mut data = create_json(st, chat);
    if let Some(obj) = data.as_object_mut() {
        obj.remove("chat_id");
    }
    data["user_manager_id_list"] = json!([]);
    data["bot_manager_id_list"] = json!(chat.bot_managers);
    data["user_count"] = json!(chat.members.len().to_string());
    data["bot_count"] = json!(chat.bots.len().to_string());
    data["chat_status"] = json!(if chat.disbanded { "dissolved" } else { "normal" });
    ok(data)
}

/// `DELETE /open-apis/im/v1/chats/:chat_id`: the bot must own the chat, or have created it and
/// hold `im:chat:operate_as_owner` (232017 otherwise). The history is deleted.
pub(crate) fn delete(st: &mut State, app_id: &str, chat_id: &str) -> Reply {
    let Some(chat) = st.chat(chat_id) else { return invalid_chat() };
    if chat.disbanded {
        return dissolved();
    }
    if !chat.bots.iter().any(|b| b == app_id) {
        return not_in_chat();
    }
    let operate_as_owner = st.apps.get(app_id).is_some_and(|a| a.has_any(&["im:chat:operate_as_owner"]));
    if chat.owner_id != app_id && !(chat.creator_app == app_id && operate_as_owner) {
        return fail(400, 232017, "No Permission: If the operator is NOT owner or creator with the scope, the operator can NOT complete the request.");
    }
    st.disband(chat_id);
    ok(json!({}))
}

/// `POST /open-apis/im/v1/chats/:chat_id/members?member_id_type&succeed_type` body `{id_list}`.
/// succeed_type 0 (default): any unknown id fails the call (99992351 for open_ids);
/// 1: valid ids are added, unknown ones come back in `not_existed_id_list`;
/// 2: any unavailable id fails the call (232043).
pub(crate) fn add_members(st: &mut State, req: &Req, app_id: &str, chat_id: &str) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ids = match string_list(&body, "id_list") {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id_type = req.q("member_id_type").unwrap_or("open_id");
    let succeed_type = match req.q("succeed_type").unwrap_or("0") {
        s @ ("0" | "1" | "2") => s,
        _ => return field_invalid("succeed_type", "succeed_type must be one of 0, 1, 2"),
    };
    let max = if id_type == "app_id" { 5 } else { 50 };
    if ids.len() > max {
        return field_invalid("id_list", &format!("the max len is {max}"));
    }
    if ids.is_empty() {
        return fail(400, 232027, "There are no valid members in the ID list specified in your request.");
    }
    let Some(chat) = st.chat(chat_id) else { return invalid_chat() };
    if chat.disbanded {
        return dissolved();
    }
    if !chat.bots.iter().any(|b| b == app_id) {
        return not_in_chat();
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for id in &ids {
        let resolved = if id_type == "app_id" { st.apps.contains_key(id).then(|| id.clone()) } else { st.user_by(id_type, id).map(|u| u.open_id.clone()) };
        match resolved {
            Some(r) => found.push(r),
            None => missing.push(id.clone()),
        }
    }
    if !missing.is_empty() {
        match (succeed_type, id_type) {
            ("0", "open_id") => return fail(400, 99992351, format!("these open ids not existed: {missing:?}")),
            ("0", "user_id") => return fail(400, 99992360, "Your request contains not existed id."),
            ("0", "union_id") => return fail(400, 99992364, "Your request contains not existed id."),
            ("1", _) => {}
            _ => return fail(400, 232043, "Your request contains unavailable ids."),
        }
    }
    let Some(chat) = st.chat_mut(chat_id) else { return invalid_chat() };
    let list = if id_type == "app_id" { &mut chat.bots } else { &mut chat.members };
    for id in found {
        if !list.contains(&id) {
            list.push(id);
        }
    }
    ok(json!({"invalid_id_list": [], "not_existed_id_list": missing, "pending_approval_id_list": []}))
}
