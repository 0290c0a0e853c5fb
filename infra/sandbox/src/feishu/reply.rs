//! Feishu response envelopes and the error replies shared by every endpoint.
//!
//! Envelope: `{"code": 0, "msg": "success", "data": {...}}`; a failure carries a non-zero `code`,
//! its documented `msg`, and (like the real gateway) an `error` object with a `log_id`.
//! Codes and messages are from the server error-code page
//! (<https://open.feishu.cn/document/server-docs/api-call-guide/generic-error-code>) and each
//! API's own error table, as cited where they are used.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::ratelimit::Denied;
use super::state::hex_id;

pub(crate) enum Payload {
    Json(Value),
    Text(&'static str),
    Empty,
}

/// A response before it is turned into HTTP, so the sandbox can record its outcome.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub payload: Payload,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply { status, headers: Vec::new(), payload: Payload::Json(body) }
    }

    /// The body's `code` (0 when there is none, e.g. a redirect).
    pub fn code(&self) -> i64 {
        match &self.payload {
            Payload::Json(v) => v.get("code").and_then(Value::as_i64).unwrap_or(0),
            _ => 0,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status < 400 && self.code() == 0
    }

    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (body, content_type) = match self.payload {
            Payload::Json(v) => (Body::from(v.to_string()), Some("application/json; charset=utf-8")),
            Payload::Text(t) => (Body::from(t), Some("text/plain; charset=utf-8")),
            Payload::Empty => (Body::empty(), None),
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        resp
    }
}

/// `{"code":0,"msg":"success","data":data}` with HTTP 200.
pub(crate) fn ok(data: Value) -> Reply {
    Reply::json(200, json!({"code": 0, "msg": "success", "data": data}))
}

/// A failure envelope with the gateway's `error.log_id`.
pub(crate) fn fail(status: u16, code: i64, msg: impl Into<String>) -> Reply {
    Reply::json(status, json!({"code": code, "msg": msg.into(), "error": {"log_id": log_id()}}))
}

/// 99992402 "field validation failed" with `error.field_violations` (generic error-code page).
pub(crate) fn field_invalid(field: &str, description: &str) -> Reply {
    Reply::json(
        400,
        json!({"code": 99992402, "msg": "field validation failed", "error": {
            "log_id": log_id(),
            "field_violations": [{"field": field, "description": description}]}}),
    )
}

/// 9499 — the gateway's JSON-binding error, e.g. `content` sent as an object instead of a string:
/// `Invalid parameter type in json: content. Invalid parameter value: {...}. Please check and
/// modify accordingly.` (generic error-code page: 9499 "bad request 或 invalid param"; message
/// text as returned by the live API and quoted by many clients).
pub(crate) fn bad_json_type(field: &str, value: &Value) -> Reply {
    fail(
        400,
        9499,
        format!(
            "Invalid parameter type in json: {field}. Invalid parameter value: {value}. \
             Please check and modify accordingly."
        ),
    )
}

/// A body that is not JSON at all.
pub(crate) fn bad_request() -> Reply {
    fail(400, 9499, "Bad Request")
}

/// 99991400 at the gateway: HTTP 429 with `x-ogw-ratelimit-limit` / `x-ogw-ratelimit-reset`
/// (frequency-control page, <https://open.feishu.cn/document/server-docs/api-call-guide/frequency-control>).
/// The reset is whole seconds until the window frees, rounded up and at least 1 (the page
/// shows integers and says "单位：秒").
pub(crate) fn rate_limited(denied: &Denied) -> Reply {
    let mut r = Reply::json(429, json!({"code": 99991400, "msg": "request trigger frequency limit"}));
    r.headers.push(("x-ogw-ratelimit-limit", denied.limit.to_string()));
    r.headers.push(("x-ogw-ratelimit-reset", denied.reset_secs().to_string()));
    r
}

/// 230020 — the IM business limit (5 QPS per chat for send, 5 QPS per message for patch):
/// HTTP 400, "This operation triggers the frequency limit." (error tables of
/// im/v1/message/create and im/v1/message/patch; the FAQ "为什么同一类报错会有多种错误码" says
/// message APIs answer 230020 while the gateway answers 99991400).
pub(crate) fn im_frequency_limited() -> Reply {
    fail(400, 230020, "This operation triggers the frequency limit.")
}

/// 99991672 with `error.permission_violations`, as on the "how to fix the 99991672 error" page.
pub(crate) fn scope_denied(app_id: &str, scopes: &[&str]) -> Reply {
    let list = scopes.join(", ");
    let q = scopes.join(",");
    let violations: Vec<Value> = scopes.iter().map(|s| json!({"type": "action_scope_required", "subject": s})).collect();
    Reply::json(
        400,
        json!({
            "code": 99991672,
            "msg": format!("Access denied. One of the following scopes is required: [{list}]."),
            "error": {
                "log_id": log_id(),
                "message": "Refer to the documentation to fix the error: https://open.feishu.cn/document/uAjLw4CM/ugTN1YjL4UTN24CO1UjN/trouble-shooting/how-to-fix-the-99991672-error",
                "permission_violations": violations,
                "helps": [{
                    "url": format!("https://open.feishu.cn/app/{app_id}/auth?q={q}&op_from=openapi"),
                    "description": format!("Learn more about scopes and how to add them: [{list}]"),
                }],
            },
        }),
    )
}

/// What the gateway answers for a path it does not serve.
pub(crate) fn not_found() -> Reply {
    Reply { status: 404, headers: Vec::new(), payload: Payload::Text("404 page not found") }
}

/// A 302 to `location` (the authorize page).
pub(crate) fn redirect(location: String) -> Reply {
    Reply { status: 302, headers: vec![("location", location)], payload: Payload::Empty }
}

fn log_id() -> String {
    hex_id(17).to_uppercase()
}
