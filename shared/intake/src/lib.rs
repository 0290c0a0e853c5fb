//! Incident intake: turns what an on-call system posts to `POST /hooks/{source}` into
//! [`IncidentEvent`]s, the one form the engine understands.
//!
//! Pure: parsers take the raw body bytes (and header values where a source signs its
//! bodies) and return events or an [`IntakeError`]. No HTTP, no AWS, no clock: the route
//! authenticates the tenant, looks up secrets and maps [`IntakeError::code`] to a response.
//!
//! | source | module | authenticity |
//! |---|---|---|
//! | `generic` | [`generic`] | the route's bearer token |
//! | `alertmanager` | [`alertmanager`] | the route's bearer token (Alertmanager has no signature scheme) |
//! | `pagerduty` | [`pagerduty`] | `X-PagerDuty-Signature` HMAC, checked here |
//!
//! A parser returns a `Vec` because a source may say nothing Warroom acts on (a PagerDuty
//! note, a service change): that is `Ok(vec![])`, accepted and ignored, so the sender does
//! not retry it.

pub mod alertmanager;
pub mod generic;
mod json;
pub mod pagerduty;

use warroom_core::IncidentEvent;

/// The largest body any parser reads (1 MiB). Checked before parsing so a huge body costs
/// nothing; real payloads are a few kilobytes (Alertmanager's biggest groups included).
pub const MAX_BODY: usize = 1 << 20;

/// The sources [`parse`] dispatches on, as they appear in `POST /hooks/{source}`.
pub const SOURCES: &[&str] = &[generic::SOURCE, alertmanager::SOURCE, pagerduty::SOURCE];

/// Why a body was refused. Every variant is the sender's fault (a 4xx), never ours.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// Not JSON, or not the JSON shape at all (the reason carries serde's line and column).
    #[error("malformed body: {reason}")]
    Malformed { reason: String },
    /// JSON, but a field is missing, of the wrong type or out of range.
    #[error("invalid `{field}`: {reason}")]
    Invalid { field: String, reason: String },
    /// The body's signature is missing, garbled or does not match the secret.
    #[error("signature missing or not valid")]
    BadSignature,
    /// A source, payload version or configuration Warroom does not handle.
    #[error("unsupported: {reason}")]
    Unsupported { reason: String },
    /// The body exceeds [`MAX_BODY`].
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: usize },
}

impl IntakeError {
    /// A stable snake_case code for API error bodies; never changes once published.
    pub fn code(&self) -> &'static str {
        match self {
            IntakeError::Malformed { .. } => "malformed_body",
            IntakeError::Invalid { .. } => "invalid_field",
            IntakeError::BadSignature => "bad_signature",
            IntakeError::Unsupported { .. } => "unsupported",
            IntakeError::TooLarge { .. } => "body_too_large",
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        IntakeError::Invalid { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn unsupported(reason: impl Into<String>) -> Self {
        IntakeError::Unsupported { reason: reason.into() }
    }
}

/// Parses `body` as sent by `source`.
///
/// `headers` looks a request header up by its lower-case name (`x-pagerduty-signature`);
/// `pagerduty_secret` is the webhook subscription's signing secret. A PagerDuty hook with
/// no secret configured is refused: an unsigned body is never trusted.
pub fn parse(source: &str, body: &[u8], headers: &dyn Fn(&str) -> Option<String>, pagerduty_secret: Option<&[u8]>) -> Result<Vec<IncidentEvent>, IntakeError> {
    match source {
        generic::SOURCE => generic::parse(body),
        alertmanager::SOURCE => alertmanager::parse(body),
        pagerduty::SOURCE => {
            let secret = pagerduty_secret.ok_or_else(pagerduty::no_secret)?;
            let signature = headers(pagerduty::SIGNATURE_HEADER);
            pagerduty::parse(body, signature.as_deref(), secret)
        }
        other => Err(IntakeError::unsupported(format!("unknown intake source `{}` (expected one of: {})", truncate(other, 64), SOURCES.join(", ")))),
    }
}

/// Refuses a body over [`MAX_BODY`] before any work is done on it.
pub(crate) fn check_size(body: &[u8]) -> Result<(), IntakeError> {
    if body.len() > MAX_BODY {
        return Err(IntakeError::TooLarge { limit: MAX_BODY });
    }
    Ok(())
}

/// Loose on purpose: exactly one `@` with something on both sides and no whitespace.
/// Real validation is the IM platform's lookup; this only catches obvious mistakes.
pub(crate) fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => !local.is_empty() && !domain.is_empty() && !s.chars().any(char::is_whitespace),
        _ => false,
    }
}

/// Links end up as buttons in chat cards: only web links, never `javascript:` and friends.
pub(crate) fn is_web_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// At most `max` characters (not bytes), so a title never splits a UTF-8 sequence.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_stable_snake_case() {
        let all = [
            IntakeError::Malformed { reason: String::new() },
            IntakeError::invalid("f", "r"),
            IntakeError::BadSignature,
            IntakeError::unsupported("x"),
            IntakeError::TooLarge { limit: 1 },
        ];
        let codes: Vec<_> = all.iter().map(IntakeError::code).collect();
        assert_eq!(codes, ["malformed_body", "invalid_field", "bad_signature", "unsupported", "body_too_large"]);
    }

    #[test]
    fn email_check_wants_exactly_one_at_sign_and_no_spaces() {
        assert!(looks_like_email("ann@example.com"));
        assert!(looks_like_email("a@b"));
        for bad in ["", "ann", "@example.com", "ann@", "a@b@c", "ann smith@example.com"] {
            assert!(!looks_like_email(bad), "{bad:?} passed");
        }
    }

    #[test]
    fn only_http_and_https_links_count_as_web_urls() {
        assert!(is_web_url("https://example.com/x"));
        assert!(is_web_url("HTTP://example.com"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("ftp://example.com"));
        assert!(!is_web_url("héllo"));
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("ééé", 2), "éé");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
