//! WXBizMsgCrypt (wecom.md §2; official "加解密方案说明", doc 91144; implementation
//! `sbzhu/weworkapi_python` `callback_python3/WXBizMsgCrypt.py`):
//!
//! - `msg_signature = hex(sha1(concat(sort([token, timestamp, nonce, encrypt]))))`;
//! - AESKey = base64(EncodingAESKey + "="), 32 bytes; IV = AESKey[0..16]; AES-256-CBC;
//! - plaintext = random(16) ‖ len(msg) as 4 bytes big-endian ‖ msg ‖ ReceiveId, PKCS#7
//!   padded to a multiple of **32** (pads 1..=32: a 16-byte unpadder rejects valid payloads);
//! - ReceiveId: the CorpID for a self-built app, "" for the smart bot (notes Q1).
//!
//! Errors mirror the library's `ierror.py` codes (-4000x); only the kind of failure is
//! said, never a key, a token or the plaintext.

use aes::Aes256;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD as B64};
use base64::Engine;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use sha1::{Digest, Sha1};
use std::time::Duration;
use subtle::ConstantTimeEq;
use warroom_core::Timestamp;

const AES_BLOCK: usize = 16;
/// `PKCS7Encoder.block_size = 32` in the official library.
const PAD_BLOCK: usize = 32;
/// EncodingAESKey: 43 characters of [a-zA-Z0-9] (§2).
const AES_KEY_CHARS: usize = 43;

/// How far a callback's `timestamp` (seconds) may be from our clock, either way. WeCom
/// states no window; the library checks none. WeCom retries an unanswered app callback
/// after 5 s, 3 tries in all (notes Q2), and polls a smart-bot stream for up to 6 min from
/// the user's message (notes Q1) — whether a retry or a poll is re-signed with a fresh
/// timestamp is not documented. 15 minutes covers both either way; replays inside it are
/// caught by the delivery-id dedupe (24 h). UNCERTAIN, kept in this one constant.
pub const TIMESTAMP_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Why a payload was refused, with the library's code where it has one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// -40001 ValidateSignature_Error.
    #[error("the msg_signature does not verify")]
    BadSignature,
    /// -40002 ParseXml_Error (and its JSON twin): no `Encrypt` / `encrypt` to be found.
    #[error("the callback body is malformed")]
    Parse,
    /// -40004 IllegalAesKey.
    #[error("the EncodingAESKey is not 43 base64 characters")]
    IllegalAesKey,
    /// -40005 ValidateCorpid_Error: the payload is for another ReceiveId.
    #[error("the payload is for another corp or bot")]
    WrongReceiveId,
    /// -40007 DecryptAES_Error: not whole AES blocks, or the padding is invalid (a wrong
    /// key or tampering shows here).
    #[error("the payload does not decrypt")]
    Decrypt,
    /// -40008 IllegalBuffer: the length field does not fit, or the message is not UTF-8.
    #[error("the decrypted payload is malformed")]
    IllegalBuffer,
    /// -40010 DecodeBase64_Error.
    #[error("the encrypted payload is not base64")]
    DecodeBase64,
    /// Ours, not the library's: the timestamp is outside [`TIMESTAMP_WINDOW`].
    #[error("the callback timestamp is too old or in the future")]
    Stale,
}

impl CryptoError {
    /// The `ierror.py` code (wecom.md §2 "Library error codes"); `None` for our own checks.
    pub fn library_code(&self) -> Option<i32> {
        match self {
            CryptoError::BadSignature => Some(-40001),
            CryptoError::Parse => Some(-40002),
            CryptoError::IllegalAesKey => Some(-40004),
            CryptoError::WrongReceiveId => Some(-40005),
            CryptoError::Decrypt => Some(-40007),
            CryptoError::IllegalBuffer => Some(-40008),
            CryptoError::DecodeBase64 => Some(-40010),
            CryptoError::Stale => None,
        }
    }
}

/// One channel's crypto: its Token and AES key.
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: [u8; 32],
}

/// Never shows the token or the key.
impl std::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MsgCrypt([redacted])")
    }
}

impl MsgCrypt {
    pub fn new(token: &str, encoding_aes_key: &str) -> Result<Self, CryptoError> {
        let encoding_aes_key = encoding_aes_key.trim();
        if encoding_aes_key.len() != AES_KEY_CHARS {
            return Err(CryptoError::IllegalAesKey);
        }
        // 43 characters carry 2 bits past the 32 bytes; Python's decoder (the reference)
        // ignores them, a strict decoder would refuse most keys.
        let lenient = GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));
        let bytes = lenient.decode(format!("{encoding_aes_key}=")).map_err(|_| CryptoError::IllegalAesKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::IllegalAesKey)?;
        Ok(Self { token: token.to_owned(), key })
    }

    /// `msg_signature` over the four strings, sorted byte-wise and concatenated.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        hex::encode(Sha1::digest(parts.concat().as_bytes()))
    }

    /// Constant-time check of a received `msg_signature` (hex, either case).
    pub fn verify(&self, given: &str, timestamp: &str, nonce: &str, encrypt: &str) -> Result<(), CryptoError> {
        let expected = self.signature(timestamp, nonce, encrypt);
        let given = given.trim().to_ascii_lowercase();
        let same = expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()));
        same.then_some(()).ok_or(CryptoError::BadSignature)
    }

    fn iv(&self) -> &[u8] {
        &self.key[..AES_BLOCK]
    }

    /// AES-256-CBC decryption of a base64 payload, padding left on.
    pub(crate) fn decrypt_raw(&self, encrypted_b64: &str) -> Result<Vec<u8>, CryptoError> {
        let buf = B64.decode(encrypted_b64.trim()).map_err(|_| CryptoError::DecodeBase64)?;
        if buf.is_empty() || buf.len() % AES_BLOCK != 0 {
            return Err(CryptoError::Decrypt);
        }
        let cipher = cbc::Decryptor::<Aes256>::new_from_slices(&self.key, self.iv()).map_err(|_| CryptoError::IllegalAesKey)?;
        cipher.decrypt_padded_vec::<NoPadding>(&buf).map_err(|_| CryptoError::Decrypt)
    }

    /// Decrypts a payload whose ReceiveId must be `receive_id` (compared in constant time).
    pub fn decrypt(&self, encrypted_b64: &str, receive_id: &str) -> Result<String, CryptoError> {
        let plain = self.decrypt_raw(encrypted_b64)?;
        let plain = unpad(&plain)?;
        if plain.len() < AES_BLOCK + 4 {
            return Err(CryptoError::IllegalBuffer);
        }
        let len_bytes: [u8; 4] = plain[AES_BLOCK..AES_BLOCK + 4].try_into().map_err(|_| CryptoError::IllegalBuffer)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let rest = &plain[AES_BLOCK + 4..];
        if len > rest.len() {
            return Err(CryptoError::IllegalBuffer);
        }
        let (msg, from) = rest.split_at(len);
        if !(from.len() == receive_id.len() && bool::from(from.ct_eq(receive_id.as_bytes()))) {
            return Err(CryptoError::WrongReceiveId);
        }
        String::from_utf8(msg.to_vec()).map_err(|_| CryptoError::IllegalBuffer)
    }

    /// Encrypts `msg` for `receive_id` with the given 16 random bytes (tests pin them).
    pub fn encrypt_with(&self, msg: &str, receive_id: &str, random: &[u8; 16]) -> String {
        let mut plain = Vec::with_capacity(AES_BLOCK + 4 + msg.len() + receive_id.len() + PAD_BLOCK);
        plain.extend_from_slice(random);
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(receive_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        // A 32-byte key and a 16-byte IV always fit, and the buffer is whole blocks.
        let cipher = cbc::Encryptor::<Aes256>::new_from_slices(&self.key, self.iv()).expect("32-byte key, 16-byte IV");
        B64.encode(cipher.encrypt_padded_vec::<NoPadding>(&plain))
    }

    /// Encrypts `msg` for `receive_id` with fresh random bytes (passive replies).
    pub fn encrypt(&self, msg: &str, receive_id: &str) -> String {
        use rand::RngCore;
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        self.encrypt_with(msg, receive_id, &random)
    }
}

/// The timestamp window policy: `timestamp` (decimal seconds, as signed) within
/// [`TIMESTAMP_WINDOW`] of `now`. Unparseable is refused as stale: it was signed, so it is
/// WeCom's, but we cannot place it.
pub fn check_fresh(timestamp: &str, now: Timestamp) -> Result<(), CryptoError> {
    let secs: i64 = timestamp.trim().parse().map_err(|_| CryptoError::Stale)?;
    let skew = now.secs().abs_diff(secs);
    (skew <= TIMESTAMP_WINDOW.as_secs()).then_some(()).ok_or(CryptoError::Stale)
}

/// Removes PKCS#7 padding of any block up to 32: the last byte n in 1..=32 and the last n
/// bytes all equal to n.
fn unpad(plain: &[u8]) -> Result<&[u8], CryptoError> {
    let n = *plain.last().ok_or(CryptoError::Decrypt)? as usize;
    if n == 0 || n > PAD_BLOCK || n > plain.len() {
        return Err(CryptoError::Decrypt);
    }
    let (body, pad) = plain.split_at(plain.len() - n);
    if pad.iter().all(|&b| b as usize == n) {
        Ok(body)
    } else {
        Err(CryptoError::Decrypt)
    }
}

#[cfg(test)]
#[path = "crypto_tests.rs"]
mod tests;
