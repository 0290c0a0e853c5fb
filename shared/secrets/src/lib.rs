//! Secrets at rest. Credentials (bot tokens, app secrets, webhook secrets) are sealed with
//! AES-256-GCM under a key the deployment supplies (a Secrets Manager secret or
//! `WARROOM_SECRET_KEY`; locally a generated key file; formats in [`keys`]), bound to the
//! object they belong to, and only ever opened in memory. [`Secret`] never shows its value
//! in `Debug` or `Display`.
//!
//! # Rotation
//!
//! A [`SecretBox`] holds the current key and, during a rotation, the previous one: it
//! always seals with the current key and opens with the current key, then the previous.
//! [`SecretBox::reseal`] moves one value to the current key (and leaves a value already
//! under it alone), so an operator re-seals everything stored and then drops the previous
//! key. The procedure is in `docs/key-rotation.md`.

pub mod keys;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;
use std::fmt;
use std::path::Path;
use warroom_core::SealedCredentials;

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

/// None of these is retryable: the same key text or sealed value gives the same answer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// The key text is not usable; the message says why without quoting it.
    #[error("the secret key is not usable: {0}")]
    BadKey(String),
    #[error("sealed value is malformed")]
    Malformed,
    /// Wrong key, tampered ciphertext, or a value sealed for another object.
    #[error("sealed value could not be opened (wrong key, or tampered)")]
    Unopenable,
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
}

/// A plaintext secret in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The plaintext, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which key opened a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUsed {
    Current,
    Previous,
}

/// What [`SecretBox::reseal`] did with one value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resealed {
    /// It already opens with the current key: nothing to write.
    AlreadyCurrent,
    /// It was sealed under the previous key; this is the same plaintext under the current one.
    Moved(SealedCredentials),
}

/// Seals with the current key; opens with the current key, then the previous one.
#[derive(Clone)]
pub struct SecretBox {
    current: Aes256Gcm,
    previous: Option<Aes256Gcm>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whether a rotation is under way is not secret, and helps reading a config dump.
        f.debug_struct("SecretBox").field("keys", &"[redacted]").field("has_previous", &self.previous.is_some()).finish()
    }
}

impl SecretBox {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self { current: Aes256Gcm::new(key.into()), previous: None }
    }

    /// Also opens values sealed under `previous` (a rotation in progress).
    pub fn with_previous_key(mut self, previous: &[u8; 32]) -> Self {
        self.previous = Some(Aes256Gcm::new(previous.into()));
        self
    }

    /// From base64 of exactly 32 bytes only (the key file's and `openssl rand` format).
    pub fn from_base64(encoded: &str) -> Result<Self, SecretError> {
        let bytes = B64.decode(encoded.trim()).map_err(|_| SecretError::BadKey("not base64".into()))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey("not exactly 32 bytes".into()))?;
        Ok(Self::from_key(&key))
    }

    /// From any key text a deployment may supply: one key, or `{"current", "previous"}`
    /// JSON (see [`keys`]).
    pub fn from_key_text(text: &str) -> Result<Self, SecretError> {
        let parsed = keys::parse(text)?;
        let sb = Self::from_key(&parsed.current);
        Ok(match parsed.previous {
            Some(previous) => sb.with_previous_key(&previous),
            None => sb,
        })
    }

    /// True while a previous key is configured (a rotation is under way).
    pub fn has_previous_key(&self) -> bool {
        self.previous.is_some()
    }

    /// A fresh random key, base64-encoded.
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        B64.encode(key)
    }

    /// Reads the key file (any key text, so a local rotation works the same way), creating
    /// it (mode 0600) with a fresh key if it does not exist.
    pub fn load_or_create_key_file(path: &Path) -> Result<Self, SecretError> {
        let err = |reason: String| SecretError::KeyFile { path: path.display().to_string(), reason };
        match std::fs::read_to_string(path) {
            Ok(contents) => Self::from_key_text(&contents).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate_key();
                write_private(path, &key).map_err(|e| err(e.to_string()))?;
                Self::from_base64(&key)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Seals `plaintext` for `context` (e.g. `integration:int_123`) under the current key:
    /// opening it under any other context fails, so a sealed value cannot be copied onto
    /// another object.
    pub fn seal(&self, plaintext: &str, context: &str) -> SealedCredentials {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() };
        let ciphertext = self.current.encrypt(&Nonce::from(nonce), payload).expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        SealedCredentials(format!("{VERSION}:{}", B64.encode(blob)))
    }

    pub fn open(&self, sealed: &SealedCredentials, context: &str) -> Result<Secret, SecretError> {
        self.open_reporting_key(sealed, context).map(|(secret, _)| secret)
    }

    /// Opens with the current key, then the previous one, and says which worked.
    pub fn open_reporting_key(&self, sealed: &SealedCredentials, context: &str) -> Result<(Secret, KeyUsed), SecretError> {
        let (nonce, ciphertext) = parse_sealed(sealed)?;
        let attempt = |cipher: &Aes256Gcm| {
            let payload = Payload { msg: ciphertext.as_slice(), aad: context.as_bytes() };
            cipher.decrypt(&Nonce::from(nonce), payload).ok()
        };
        let (plain, used) = match attempt(&self.current) {
            Some(plain) => (plain, KeyUsed::Current),
            None => match self.previous.as_ref().and_then(attempt) {
                Some(plain) => (plain, KeyUsed::Previous),
                None => return Err(SecretError::Unopenable),
            },
        };
        String::from_utf8(plain).map(|s| (Secret(s), used)).map_err(|_| SecretError::Malformed)
    }

    /// Moves a value to the current key. Idempotent: a value the current key opens is left
    /// as it is (no new ciphertext, so nothing to write). Errors as [`SecretBox::open`].
    pub fn reseal(&self, sealed: &SealedCredentials, context: &str) -> Result<Resealed, SecretError> {
        match self.open_reporting_key(sealed, context)? {
            (_, KeyUsed::Current) => Ok(Resealed::AlreadyCurrent),
            (plain, KeyUsed::Previous) => Ok(Resealed::Moved(self.seal(plain.expose(), context))),
        }
    }

    /// True if `value` has the shape of a sealed value (`v1:` and base64 long enough for a
    /// nonce and a tag). Lets a walk over free-form settings find what to re-seal.
    pub fn looks_sealed(value: &str) -> bool {
        parse_sealed(&SealedCredentials(value.to_owned())).is_ok()
    }
}

fn parse_sealed(sealed: &SealedCredentials) -> Result<([u8; NONCE_LEN], Vec<u8>), SecretError> {
    let encoded = sealed.0.strip_prefix("v1:").ok_or(SecretError::Malformed)?;
    let blob = B64.decode(encoded).map_err(|_| SecretError::Malformed)?;
    if blob.len() < NONCE_LEN + 16 {
        return Err(SecretError::Malformed);
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretError::Malformed)?;
    Ok((nonce, ciphertext.to_vec()))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests;
