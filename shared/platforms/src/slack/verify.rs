//! Slack request signing, version 0.
//!
//! `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:{X-Slack-Request-Timestamp}:{raw body}")>`,
//! compared in constant time; requests more than five minutes from now are refused.
//! Sources: python-slack-sdk `slack_sdk/signature/__init__.py`; slack-morphism-rust
//! `src/signature_verifier.rs` (which, like this, checks the MAC first, then the age).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use warroom_core::{CallbackError, Timestamp};

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// `60 * 5` in both SDKs.
pub const MAX_AGE_SECS: i64 = 300;

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` value Slack would send (used by tests and the sandbox side).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!("v0={}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

/// Verifies a request: any missing, garbled or wrong signature is `BadSignature`; a good
/// signature more than [`MAX_AGE_SECS`] away from `now` (either way) is `Stale`.
pub fn verify(secret: &[u8], timestamp_header: Option<&str>, signature_header: Option<&str>, body: &[u8], now: Timestamp) -> Result<(), CallbackError> {
    let timestamp = timestamp_header.map(str::trim).ok_or(CallbackError::BadSignature)?;
    let ts: i64 = timestamp.parse().map_err(|_| CallbackError::BadSignature)?;
    let given = signature_header.map(str::trim).and_then(|s| s.strip_prefix("v0=")).ok_or(CallbackError::BadSignature)?;
    let given = hex::decode(given).map_err(|_| CallbackError::BadSignature)?;
    if secret.is_empty() {
        // An unset secret must never verify anything (an empty key is a valid HMAC key).
        return Err(CallbackError::BadSignature);
    }
    // `verify_slice` compares in constant time (hmac/subtle).
    mac(secret, timestamp, body).verify_slice(&given).map_err(|_| CallbackError::BadSignature)?;
    if now.secs().abs_diff(ts) > MAX_AGE_SECS as u64 {
        return Err(CallbackError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector S1: the official docs example, as used by python-slack-sdk's tests.
    const S1_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const S1_TS: &str = "1531420618";
    const S1_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const S1_SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    // Vector S2: slack-morphism-rust `test_precoded_data`, verified at 1531420620.
    const S2_SECRET: &str = "fa2c05deeef5a4077494e89f54394de0";
    const S2_TS: &str = "1531420618";
    const S2_BODY: &str = "test-body";
    const S2_SIG: &str = "v0=baa91ef62d346e56607bbdd278a8acd570b91226854f15a382f43d33be42f666";

    fn check(secret: &str, ts: &str, sig: &str, body: &str, now_secs: i64) -> Result<(), CallbackError> {
        verify(secret.as_bytes(), Some(ts), Some(sig), body.as_bytes(), Timestamp::from_secs(now_secs))
    }

    #[test]
    fn official_vector_s1_verifies_and_signs_identically() {
        assert_eq!(check(S1_SECRET, S1_TS, S1_SIG, S1_BODY, 1_531_420_618), Ok(()));
        assert_eq!(sign(S1_SECRET.as_bytes(), S1_TS, S1_BODY.as_bytes()), S1_SIG);
    }

    #[test]
    fn slack_morphism_vector_s2_verifies_two_seconds_later() {
        assert_eq!(check(S2_SECRET, S2_TS, S2_SIG, S2_BODY, 1_531_420_620), Ok(()));
        assert_eq!(sign(S2_SECRET.as_bytes(), S2_TS, S2_BODY.as_bytes()), S2_SIG);
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let tampered = format!("{S1_BODY}------");
        assert_eq!(check(S1_SECRET, S1_TS, S1_SIG, &tampered, 1_531_420_618), Err(CallbackError::BadSignature));
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        assert_eq!(check(S2_SECRET, S1_TS, S1_SIG, S1_BODY, 1_531_420_618), Err(CallbackError::BadSignature));
        assert_eq!(check("", S1_TS, S1_SIG, S1_BODY, 1_531_420_618), Err(CallbackError::BadSignature));
    }

    #[test]
    fn a_good_signature_outside_five_minutes_is_stale_either_way() {
        let ts = 1_531_420_618;
        assert_eq!(check(S1_SECRET, S1_TS, S1_SIG, S1_BODY, ts + 300), Ok(()));
        assert_eq!(check(S1_SECRET, S1_TS, S1_SIG, S1_BODY, ts + 301), Err(CallbackError::Stale));
        assert_eq!(check(S1_SECRET, S1_TS, S1_SIG, S1_BODY, ts - 301), Err(CallbackError::Stale));
        // With today's clock, the docs' request is long expired.
        assert_eq!(check(S1_SECRET, S1_TS, S1_SIG, S1_BODY, 1_763_715_600), Err(CallbackError::Stale));
    }

    #[test]
    fn missing_or_garbled_headers_are_bad_signatures() {
        let now = Timestamp::from_secs(1_531_420_618);
        let body = S1_BODY.as_bytes();
        let secret = S1_SECRET.as_bytes();
        assert_eq!(verify(secret, None, Some(S1_SIG), body, now), Err(CallbackError::BadSignature));
        assert_eq!(verify(secret, Some(S1_TS), None, body, now), Err(CallbackError::BadSignature));
        assert_eq!(verify(secret, Some("soon"), Some(S1_SIG), body, now), Err(CallbackError::BadSignature));
        assert_eq!(verify(secret, Some(S1_TS), Some("v1=abcd"), body, now), Err(CallbackError::BadSignature));
        assert_eq!(verify(secret, Some(S1_TS), Some("v0=not-hex"), body, now), Err(CallbackError::BadSignature));
        assert_eq!(verify(secret, Some(S1_TS), Some(&S1_SIG[..20]), body, now), Err(CallbackError::BadSignature));
        // A timestamp other than the signed one fails the MAC.
        assert_eq!(verify(secret, Some("1531420619"), Some(S1_SIG), body, now), Err(CallbackError::BadSignature));
    }
}
