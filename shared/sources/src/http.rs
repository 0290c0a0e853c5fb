//! What every adapter does with HTTP: build URLs safely, and turn answers and transport
//! failures into retryable or permanent [`SyncError`]s that never carry a secret.

use crate::outbound::{PolicyResolver, Refused};
use reqwest::{StatusCode, Url};
use std::time::Duration;
use warroom_core::SyncError;

pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub(crate) const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an error body goes into a message: enough to read, not a page of HTML.
const MAX_DETAIL_CHARS: usize = 200;

/// The client every push uses: the process's one TLS configuration (`warroom_platforms::tls`), short timeouts
/// so a slow source cannot hold a worker, and no redirects: a callback that redirects
/// would otherwise get the signed body (or a PagerDuty token) re-sent somewhere else.
/// Every name is resolved through the outbound policy (see `outbound`), and no proxy from
/// the environment (`HTTP(S)_PROXY`) is used: a proxy would resolve the tenant's name
/// itself, and the policy could no longer judge the address connected to.
pub(crate) fn client(resolver: PolicyResolver) -> Result<reqwest::Client, reqwest::Error> {
    warroom_platforms::tls::http_client_builder()
        .dns_resolver(resolver)
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A configured URL, as is; only http(s) (no `file:`, no `data:`).
pub(crate) fn parse(url: &str) -> Result<Url, SyncError> {
    let url = Url::parse(url.trim()).map_err(|e| SyncError::permanent(format!("invalid URL in the sync settings: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SyncError::permanent(format!("unsupported URL scheme {:?} in the sync settings", url.scheme())));
    }
    Ok(url)
}

/// `base` with `segments` appended, each percent-encoded, keeping any path prefix of
/// `base` (`http://host/alertmanager` + `api/v2/silences`). An external id can therefore
/// never add path segments or a query of its own.
pub(crate) fn join(base: &str, segments: &[&str]) -> Result<Url, SyncError> {
    let mut url = parse(base)?;
    url.path_segments_mut().map_err(|()| SyncError::permanent("the URL in the sync settings cannot take a path"))?.pop_if_empty().extend(segments);
    Ok(url)
}

/// A transport failure (connect, timeout, broken body): always worth retrying. The URL is
/// dropped from the message because a tenant's callback URL may carry a token in its query.
pub(crate) fn transport_error(what: &str, e: reqwest::Error) -> SyncError {
    // Refused by the outbound policy (at connect time): permanent, and said as such.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
    while let Some(c) = cause {
        if let Some(refused) = c.downcast_ref::<Refused>() {
            return SyncError::permanent(format!("{what}: {refused}"));
        }
        cause = c.source();
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    SyncError::retryable(format!("{what}: {kind} ({})", e.without_url()))
}

/// The longest wait a source may ask for: beyond it the job comes back anyway (it is only
/// deferred; the source can ask again), so a bogus header cannot park a status change for
/// hours.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; a date in the past is
/// now; capped at [`MAX_RETRY_AFTER`]. Anything else: `None` (our own backoff applies).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap, now: std::time::SystemTime) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or(Duration::ZERO),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Whether a non-2xx answer may succeed later: timeouts, rate limits and server errors.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The error for a non-2xx answer, with `detail` (already free of secrets) appended.
pub(crate) fn status_error(what: &str, status: StatusCode, detail: &str) -> SyncError {
    let mut message = format!("{what} answered {}", status.as_u16());
    if status.is_redirection() {
        message.push_str(" (redirects are not followed; configure the final URL)");
    }
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(detail);
    }
    if is_retryable(status) {
        SyncError::retryable(message)
    } else {
        SyncError::permanent(message)
    }
}

/// A short, single-line excerpt of an error body, with `secret` (if any) blanked out in
/// case a misbehaving proxy echoes request headers back.
pub(crate) fn excerpt(body: &str, secret: Option<&str>) -> String {
    let mut text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
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

    #[test]
    fn joined_urls_keep_the_prefix_and_escape_ids() {
        let u = join("http://am.local/prefix/", &["api", "v2", "silences"]).unwrap();
        assert_eq!(u.as_str(), "http://am.local/prefix/api/v2/silences");
        let u = join("https://api.pagerduty.com", &["incidents", "../x?y"]).unwrap();
        assert_eq!(u.as_str(), "https://api.pagerduty.com/incidents/..%2Fx%3Fy");
        let u = join("https://api.pagerduty.com", &["incidents", "..", "snooze"]).unwrap();
        assert!(u.path().starts_with("/incidents/"), "{u}");
        assert_eq!(parse("https://x/cb/?t=1").unwrap().as_str(), "https://x/cb/?t=1");
        assert!(!join("ftp://x", &["a"]).unwrap_err().retryable);
        assert!(!join("not a url", &["a"]).unwrap_err().retryable);
    }

    #[test]
    fn timeouts_rate_limits_and_server_errors_are_retryable() {
        for code in [408, 429, 500, 502, 503] {
            assert!(status_error("x", StatusCode::from_u16(code).unwrap(), "").retryable, "{code}");
        }
        for code in [301, 400, 401, 403, 404, 422] {
            assert!(!status_error("x", StatusCode::from_u16(code).unwrap(), "").retryable, "{code}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let with = |v: &str| HeaderMap::from_iter([(RETRY_AFTER, HeaderValue::from_str(v).unwrap())]);
        assert_eq!(retry_after(&with("7"), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&with("Sun, 06 Nov 1994 08:50:07 GMT"), now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(&with("Sun, 06 Nov 1994 08:00:00 GMT"), now), Some(Duration::ZERO), "a date past is now");
        assert_eq!(retry_after(&with("86400"), now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&with("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn excerpts_are_short_and_never_echo_the_secret() {
        assert_eq!(excerpt("bad\n  token tok_123 here", Some("tok_123")), "bad token [redacted] here");
        assert_eq!(excerpt(&"x".repeat(500), None).chars().count(), MAX_DETAIL_CHARS + 1);
    }
}
