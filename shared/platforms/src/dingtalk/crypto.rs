//! Event-subscription crypto (ref §2a; Crypto repo `open-dingtalk/DingTalk-Callback-Crypto`:
//! `DingCallbackCrypto3.py`, `DingCallbackCrypto.java`, `DingTalkCrypto.go`,
//! `dingtalk_callback_crypto.rs`).
//!
//! - `msg_signature = hex(sha1(concat(sort([token, timeStamp, nonce, encrypt]))))`;
//! - key = base64(EncodingAESKey + "="), 32 bytes; IV = key[0..16]; AES-256-CBC;
//! - plaintext = random(16) ‖ len(msg) as 4 bytes big-endian ‖ msg ‖ owner key;
//! - PKCS#7 padding whose block the implementations disagree on (Python/Java 32, Go/Rust
//!   16): pads 1..=32 are accepted, and we pad to 32 like Python/Java (vector D3 does).

use aes::Aes256;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD as B64};
use base64::Engine;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

const AES_BLOCK: usize = 16;
/// The padding block of Python/Java's `pks7encode` (ref §2a).
const PAD_BLOCK: usize = 32;
/// EncodingAESKey length: 43 base64 characters = 32 bytes.
const AES_KEY_CHARS: usize = 43;

/// Why an encrypted payload was refused. Nothing here says more than the kind of failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the EncodingAESKey is not 43 base64 characters")]
    BadKey,
    #[error("the encrypted payload is not base64")]
    NotBase64,
    #[error("the encrypted payload is not whole AES blocks")]
    NotBlocks,
    /// A wrong key or tampering shows here (or as a bad length / owner).
    #[error("the decrypted payload has invalid padding")]
    BadPadding,
    #[error("the decrypted payload's length field does not fit")]
    BadLength,
    #[error("the payload is for another app or organisation")]
    WrongOwner,
    #[error("the decrypted message is not UTF-8")]
    NotUtf8,
}

/// One app's event-subscription crypto: its 签名 Token and aes_key.
#[derive(Clone)]
pub struct EventCrypto {
    token: String,
    key: [u8; 32],
}

/// Never shows the token or the key.
impl std::fmt::Debug for EventCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventCrypto([redacted])")
    }
}

impl EventCrypto {
    pub fn new(token: &str, encoding_aes_key: &str) -> Result<Self, CryptoError> {
        let encoding_aes_key = encoding_aes_key.trim();
        if encoding_aes_key.len() != AES_KEY_CHARS {
            return Err(CryptoError::BadKey);
        }
        // 43 characters carry 2 bits past the 32 bytes; Python's decoder (the reference)
        // ignores them, the strict engine would refuse most keys.
        let lenient = GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));
        let bytes = lenient.decode(format!("{encoding_aes_key}=")).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self { token: token.to_owned(), key })
    }

    /// `msg_signature` over the four strings, sorted lexically and concatenated.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        hex::encode(Sha1::digest(parts.concat().as_bytes()))
    }

    /// Constant-time check of a received `msg_signature` (hex, either case).
    pub fn verify(&self, given: &str, timestamp: &str, nonce: &str, encrypt: &str) -> bool {
        let expected = self.signature(timestamp, nonce, encrypt);
        let given = given.trim().to_ascii_lowercase();
        expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    }

    fn iv(&self) -> &[u8] {
        &self.key[..AES_BLOCK]
    }

    /// AES-256-CBC decryption of a base64 payload, padding left on.
    pub(crate) fn decrypt_raw(&self, encrypted_b64: &str) -> Result<Vec<u8>, CryptoError> {
        let buf = B64.decode(encrypted_b64.trim()).map_err(|_| CryptoError::NotBase64)?;
        if buf.is_empty() || buf.len() % AES_BLOCK != 0 {
            return Err(CryptoError::NotBlocks);
        }
        let cipher = cbc::Decryptor::<Aes256>::new_from_slices(&self.key, self.iv()).map_err(|_| CryptoError::BadKey)?;
        cipher.decrypt_padded_vec::<NoPadding>(&buf).map_err(|_| CryptoError::NotBlocks)
    }

    /// Decrypts a payload and returns its message, checking that it ends with one of
    /// `owner_keys` (an empty list accepts none).
    pub fn decrypt(&self, encrypted_b64: &str, owner_keys: &[&str]) -> Result<String, CryptoError> {
        let plain = self.decrypt_raw(encrypted_b64)?;
        let plain = unpad(&plain)?;
        if plain.len() < AES_BLOCK + 4 {
            return Err(CryptoError::BadLength);
        }
        let len_bytes: [u8; 4] = plain[AES_BLOCK..AES_BLOCK + 4].try_into().map_err(|_| CryptoError::BadLength)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let rest = &plain[AES_BLOCK + 4..];
        if len > rest.len() {
            return Err(CryptoError::BadLength);
        }
        let (msg, owner) = rest.split_at(len);
        let owned = owner_keys.iter().any(|k| k.len() == owner.len() && bool::from(k.as_bytes().ct_eq(owner)));
        if !owned {
            return Err(CryptoError::WrongOwner);
        }
        String::from_utf8(msg.to_vec()).map_err(|_| CryptoError::NotUtf8)
    }

    /// Encrypts `msg` for `owner_key` with the given 16 random bytes (tests pin them).
    pub fn encrypt_with(&self, msg: &str, owner_key: &str, random: &[u8; 16]) -> String {
        let mut plain = Vec::with_capacity(AES_BLOCK + 4 + msg.len() + owner_key.len() + PAD_BLOCK);
        plain.extend_from_slice(random);
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(owner_key.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        // A 32-byte key and a 16-byte IV always fit, and the buffer is whole blocks.
        let cipher = cbc::Encryptor::<Aes256>::new_from_slices(&self.key, self.iv()).expect("32-byte key, 16-byte IV");
        B64.encode(cipher.encrypt_padded_vec::<NoPadding>(&plain))
    }

    /// Encrypts `msg` for `owner_key` with fresh random bytes.
    pub fn encrypt(&self, msg: &str, owner_key: &str) -> String {
        use rand::RngCore;
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        self.encrypt_with(msg, owner_key, &random)
    }

    /// The answer every event (check_url included) needs: the literal `success`, encrypted
    /// and signed, as `{"msg_signature", "timeStamp", "nonce", "encrypt"}` (README step 5,
    /// `getEncryptedMap("success")`; field names as in `DingCallbackCrypto3.py`).
    pub fn success_reply(&self, owner_key: &str, timestamp: &str, nonce: &str) -> Value {
        let encrypt = self.encrypt("success", owner_key);
        json!({"msg_signature": self.signature(timestamp, nonce, &encrypt), "timeStamp": timestamp, "nonce": nonce, "encrypt": encrypt})
    }
}

/// Removes PKCS#7 padding of any block up to 32: the last byte n in 1..=32 and the last n
/// bytes all equal to n (Python's decoder rejects pad > 32 the same way).
fn unpad(plain: &[u8]) -> Result<&[u8], CryptoError> {
    let n = *plain.last().ok_or(CryptoError::BadPadding)? as usize;
    if n == 0 || n > PAD_BLOCK || n > plain.len() {
        return Err(CryptoError::BadPadding);
    }
    let (body, pad) = plain.split_at(plain.len() - n);
    if pad.iter().all(|&b| b as usize == n) {
        Ok(body)
    } else {
        Err(CryptoError::BadPadding)
    }
}

#[cfg(test)]
#[path = "crypto_tests.rs"]
mod tests;
