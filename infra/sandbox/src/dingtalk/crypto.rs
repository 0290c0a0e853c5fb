//! DingTalk's callback crypto, written from the reference (`dingtalk.md` §2a, §2b, notes Q6)
//! independently of any adapter:
//!
//! - HTTP event subscription (§2a): `msg_signature = hex(sha1(concat(sort([token, timeStamp,
//!   nonce, encrypt]))))`; `aesKey = base64(EncodingAESKey + "=")`, IV = `aesKey[0..16]`,
//!   AES-256-CBC over `random(16) ‖ len(msg) u32 BE ‖ msg ‖ ownerKey`, PKCS#7-padded.
//! - Robot @-message callback (§2b / Q7): `sign = base64(HmacSHA256(appSecret, timestamp + "\n" + appSecret))`.
//! - HTTP card callback (Q6): `x-ddpaas-signature = base64(HmacSHA256(apiSecret, timestamp))`.

use aes::Aes256;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::{alphabet, Engine};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// §2a: Python3/Java pad to 32-byte blocks, Go/Rust to 16. The sandbox *sends* with 32 (what
/// the D1–D3 vectors show DingTalk itself producing) and *accepts* any pad 1..=32.
pub const PAD_BLOCK: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("EncodingAESKey must be 43 base64 characters (a 32-byte key)")]
    BadKey,
    #[error("encrypt is not valid base64")]
    BadBase64,
    #[error("ciphertext is not a whole number of AES blocks")]
    BadCiphertext,
    #[error("bad PKCS#7 padding")]
    BadPadding,
    #[error("the message length field does not fit the plaintext")]
    BadLength,
    #[error("the owner key (corpId / AppKey / suiteKey) does not match")]
    OwnerKeyMismatch,
    #[error("the message is not UTF-8")]
    NotUtf8,
}

/// One app's event-subscription crypto: its 签名 Token, its aes_key and the owner key that
/// closes every plaintext.
#[derive(Clone)]
pub struct EventCrypto {
    token: String,
    key: [u8; 32],
    owner_key: String,
}

impl std::fmt::Debug for EventCrypto {
    // No secrets in logs: only the owner key, which travels in clear in every callback.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventCrypto").field("owner_key", &self.owner_key).finish_non_exhaustive()
    }
}

impl EventCrypto {
    pub fn new(token: &str, encoding_aes_key: &str, owner_key: &str) -> Result<Self, CryptoError> {
        // Lenient about the unused low bits of the 43rd character, as the official Python /
        // Java decoders are: D1's key ends in '7', whose low bits are not zero.
        let lenient = GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));
        let raw = lenient.decode(format!("{encoding_aes_key}=")).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = raw.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(EventCrypto { token: token.to_string(), key, owner_key: owner_key.to_string() })
    }

    /// `msg_signature` over the four strings, sorted lexically and concatenated.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        hex::encode(Sha1::digest(parts.concat().as_bytes()))
    }

    pub fn verify(&self, signature: &str, timestamp: &str, nonce: &str, encrypt: &str) -> bool {
        self.signature(timestamp, nonce, encrypt).eq_ignore_ascii_case(signature)
    }

    /// Encrypts `msg` with a fresh random prefix.
    pub fn encrypt(&self, msg: &str) -> String {
        let mut random = [0u8; 16];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        // Printable like the SDKs' `random_str(16)`; any 16 bytes would do.
        random.iter_mut().for_each(|b| *b = alphabet[rng.random_range(0..alphabet.len())]);
        self.encrypt_with(&random, msg)
    }

    /// Encrypts with a given 16-byte prefix (deterministic: the vectors reproduce).
    pub fn encrypt_with(&self, random: &[u8; 16], msg: &str) -> String {
        let mut plain = random.to_vec();
        plain.extend((msg.len() as u32).to_be_bytes());
        plain.extend(msg.as_bytes());
        plain.extend(self.owner_key.as_bytes());
        STANDARD.encode(aes_encrypt(&self.key, &pkcs7_pad(&plain, PAD_BLOCK)))
    }

    /// Decrypts and checks the owner key; returns the message.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CryptoError> {
        let raw = STANDARD.decode(encrypt).map_err(|_| CryptoError::BadBase64)?;
        let plain = aes_decrypt(&self.key, &raw)?;
        let len_bytes: [u8; 4] = plain.get(16..20).and_then(|b| b.try_into().ok()).ok_or(CryptoError::BadLength)?;
        let end = 20usize.checked_add(u32::from_be_bytes(len_bytes) as usize).ok_or(CryptoError::BadLength)?;
        let msg = plain.get(20..end).ok_or(CryptoError::BadLength)?;
        if &plain[end..] != self.owner_key.as_bytes() {
            return Err(CryptoError::OwnerKeyMismatch);
        }
        String::from_utf8(msg.to_vec()).map_err(|_| CryptoError::NotUtf8)
    }
}

pub(crate) fn pkcs7_pad(data: &[u8], block: usize) -> Vec<u8> {
    let pad = block - data.len() % block;
    let mut out = data.to_vec();
    out.extend(std::iter::repeat_n(pad as u8, pad));
    out
}

/// AES-256-CBC with IV = key[0..16] over already padded data.
pub(crate) fn aes_encrypt(key: &[u8; 32], padded: &[u8]) -> Vec<u8> {
    // A 32-byte key and its 16-byte prefix: the lengths cannot be wrong.
    let cipher = cbc::Encryptor::<Aes256>::new_from_slices(key, &key[..16]).expect("32-byte key and 16-byte IV");
    cipher.encrypt_padded_vec::<NoPadding>(padded)
}

/// AES-256-CBC decryption, then PKCS#7 unpadding that accepts pads of 1..=32 (§2a).
pub(crate) fn aes_decrypt(key: &[u8; 32], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = cbc::Decryptor::<Aes256>::new_from_slices(key, &key[..16]).expect("32-byte key and 16-byte IV");
    let mut plain = cipher.decrypt_padded_vec::<NoPadding>(ciphertext).map_err(|_| CryptoError::BadCiphertext)?;
    let pad = *plain.last().ok_or(CryptoError::BadCiphertext)? as usize;
    if pad == 0 || pad > 32 || pad > plain.len() || !plain[plain.len() - pad..].iter().all(|&b| b as usize == pad) {
        return Err(CryptoError::BadPadding);
    }
    plain.truncate(plain.len() - pad);
    Ok(plain)
}

fn hmac_sha256_b64(key: &str, msg: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(msg.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The robot callback's `sign` header (§2b): key = AppSecret, message = `timestamp\nAppSecret`.
pub fn robot_sign(app_secret: &str, timestamp_ms: &str) -> String {
    hmac_sha256_b64(app_secret, &format!("{timestamp_ms}\n{app_secret}"))
}

/// The HTTP card callback's `x-ddpaas-signature` (notes Q6): the body is not signed.
pub fn card_sign(api_secret: &str, timestamp: &str) -> String {
    hmac_sha256_b64(api_secret, timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vector {
        token: &'static str,
        aes_key: &'static str,
        owner: &'static str,
        signature: &'static str,
        timestamp: &'static str,
        nonce: &'static str,
        encrypt: &'static str,
        msg: &'static str,
        random: &'static str,
    }

    const D1: Vector = Vector {
        token: "mryue",
        aes_key: "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
        owner: "ding6ccabc44d2c8d38b",
        signature: "03044561471240d4a14bb09372dfcfd4fd0e40cb",
        timestamp: "1608001896814",
        nonce: "WL4PK6yA",
        encrypt: "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3",
        msg: r#"{"EventType":"check_url"}"#,
        random: "l7Y3EcX2CU5w8av3",
    };
    const D2: Vector = Vector {
        token: "123456",
        aes_key: "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij",
        owner: "suite4xxxxxxxxxxxxxxx",
        signature: "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0",
        timestamp: "1445827045067",
        nonce: "nEXhMP4r",
        encrypt: "1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRWVdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==",
        msg: r#"{"EventType":"check_create_suite_url","Random":"LPIdSnlF","TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}"#,
        random: "hU3bEfGZZewzhG5a",
    };
    const D3: Vector = Vector {
        token: "tokenxxxx",
        aes_key: "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus",
        owner: "dingxxxxxx",
        signature: "f36f4ba5337d426c7d4bca0dbcb06b3ddc1388fc",
        timestamp: "1605695694141",
        nonce: "WelUQl6bCqcBa2fM",
        encrypt: "X1VSe9cTJUMZu60d3kyLYTrBq5578ZRJtteU94wG0Q4Uk6E/wQYeJRIC0/UFW5Wkya1Ihz9oXAdLlyC9TRaqsQ==",
        msg: "success",
        random: "WelUQl6bCqcBa2fM",
    };

    fn round_trip(v: &Vector) {
        let c = EventCrypto::new(v.token, v.aes_key, v.owner).unwrap();
        assert!(c.verify(v.signature, v.timestamp, v.nonce, v.encrypt), "signature of {}", v.msg);
        assert_eq!(c.decrypt(v.encrypt).unwrap(), v.msg);
        let random: [u8; 16] = v.random.as_bytes().try_into().unwrap();
        assert_eq!(c.encrypt_with(&random, v.msg), v.encrypt, "32-byte padding reproduces the vector");
        let fresh = c.encrypt(v.msg);
        assert_eq!(c.decrypt(&fresh).unwrap(), v.msg);
        assert!(!c.verify(v.signature, v.timestamp, v.nonce, &fresh));
    }

    #[test]
    fn d1_check_url_verifies_decrypts_and_re_encrypts_byte_for_byte() {
        round_trip(&D1);
    }

    #[test]
    fn d2_isv_suite_event_verifies_decrypts_and_re_encrypts_byte_for_byte() {
        round_trip(&D2);
    }

    #[test]
    fn d3_encrypted_success_reply_verifies_decrypts_and_re_encrypts_byte_for_byte() {
        round_trip(&D3);
    }

    #[test]
    fn d4_raw_aes_with_16_byte_padding_round_trips_and_is_accepted_by_the_lenient_unpadder() {
        let c = EventCrypto::new("t", D2.aes_key, "o").unwrap();
        let plain = "5p7b4jXMWUshiBCosucc111esssuite4xxxxxxxxxxxxxxx221";
        let expected = "DwCJ9BMxu4r+VTe9TD+AWc1yfxqs7d2YgepFe4XruMgh1+6pTjCCq4nqAM6StRcafOx5a1OfwmX3ckSBifatlA==";
        assert_eq!(STANDARD.encode(aes_encrypt(&c.key, &pkcs7_pad(plain.as_bytes(), 16))), expected);
        assert_eq!(aes_decrypt(&c.key, &STANDARD.decode(expected).unwrap()).unwrap(), plain.as_bytes());
    }

    #[test]
    fn a_wrong_owner_key_or_a_bad_key_is_refused() {
        let c = EventCrypto::new(D1.token, D1.aes_key, "dingSomeoneElse").unwrap();
        assert_eq!(c.decrypt(D1.encrypt), Err(CryptoError::OwnerKeyMismatch));
        assert_eq!(EventCrypto::new("t", "short", "o").unwrap_err(), CryptoError::BadKey);
        assert_eq!(c.decrypt("not base64!"), Err(CryptoError::BadBase64));
        assert!(!format!("{c:?}").contains(D1.token), "no secret in Debug");
    }

    #[test]
    fn the_robot_sign_matches_the_references_self_computed_value() {
        // Not official (reference §2b says none exists): a regression value.
        assert_eq!(robot_sign("this is secret", "1577262236757"), "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=");
    }

    #[test]
    fn the_card_signature_matches_the_notes_self_computed_value() {
        assert_eq!(card_sign("example-secret", "1700000000000"), "I85VWQbGCqbDkjEb7rsCEkTKI9QSL3wzLms54MiwXlg=");
    }
}
