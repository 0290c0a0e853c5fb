//! Directory look-ups: user IDs by email/mobile, the app's granted scopes, its bot's identity.

use serde_json::{json, Value};

use super::reply::{field_invalid, ok, Reply};
use super::state::{State, User};
use super::Req;

/// `POST /open-apis/contact/v3/users/batch_get_id?user_id_type=open_id` body
/// `{"emails": [...≤50], "mobiles": [...≤50], "include_resigned": false}` (contact-v3
/// user/batch_get_id page). One `user_list` entry per email, then per mobile; an unknown one
/// comes back without `user_id`. `user_id_type=user_id` needs `contact:user.employee_id:readonly`,
/// else the id is left out ("应用未开通获取用户 user ID API 权限" → "不返回用户 ID").
pub(crate) fn batch_get_id(st: &State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let id_type = req.q("user_id_type").unwrap_or("open_id");
    if !matches!(id_type, "open_id" | "union_id" | "user_id") {
        return field_invalid("user_id_type", "user_id_type must be one of open_id, union_id, user_id");
    }
    let list = |field: &str| -> Result<Vec<String>, Reply> {
        let items = match &body[field] {
            Value::Null => Vec::new(),
            Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            other => return Err(super::reply::bad_json_type(field, other)),
        };
        if items.len() > 50 {
            return Err(field_invalid(field, "the max len is 50"));
        }
        Ok(items)
    };
    let (emails, mobiles) = match (list("emails"), list("mobiles")) {
        (Ok(e), Ok(m)) => (e, m),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let can_user_id = st.apps.get(app_id).is_some_and(|a| a.has_any(&["contact:user.employee_id:readonly"]));
    let id_of = |u: &User| -> Option<String> {
        match id_type {
            "union_id" => Some(u.union_id.clone()),
            "user_id" => can_user_id.then(|| u.user_id.clone()),
            _ => Some(u.open_id.clone()),
        }
    };
    let status = json!({"is_frozen": false, "is_resigned": false, "is_activated": true,
                        "is_exited": false, "is_unjoin": false});
    let mut user_list = Vec::new();
    for email in &emails {
        let mut entry = json!({"email": email});
        if let Some(u) = st.users.iter().find(|u| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))) {
            if let Some(id) = id_of(u) {
                entry["user_id"] = json!(id);
            }
            entry["status"] = status.clone();
        }
        user_list.push(entry);
    }
    for mobile in &mobiles {
        let mut entry = json!({"mobile": mobile});
        if let Some(u) = st.users.iter().find(|u| u.mobile.as_deref().is_some_and(|m| same_mobile(m, mobile))) {
            if let Some(id) = id_of(u) {
                entry["user_id"] = json!(id);
            }
            entry["status"] = status.clone();
        }
        user_list.push(entry);
    }
    ok(json!({"user_list": user_list}))
}

/// Mainland numbers may be given without `+86` ("非中国大陆地区的手机号需要添加以 “+” 开头的国家或地区代码").
fn same_mobile(stored: &str, asked: &str) -> bool {
    let norm = |s: &str| s.strip_prefix("+86").unwrap_or(s).to_string();
    norm(stored) == norm(asked)
}

/// `GET /open-apis/application/v6/scopes` (application-v6 scope/list page): the app's scopes
/// with `grant_status` 1 (granted). Only granted scopes are known to the sandbox.
pub(crate) fn scopes(st: &State, app_id: &str) -> Reply {
    let scopes: Vec<Value> = st.apps.get(app_id).map(|a| a.scopes.iter().map(|s| json!({"scope_name": s, "grant_status": 1})).collect()).unwrap_or_default();
    ok(json!({"scopes": scopes}))
}

/// `GET /open-apis/bot/v3/info` (bot-v3 "获取机器人信息" page): `bot` is top level,
/// `{"code":0,"msg":"ok","bot":{"activate_status":2,"app_name","avatar_url","ip_white_list","open_id"}}`.
pub(crate) fn bot_info(st: &State, app_id: &str) -> Reply {
    let Some(app) = st.apps.get(app_id) else {
        return super::reply::fail(400, 99991663, "Invalid access token for authorization. Please make a request with token attached.");
    };
    Reply::json(
        200,
        json!({"code": 0, "msg": "ok", "bot": {
        "activate_status": 2, "app_name": app.bot_name, "avatar_url": "",
        "ip_white_list": [], "open_id": app.bot_open_id}}),
    )
}
