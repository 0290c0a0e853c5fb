//! The console's signing keys: one for session tokens, one for CSRF tokens, each derived
//! (HMAC-SHA256 with its own label) from a per-deployment console master key.
//!
//! `SecretBox` exposes no key material (by design), so the master key is a random key that
//! is sealed by the deployment's SecretBox and kept in the store: every Lambda instance
//! reads the same one, and a store dump alone does not reveal it. The sealing key is
//! never used for signing. When the master cannot be opened any more (the sealing key was
//! rotated and the previous one dropped), one instance replaces it (elected by a claim
//! keyed on the unopenable value): every session is then signed out, nothing else changes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::time::Duration;
use warroom_core::{SealedCredentials, StoreError};
use warroom_http::AppState;
use warroom_secrets::SecretBox;

type HmacSha256 = Hmac<Sha256>;

/// The store item holding the sealed master key, and the sealing context binding it there.
const ITEM: &str = "console:master-key:v1";
const CONTEXT: &str = "console:master-key";
/// Ephemeral items need a lifetime; this one should outlive any deployment.
const LIFETIME: Duration = Duration::from_secs(20 * 365 * 24 * 3600);
/// How long an instance that lost the election waits for the winner's key.
const WAIT_STEPS: usize = 20;
const WAIT_STEP: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the console's signing key is being created by another instance; try again")]
    Busy,
}

/// The derived keys; never printed.
pub struct Keys {
    session: [u8; 32],
    csrf: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(master).expect("HMAC accepts any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

fn mac(key: &[u8; 32], parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for (n, part) in parts.iter().enumerate() {
        if n > 0 {
            // A separator no part contains, so ("a", "bc") and ("ab", "c") differ.
            mac.update(&[0]);
        }
        mac.update(part);
    }
    mac
}

impl Keys {
    pub fn from_master(master: &[u8]) -> Self {
        Self { session: derive(master, "warroom console session token v1"), csrf: derive(master, "warroom console csrf token v1") }
    }

    pub fn sign_session(&self, payload: &str) -> String {
        hex::encode(mac(&self.session, &[payload.as_bytes()]).finalize().into_bytes())
    }

    /// Constant-time check of a session signature.
    pub fn verify_session(&self, payload: &str, signature_hex: &str) -> bool {
        hex::decode(signature_hex).is_ok_and(|sig| mac(&self.session, &[payload.as_bytes()]).verify_slice(&sig).is_ok())
    }

    pub fn csrf_for(&self, session_token: &str) -> String {
        hex::encode(mac(&self.csrf, &[session_token.as_bytes()]).finalize().into_bytes())
    }

    /// Constant-time check of a form's CSRF token against the session it must be bound to.
    pub fn verify_csrf(&self, session_token: &str, token_hex: &str) -> bool {
        hex::decode(token_hex).is_ok_and(|t| mac(&self.csrf, &[session_token.as_bytes()]).verify_slice(&t).is_ok())
    }
}

fn open(secrets: &SecretBox, sealed: &str) -> Option<Keys> {
    let master = secrets.open(&SealedCredentials(sealed.to_owned()), CONTEXT).ok()?;
    Some(Keys::from_master(master.expose().as_bytes()))
}

/// The console's keys, creating the master key on first use.
pub async fn keys(state: &AppState) -> Result<Keys, SigningError> {
    let store = state.store();
    let current = store.get_ephemeral(ITEM, state.clock().now()).await?;
    if let Some(keys) = current.as_deref().and_then(|sealed| open(&state.secrets, sealed)) {
        return Ok(keys);
    }
    // Absent, or sealed under a key this deployment no longer has: one instance replaces it.
    let stale = current.as_deref().map_or_else(|| "none".to_owned(), |s| hex::encode(&Sha256::digest(s.as_bytes())[..8]));
    let claim = format!("console:master-key:claim:{stale}");
    if store.claim_dedupe(&claim, Duration::from_secs(30), state.clock().now()).await? {
        let sealed = state.secrets.seal(&SecretBox::generate_key(), CONTEXT);
        store.put_ephemeral(ITEM, &sealed.0, LIFETIME, state.clock().now()).await?;
        tracing::info!("console signing key created");
        return open(&state.secrets, &sealed.0).ok_or(SigningError::Busy);
    }
    for _ in 0..WAIT_STEPS {
        tokio::time::sleep(WAIT_STEP).await;
        let now = store.get_ephemeral(ITEM, state.clock().now()).await?;
        if now != current {
            if let Some(keys) = now.as_deref().and_then(|sealed| open(&state.secrets, sealed)) {
                return Ok(keys);
            }
        }
    }
    Err(SigningError::Busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_csrf_tokens_verify_only_for_what_they_sign() {
        let keys = Keys::from_master(b"master");
        let sig = keys.sign_session("v1.a.b");
        assert!(keys.verify_session("v1.a.b", &sig));
        assert!(!keys.verify_session("v1.a.c", &sig));
        assert!(!keys.verify_session("v1.a.b", "zz"));
        assert!(!Keys::from_master(b"other").verify_session("v1.a.b", &sig));
        let csrf = keys.csrf_for("token");
        assert!(keys.verify_csrf("token", &csrf));
        assert!(!keys.verify_csrf("token2", &csrf));
        assert_ne!(csrf, sig, "the two subkeys differ");
        assert_ne!(keys.csrf_for("v1.a.b"), keys.sign_session("v1.a.b"));
    }
}
