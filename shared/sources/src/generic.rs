//! Generic sources: a signed JSON callback to the tenant's own URL.
//!
//! The scheme (documented for receivers in docs/status-sync.md):
//! `X-Warroom-Timestamp: <unix seconds>` and
//! `X-Warroom-Signature: v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
//! Signing the timestamp with the body lets a receiver refuse replays of an old callback;
//! the `v1=` prefix leaves room for another scheme (and, comma-separated, for several
//! signatures while a secret is rotated).

use crate::http::{excerpt, retry_after, status_error, transport_error};
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::time::Duration;
use warroom_core::{Incident, SyncError, Synced, Timestamp};
use warroom_secrets::Secret;

pub const TIMESTAMP_HEADER: &str = "X-Warroom-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Warroom-Signature";
/// The tolerance we suggest receivers use when checking `X-Warroom-Timestamp`.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

/// The callback body. Field names are a public contract (docs/status-sync.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusCallback {
    pub incident_id: String,
    /// The id the source gave the incident (`external_id`).
    pub source_id: String,
    /// `triggered`, `acknowledged`, `resolved` or `closed`.
    pub status: String,
    /// RFC 3339, or null when not snoozed.
    pub snoozed_until: Option<String>,
    pub title: String,
    pub url: Option<String>,
    pub sent_at: String,
}

impl StatusCallback {
    pub fn new(incident: &Incident, now: Timestamp) -> Self {
        Self {
            incident_id: incident.id.to_string(),
            source_id: incident.source.external_id.clone(),
            status: incident.status.as_str().to_owned(),
            snoozed_until: incident.snoozed_until.map(Timestamp::to_rfc3339),
            title: incident.title.clone(),
            url: incident.url.clone(),
            sent_at: now.to_rfc3339(),
        }
    }
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Warroom-Signature` value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("v1={}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

/// Checks a callback as a receiver would: the timestamp is within `tolerance` of `now`
/// (both unix seconds) and some `v1=` entry of `header` matches, compared in constant time.
/// Entries of other versions and malformed hex are skipped rather than failing the whole header.
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], header: &str, now: i64, tolerance: Duration) -> bool {
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return false;
    }
    header
        .split(',')
        .filter_map(|entry| entry.trim().strip_prefix("v1="))
        .filter_map(|hex_sig| hex::decode(hex_sig.trim()).ok())
        .any(|sig| mac(secret, timestamp, body).verify_slice(&sig).is_ok())
}

pub(crate) async fn push(http: &reqwest::Client, callback_url: &str, secret: &Secret, incident: &Incident, now: Timestamp) -> Result<Synced, SyncError> {
    let url = crate::http::parse(callback_url)?;
    let body =
        serde_json::to_vec(&StatusCallback::new(incident, now)).map_err(|e| SyncError::permanent(format!("could not encode the status callback: {e}")))?;
    let timestamp = now.secs();
    let signature = sign(secret.expose().as_bytes(), timestamp, &body);
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| transport_error("status callback", e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(Synced { detail: format!("status callback accepted ({}): {}", status.as_u16(), incident.status) });
    }
    let wait = retry_after(response.headers(), std::time::SystemTime::now());
    let text = response.text().await.unwrap_or_default();
    Err(status_error("status callback", status, &excerpt(&text, Some(secret.expose()))).after(wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_secret_body_and_time() {
        let sig = sign(b"s3cret", 1_700_000_000, b"{\"a\":1}");
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
        let ok = |secret: &[u8], ts, body: &[u8], header: &str, now| verify(secret, ts, body, header, now, DEFAULT_TOLERANCE);
        assert!(ok(b"s3cret", 1_700_000_000, b"{\"a\":1}", &sig, 1_700_000_100));
        assert!(!ok(b"other", 1_700_000_000, b"{\"a\":1}", &sig, 1_700_000_000));
        assert!(!ok(b"s3cret", 1_700_000_001, b"{\"a\":1}", &sig, 1_700_000_000));
        assert!(!ok(b"s3cret", 1_700_000_000, b"{\"a\":2}", &sig, 1_700_000_000));
        // Too old, or from too far in the future: a replay or a broken clock.
        assert!(!ok(b"s3cret", 1_700_000_000, b"{\"a\":1}", &sig, 1_700_000_301));
        assert!(!ok(b"s3cret", 1_700_000_000, b"{\"a\":1}", &sig, 1_699_999_699));
    }

    #[test]
    fn signatures_match_the_documented_vector() {
        // Computed independently with Python's hmac module (docs/status-sync.md).
        let body = br#"{"incident_id":"inc_1","status":"acknowledged"}"#;
        assert_eq!(sign(b"whsec_example", 1_763_715_600, body), "v1=4d9b1281e53a4eaf856fd68c0310f6622948a42b9af285e216f2ab97acb40eb7");
    }

    #[test]
    fn any_matching_entry_of_a_rotating_header_passes() {
        let sig = sign(b"new", 10, b"x");
        assert!(verify(b"new", 10, b"x", &format!("v1=00ff, v0=zz, {sig}"), 10, DEFAULT_TOLERANCE));
        assert!(!verify(b"new", 10, b"x", "v1=not-hex, v2=abcd", 10, DEFAULT_TOLERANCE));
        assert!(!verify(b"new", 10, b"x", "", 10, DEFAULT_TOLERANCE));
    }
}
