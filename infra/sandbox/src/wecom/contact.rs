//! User look-ups (§4): `POST /cgi-bin/user/getuserid {"mobile"}` (doc 96267) and
//! `POST /cgi-bin/user/get_userid_by_email {"email","email_type"}` (doc 96268, self-built 95895)
//! → `{"userid"}`. No match: 46004 (global table "指定的用户不存在"). A member outside the app's
//! visibility: 60011 ("App must have view permission on the member", §4, §6).
//! Not emulated: the one-day block after wrong inputs exceed 20% of the member cap.

use serde_json::json;

use super::reply::{bad_param, codes, fail, ok, Reply};
use super::state::{State, User};
use super::Req;

fn answer(user: Option<&User>, ip: &str) -> Reply {
    match user {
        None => fail(codes::USER_NOT_FOUND, "user no exist", ip),
        Some(u) if !u.visible => fail(codes::NO_PRIVILEGE, "no privilege to access/modify contact/party/agent", ip),
        Some(u) => ok(json!({"userid": u.userid})),
    }
}

pub(crate) fn by_mobile(st: &State, req: &Req) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    // §4: "mobile" 5–32 bytes.
    let Some(mobile) = body["mobile"].as_str().filter(|m| (5..=32).contains(&m.len())) else {
        return bad_param("mobile (5..32 bytes)", &req.ip);
    };
    answer(st.users.iter().find(|u| u.mobile.as_deref() == Some(mobile)), &req.ip)
}

pub(crate) fn by_email(st: &State, req: &Req) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(email) = body["email"].as_str().filter(|e| !e.is_empty()) else {
        return bad_param("email", &req.ip);
    };
    // §4: email_type 1 = corporate mailbox (default), 2 = personal email.
    let user = match body["email_type"].as_i64().unwrap_or(1) {
        1 => st.users.iter().find(|u| u.biz_mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(email))),
        2 => st.users.iter().find(|u| u.email.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(email))),
        _ => return bad_param("email_type must be 1 or 2", &req.ip),
    };
    answer(user, &req.ip)
}
