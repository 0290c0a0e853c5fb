//! The authenticated API client of one WeCom app (wecom.md §1, §5, §6). Every answer is
//! HTTP 200 with `{"errcode", "errmsg", …}`, 0 = ok; we branch on `errcode`, never on
//! `errmsg` (the global return-code page says errmsg may change), except to read the IP
//! a 60020 names.
//!
//! The token rides in the query (`?access_token=`), so no URL with a query is ever logged
//! or put into an error: reqwest errors are stripped of their URL, log lines carry the
//! path only. Nothing sleeps: a rate limit returns its wait and the engine defers the job.

use super::token::Tokens;
use super::WeComCredentials;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{Clock, ImError, ImResult, Store};

/// The token is invalid or expired: refresh once and retry. The official sample client
/// does so on exactly these (`weworkapi_python` `AbstractApi.__tokenExpired`, §1).
pub(crate) const TOKEN_EXPIRED: &[i64] = &[40014, 42001, 42007, 42009];
/// The app's credentials are wrong: 40001 "不合法的secret参数", 40013 "不合法的CorpID"
/// (global return codes, copy at https://static.kancloud.cn/dabashan/qiwei/2376083),
/// 40091 "secret is invalid" (§1, blog copy of doc 91039).
const BAD_CREDENTIALS: &[i64] = &[40001, 40013, 40091];
/// 45009 "api freq out of limit" / "reach max api daily quota limit" (§5, from observed
/// errmsg text; the official 45xxx rows were unreadable — UNCERTAIN).
const FREQ_LIMIT: i64 = 45009;
/// 45033 "api concurrent out of limit" (§5, same sources — UNCERTAIN).
const CONCURRENCY_LIMIT: i64 = 45033;
/// -1 "系统繁忙 … 建议重试次数不超过3次" (global return codes).
const BUSY: i64 = -1;
/// 60020: the caller's egress IP is not in the app's 企业可信IP list; errmsg ends with
/// "from ip: <ip>" (§6).
const UNTRUSTED_IP: i64 = 60020;
/// 60011 "no privilege to access/modify contact/party/agent": for appchat, the app is not
/// visible to the root department (§3; errmsg and fix in a reproduced appchat/create
/// answer, http://t.zoukankan.com/panjinzhao-p-12522627.html); for lookups, the member is
/// outside the app's visibility (§4). 48002 "API接口无权限调用" (global return codes).
const NO_PRIVILEGE: &[i64] = &[60011, 48002];
/// 46004 "不合法的成员" / no such member (global return codes; the table row was not read in
/// full — UNCERTAIN whether getuserid also answers 60111 "UserID不存在", so both count).
const USER_NOT_FOUND: &[i64] = &[46004, 60111];

/// How long each limit blocks (§5 "Blocking durations": per-minute limits for 60 s, per-hour
/// for 60 min, per-day for the natural day). 45009 does not say which limit it hit; its
/// errmsg mentions "daily" for the daily quota (§5, observed text). A per-minute block is
/// assumed otherwise; a daily block is retried hourly rather than computed to midnight
/// China time. UNCERTAIN, kept in this one function.
fn freq_block(errmsg: &str) -> Duration {
    let m = errmsg.to_ascii_lowercase();
    if m.contains("daily") || m.contains("day") || m.contains("hour") {
        Duration::from_secs(60 * 60)
    } else {
        Duration::from_secs(60)
    }
}

/// A response as received, before interpretation.
pub(crate) struct Sent {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Sent {
    /// Reads a response; network errors and timeouts are transient, and carry no URL.
    pub(crate) async fn read(result: Result<reqwest::Response, reqwest::Error>) -> ImResult<Sent> {
        let transient = |e: reqwest::Error| ImError::Transient(format!("WeCom unreachable: {}", e.without_url()));
        let response = result.map_err(transient)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transient)?.to_vec();
        Ok(Sent { status, body })
    }
}

/// Why a call failed: the token was refused (refresh and retry), or anything else.
#[derive(Debug, PartialEq)]
pub(crate) enum Failure {
    TokenRejected(String),
    Im(ImError),
}

/// The IP a 60020 names: "…, from ip: 1.2.3.4, more info at …".
pub(crate) fn ip_named(errmsg: &str) -> Option<&str> {
    let (_, after) = errmsg.split_once("from ip:")?;
    let ip = after.trim_start().split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':')).next()?;
    (!ip.is_empty()).then_some(ip)
}

/// What a non-zero `errcode` means to the engine.
#[cfg_attr(not(test), allow(dead_code))] // the table tests' entry point
pub(crate) fn classify(errcode: i64, errmsg: &str) -> Failure {
    classify_for(errcode, errmsg, None)
}

/// As [`classify`], naming `setup` (an item of [`super::REQUIRED_SETUP`]) as the missing
/// permission of a 60011 / 48002, when the caller knows which one the endpoint needs.
pub(crate) fn classify_for(errcode: i64, errmsg: &str, setup: Option<&str>) -> Failure {
    let code = errcode.to_string();
    Failure::Im(match errcode {
        c if TOKEN_EXPIRED.contains(&c) => return Failure::TokenRejected(format!("WeCom refused the access token ({c})")),
        c if BAD_CREDENTIALS.contains(&c) => ImError::Unauthorized(format!("WeCom refused the app credentials ({c})")),
        FREQ_LIMIT => ImError::RateLimited { retry_after: freq_block(errmsg) },
        // A concurrency limit clears as calls in flight finish (UNCERTAIN: no duration stated).
        CONCURRENCY_LIMIT => ImError::RateLimited { retry_after: Duration::from_secs(1) },
        // Transient rather than RateLimited: the engine counts transient attempts, which
        // matches "retry at most 3 times"; a rate limit would be deferred without end.
        BUSY => ImError::Transient(format!("WeCom is busy ({code})")),
        UNTRUSTED_IP => ImError::MissingPermission {
            scope: match ip_named(errmsg) {
                Some(ip) => format!("trusted_ip: add {ip} to the app's 企业可信IP list"),
                None => "trusted_ip: add this deployment's egress IP to the app's 企业可信IP list".into(),
            },
        },
        c if NO_PRIVILEGE.contains(&c) => ImError::MissingPermission { scope: format!("{} ({c})", setup.unwrap_or("app_visibility_root_department")) },
        c if USER_NOT_FOUND.contains(&c) => ImError::UserNotFound,
        // appchat's 86xxx and everything else: refused for a reason retrying will not fix.
        _ => ImError::Rejected { code, message: errmsg.to_owned() },
    })
}

/// Interprets an answer: the JSON body, or the failure; `setup` as in [`classify_for`].
pub(crate) fn interpret(sent: &Sent, setup: Option<&str>) -> Result<Value, Failure> {
    if sent.status >= 500 {
        return Err(Failure::Im(ImError::Transient(format!("WeCom answered HTTP {}", sent.status))));
    }
    if sent.status == 429 {
        // WeCom signals limits in errcode with HTTP 200 (§5, UNCERTAIN); a 429 from a proxy
        // on the way is treated as a per-minute block.
        return Err(Failure::Im(ImError::RateLimited { retry_after: Duration::from_secs(60) }));
    }
    let json: Option<Value> = serde_json::from_slice(&sent.body).ok().filter(Value::is_object);
    let ok_status = (200..300).contains(&sent.status);
    let Some(json) = json else {
        return Err(Failure::Im(match ok_status {
            true => ImError::Transient("unreadable answer from WeCom".into()),
            false => ImError::Rejected { code: format!("http_{}", sent.status), message: "no WeCom error envelope".into() },
        }));
    };
    match json.get("errcode").and_then(Value::as_i64).unwrap_or(0) {
        0 if ok_status => Ok(json),
        0 => Err(Failure::Im(ImError::Rejected { code: format!("http_{}", sent.status), message: "no WeCom error envelope".into() })),
        errcode => Err(classify_for(errcode, json.get("errmsg").and_then(Value::as_str).unwrap_or_default(), setup)),
    }
}

/// The authenticated client of one app.
pub(crate) struct Client {
    pub credentials: WeComCredentials,
    pub(crate) http: reqwest::Client,
    tokens: Tokens,
}

impl Client {
    pub(crate) fn new(credentials: WeComCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let tokens = Tokens::new(credentials.clone(), http.clone(), store, clock);
        Self { credentials, http, tokens }
    }

    /// Fetches a new token with exactly these credentials: a cached one would hide a wrong
    /// secret, so connecting asks WeCom itself.
    pub(crate) async fn prove_credentials(&self) -> ImResult<()> {
        self.tokens.refresh().await.map(drop)
    }

    pub(crate) async fn get(&self, path: &str, query: &[(&str, &str)], setup: Option<&str>) -> ImResult<Value> {
        self.call(Method::GET, path, query, None, setup).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value, setup: Option<&str>) -> ImResult<Value> {
        self.call(Method::POST, path, &[], Some(body), setup).await
    }

    /// One call, with one token refresh and retry if the token is refused (§1).
    async fn call(&self, method: Method, path: &str, query: &[(&str, &str)], body: Option<&Value>, setup: Option<&str>) -> ImResult<Value> {
        let token = self.tokens.current().await?;
        match self.once(&method, path, query, body, token.expose(), setup).await {
            Err(Failure::TokenRejected(_)) => {
                tracing::info!(corp_id = %self.credentials.corp_id, path, "access token refused; refreshing once");
                let token = self.tokens.refresh().await?;
                self.once(&method, path, query, body, token.expose(), setup).await.map_err(|f| match f {
                    Failure::TokenRejected(message) => ImError::Unauthorized(message),
                    Failure::Im(e) => e,
                })
            }
            Err(Failure::Im(e)) => Err(e),
            Ok(v) => Ok(v),
        }
    }

    async fn once(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        token: &str,
        setup: Option<&str>,
    ) -> Result<Value, Failure> {
        let mut pairs: Vec<(&str, &str)> = vec![("access_token", token)];
        pairs.extend_from_slice(query);
        let query = serde_urlencoded::to_string(&pairs)
            .map_err(|_| Failure::Im(ImError::Rejected { code: "bad_query".into(), message: "unencodable query".into() }))?;
        let mut request = self.http.request(method.clone(), format!("{}{path}?{query}", self.credentials.api()));
        if let Some(body) = body {
            request = request.json(body);
        }
        // The path only: the query carries the token.
        tracing::debug!(%method, path, "wecom call");
        let sent = Sent::read(request.send().await).await.map_err(Failure::Im)?;
        let result = interpret(&sent, setup);
        if let Err(Failure::Im(e)) = &result {
            tracing::debug!(%method, path, status = sent.status, error = %e, "wecom call failed");
        }
        result
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
