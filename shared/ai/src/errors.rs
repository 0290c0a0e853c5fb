//! Turning HTTP answers and transport failures into [`ModelError`]s that never carry the
//! key or a URL. The status → error table follows openai-python's
//! `_make_status_error` (src/openai/_client.py, commit e43b422: 400 BadRequest,
//! 401 Authentication, 403 PermissionDenied, 404 NotFound, 409 Conflict, 422
//! UnprocessableEntity, 429 RateLimit, ≥500 InternalServer) and its retry rule
//! (`_should_retry` in src/openai/_base_client.py: 408, 409, 429 and ≥500 are retried).

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use std::time::{Duration, SystemTime};
use warroom_core::ModelError;

/// How much of a provider's message goes into an error: enough to read, not a page.
const MAX_DETAIL_CHARS: usize = 300;

/// The longest wait a provider may ask for: beyond it the caller tries anyway (it can be
/// told again). The SDK honours at most 2 minutes (`MAX_RETRY_AFTER_DELAY`,
/// src/openai/_constants.py); we defer jobs rather than sleep, so allow a quarter hour,
/// like the status-sync sources do.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// The error body OpenAI-compatible servers send: `{"error": {"message", "type", "code",
/// "param"}}` (openai-python `APIError`, src/openai/_exceptions.py). Servers that put a
/// plain string in `error` (some proxies) are read too.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorDetail {
    Object {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        code: Option<serde_json::Value>,
        #[serde(default)]
        param: Option<String>,
    },
    Text(String),
}

/// What an error body said, already scrubbed and shortened.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ProviderError {
    pub message: String,
    pub kind: Option<String>,
    pub code: Option<String>,
    pub param: Option<String>,
}

impl ProviderError {
    /// Reads an error body (JSON or not), removing `secret` wherever the server echoed it.
    pub fn parse(body: &[u8], secret: Option<&str>) -> Self {
        match serde_json::from_slice::<ErrorBody>(body).map(|b| b.error) {
            Ok(ErrorDetail::Object { message, kind, code, param }) => ProviderError {
                message: excerpt(message.as_deref().unwrap_or(""), secret),
                kind: kind.map(|k| excerpt(&k, secret)),
                code: code.map(|c| excerpt(c.as_str().map(str::to_owned).unwrap_or_else(|| c.to_string()).as_str(), secret)),
                param: param.map(|p| excerpt(&p, secret)),
            },
            Ok(ErrorDetail::Text(message)) => ProviderError { message: excerpt(&message, secret), ..Default::default() },
            Err(_) => ProviderError { message: excerpt(&String::from_utf8_lossy(body), secret), ..Default::default() },
        }
    }

    /// Whether the server refused `max_tokens` and wants `max_completion_tokens` (OpenAI's
    /// reasoning models). UNCERTAIN: the exact wording is not in the SDK; we look for the
    /// parameter name in `param` or the message, which is what such errors carry.
    pub fn wants_max_completion_tokens(&self) -> bool {
        self.param.as_deref() == Some("max_tokens") || self.message.contains("max_completion_tokens")
    }
}

/// The error for a non-2xx answer. `where_` is host + path only (no query).
pub fn status_error(status: StatusCode, headers: &HeaderMap, body: ProviderError, model: &str, where_: &str) -> ModelError {
    let detail = if body.message.is_empty() {
        format!("HTTP {} from {where_}", status.as_u16())
    } else {
        format!("HTTP {} from {where_}: {}", status.as_u16(), body.message)
    };
    match status.as_u16() {
        401 | 403 => ModelError::Unauthorized(detail),
        404 => ModelError::ModelNotFound(format!("model or deployment {model:?}: {detail}")),
        // OpenAI answers 429 `insufficient_quota` when the account is out of credit:
        // retrying cannot help, the admin must act, so it is reported like a bad key.
        // (The code is documented in OpenAI's error-code guide, not in the SDK: UNCERTAIN.)
        429 if body.code.as_deref() == Some("insufficient_quota") => ModelError::Unauthorized(detail),
        429 => ModelError::RateLimited { retry_after: retry_after(headers, SystemTime::now()) },
        // The SDK retries 408 and 409 (a lock timeout on OpenAI's side).
        408 | 409 => ModelError::Unavailable(detail),
        s if s >= 500 => ModelError::Unavailable(detail),
        // 400, 422, and anything else a retry will not fix (413, 405, a redirect we do
        // not follow).
        _ => ModelError::BadRequest(detail),
    }
}

/// An `{"error": …}` object inside the stream (the SDK raises `APIError` for it, see
/// `Stream.__stream__` in src/openai/_streaming.py). There is no status, so the type
/// decides: a rate limit or a bad request are what they say; anything else is the server
/// failing midway, worth a retry.
pub fn in_stream_error(body: ProviderError, where_: &str) -> ModelError {
    let kind = body.kind.as_deref().or(body.code.as_deref()).unwrap_or("");
    let message = if body.message.is_empty() { "an error occurred during streaming" } else { &body.message };
    let detail = format!("{where_}: {message}");
    if kind.contains("rate_limit") {
        ModelError::RateLimited { retry_after: None }
    } else if kind == "invalid_request_error" {
        ModelError::BadRequest(detail)
    } else {
        ModelError::StreamBroken(detail)
    }
}

/// A transport failure before the answer started: always worth retrying. reqwest's
/// message would include the URL (and its query); `without_url` drops it.
pub fn transport_error(e: reqwest::Error, where_: &str) -> ModelError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    ModelError::Unavailable(format!("{where_}: {kind} ({})", e.without_url()))
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; a date in the past is
/// now; capped at [`MAX_RETRY_AFTER`]. Like the SDK (`_parse_retry_after_header`), the
/// non-standard `retry-after-ms` is read first and fractional seconds are accepted.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let seconds = |s: &str| s.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0);
    let wait = if let Some(ms) = text("retry-after-ms").and_then(seconds) {
        Duration::from_secs_f64(ms.min(1e9) / 1000.0)
    } else {
        let value = text("retry-after")?;
        match seconds(value) {
            Some(secs) => Duration::from_secs_f64(secs.min(1e9)),
            None => httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or(Duration::ZERO),
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// A short, single-line excerpt with `secret` (if any) blanked out: OpenAI's 401 message
/// quotes part of the key, and a misbehaving proxy may echo all of it.
pub fn excerpt(text: &str, secret: Option<&str>) -> String {
    let mut text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        text = text.replace(secret, "[redacted]");
    }
    if text.chars().count() > MAX_DETAIL_CHARS {
        text = text.chars().take(MAX_DETAIL_CHARS).collect::<String>() + "…";
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn retry_after_takes_seconds_fractions_milliseconds_or_a_date_and_is_capped() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(retry_after(&with("retry-after", "7"), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&with("retry-after", "1.5"), now), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after(&with("retry-after-ms", "250"), now), Some(Duration::from_millis(250)));
        assert_eq!(retry_after(&with("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT"), now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(&with("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT"), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&with("retry-after", "86400"), now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&with("retry-after", "soon"), now), None);
        assert_eq!(retry_after(&with("retry-after", "-3"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn error_bodies_are_read_as_json_or_text_and_scrubbed_and_shortened() {
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-secret-1. See docs.","type":"invalid_request_error","code":"invalid_api_key","param":null}}"#;
        let e = ProviderError::parse(body, Some("sk-secret-1"));
        assert_eq!(e.message, "Incorrect API key provided: [redacted]. See docs.");
        assert_eq!((e.kind.as_deref(), e.code.as_deref()), (Some("invalid_request_error"), Some("invalid_api_key")));
        assert_eq!(ProviderError::parse(br#"{"error":"model not loaded"}"#, None).message, "model not loaded");
        assert_eq!(ProviderError::parse(br#"{"error":{"message":"x","code":429}}"#, None).code.as_deref(), Some("429"));
        let html = format!("<html>{}</html>", "x".repeat(1000));
        assert!(ProviderError::parse(html.as_bytes(), None).message.chars().count() <= MAX_DETAIL_CHARS + 1);
    }
}
