//! The two HMAC-signed callbacks.
//!
//! - Robot messages (notes Q7, the official page "消息发送与接收类型"): headers `timestamp`
//!   (ms) and `sign = base64(HmacSHA256(key = appSecret, msg = timestamp + "\n" + appSecret))`;
//!   refused when more than one hour from now. The body is not signed.
//! - Card callbacks (notes Q6, DingTalk doc "event-callback-card"): headers
//!   `x-ddpaas-signature-timestamp` and `x-ddpaas-signature = base64(HmacSHA256(key =
//!   apiSecret, msg = timestamp))`. The body is not signed either. The timestamp's unit is
//!   not stated (UNCERTAIN): [`timestamp_millis`] takes both, and the window is ours.
//!
//! Both compare in constant time (`Mac::verify_slice`). The header time is read from the
//! request's `now`, which the caller takes from its injected clock.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::time::Duration;
use warroom_core::{CallbackError, Timestamp};

pub const ROBOT_TIMESTAMP_HEADER: &str = "timestamp";
pub const ROBOT_SIGN_HEADER: &str = "sign";
pub const CARD_TIMESTAMP_HEADER: &str = "x-ddpaas-signature-timestamp";
pub const CARD_SIGN_HEADER: &str = "x-ddpaas-signature";

/// "reject if |now − timestamp| > 1 hour" (official robot page).
pub const ROBOT_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Our own window for card clicks: DingTalk waits 2 s for the answer (notes Q6), so a
/// genuine click is seconds old; five minutes leaves room for clock skew.
pub const CARD_WINDOW: Duration = Duration::from_secs(5 * 60);

fn mac(key: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac
}

/// The `sign` header DingTalk sends with a robot message (also the custom robot's webhook
/// signature, ref §2b).
pub fn robot_signature(secret: &str, timestamp: &str) -> String {
    B64.encode(mac(secret, &[timestamp.as_bytes(), b"\n", secret.as_bytes()]).finalize().into_bytes())
}

/// The `x-ddpaas-signature` header of a card callback.
pub fn card_signature(api_secret: &str, timestamp: &str) -> String {
    B64.encode(mac(api_secret, &[timestamp.as_bytes()]).finalize().into_bytes())
}

/// A header timestamp in milliseconds: values below 10^11 are taken as seconds (10^11 ms
/// is 1973, 10^11 s is the year 5138), so either unit reads right.
pub(crate) fn timestamp_millis(raw: &str) -> Option<i64> {
    let n: i64 = raw.trim().parse().ok()?;
    Some(if n.unsigned_abs() < 100_000_000_000 { n.saturating_mul(1000) } else { n })
}

fn fresh(ts_ms: i64, now: Timestamp, window: Duration) -> Result<(), CallbackError> {
    // abs_diff: no overflow for timestamps near i64::MIN / MAX.
    if now.millis().abs_diff(ts_ms) > window.as_millis() as u64 {
        Err(CallbackError::Stale)
    } else {
        Ok(())
    }
}

/// Verifies a robot message callback against any of `secrets` (see
/// `DingTalkCredentials::robot_sign_keys`): missing or wrong → `BadSignature`; right but
/// over an hour off → `Stale`.
pub fn verify_robot_signature(secrets: &[&str], timestamp: Option<&str>, sign: Option<&str>, now: Timestamp) -> Result<(), CallbackError> {
    let timestamp = timestamp.map(str::trim).ok_or(CallbackError::BadSignature)?;
    let given = sign.map(str::trim).and_then(|s| B64.decode(s).ok()).ok_or(CallbackError::BadSignature)?;
    let ts = timestamp_millis(timestamp).ok_or(CallbackError::BadSignature)?;
    // An empty secret is a valid HMAC key: an unset secret must never verify anything.
    let signed = secrets.iter().filter(|s| !s.is_empty()).any(|s| mac(s, &[timestamp.as_bytes(), b"\n", s.as_bytes()]).verify_slice(&given).is_ok());
    if !signed {
        return Err(CallbackError::BadSignature);
    }
    fresh(ts, now, ROBOT_WINDOW)
}

/// Verifies a card callback's `x-ddpaas-signature`.
pub fn verify_card_signature(api_secret: &str, timestamp: Option<&str>, sign: Option<&str>, now: Timestamp) -> Result<(), CallbackError> {
    let timestamp = timestamp.map(str::trim).ok_or(CallbackError::BadSignature)?;
    let given = sign.map(str::trim).and_then(|s| B64.decode(s).ok()).ok_or(CallbackError::BadSignature)?;
    let ts = timestamp_millis(timestamp).ok_or(CallbackError::BadSignature)?;
    if api_secret.is_empty() || mac(api_secret, &[timestamp.as_bytes()]).verify_slice(&given).is_err() {
        return Err(CallbackError::BadSignature);
    }
    fresh(ts, now, CARD_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ref "Robot / custom-robot HMAC signature": self-computed by the reference author
    /// (no official vector exists), kept as a regression.
    const ROBOT_TS: &str = "1577262236757";
    const ROBOT_SECRET: &str = "this is secret";
    const ROBOT_SIGN: &str = "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=";
    /// Notes Q6: self-computed, not official.
    const CARD_SECRET: &str = "example-secret";
    const CARD_TS: &str = "1700000000000";
    const CARD_SIGN: &str = "I85VWQbGCqbDkjEb7rsCEkTKI9QSL3wzLms54MiwXlg=";

    #[test]
    fn the_robot_vector_signs_and_verifies() {
        assert_eq!(robot_signature(ROBOT_SECRET, ROBOT_TS), ROBOT_SIGN);
        let now = Timestamp(1_577_262_236_757 + 59 * 60 * 1000);
        assert_eq!(verify_robot_signature(&[ROBOT_SECRET], Some(ROBOT_TS), Some(ROBOT_SIGN), now), Ok(()));
        // Any of several secrets may sign.
        assert_eq!(verify_robot_signature(&["other", ROBOT_SECRET], Some(ROBOT_TS), Some(ROBOT_SIGN), now), Ok(()));
    }

    #[test]
    fn a_robot_message_over_an_hour_off_is_stale() {
        let ts = 1_577_262_236_757;
        for now in [ts + 3_600_001, ts - 3_600_001] {
            assert_eq!(verify_robot_signature(&[ROBOT_SECRET], Some(ROBOT_TS), Some(ROBOT_SIGN), Timestamp(now)), Err(CallbackError::Stale));
        }
    }

    #[test]
    fn a_forged_or_missing_robot_signature_is_refused() {
        let now = Timestamp(1_577_262_236_757);
        let refused = |secrets: &[&str], ts: Option<&str>, sign: Option<&str>| verify_robot_signature(secrets, ts, sign, now);
        assert_eq!(refused(&["wrong secret"], Some(ROBOT_TS), Some(ROBOT_SIGN)), Err(CallbackError::BadSignature));
        assert_eq!(refused(&[ROBOT_SECRET], Some("1577262236758"), Some(ROBOT_SIGN)), Err(CallbackError::BadSignature));
        assert_eq!(refused(&[ROBOT_SECRET], None, Some(ROBOT_SIGN)), Err(CallbackError::BadSignature));
        assert_eq!(refused(&[ROBOT_SECRET], Some(ROBOT_TS), None), Err(CallbackError::BadSignature));
        assert_eq!(refused(&[ROBOT_SECRET], Some(ROBOT_TS), Some("not base64!")), Err(CallbackError::BadSignature));
        assert_eq!(refused(&[ROBOT_SECRET], Some("soon"), Some(ROBOT_SIGN)), Err(CallbackError::BadSignature));
        // An empty secret never verifies, even a signature made with it.
        assert_eq!(refused(&[""], Some(ROBOT_TS), Some(&robot_signature("", ROBOT_TS))), Err(CallbackError::BadSignature));
    }

    #[test]
    fn the_card_vector_signs_and_verifies_in_either_unit() {
        assert_eq!(card_signature(CARD_SECRET, CARD_TS), CARD_SIGN);
        let now = Timestamp(1_700_000_000_000 + 1_000);
        assert_eq!(verify_card_signature(CARD_SECRET, Some(CARD_TS), Some(CARD_SIGN), now), Ok(()));
        let secs = card_signature(CARD_SECRET, "1700000000");
        assert_eq!(verify_card_signature(CARD_SECRET, Some("1700000000"), Some(&secs), now), Ok(()));
    }

    #[test]
    fn a_stale_or_forged_card_click_is_refused() {
        let later = Timestamp(1_700_000_000_000 + 5 * 60 * 1000 + 1);
        assert_eq!(verify_card_signature(CARD_SECRET, Some(CARD_TS), Some(CARD_SIGN), later), Err(CallbackError::Stale));
        let now = Timestamp(1_700_000_000_000);
        assert_eq!(verify_card_signature("other", Some(CARD_TS), Some(CARD_SIGN), now), Err(CallbackError::BadSignature));
        assert_eq!(verify_card_signature("", Some(CARD_TS), Some(&card_signature("", CARD_TS)), now), Err(CallbackError::BadSignature));
        assert_eq!(verify_card_signature(CARD_SECRET, Some(CARD_TS), None, now), Err(CallbackError::BadSignature));
    }

    #[test]
    fn extreme_timestamps_are_stale_not_a_panic() {
        for ts in [i64::MIN, i64::MAX] {
            let t = ts.to_string();
            let sign = robot_signature("s", &t);
            assert_eq!(verify_robot_signature(&["s"], Some(&t), Some(&sign), Timestamp(0)), Err(CallbackError::Stale), "{ts}");
        }
    }
}
