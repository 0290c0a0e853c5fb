//! Callback cryptography (reference §2): AES-256-CBC with key = SHA-256(Encrypt Key) and the
//! IV carried as the first 16 bytes of the ciphertext; and the `X-Lark-Signature`, a plain
//! SHA-256 (not HMAC) over timestamp + nonce + Encrypt Key + raw body.
//! Sources: `larksuite/oapi-sdk-go` `event/event.go` (`EventDecrypt`, `Signature`).

use aes::Aes256;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use warroom_core::CallbackError;

const BLOCK: usize = 16;

fn key_of(encrypt_key: &str) -> [u8; 32] {
    Sha256::digest(encrypt_key.as_bytes()).into()
}

/// Decrypts an `{"encrypt": …}` payload. Padding is checked strictly (PKCS#7, as the Node
/// SDK's OpenSSL does) rather than trimmed to the outer braces like the Go SDK: a wrong
/// key then fails here instead of yielding garbage.
///
/// Not base64 / not whole blocks → `Malformed`; a padding or UTF-8 failure (a wrong key,
/// tampering) → `BadSignature`, one answer for all of them so nothing leaks which one.
pub fn decrypt(encrypt_key: &str, encrypted_b64: &str) -> Result<String, CallbackError> {
    let buf = B64.decode(encrypted_b64.trim()).map_err(|_| CallbackError::Malformed("the encrypted payload is not base64".into()))?;
    if buf.len() < 2 * BLOCK || buf.len() % BLOCK != 0 {
        return Err(CallbackError::Malformed("the encrypted payload is not whole AES blocks".into()));
    }
    let (iv, ciphertext) = buf.split_at(BLOCK);
    let cipher = cbc::Decryptor::<Aes256>::new_from_slices(&key_of(encrypt_key), iv).map_err(|_| CallbackError::Malformed("bad IV length".into()))?;
    let plain = cipher.decrypt_padded_vec::<Pkcs7>(ciphertext).map_err(|_| CallbackError::BadSignature)?;
    String::from_utf8(plain).map_err(|_| CallbackError::BadSignature)
}

/// Encrypts like Feishu does (random IV in front): for tests and the sandbox.
pub fn encrypt(encrypt_key: &str, plaintext: &str) -> String {
    use rand::RngCore;
    let mut iv = [0u8; BLOCK];
    rand::rng().fill_bytes(&mut iv);
    let cipher = cbc::Encryptor::<Aes256>::new_from_slices(&key_of(encrypt_key), &iv).expect("32-byte key, 16-byte IV");
    let mut out = iv.to_vec();
    out.extend_from_slice(&cipher.encrypt_padded_vec::<Pkcs7>(plaintext.as_bytes()));
    B64.encode(out)
}

/// `X-Lark-Signature`: lowercase hex SHA-256 of timestamp + nonce + Encrypt Key + the raw
/// body bytes as received (re-serialized JSON would not verify: node-sdk issue #46).
pub fn signature(timestamp: &str, nonce: &str, encrypt_key: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(timestamp.as_bytes());
    h.update(nonce.as_bytes());
    h.update(encrypt_key.as_bytes());
    h.update(body);
    hex::encode(h.finalize())
}

/// Constant-time comparison of a received signature with the expected one.
pub fn verify_signature(timestamp: &str, nonce: &str, encrypt_key: &str, body: &[u8], given: &str) -> bool {
    let expected = signature(timestamp, nonce, encrypt_key, body);
    let given = given.trim().to_ascii_lowercase();
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Official vector F1 (reference "TEST VECTORS"; also verified against lark-oapi 1.7.5).
    const F1_KEY: &str = "test key";
    const F1_ENCRYPT: &str = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=";

    #[test]
    fn the_official_vector_f1_decrypts_to_hello_world() {
        assert_eq!(decrypt(F1_KEY, F1_ENCRYPT).unwrap(), "hello world");
        assert_eq!(hex::encode(key_of(F1_KEY)), "fa2bdca424f01f01ffb48df93acc35d439c7fd331a1a7fba6ac2fd83aa9ab31a");
    }

    #[test]
    fn a_wrong_key_is_refused_without_panicking() {
        // Strict padding: of many wrong keys, none may decrypt F1 to anything readable.
        for i in 0..200 {
            match decrypt(&format!("wrong key {i}"), F1_ENCRYPT) {
                Err(CallbackError::BadSignature) => {}
                Ok(s) => assert_ne!(s, "hello world"),
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn garbage_is_refused_as_malformed() {
        for garbage in ["", "not base64 at all!", "AAAA", &B64.encode([0u8; 17]), &B64.encode([1u8; 40])] {
            assert!(matches!(decrypt(F1_KEY, garbage), Err(CallbackError::Malformed(_))), "{garbage:?}");
        }
    }

    #[test]
    fn what_we_encrypt_decrypts_with_the_same_key_only() {
        let sealed = encrypt("k1", r#"{"schema":"2.0"}"#);
        assert_eq!(decrypt("k1", &sealed).unwrap(), r#"{"schema":"2.0"}"#);
        assert_ne!(encrypt("k1", "x"), encrypt("k1", "x"), "random IV");
        assert!(decrypt("k2", &sealed).map(|s| s != r#"{"schema":"2.0"}"#).unwrap_or(true));
    }

    /// F3: computed by the reference author (not an official vector), kept as a regression.
    #[test]
    fn the_signature_matches_the_reference_regression_value() {
        let body = br#"{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}"#;
        let expected = "318b8c18e2016e75de652d8f93232311a0ccedb7c4f7f4d3724128c900a7fda8";
        assert_eq!(signature("1633336000", "nonce123", "test key", body), expected);
        assert!(verify_signature("1633336000", "nonce123", "test key", body, expected));
        assert!(verify_signature("1633336000", "nonce123", "test key", body, &expected.to_uppercase()));
    }

    #[test]
    fn a_bad_signature_is_refused() {
        let body = b"{}";
        let good = signature("1", "n", "k", body);
        assert!(!verify_signature("1", "n", "k", b"{ }", &good), "body changed");
        assert!(!verify_signature("2", "n", "k", body, &good), "timestamp changed");
        assert!(!verify_signature("1", "n", "other", body, &good), "other key");
        assert!(!verify_signature("1", "n", "k", body, &good[..63]));
        assert!(!verify_signature("1", "n", "k", body, ""));
    }
}
