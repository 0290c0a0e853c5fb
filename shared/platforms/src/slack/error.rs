//! A failed Slack call, as Slack said it (code, HTTP status, Retry-After, `needed`,
//! per-user `errors`), and how the engine should read it (`ImError`).

use std::time::Duration;
use warroom_core::ImError;

/// Codes that are not Slack's own: the call failed before Slack answered properly.
pub mod local {
    pub const TIMEOUT: &str = "timeout";
    pub const CONNECT: &str = "connect_failed";
    pub const TRANSPORT: &str = "transport_error";
    pub const BAD_RESPONSE: &str = "unparsable_response";
    /// The arguments could not be encoded (a bug, never Slack's answer).
    pub const ENCODE: &str = "unencodable_request";
    /// A non-2xx HTTP status without a Slack error body (`http_503`, ...).
    pub const HTTP_PREFIX: &str = "http_";
}

/// One failed call. Never holds the token (requests are not kept, only what came back).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("slack {method} failed: {code}{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct SlackApiError {
    pub method: String,
    /// Slack's `error` string (`channel_not_found`), or one of [`local`].
    pub code: String,
    /// The HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// From the `Retry-After` header (seconds), if any.
    pub retry_after: Option<Duration>,
    /// `missing_scope` responses name the scope(s) needed.
    pub needed: Option<String>,
    /// Per-user failures of `conversations.invite`: (user id, error code).
    pub user_errors: Vec<(String, String)>,
}

impl SlackApiError {
    pub fn local(method: &str, code: &str) -> Self {
        Self { method: method.into(), code: code.into(), status: None, retry_after: None, needed: None, user_errors: Vec::new() }
    }

    /// How the engine should treat this failure.
    pub fn to_im_error(&self) -> ImError {
        if self.status == Some(429) {
            return ImError::RateLimited { retry_after: self.retry_after.unwrap_or(DEFAULT_RETRY_AFTER) };
        }
        if self.status.is_some_and(|s| s >= 500) {
            return ImError::Transient(format!("{} answered HTTP {}", self.method, self.status.unwrap_or_default()));
        }
        match self.code.as_str() {
            local::TIMEOUT | local::CONNECT | local::TRANSPORT => ImError::Transient(format!("{}: {}", self.method, self.code)),
            "ratelimited" | "rate_limited" => ImError::RateLimited { retry_after: self.retry_after.unwrap_or(DEFAULT_RETRY_AFTER) },
            _ => map_error_code(&self.code, self.needed.as_deref()),
        }
    }
}

impl From<SlackApiError> for ImError {
    fn from(e: SlackApiError) -> Self {
        e.to_im_error()
    }
}

/// Slack's Retry-After is in seconds; without one, wait a second (as python-slack-sdk's
/// `RateLimitErrorRetryHandler` does).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Maps one Slack error code (also the per-user codes of an invite) to an `ImError`.
pub fn map_error_code(code: &str, needed: Option<&str>) -> ImError {
    match code {
        "ratelimited" | "rate_limited" => ImError::RateLimited { retry_after: DEFAULT_RETRY_AFTER },
        "missing_scope" => ImError::MissingPermission { scope: needed.unwrap_or("unknown").to_string() },
        "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked" | "token_expired" => ImError::Unauthorized(code.to_string()),
        // Archived, deleted, or the bot was removed: for Warroom the chat is gone.
        // `is_inactive` is chat.update's "cannot be edited within a frozen, archived or
        // deleted channel" (slack-api-ref chat.update.json).
        "channel_not_found" | "is_archived" | "not_in_channel" | "is_inactive" => ImError::ChatGone,
        "users_not_found" | "user_not_found" => ImError::UserNotFound,
        // Slack-side failures from the common error tables (slack-api-ref): worth a retry.
        "internal_error" | "fatal_error" | "service_unavailable" => ImError::Transient(code.to_string()),
        _ => ImError::Rejected { code: code.to_string(), message: describe(code) },
    }
}

fn describe(code: &str) -> String {
    match code {
        "name_taken" => "a channel with this name already exists".into(),
        "restricted_action" => "a workspace policy forbids this action".into(),
        "cant_invite" | "user_is_restricted" => "this user cannot be invited".into(),
        "msg_too_long" | "msg_blocks_too_long" | "invalid_blocks" => "the message was refused as too long or malformed".into(),
        "message_not_found" | "cant_update_message" | "edit_window_closed" => "the message can no longer be edited".into(),
        other => format!("Slack refused the request: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, status: Option<u16>) -> SlackApiError {
        SlackApiError { status, ..SlackApiError::local("chat.postMessage", code) }
    }

    #[test]
    fn http_429_is_rate_limited_with_its_retry_after_or_one_second() {
        let mut e = err("ratelimited", Some(429));
        assert_eq!(e.to_im_error(), ImError::RateLimited { retry_after: Duration::from_secs(1) });
        e.retry_after = Some(Duration::from_secs(30));
        assert_eq!(e.to_im_error(), ImError::RateLimited { retry_after: Duration::from_secs(30) });
        assert_eq!(err("rate_limited", Some(200)).to_im_error().retry_after(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn slack_codes_map_to_what_the_engine_does_about_them() {
        let mut scope = err("missing_scope", Some(200));
        scope.needed = Some("groups:write".into());
        assert_eq!(scope.to_im_error(), ImError::MissingPermission { scope: "groups:write".into() });
        for code in ["invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"] {
            assert!(matches!(err(code, Some(200)).to_im_error(), ImError::Unauthorized(_)), "{code}");
        }
        for code in ["channel_not_found", "is_archived", "not_in_channel", "is_inactive"] {
            assert_eq!(err(code, Some(200)).to_im_error(), ImError::ChatGone, "{code}");
        }
        assert_eq!(err("users_not_found", Some(200)).to_im_error(), ImError::UserNotFound);
        assert_eq!(err("user_not_found", Some(200)).to_im_error(), ImError::UserNotFound);
        assert!(matches!(err("name_taken", Some(200)).to_im_error(), ImError::Rejected { code, .. } if code == "name_taken"));
    }

    #[test]
    fn server_errors_and_network_failures_are_transient() {
        assert!(err("http_503", Some(503)).to_im_error().is_retryable());
        assert!(err(local::TIMEOUT, None).to_im_error().is_retryable());
        assert!(err(local::CONNECT, None).to_im_error().is_retryable());
        assert!(!err("invalid_blocks", Some(200)).to_im_error().is_retryable());
    }
}
