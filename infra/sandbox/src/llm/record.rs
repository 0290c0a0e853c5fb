//! The recording: every chat request as the model received it, for assertions and the
//! sandbox web page. The API key never enters it: credentials headers are dropped, and the
//! key is kept only as a fingerprint (the first 12 hex digits of its SHA-256), enough to tell
//! two keys apart and useless to call the API with.

use std::time::Duration;

use axum::http::HeaderMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::wire::ChatMessage;
use super::{LlmConfig, RateLimit};

/// Headers never recorded: they carry credentials.
const SECRET_HEADERS: &[&str] = &["authorization", "api-key", "x-api-key", "proxy-authorization", "cookie", "ocp-apim-subscription-key"];

/// `sha256:` + 12 hex digits of the key's SHA-256.
pub fn fingerprint(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..12])
}

/// Request headers minus the credentials, in arrival order.
pub fn redacted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !SECRET_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect()
}

/// How the caller authenticated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthRecord {
    pub passed: bool,
    /// `bearer`, `api-key` or `none`.
    pub scheme: String,
    /// [`fingerprint`] of the presented key, if any.
    pub key_fingerprint: Option<String>,
}

/// One chat request and what the sandbox did with it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestRecord {
    /// 1, 2, … in arrival order.
    pub seq: u64,
    /// `openai` or `azure`.
    pub api: String,
    pub method: String,
    pub path: String,
    /// The raw query (Azure's `api-version`); no credentials travel there.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub auth: AuthRecord,
    /// The body as received (lossy UTF-8), for [`super::LlmSandbox::contains_anywhere`].
    pub body: String,
    /// The `model` field (Azure: the deployment's model when the body has none).
    pub model: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    /// Parsed messages; empty when the body did not parse.
    pub messages: Vec<ChatMessage>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub stream: bool,
    pub include_usage: bool,
    pub prompt_tokens: u32,
    /// The HTTP status sent.
    pub status: u16,
    /// `error.code` / fault sent instead of an answer (`invalid_api_key`, `rate_limit_exceeded`,
    /// `fault_break`, …); `None` for an answer.
    pub error: Option<String>,
    /// The answer text sent, after any `max_tokens` cut (empty on errors).
    pub answer: String,
    /// `stop` / `length` for answers.
    pub finish_reason: Option<String>,
    /// Sandbox time (since creation) of arrival, of the response head, and of the body's end
    /// (`None` while a stream is still running or was never completed).
    pub received_at: Duration,
    pub responded_at: Duration,
    pub finished_at: Option<Duration>,
    /// How the body ended: `complete`, `broken` (fault), `client_gone`, or `None` while running.
    pub delivery: Option<String>,
}

impl RequestRecord {
    /// Whether `needle` occurs anywhere in what was recorded (headers, body, messages, answer).
    pub fn contains(&self, needle: &str) -> bool {
        self.headers.iter().any(|(k, v)| k.contains(needle) || v.contains(needle))
            || self.body.contains(needle)
            || self.messages.iter().any(|m| m.content.contains(needle))
            || self.answer.contains(needle)
            || self.path.contains(needle)
            || self.query.contains(needle)
    }
}

/// A read-only view of the sandbox for the local stack's web page.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LlmView {
    pub models: Vec<String>,
    pub azure_deployments: Vec<(String, String)>,
    /// How many keys are accepted (never the keys).
    pub api_keys: usize,
    pub rate_limit: Option<RateLimit>,
    pub chunk_chars: usize,
    pub chunk_delay_ms: u64,
    pub context_window: Option<u32>,
    pub queued_answers: usize,
    pub queued_faults: usize,
    pub max_prompt_tokens_seen: u32,
    /// Newest last.
    pub requests: Vec<RequestRecord>,
}

impl LlmView {
    pub(crate) fn new(config: &LlmConfig, queued_answers: usize, queued_faults: usize, max_prompt: u32, requests: Vec<RequestRecord>) -> Self {
        LlmView {
            models: config.models.clone(),
            azure_deployments: config.azure_deployments.clone(),
            api_keys: config.api_keys.len(),
            rate_limit: config.rate_limit,
            chunk_chars: config.chunk_chars,
            chunk_delay_ms: config.chunk_delay.as_millis() as u64,
            context_window: config.context_window,
            queued_answers,
            queued_faults,
            max_prompt_tokens_seen: max_prompt,
            requests,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_headers_are_dropped_and_the_fingerprint_hides_the_key() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer sk-secret-123".parse().unwrap());
        h.insert("api-key", "sk-secret-123".parse().unwrap());
        h.insert("x-trace", "t1".parse().unwrap());
        assert_eq!(redacted_headers(&h), vec![("x-trace".to_string(), "t1".to_string())]);
        let fp = fingerprint("sk-secret-123");
        assert!(fp.starts_with("sha256:") && fp.len() == 19 && !fp.contains("secret"));
        assert_ne!(fp, fingerprint("sk-secret-124"));
    }
}
