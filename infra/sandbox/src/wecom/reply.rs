//! WeCom's one answer shape (`wecom.md` header): HTTP 200 with `{"errcode": 0, "errmsg": "ok",
//! …}`, a non-zero `errcode` on failure — even for limits (§5: no 429, no Retry-After).
//! Live error messages carry `, hint: [<ts>_<n>_<hex>]` and a `more info at …?e=<code>` link
//! (the 60011 answer quoted in the appchat page copy at http://t.zoukankan.com/panjinzhao-p-12522627.html).

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use serde_json::{json, Value};

use super::state::hex_id;

/// Return codes. Global table: the official page https://developer.work.weixin.qq.com/document/path/90455,
/// read through a copy (https://static.kancloud.cn/dabashan/qiwei/2376083) and a Go SDK's
/// transcription of it (find_string id 1388268773, the 86xxx rows and 46004).
pub mod codes {
    /// -1 系统繁忙 (global table).
    pub const BUSY: i64 = -1;
    /// 40001 不合法的secret参数 (global table).
    pub const INVALID_SECRET: i64 = 40001;
    /// 40008 不合法的msgtype参数 (global table); also `template_card` to appchat (notes Q2).
    pub const INVALID_MSGTYPE: i64 = 40008;
    /// 40013 不合法的CorpID (global table).
    pub const INVALID_CORPID: i64 = 40013;
    /// 40014 不合法的access_token (global table).
    pub const INVALID_TOKEN: i64 = 40014;
    /// 40058 不合法的参数 (global table) — used for malformed bodies and missing fields. UNCERTAIN: WeCom has
    /// finer codes for some fields (41xxx "缺少…参数"); the sandbox uses this one everywhere.
    pub const INVALID_PARAM: i64 = 40058;
    /// 41001 缺少access_token参数 (global table).
    pub const MISSING_TOKEN: i64 = 41001;
    /// 42001 access_token已过期 (global table).
    pub const TOKEN_EXPIRED: i64 = 42001;
    /// 45002 消息内容大小超过限制 (global table: "文本消息类型：最长不超过2048个字节"; §3).
    pub const CONTENT_TOO_LONG: i64 = 45002;
    /// 45009 接口调用超过限制 (§5: errmsg `api freq out of limit`).
    pub const FREQ_LIMIT: i64 = 45009;
    /// 45033 接口并发调用超过限制 (§5). Not produced: one sandbox has no concurrency limit.
    pub const CONCURRENCY_LIMIT: i64 = 45033;
    /// 46004 指定的用户不存在 (global table, Go SDK transcription).
    pub const USER_NOT_FOUND: i64 = 46004;
    /// 60011 no privilege to access/modify contact/party/agent (§6; appchat page copy).
    pub const NO_PRIVILEGE: i64 = 60011;
    /// 60020 not allow to access from your ip (§6).
    pub const UNTRUSTED_IP: i64 = 60020;
    /// 81013 UserID、部门ID、标签ID全部非法或无权限 (global table, Go SDK transcription).
    pub const ALL_RECIPIENTS_INVALID: i64 = 81013;
    /// 86001 参数 chatid 不合法.
    pub const INVALID_CHATID: i64 = 86001;
    /// 86003 参数 chatid 不存在.
    pub const CHAT_NOT_FOUND: i64 = 86003;
    /// 86004 参数 群名不合法.
    pub const INVALID_CHAT_NAME: i64 = 86004;
    /// 86006 群成员数过多或过少.
    pub const BAD_MEMBER_COUNT: i64 = 86006;
    /// 86008 非法操作非自己创建的群.
    pub const NOT_OWN_CHAT: i64 = 86008;
    /// 86207 群主不在群成员列表.
    pub const OWNER_NOT_MEMBER: i64 = 86207;
    /// 86215 会话ID已经存在.
    pub const CHATID_EXISTS: i64 = 86215;
    /// 86216 存在非法会话成员ID ("添加会话成员时，指定的成员ID不存在通讯录；删除会话成员时，
    /// 指定的成员ID不存在于会话中").
    pub const INVALID_MEMBER: i64 = 86216;
    /// 301002 无权限操作指定的应用 (global table: `agentid` of another app than the token's).
    pub const WRONG_AGENT: i64 = 301002;
    /// A `response_code` that is unknown, used or expired (update_template_card, 72 h; and
    /// aibot/response, 1 h). UNCERTAIN: no source read gives this code; the sandbox answers the
    /// generic invalid-parameter code with errmsg `invalid response_code`.
    pub const RESPONSE_CODE_INVALID: i64 = 40058;
}

/// A response before it becomes HTTP, so the sandbox can log its outcome.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub body: Value,
}

impl Reply {
    pub fn errcode(&self) -> i64 {
        self.body["errcode"].as_i64().unwrap_or(0)
    }

    pub fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body.to_string()));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
        resp
    }
}

/// `{"errcode":0,"errmsg":"ok", …fields}`.
pub(crate) fn ok(fields: Value) -> Reply {
    let mut body = json!({"errcode": 0, "errmsg": "ok"});
    if let (Some(b), Value::Object(f)) = (body.as_object_mut(), fields) {
        b.extend(f);
    }
    Reply { body }
}

/// A hint like live answers carry: `<unix ts>_<n>_<32 hex>`.
pub(crate) fn hint() -> String {
    let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    format!("{ts}_{}_{}", 10 + rand::random::<u8>() % 90, hex_id(16))
}

/// `{"errcode": code, "errmsg": "<msg>, hint: [...], from ip: <ip>, more info at …?e=<code>"}`.
pub(crate) fn fail(code: i64, msg: &str, ip: &str) -> Reply {
    let errmsg = format!("{msg}, hint: [{}], from ip: {ip}, more info at https://open.work.weixin.qq.com/devtool/query?e={code}", hint());
    Reply { body: json!({"errcode": code, "errmsg": errmsg}) }
}

pub(crate) fn bad_param(what: &str, ip: &str) -> Reply {
    fail(codes::INVALID_PARAM, &format!("invalid parameter: {what}"), ip)
}
