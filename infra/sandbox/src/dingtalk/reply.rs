//! DingTalk's two answer shapes and the errors shared by every endpoint (reference header).
//!
//! - **old** (`oapi`, e.g. `/gettoken`, `/topapi/...`): HTTP 200 even on error, JSON
//!   `{"errcode": 0, "errmsg": "ok", ...}`. Gateway errors come as `errcode 88` with `sub_code`
//!   / `sub_msg` and `errmsg "ding talk error[subcode=…,submsg=…]"`, plus `request_id`
//!   (live probe answers quoted in third-party probe logs).
//! - **new** (`/v1.0/...`): 2xx with the bare result object, or a non-2xx status with
//!   `{"code": "...", "message": "...", "requestid": "..."}`.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::state::{alnum, request_id};

/// Which API generation a path belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gen {
    Old,
    New,
}

impl Gen {
    pub fn of(path: &str) -> Gen {
        if path.starts_with("/v1.0/") {
            Gen::New
        } else {
            Gen::Old
        }
    }
}

/// A response before it becomes HTTP, so the sandbox can record its outcome.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// `errcode` as a string (old), or `code` (new); empty when the call succeeded.
    pub fn code(&self) -> String {
        match (&self.body["errcode"], &self.body["code"]) {
            (Value::Number(n), _) if n.as_i64() != Some(0) => n.to_string(),
            (_, Value::String(s)) if self.status >= 400 => s.clone(),
            _ => String::new(),
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status < 400 && self.code().is_empty()
    }

    pub fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body.to_string()));
        *resp.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=utf-8"));
        resp
    }
}

/// Old API success: `{"errcode":0,"errmsg":"ok",...fields,"request_id"}`.
pub(crate) fn old_ok(fields: Value) -> Reply {
    let mut body = json!({"errcode": 0, "errmsg": "ok", "request_id": alnum(13)});
    if let (Some(b), Value::Object(f)) = (body.as_object_mut(), fields) {
        b.extend(f);
    }
    Reply { status: 200, body }
}

pub(crate) fn old_fail(errcode: i64, errmsg: &str) -> Reply {
    Reply { status: 200, body: json!({"errcode": errcode, "errmsg": errmsg, "request_id": alnum(13)}) }
}

/// The gateway's `errcode 88` wrapper around a sub-code (probe: `{"errcode":88,"sub_code":"40014",
/// "sub_msg":"不合法的access_token","errmsg":"ding talk error[subcode=40014,submsg=不合法的access_token]"}`).
pub(crate) fn old_sub_fail(sub_code: &str, sub_msg: &str) -> Reply {
    Reply {
        status: 200,
        body: json!({"errcode": 88, "sub_code": sub_code, "sub_msg": sub_msg,
                     "errmsg": format!("ding talk error[subcode={sub_code},submsg={sub_msg}]"), "request_id": alnum(13)}),
    }
}

pub(crate) fn new_ok(body: Value) -> Reply {
    Reply { status: 200, body }
}

pub(crate) fn new_fail(status: u16, code: &str, message: &str) -> Reply {
    Reply { status, body: json!({"code": code, "message": message, "requestid": request_id()}) }
}

/// A body that is not a JSON object, or a missing / mistyped field.
pub(crate) fn bad_param(gen: Gen, message: &str) -> Reply {
    match gen {
        // `40035 缺少参数` (probe of /gettoken; also listed for scene groups, reference §3).
        Gen::Old => old_fail(40035, &format!("缺少参数 {message}")),
        Gen::New => new_fail(400, "InvalidParameter", message),
    }
}

/// Missing token: probe P9 (old: sub 40000 "access_token is blank") and P7/P10 (new: 400
/// `AuthenticationFailed.MissingParameter`).
pub(crate) fn missing_token(gen: Gen) -> Reply {
    match gen {
        Gen::Old => old_sub_fail("40000", "access_token is blank"),
        Gen::New => new_fail(400, "AuthenticationFailed.MissingParameter", "缺少参数：x-acs-dingtalk-access-token"),
    }
}

/// Unknown or expired token: probe P8 (old: sub 40014) and P6 (new: 400 `InvalidAuthentication`).
/// UNCERTAIN: an *expired* token is answered exactly like an unknown one; no source shows a
/// distinct expiry code for DingTalk.
pub(crate) fn invalid_token(gen: Gen) -> Reply {
    match gen {
        Gen::Old => old_sub_fail("40014", "不合法的access_token"),
        Gen::New => new_fail(400, "InvalidAuthentication", "不合法的access_token"),
    }
}

/// A missing permission point (reference §6): v1.0 403 `AccessTokenPermissionDenied` with
/// `accessdenieddetail.requiredScopes`; the old API wraps sub-code 60011 in errcode 88 with the
/// same "应用尚未开通所需的权限：[…]" text (third-party clients quote `subcode=60011 应用尚未开通所需的权限`).
pub(crate) fn permission_denied(gen: Gen, scopes: &[&str], corp_id: &str) -> Reply {
    let list = scopes.join(",");
    let apply = format!("https://open-dev.dingtalk.com/appscope/apply?content={corp_id}%23{}", scopes.first().copied().unwrap_or_default());
    let text = format!("应用尚未开通所需的权限：[{list}]，点击链接申请并开通即可：{apply}");
    match gen {
        Gen::Old => old_sub_fail("60011", &text),
        Gen::New => {
            let mut r = new_fail(403, "Forbidden.AccessDenied.AccessTokenPermissionDenied", &text);
            r.body["accessdenieddetail"] = json!({"requiredScopes": scopes});
            r
        }
    }
}

/// Per-app per-API QPS (notes Q9): 90018 / 403 `QpsLimitForAppkeyAndApi`, with the message the
/// reference quotes ("请求过于频繁，限制将在 <China time> 结束"). No `Retry-After` (§5).
pub(crate) fn qps_limited(gen: Gen, until_china_time: &str) -> Reply {
    let message = format!("请求过于频繁，限制将在 {until_china_time} 结束");
    match gen {
        Gen::Old => old_fail(90018, &message),
        Gen::New => new_fail(403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", &message),
    }
}

/// Monthly quota spent (reference §5): 90020 / `ApiCountLimitForOrg`. UNCERTAIN: the v1.0 status
/// (403, as for the other `Forbidden.AccessDenied.*` codes).
pub(crate) fn quota_exhausted(gen: Gen, quota: u64) -> Reply {
    let message = format!("您的企业本月api调用量已超过限制，额度:{quota}次，请升级版本或下月再试");
    match gen {
        Gen::Old => old_fail(90020, &message),
        Gen::New => new_fail(403, "Forbidden.AccessDenied.ApiCountLimitForOrg", &message),
    }
}

/// The group is unknown or was disbanded. UNCERTAIN (the one place this is decided): the docs
/// give no code for a disbanded scene group; the sandbox answers like an unknown group, old
/// `660023` (scene-group pages: bad group id), v1.0 400 `invalid.openConversationId` (robot-send
/// error copies, notes Q9).
pub(crate) fn chat_gone(gen: Gen) -> Reply {
    match gen {
        Gen::Old => old_fail(660023, "群不存在或已解散"),
        Gen::New => new_fail(400, "invalid.openConversationId", "群会话不存在或已解散"),
    }
}

/// A path the gateway does not serve: old probe P14 (`errcode 22 Invalid method`); v1.0 404.
pub(crate) fn not_found(gen: Gen, path: &str) -> Reply {
    match gen {
        Gen::Old => {
            let api = format!("dingtalk.oapi{}", path.replace("/topapi", "").replace('/', "."));
            old_fail(22, &format!("Invalid method[submsg=不合法ApiName，ApiName = {api}]"))
        }
        Gen::New => new_fail(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."),
    }
}
