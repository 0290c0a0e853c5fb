//! Secrets at rest. Credentials (bot tokens, app secrets, webhook secrets) are sealed with
//! AES-256-GCM under a key the deployment supplies (`WARROOM_SECRET_KEY`, base64 of 32
//! bytes; locally a generated key file), bound to the object they belong to, and only
//! ever opened in memory. [`Secret`] never shows its value in `Debug` or `Display`.

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

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the secret key must be base64 of exactly 32 bytes")]
    BadKey,
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

/// Seals and opens secrets under one key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox([key redacted])")
    }
}

impl SecretBox {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self { cipher: Aes256Gcm::new(key.into()) }
    }

    /// From base64 of 32 bytes (the `WARROOM_SECRET_KEY` format).
    pub fn from_base64(encoded: &str) -> Result<Self, SecretError> {
        let bytes = B64.decode(encoded.trim()).map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self::from_key(&key))
    }

    /// A fresh random key, base64-encoded.
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        B64.encode(key)
    }

    /// Reads the key file, creating it (mode 0600) with a fresh key if it does not exist.
    pub fn load_or_create_key_file(path: &Path) -> Result<Self, SecretError> {
        let err = |reason: String| SecretError::KeyFile { path: path.display().to_string(), reason };
        match std::fs::read_to_string(path) {
            Ok(contents) => Self::from_base64(&contents).map_err(|e| err(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate_key();
                write_private(path, &key).map_err(|e| err(e.to_string()))?;
                Self::from_base64(&key)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// Seals `plaintext` for `context` (e.g. `integration:int_123`): opening it under any
    /// other context fails, so a sealed value cannot be copied onto another object.
    pub fn seal(&self, plaintext: &str, context: &str) -> SealedCredentials {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() };
        let ciphertext = self.cipher.encrypt(&Nonce::from(nonce), payload).expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        SealedCredentials(format!("{VERSION}:{}", B64.encode(blob)))
    }

    pub fn open(&self, sealed: &SealedCredentials, context: &str) -> Result<Secret, SecretError> {
        let encoded = sealed.0.strip_prefix("v1:").ok_or(SecretError::Malformed)?;
        let blob = B64.decode(encoded).map_err(|_| SecretError::Malformed)?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(SecretError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretError::Malformed)?;
        let payload = Payload { msg: ciphertext, aad: context.as_bytes() };
        let plain = self.cipher.decrypt(&Nonce::from(nonce), payload).map_err(|_| SecretError::Unopenable)?;
        String::from_utf8(plain).map(Secret).map_err(|_| SecretError::Malformed)
    }
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
mod tests {
    use super::*;

    fn sb() -> SecretBox {
        SecretBox::from_key(&[7u8; 32])
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let sealed = sb().seal("xoxb-123-secret", "integration:int_1");
        assert!(!sealed.0.contains("xoxb"), "ciphertext must not contain the plaintext");
        assert_eq!(sb().open(&sealed, "integration:int_1").unwrap().expose(), "xoxb-123-secret");
        assert_eq!(sb().open(&sealed, "integration:int_2"), Err(SecretError::Unopenable));
        assert_eq!(SecretBox::from_key(&[8u8; 32]).open(&sealed, "integration:int_1"), Err(SecretError::Unopenable));
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        assert_ne!(sb().seal("same", "c"), sb().seal("same", "c"));
    }

    #[test]
    fn tampered_or_garbled_values_are_refused() {
        let sealed = sb().seal("token", "c");
        let mut bytes = B64.decode(&sealed.0[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = SealedCredentials(format!("v1:{}", B64.encode(bytes)));
        assert_eq!(sb().open(&tampered, "c"), Err(SecretError::Unopenable));
        assert_eq!(sb().open(&SealedCredentials("token".into()), "c"), Err(SecretError::Malformed));
        assert_eq!(sb().open(&SealedCredentials("v1:!!".into()), "c"), Err(SecretError::Malformed));
    }

    #[test]
    fn secrets_never_print_their_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(7 bytes)");
        assert_eq!(format!("{s}"), "[redacted]");
        assert!(!format!("{:?}", sb()).contains('7'));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(SecretBox::from_base64(&SecretBox::generate_key()).is_ok());
        assert_eq!(SecretBox::from_base64("c2hvcnQ=").unwrap_err(), SecretError::BadKey);
        assert_eq!(SecretBox::from_base64("not base64!").unwrap_err(), SecretError::BadKey);
    }

    #[test]
    fn a_key_file_is_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("warroom-key-{}", warroom_core::ids::random_suffix()));
        let path = dir.join("secret.key");
        let first = SecretBox::load_or_create_key_file(&path).unwrap();
        let sealed = first.seal("v", "c");
        let again = SecretBox::load_or_create_key_file(&path).unwrap();
        assert_eq!(again.open(&sealed, "c").unwrap().expose(), "v");
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(SecretBox::load_or_create_key_file(&path), Err(SecretError::KeyFile { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
