//! One call path for every OpenAPI call: the `{"code", "msg", "data"}` envelope, the shared
//! tenant token (refreshed once on an invalid-token answer), and the mapping of failures
//! to [`ImError`]. Nothing here sleeps: a rate limit is returned with its reset time and
//! the engine defers the job.

use super::token::{Tokens, INVALID_TOKEN_CODES};
use super::FeishuCredentials;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{Clock, ImError, ImResult, Store};

/// Rate limited: HTTP 429 (or 400 on some older APIs) with body code 99991400 and the
/// seconds until the window resets in `x-ogw-ratelimit-reset` (reference §5).
pub(crate) const RATE_LIMITED: i64 = 99991400;
/// The message APIs' own limits (5/s per chat, 5/s per message) answer HTTP 400 with code
/// 230020 "This operation triggers the frequency limit." and no reset header (the send and
/// patch API pages list it; the error-code FAQ separates it from the gateway's 99991400).
pub(crate) const MESSAGE_RATE_LIMITED: i64 = 230020;
const RESET_HEADER: &str = "x-ogw-ratelimit-reset";

/// The app lacks a scope (`larksuite/cli` `internal/output/lark_errors.go`: 99991672 app
/// scope not enabled, 99991676 token lacks the scope, 99991679 user has not granted it,
/// 230027 user not authorized).
const PERMISSION_CODES: &[i64] = &[99991672, 99991676, 99991679, 230027];
/// The app itself is refused (same file: 99991543 app_id / app_secret wrong, 99991662 app
/// disabled or not installed in the tenant, 99991673 app status unavailable).
const UNAUTHORIZED_CODES: &[i64] = &[99991543, 99991662, 99991673];
/// The chat is unusable for the bot. 230002 "Bot/User can NOT be out of the chat." is
/// confirmed (`larksuite/cli` `cmd/root_integration_test.go`); 232011 "operator not in
/// the group" (`larksuite/cli` `skills/lark-im/references/lark-im-chat-identity.md`).
/// UNCERTAIN, from the API pages' error tables as remembered, not re-read here:
/// 232006 (invalid / unknown chat_id) and 232009 (chat already disbanded).
const CHAT_GONE_CODES: &[i64] = &[230002, 232006, 232009, 232011];

/// A response as received, before interpretation.
pub(crate) struct Sent {
    pub status: u16,
    pub reset: Option<String>,
    pub body: Vec<u8>,
}

impl Sent {
    /// Reads a response; network errors and timeouts are transient.
    pub(crate) async fn read(result: Result<reqwest::Response, reqwest::Error>) -> ImResult<Sent> {
        let transient = |e: reqwest::Error| ImError::Transient(format!("Feishu unreachable: {}", e.without_url()));
        let response = result.map_err(transient)?;
        let status = response.status().as_u16();
        let reset = response.headers().get(RESET_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.bytes().await.map_err(transient)?.to_vec();
        Ok(Sent { status, reset, body })
    }
}

/// Why a call failed: the token was refused (refresh and retry), or anything else.
#[derive(Debug, PartialEq)]
pub(crate) enum Failure {
    TokenRejected(String),
    Im(ImError),
}

/// Interprets a response: `Ok(envelope)` (the whole JSON object: most answers put their
/// payload under `data`, a few at the top level) or the failure.
pub(crate) fn classify(sent: &Sent) -> Result<Value, Failure> {
    let envelope: Option<Value> = serde_json::from_slice(&sent.body).ok().filter(Value::is_object);
    let code = envelope.as_ref().and_then(|e| e.get("code")).and_then(Value::as_i64);
    let msg = envelope.as_ref().and_then(|e| e.get("msg")).and_then(Value::as_str).unwrap_or_default().to_owned();
    if sent.status == 429 || code == Some(RATE_LIMITED) {
        let secs = sent.reset.as_deref().and_then(|r| r.trim().parse::<u64>().ok()).unwrap_or(1);
        return Err(Failure::Im(ImError::RateLimited { retry_after: Duration::from_secs(secs.max(1)) }));
    }
    if code == Some(MESSAGE_RATE_LIMITED) {
        // A per-chat window of one second: waiting that long is enough.
        return Err(Failure::Im(ImError::RateLimited { retry_after: Duration::from_secs(1) }));
    }
    if sent.status >= 500 {
        return Err(Failure::Im(ImError::Transient(format!("Feishu answered HTTP {} ({msg})", sent.status))));
    }
    let (Some(envelope), Some(code)) = (envelope.as_ref(), code) else {
        return Err(Failure::Im(match sent.status {
            200..=299 => ImError::Transient("unreadable answer from Feishu".into()),
            401 => ImError::Unauthorized(format!("HTTP {}", sent.status)),
            s => ImError::Rejected { code: format!("http_{s}"), message: "no Feishu error envelope".into() },
        }));
    };
    if code == 0 {
        return Ok(envelope.clone());
    }
    Err(if INVALID_TOKEN_CODES.contains(&code) {
        Failure::TokenRejected(format!("Feishu refused the access token ({code}: {msg})"))
    } else if PERMISSION_CODES.contains(&code) {
        Failure::Im(ImError::MissingPermission { scope: scope_named(envelope, &msg) })
    } else if UNAUTHORIZED_CODES.contains(&code) {
        Failure::Im(ImError::Unauthorized(format!("{code}: {msg}")))
    } else if CHAT_GONE_CODES.contains(&code) {
        Failure::Im(ImError::ChatGone)
    } else {
        Failure::Im(ImError::Rejected { code: code.to_string(), message: msg })
    })
}

/// The scope a permission error names: `error.permission_violations[].subject` (as the
/// official CLI reads it, `larksuite/cli` `cmd/root.go` `extractRequiredScopes`), else the
/// bracketed list in the message ("required one of these privileges: [a, b]", docs page
/// how-to-resolve-error-99991679). Of several alternatives, one Warroom asks for wins.
fn scope_named(envelope: &Value, msg: &str) -> String {
    let mut names: Vec<String> = envelope
        .pointer("/error/permission_violations")
        .and_then(Value::as_array)
        .map(|v| v.iter().filter_map(|p| p.get("subject")?.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if names.is_empty() {
        if let Some(list) = msg.split_once('[').and_then(|(_, rest)| rest.split_once(']')).map(|(list, _)| list) {
            names = list.split(',').map(|s| s.trim().to_owned()).filter(|s| s.contains(':')).collect();
        }
    }
    let wanted = names.iter().find(|n| super::REQUIRED_SCOPES.iter().any(|(s, _)| s == n));
    wanted.or(names.first()).cloned().unwrap_or_else(|| "unknown".into())
}

/// Percent-encodes a path segment or query value (ids are ASCII; this is belt and braces).
pub(crate) fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The authenticated client of one app.
pub(crate) struct Client {
    pub credentials: FeishuCredentials,
    http: reqwest::Client,
    tokens: Tokens,
}

impl Client {
    pub(crate) fn new(credentials: FeishuCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let tokens = Tokens::new(credentials.clone(), http.clone(), store, clock);
        Self { credentials, http, tokens }
    }

    /// `path` is everything after the base URL, query string included. Returns `data`
    /// (`Null` when the answer has none).
    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> ImResult<Value> {
        let mut envelope = self.call_envelope(method, path, body).await?;
        Ok(envelope.get_mut("data").map(Value::take).unwrap_or(Value::Null))
    }

    /// As [`Client::call`], returning the whole answer.
    pub(crate) async fn call_envelope(&self, method: Method, path: &str, body: Option<&Value>) -> ImResult<Value> {
        let token = self.tokens.current().await?;
        match self.once(&method, path, body, token.expose()).await {
            Err(Failure::TokenRejected(_)) => {
                tracing::info!(app_id = %self.credentials.app_id, "access token refused; refreshing once");
                let token = self.tokens.refresh().await?;
                self.once(&method, path, body, token.expose()).await.map_err(|f| match f {
                    Failure::TokenRejected(msg) => ImError::Unauthorized(msg),
                    Failure::Im(e) => e,
                })
            }
            Err(Failure::Im(e)) => Err(e),
            Ok(data) => Ok(data),
        }
    }

    async fn once(&self, method: &Method, path: &str, body: Option<&Value>, token: &str) -> Result<Value, Failure> {
        let url = format!("{}{path}", self.credentials.base());
        let mut request = self.http.request(method.clone(), url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        tracing::debug!(%method, path, "feishu call");
        let sent = Sent::read(request.send().await).await.map_err(Failure::Im)?;
        let result = classify(&sent);
        if let Err(Failure::Im(e)) = &result {
            tracing::debug!(%method, path, status = sent.status, error = %e, "feishu call failed");
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(status: u16, reset: Option<&str>, body: &str) -> Sent {
        Sent { status, reset: reset.map(str::to_owned), body: body.as_bytes().to_vec() }
    }
    fn err(s: Sent) -> ImError {
        match classify(&s) {
            Err(Failure::Im(e)) => e,
            other => panic!("expected an ImError, got {other:?}"),
        }
    }

    #[test]
    fn success_yields_the_envelope() {
        let envelope = classify(&sent(200, None, r#"{"code":0,"msg":"ok","data":{"chat_id":"oc_1"}}"#)).unwrap();
        assert_eq!(envelope["data"]["chat_id"], "oc_1");
    }

    #[test]
    fn rate_limits_carry_the_reset_time_whether_429_or_code_99991400() {
        let limited = |secs| ImError::RateLimited { retry_after: Duration::from_secs(secs) };
        let body = r#"{"code":99991400,"msg":"request trigger frequency limit"}"#;
        assert_eq!(err(sent(429, Some("7"), body)), limited(7));
        assert_eq!(err(sent(400, Some("3"), body)), limited(3), "older APIs answer 400");
        assert_eq!(err(sent(429, None, "")), limited(1), "default 1 s");
        let per_chat = r#"{"code":230020,"msg":"This operation triggers the frequency limit."}"#;
        assert_eq!(err(sent(400, None, per_chat)), limited(1), "the message APIs' own limit");
    }

    #[test]
    fn server_errors_are_transient_and_token_codes_ask_for_a_refresh() {
        assert!(matches!(err(sent(502, None, "bad gateway")), ImError::Transient(_)));
        for code in INVALID_TOKEN_CODES {
            let body = format!(r#"{{"code":{code},"msg":"Invalid access token"}}"#);
            assert!(matches!(classify(&sent(400, None, &body)), Err(Failure::TokenRejected(_))));
        }
    }

    #[test]
    fn permission_errors_name_the_scope_from_the_violations_or_the_message() {
        let v = r#"{"code":99991672,"msg":"denied","error":{"permission_violations":[{"subject":"im:chat:create"},{"subject":"im:chat"}]}}"#;
        assert_eq!(err(sent(400, None, v)), ImError::MissingPermission { scope: "im:chat".into() });
        let m = r#"{"code":99991672,"msg":"Access denied. One of the following scopes is required: [contact:user.id:readonly]."}"#;
        assert_eq!(err(sent(400, None, m)), ImError::MissingPermission { scope: "contact:user.id:readonly".into() });
        let none = r#"{"code":99991676,"msg":"no permission"}"#;
        assert_eq!(err(sent(400, None, none)), ImError::MissingPermission { scope: "unknown".into() });
    }

    #[test]
    fn app_refusals_chat_loss_and_the_rest_map_to_their_errors() {
        assert!(matches!(err(sent(400, None, r#"{"code":99991543,"msg":"bad secret"}"#)), ImError::Unauthorized(_)));
        let gone = r#"{"code":230002,"msg":"Bot/User can NOT be out of the chat."}"#;
        assert_eq!(err(sent(400, None, gone)), ImError::ChatGone);
        let other = r#"{"code":230001,"msg":"invalid param"}"#;
        assert_eq!(err(sent(400, None, other)), ImError::Rejected { code: "230001".into(), message: "invalid param".into() });
        assert!(matches!(err(sent(404, None, "<html>")), ImError::Rejected { .. }));
    }

    #[test]
    fn path_values_are_percent_encoded() {
        assert_eq!(pct("oc_a-1.~"), "oc_a-1.~");
        assert_eq!(pct("a b/c"), "a%20b%2Fc");
    }
}
