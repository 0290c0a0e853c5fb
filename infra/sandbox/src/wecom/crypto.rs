//! WXBizMsgCrypt, written from `wecom.md` §2 (official "加解密方案说明", doc 91144) and notes Q1
//! (doc 101033), independently of any adapter and of the DingTalk module:
//!
//! - `AESKey = base64_decode(EncodingAESKey + "=")` (32 bytes), AES-256-CBC, IV = `AESKey[..16]`;
//! - plaintext = `random(16) ‖ len(msg) u32 BE ‖ msg ‖ ReceiveId`, PKCS#7-padded to **32-byte**
//!   blocks (pads 1..=32; the W2 vector has pad 22, W4b pad 30);
//! - `msg_signature = hex(sha1(concat(sort([token, timestamp, nonce, encrypt]))))`.
//!
//! ReceiveId: the CorpID for self-built app callbacks (§2), the empty string for smart-bot
//! callbacks (notes Q1, "企业内部智能机器人场景中，ReceiveId为\"\"").

use aes::Aes256;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::{alphabet, Engine};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use rand::Rng;
use sha1::{Digest, Sha1};

/// §2: "data PKCS#7-padded to a multiple of 32 bytes".
pub const BLOCK: usize = 32;

/// Why a callback could not be encrypted or opened. The official library's codes (§2 "Library
/// error codes") are given for each, so a bundle's error mapping can be compared.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// -40004 IllegalAesKey.
    #[error("EncodingAESKey must be 43 base64 characters (a 32-byte key)")]
    BadKey,
    /// -40010 DecodeBase64_Error.
    #[error("encrypt is not valid base64")]
    BadBase64,
    /// -40007 DecryptAES_Error.
    #[error("the ciphertext does not decrypt (length or padding)")]
    BadCiphertext,
    /// -40008 IllegalBuffer.
    #[error("the length field does not fit the plaintext")]
    BadLength,
    /// -40005 ValidateCorpid_Error.
    #[error("the ReceiveId does not match (expected {expected:?}, got {got:?})")]
    ReceiveIdMismatch { expected: String, got: String },
    #[error("the message is not UTF-8")]
    NotUtf8,
}

/// One endpoint's crypto: its Token, its EncodingAESKey and the ReceiveId closing every plaintext.
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl std::fmt::Debug for MsgCrypt {
    // No secrets in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt").field("receive_id", &self.receive_id).finish_non_exhaustive()
    }
}

impl MsgCrypt {
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self, CryptoError> {
        // The official decoders ignore the unused low bits of the 43rd character.
        let lenient = GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));
        if encoding_aes_key.len() != 43 {
            return Err(CryptoError::BadKey);
        }
        let raw = lenient.decode(format!("{encoding_aes_key}=")).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = raw.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(MsgCrypt { token: token.to_string(), key, receive_id: receive_id.to_string() })
    }

    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// `msg_signature`: the four strings sorted byte-wise, concatenated, SHA-1, lowercase hex.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        hex::encode(Sha1::digest(parts.concat().as_bytes()))
    }

    pub fn verify(&self, signature: &str, timestamp: &str, nonce: &str, encrypt: &str) -> bool {
        self.signature(timestamp, nonce, encrypt).eq_ignore_ascii_case(signature)
    }

    /// Encrypts `msg` behind a fresh random 16-byte prefix.
    pub fn encrypt(&self, msg: &str) -> String {
        let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut rng = rand::rng();
        let mut random = [0u8; 16];
        random.iter_mut().for_each(|b| *b = alphabet[rng.random_range(0..alphabet.len())]);
        self.encrypt_with(&random, msg)
    }

    /// Encrypts with a given prefix (deterministic, so the official vectors reproduce).
    pub fn encrypt_with(&self, random: &[u8; 16], msg: &str) -> String {
        let mut plain = Vec::with_capacity(20 + msg.len() + self.receive_id.len() + BLOCK);
        plain.extend_from_slice(random);
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(self.receive_id.as_bytes());
        let pad = BLOCK - plain.len() % BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        // A 32-byte key and its 16-byte prefix: lengths cannot be wrong.
        let cipher = cbc::Encryptor::<Aes256>::new_from_slices(&self.key, &self.key[..16]).expect("32-byte key, 16-byte IV");
        STANDARD.encode(cipher.encrypt_padded_vec::<NoPadding>(&plain))
    }

    /// Decrypts `encrypt`, checks the ReceiveId, returns the message.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CryptoError> {
        let (msg, receive_id) = self.open(encrypt)?;
        if receive_id != self.receive_id {
            return Err(CryptoError::ReceiveIdMismatch { expected: self.receive_id.clone(), got: receive_id });
        }
        Ok(msg)
    }

    /// Decrypts without judging the ReceiveId: `(msg, receive_id)`.
    pub fn open(&self, encrypt: &str) -> Result<(String, String), CryptoError> {
        let raw = STANDARD.decode(encrypt.trim()).map_err(|_| CryptoError::BadBase64)?;
        let cipher = cbc::Decryptor::<Aes256>::new_from_slices(&self.key, &self.key[..16]).expect("32-byte key, 16-byte IV");
        let mut plain = cipher.decrypt_padded_vec::<NoPadding>(&raw).map_err(|_| CryptoError::BadCiphertext)?;
        let pad = *plain.last().ok_or(CryptoError::BadCiphertext)? as usize;
        if pad == 0 || pad > BLOCK || pad > plain.len() || !plain[plain.len() - pad..].iter().all(|&b| b as usize == pad) {
            return Err(CryptoError::BadCiphertext);
        }
        plain.truncate(plain.len() - pad);
        let len: [u8; 4] = plain.get(16..20).and_then(|b| b.try_into().ok()).ok_or(CryptoError::BadLength)?;
        let end = 20usize.checked_add(u32::from_be_bytes(len) as usize).ok_or(CryptoError::BadLength)?;
        let msg = plain.get(20..end).ok_or(CryptoError::BadLength)?;
        let msg = String::from_utf8(msg.to_vec()).map_err(|_| CryptoError::NotUtf8)?;
        let receive_id = String::from_utf8(plain[end..].to_vec()).map_err(|_| CryptoError::NotUtf8)?;
        Ok((msg, receive_id))
    }
}

/// A random EncodingAESKey (43 characters of `[a-zA-Z0-9]`, as the console generates).
pub fn random_aes_key() -> String {
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..43).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // W1–W3 keys (wecom.md "TEST VECTORS", weworkapi_python at 71441bf^).
    const TOKEN: &str = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
    const AES_KEY: &str = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
    const CORP: &str = "ww1436e0e65a779aee";

    #[test]
    fn the_key_decodes_to_the_vectors_aes_key() {
        let c = MsgCrypt::new(TOKEN, AES_KEY, CORP).unwrap();
        assert_eq!(hex::encode(c.key), "eaa91d32babaf274ca76ece72583b5037ed6da8120a64314be4b6d453a2a854b");
        let w4 = MsgCrypt::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7").unwrap();
        assert_eq!(hex::encode(w4.key), "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760");
    }

    #[test]
    fn w1_verify_url_checks_and_decrypts_the_echo_and_re_encrypts_byte_for_byte() {
        let c = MsgCrypt::new(TOKEN, AES_KEY, CORP).unwrap();
        let echostr = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==";
        assert!(c.verify("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", echostr));
        assert_eq!(c.decrypt(echostr).unwrap(), "1288432023552776189");
        assert_eq!(c.encrypt_with(b"8908d0ff052afda0", "1288432023552776189"), echostr);
    }

    #[test]
    fn w2_xml_callback_verifies_and_decrypts_with_a_22_byte_pad() {
        let c = MsgCrypt::new(TOKEN, AES_KEY, CORP).unwrap();
        let encrypt = "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+";
        assert!(c.verify("0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914", encrypt));
        let msg = c.decrypt(encrypt).unwrap();
        assert_eq!(msg.len(), 228);
        assert_eq!(msg, "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>");
    }

    #[test]
    fn w3_json_callback_verifies_and_decrypts_with_the_corp_id_as_receive_id() {
        let c = MsgCrypt::new(TOKEN, AES_KEY, CORP).unwrap();
        let encrypt = "cjhLUX7UU4yCSelv1vz7T0zT8huF51bAMVWriNvO1FMegHrQZNrtvRxbwf0fUPsFvwqR0U0fgiJNEA5Y30F2MoI2S7vv3EjVQ68C0cjw9frBoUE2Hj0BvFp9h3u6Vbsg4lc1C8AtHdaN8orKuNKkLRLuYEL52R1J3v8olJGZRLnRdVKIivixmX/eQpzgeExtp20jI1HxRP1AAZ6xZoILdqDPO549LO4WeG+685JRUTdiwcY5fjZlqeMxuT4PpMn1X9OWsS7NRj06Wa5E3Tvg4twjWp39KPfOdRte6P1T4JU=";
        assert!(c.verify("e3647471e395139e2308c1fa963f2d648a00b90e", "1409659813", "1372623149", encrypt));
        let msg = c.decrypt(encrypt).unwrap();
        assert_eq!(msg.len(), 176);
        assert!(msg.starts_with(r#"{ "ToUserName": "wx5823bf96d3bd56c7", "FromUserName": :mycreate""#), "{msg}");
    }

    #[test]
    fn w4_the_official_doc_example_verifies_decrypts_and_re_encrypts() {
        let c = MsgCrypt::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7").unwrap();
        // W4a: the echostr as it arrives after URL-decoding the raw query.
        let query = "echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D";
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        let echostr = &pairs[0].1;
        assert!(c.verify("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", echostr));
        assert_eq!(c.decrypt(echostr).unwrap(), "1616140317555161061");
        assert_eq!(&c.encrypt_with(b"c41b64491c2468d0", "1616140317555161061"), echostr);
        // W4b.
        let encrypt = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
        assert!(c.verify("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", encrypt));
        let msg = c.decrypt(encrypt).unwrap();
        let expected = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";
        assert_eq!(msg, expected);
        assert_eq!(c.encrypt_with(b"0960688932c47ef1", expected), encrypt, "pad 30 of a 32-byte block");
    }

    #[test]
    fn a_bot_key_has_an_empty_receive_id_and_mismatches_are_refused() {
        let bot = MsgCrypt::new("t", AES_KEY, "").unwrap();
        let sealed = bot.encrypt(r#"{"msgtype":"text"}"#);
        assert_eq!(bot.decrypt(&sealed).unwrap(), r#"{"msgtype":"text"}"#);
        let app = MsgCrypt::new("t", AES_KEY, CORP).unwrap();
        assert_eq!(app.decrypt(&sealed), Err(CryptoError::ReceiveIdMismatch { expected: CORP.into(), got: String::new() }));
        let other = MsgCrypt::new("t", &random_aes_key(), "").unwrap();
        assert!(other.decrypt(&sealed).is_err());
        assert_eq!(MsgCrypt::new("t", "short", "").unwrap_err(), CryptoError::BadKey);
        assert_eq!(bot.decrypt("not base64!"), Err(CryptoError::BadBase64));
        assert!(!format!("{app:?}").contains(AES_KEY));
    }
}
