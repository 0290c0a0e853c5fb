//! Scene groups (场景群, reference §3): create from a template (with `uuid` idempotency), add /
//! remove members, update, read info and members, disband. Field names are the SDK's
//! (`im_1_0` `CreateSceneGroup`, `AddSceneGroupMember`, `RemoveSceneGroupMember`,
//! `UpdateSceneGroup`, `GetSceneGroupInfo`, `GetSceneGroupMembers`, `DsbandOpenSceneGroup`).

use serde_json::{json, Value};

use super::reply::{bad_param, chat_gone, new_ok, old_fail, old_ok, Gen, Reply};
use super::state::{conversation_id, hex_id, Group, State};
use super::Req;

/// `user_ids` / `subadmin_ids` are one comma-separated *string* in the SDK models
/// (`AddScenegroupMemberRequest.userIds` example "123xx,224xx"); a JSON array is refused.
fn id_list(body: &Value, field: &str, gen: Gen) -> Result<Vec<String>, Reply> {
    match &body[field] {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()),
        _ => Err(bad_param(gen, &format!("{field} must be a comma-separated string"))),
    }
}

/// Splits requested users into (known, unknown). UNCERTAIN (the one place this is decided):
/// the member APIs answer only `{"success": true}` (SDK), so the sandbox adds the users the org
/// has and skips unknown ones silently; a caller learns who is in through members/query.
fn known_users(st: &State, ids: Vec<String>) -> (Vec<String>, Vec<String>) {
    ids.into_iter().partition(|id| st.user(id).is_some())
}

/// The app's live group, or the "chat gone" answer (unknown, another app's, or disbanded).
pub(crate) fn live_group<'a>(st: &'a State, app: &str, ocid: &str, gen: Gen) -> Result<&'a Group, Reply> {
    match st.group(ocid) {
        Some(g) if g.app == app && !g.disbanded => Ok(g),
        _ => Err(chat_gone(gen)),
    }
}

/// `POST /v1.0/im/sceneGroup/create` (snake_case body) → `{"chat_id","open_conversation_id"}`;
/// old `POST /topapi/im/chat/scenegroup/create` → `{"errcode":0,"result":{…},"success":true}`.
pub(crate) fn create(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let gen = Gen::of(&req.path);
    let body = match req.json(gen) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let answer = |g: &Group| {
        let ids = json!({"chat_id": g.chat_id, "open_conversation_id": g.open_conversation_id});
        match gen {
            Gen::New => new_ok(ids),
            Gen::Old => old_ok(json!({"result": ids, "success": true})),
        }
    };
    let uuid = body["uuid"].as_str().unwrap_or_default();
    // "`uuid` (idempotency)": the same uuid returns the same group. UNCERTAIN: no window is
    // documented; the sandbox keeps it for the app's lifetime.
    if let Some(g) = st.group_uuids.get(&(app_id.to_string(), uuid.to_string())).and_then(|id| st.group(id)).filter(|_| !uuid.is_empty()) {
        return answer(g);
    }
    let (Some(title), Some(template_id), Some(owner)) = (body["title"].as_str(), body["template_id"].as_str(), body["owner_user_id"].as_str()) else {
        return bad_param(gen, "title, template_id and owner_user_id are required");
    };
    let Some(app) = st.apps.get(app_id) else { return bad_param(gen, "unknown app") };
    if !app.template_ids.contains(template_id) {
        // 665036 "template missing/disabled" (reference §3). UNCERTAIN: the v1.0 code.
        return match gen {
            Gen::Old => old_fail(665036, "群模板不存在或已停用"),
            Gen::New => super::reply::new_fail(400, "invalidParameter.templateId", "群模板不存在或已停用"),
        };
    }
    if st.user(owner).is_none() {
        return bad_param(gen, "owner_user_id is not a user of the org");
    }
    let users = match id_list(&body, "user_ids", gen) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (mut members, _unknown) = known_users(st, users);
    if !members.iter().any(|m| m == owner) {
        members.insert(0, owner.to_string());
    }
    members.dedup();
    let group = Group {
        open_conversation_id: conversation_id(),
        chat_id: format!("chat{}", hex_id(16)),
        app: app_id.to_string(),
        title: title.to_string(),
        template_id: template_id.to_string(),
        owner: owner.to_string(),
        robot_code: app.group_robot_code.clone(),
        members,
        disbanded: false,
        messages: Vec::new(),
    };
    let reply = answer(&group);
    if !uuid.is_empty() {
        st.group_uuids.insert((app_id.to_string(), uuid.to_string()), group.open_conversation_id.clone());
    }
    st.groups.push(group);
    reply
}

/// `POST /v1.0/im/sceneGroup/member/add` / `member/delete` `{open_conversation_id, user_ids}`
/// → `{"success": true}`. The owner cannot be removed (UNCERTAIN: skipped silently).
pub(crate) fn change_members(st: &mut State, req: &Req, app_id: &str, add: bool) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ocid) = body["open_conversation_id"].as_str() else {
        return bad_param(Gen::New, "open_conversation_id is required");
    };
    let ids = match id_list(&body, "user_ids", Gen::New) {
        Ok(v) if !v.is_empty() => v,
        Ok(_) => return bad_param(Gen::New, "user_ids is required"),
        Err(r) => return r,
    };
    if let Err(r) = live_group(st, app_id, ocid, Gen::New) {
        return r;
    }
    let (known, _unknown) = known_users(st, ids);
    let Some(group) = st.group_mut(ocid) else { return chat_gone(Gen::New) };
    for id in known {
        if add && !group.members.contains(&id) {
            group.members.push(id);
        } else if !add && id != group.owner {
            group.members.retain(|m| *m != id);
        }
    }
    new_ok(json!({"success": true}))
}

/// `POST /v1.0/im/sceneGroup/update` `{open_conversation_id, title, owner_user_id}` → `{"success": true}`.
pub(crate) fn update(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ocid) = body["open_conversation_id"].as_str() else {
        return bad_param(Gen::New, "open_conversation_id is required");
    };
    if let Err(r) = live_group(st, app_id, ocid, Gen::New) {
        return r;
    }
    let new_owner = body["owner_user_id"].as_str().map(str::to_string);
    if new_owner.as_deref().is_some_and(|o| st.user(o).is_none()) {
        return bad_param(Gen::New, "owner_user_id is not a user of the org");
    }
    let Some(group) = st.group_mut(ocid) else { return chat_gone(Gen::New) };
    if let Some(title) = body["title"].as_str() {
        group.title = title.to_string();
    }
    if let Some(owner) = new_owner {
        if !group.members.contains(&owner) {
            group.members.push(owner.clone());
        }
        group.owner = owner;
    }
    new_ok(json!({"success": true}))
}

/// `POST /v1.0/im/sceneGroups/query` `{openConversationId}` →
/// `{openConversationId, title, ownerUserId, templateId, icon, groupUrl, success}`.
pub(crate) fn info(st: &State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ocid = body["openConversationId"].as_str().unwrap_or_default();
    match live_group(st, app_id, ocid, Gen::New) {
        Ok(g) => new_ok(json!({
            "openConversationId": g.open_conversation_id, "title": g.title, "ownerUserId": g.owner,
            "templateId": g.template_id, "icon": "", "groupUrl": format!("dingtalk://dingtalkclient/page/chat?cid={}", g.chat_id),
            "success": true,
        })),
        Err(r) => r,
    }
}

/// `POST /v1.0/im/sceneGroups/members/query` `{openConversationId, cursor, size}` →
/// `{memberUserIds, hasMore, nextCursor, success}`. `cursor` is an opaque offset ("0" first).
pub(crate) fn members(st: &State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ocid = body["openConversationId"].as_str().unwrap_or_default();
    let g = match live_group(st, app_id, ocid, Gen::New) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let start: usize = body["cursor"].as_str().and_then(|c| c.parse().ok()).unwrap_or(0);
    // UNCERTAIN: the page size bounds; 1..=1000, default 100.
    let size = body["size"].as_u64().map(|s| s.clamp(1, 1000) as usize).unwrap_or(100);
    let page: Vec<&String> = g.members.iter().skip(start).take(size).collect();
    let next = start + page.len();
    let more = next < g.members.len();
    new_ok(json!({"memberUserIds": page, "hasMore": more, "nextCursor": if more { next.to_string() } else { String::new() }, "success": true}))
}

/// `POST /v1.0/im/chat/scenegroup/disband` `{openConversationId}` → `{"success": true}`.
pub(crate) fn disband(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ocid = body["openConversationId"].as_str().unwrap_or_default().to_string();
    if let Err(r) = live_group(st, app_id, &ocid, Gen::New) {
        return r;
    }
    if let Some(g) = st.group_mut(&ocid) {
        g.disbanded = true;
    }
    new_ok(json!({"success": true}))
}
