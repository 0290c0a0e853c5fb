//! Callback crypto exactly as Feishu does it (reference `feishu.md` §2):
//! - body `{"encrypt": base64(IV ‖ AES-256-CBC(SHA-256(encrypt_key), IV, PKCS#7(plaintext)))}`,
//!   with a random 16-byte IV prefixed to the ciphertext;
//! - `X-Lark-Signature = hex(SHA-256(timestamp + nonce + encrypt_key + raw_body))`.

use aes::Aes256;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use rand::Rng;
use sha2::{Digest, Sha256};

/// Encrypts `plaintext` for an app whose Encrypt Key is `encrypt_key`; returns the base64
/// string that goes in `{"encrypt": …}`.
pub fn encrypt(encrypt_key: &str, plaintext: &[u8]) -> String {
    let mut iv = [0u8; 16];
    rand::rng().fill(&mut iv);
    encrypt_with_iv(encrypt_key, &iv, plaintext)
}

pub(crate) fn encrypt_with_iv(encrypt_key: &str, iv: &[u8; 16], plaintext: &[u8]) -> String {
    let key = Sha256::digest(encrypt_key.as_bytes());
    // A SHA-256 digest is always 32 bytes and the IV 16: the lengths cannot be wrong.
    let cipher = cbc::Encryptor::<Aes256>::new_from_slices(&key[..], iv).expect("32-byte key and 16-byte IV");
    let mut out = iv.to_vec();
    out.extend(cipher.encrypt_padded_vec::<Pkcs7>(plaintext));
    STANDARD.encode(out)
}

/// `X-Lark-Signature` over the raw request body.
pub fn signature(timestamp: &str, nonce: &str, encrypt_key: &str, raw_body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(timestamp.as_bytes());
    h.update(nonce.as_bytes());
    h.update(encrypt_key.as_bytes());
    h.update(raw_body);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockModeDecrypt;

    fn decrypt(encrypt_key: &str, b64: &str) -> Vec<u8> {
        let buf = STANDARD.decode(b64).unwrap();
        let key = Sha256::digest(encrypt_key.as_bytes());
        let (iv, ct) = buf.split_at(16);
        cbc::Decryptor::<Aes256>::new_from_slices(&key[..], iv).unwrap().decrypt_padded_vec::<Pkcs7>(ct).unwrap()
    }

    #[test]
    fn the_official_vector_decrypts_to_hello_world() {
        // F1 in reference feishu.md.
        assert_eq!(decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="), b"hello world");
    }

    #[test]
    fn encryption_reproduces_the_official_vector_given_its_iv() {
        let raw = STANDARD.decode("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=").unwrap();
        let iv: [u8; 16] = raw[..16].try_into().unwrap();
        assert_eq!(encrypt_with_iv("test key", &iv, b"hello world"), "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=");
        let fresh = encrypt("test key", b"hello world");
        assert_eq!(decrypt("test key", &fresh), b"hello world");
    }

    #[test]
    fn the_signature_matches_the_reference_regression_value() {
        // F3 in reference feishu.md (computed, not official).
        let body = br#"{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}"#;
        assert_eq!(signature("1633336000", "nonce123", "test key", body), "318b8c18e2016e75de652d8f93232311a0ccedb7c4f7f4d3724128c900a7fda8");
    }
}
