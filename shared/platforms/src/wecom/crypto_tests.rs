//! Vectors W1–W4 of wecom.md "TEST VECTORS" (official sample code and docs example,
//! cross-checked there with Python `cryptography` and wechatpy), plus refusals.

use super::*;

const TOKEN: &str = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
const AES_KEY: &str = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
const CORP: &str = "ww1436e0e65a779aee";

const W4_TOKEN: &str = "QDG6eK";
const W4_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const W4_CORP: &str = "wx5823bf96d3bd56c7";

struct Vector {
    signature: &'static str,
    timestamp: &'static str,
    nonce: &'static str,
    encrypt: &'static str,
}

const W1: Vector = Vector {
    signature: "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    timestamp: "1476416373",
    nonce: "47744683",
    encrypt: "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
};

const W2: Vector = Vector {
    signature: "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    timestamp: "1476422779",
    nonce: "1597212914",
    encrypt: "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+",
};
const W2_MSG: &str = "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>";

const W3: Vector = Vector {
    signature: "e3647471e395139e2308c1fa963f2d648a00b90e",
    timestamp: "1409659813",
    nonce: "1372623149",
    encrypt: "cjhLUX7UU4yCSelv1vz7T0zT8huF51bAMVWriNvO1FMegHrQZNrtvRxbwf0fUPsFvwqR0U0fgiJNEA5Y30F2MoI2S7vv3EjVQ68C0cjw9frBoUE2Hj0BvFp9h3u6Vbsg4lc1C8AtHdaN8orKuNKkLRLuYEL52R1J3v8olJGZRLnRdVKIivixmX/eQpzgeExtp20jI1HxRP1AAZ6xZoILdqDPO549LO4WeG+685JRUTdiwcY5fjZlqeMxuT4PpMn1X9OWsS7NRj06Wa5E3Tvg4twjWp39KPfOdRte6P1T4JU=",
};
/// Copied exactly: not valid JSON (`"FromUserName": :mycreate"`).
const W3_MSG: &str = r#"{ "ToUserName": "wx5823bf96d3bd56c7", "FromUserName": :mycreate", "CreateTime": 1409659813, "MsgType": "text", "Content": "hello", "MsgId": 4561255354251345929, "AgentID": 218}"#;

/// W4a as it appears in the request line, echostr still URL-encoded.
const W4A_QUERY: &str = "msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D";
const W4A: Vector = Vector {
    signature: "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    timestamp: "1409659589",
    nonce: "263014780",
    encrypt: "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
};

const W4B: Vector = Vector {
    signature: "477715d11cdb4164915debcba66cb864d751f3e6",
    timestamp: "1409659813",
    nonce: "1372623149",
    encrypt: "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==",
};
const W4B_MSG: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";

fn sample() -> MsgCrypt {
    MsgCrypt::new(TOKEN, AES_KEY).unwrap()
}

fn docs() -> MsgCrypt {
    MsgCrypt::new(W4_TOKEN, W4_AES_KEY).unwrap()
}

fn check(c: &MsgCrypt, v: &Vector, receive_id: &str) -> String {
    assert_eq!(c.signature(v.timestamp, v.nonce, v.encrypt), v.signature);
    c.verify(v.signature, v.timestamp, v.nonce, v.encrypt).unwrap();
    c.verify(&v.signature.to_uppercase(), v.timestamp, v.nonce, v.encrypt).unwrap();
    c.decrypt(v.encrypt, receive_id).unwrap()
}

/// The last padding byte of a vector's raw decryption.
fn pad_of(c: &MsgCrypt, v: &Vector) -> u8 {
    *c.decrypt_raw(v.encrypt).unwrap().last().unwrap()
}

#[test]
fn the_aes_keys_decode_as_the_reference_computed() {
    assert_eq!(hex::encode(sample().key), "eaa91d32babaf274ca76ece72583b5037ed6da8120a64314be4b6d453a2a854b");
    assert_eq!(hex::encode(docs().key), "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760");
}

#[test]
fn w1_the_url_check_echo_verifies_and_decrypts() {
    assert_eq!(check(&sample(), &W1, CORP), "1288432023552776189");
    assert_eq!(pad_of(&sample(), &W1), 7);
}

#[test]
fn w2_the_xml_callback_decrypts_with_pad_22() {
    let msg = check(&sample(), &W2, CORP);
    assert_eq!((msg.as_str(), msg.len()), (W2_MSG, 228));
    assert_eq!(pad_of(&sample(), &W2), 22, "proves the 32-byte padding block");
}

#[test]
fn w3_the_json_callback_decrypts_to_its_exact_not_json_plaintext() {
    let msg = check(&sample(), &W3, CORP);
    assert_eq!((msg.as_str(), msg.len()), (W3_MSG, 176));
    assert!(serde_json::from_str::<serde_json::Value>(&msg).is_err(), "the sample's plaintext is not valid JSON");
    assert_eq!(pad_of(&sample(), &W3), 10);
    // Its ReceiveId is the CorpID, not the body's tousername.
    assert_eq!(sample().decrypt(W3.encrypt, "wx5823bf96d3bd56c7"), Err(CryptoError::WrongReceiveId));
}

#[test]
fn w4a_the_docs_url_check_decrypts_once_its_echostr_is_url_decoded() {
    let echostr = W4A_QUERY.split("echostr=").nth(1).unwrap();
    assert_ne!(echostr, W4A.encrypt, "still URL-encoded in the request line");
    assert_eq!(crate::wecom::codec::percent_decode(echostr).unwrap(), W4A.encrypt);
    assert_eq!(check(&docs(), &W4A, W4_CORP), "1616140317555161061");
    assert_eq!(pad_of(&docs(), &W4A), 7);
    assert_eq!(docs().verify(W4A.signature, W4A.timestamp, W4A.nonce, echostr), Err(CryptoError::BadSignature), "the signature is over the decoded value");
}

#[test]
fn w4b_the_docs_xml_callback_decrypts_with_pad_30() {
    let msg = check(&docs(), &W4B, W4_CORP);
    assert_eq!((msg.as_str(), msg.len()), (W4B_MSG, 284));
    assert_eq!(pad_of(&docs(), &W4B), 30);
}

#[test]
fn tampered_signatures_timestamps_nonces_and_payloads_are_refused() {
    let c = sample();
    let mut forged = W2.signature.to_string();
    forged.replace_range(0..1, "1");
    assert_eq!(c.verify(&forged, W2.timestamp, W2.nonce, W2.encrypt), Err(CryptoError::BadSignature));
    assert!(c.verify(W2.signature, "1476422780", W2.nonce, W2.encrypt).is_err(), "timestamp");
    assert!(c.verify(W2.signature, W2.timestamp, "1597212915", W2.encrypt).is_err(), "nonce");
    assert!(c.verify(W2.signature, W2.timestamp, W2.nonce, W1.encrypt).is_err(), "payload");
    assert!(c.verify("", W2.timestamp, W2.nonce, W2.encrypt).is_err());
    assert!(MsgCrypt::new("other", AES_KEY).unwrap().verify(W2.signature, W2.timestamp, W2.nonce, W2.encrypt).is_err(), "token");
    assert_eq!(CryptoError::BadSignature.library_code(), Some(-40001));
}

#[test]
fn a_tampered_ciphertext_is_refused() {
    let c = sample();
    let mut bytes = B64.decode(W2.encrypt).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    assert!(c.decrypt(&B64.encode(&bytes), CORP).is_err());
    // A flipped bit in the first block garbles the random prefix only, and in CBC the same
    // bit of block 2: the length field. Either way nothing decrypts to the original.
    let mut bytes = B64.decode(W2.encrypt).unwrap();
    bytes[16] ^= 0x80;
    assert_ne!(c.decrypt(&B64.encode(&bytes), CORP).ok().as_deref(), Some(W2_MSG));
}

#[test]
fn a_wrong_key_is_refused_with_a_typed_error() {
    let wrong = MsgCrypt::new(TOKEN, W4_AES_KEY).unwrap();
    let err = wrong.decrypt(W2.encrypt, CORP).unwrap_err();
    assert!(matches!(err, CryptoError::Decrypt | CryptoError::IllegalBuffer | CryptoError::WrongReceiveId), "{err:?}");
    for _ in 0..100 {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        assert!(MsgCrypt { token: String::new(), key }.decrypt(W2.encrypt, CORP).is_err());
    }
}

#[test]
fn a_wrong_receive_id_is_refused() {
    assert_eq!(sample().decrypt(W1.encrypt, "wwsomeoneelse"), Err(CryptoError::WrongReceiveId));
    assert_eq!(sample().decrypt(W1.encrypt, ""), Err(CryptoError::WrongReceiveId), "the smart bot's empty ReceiveId");
    assert_eq!(CryptoError::WrongReceiveId.library_code(), Some(-40005));
}

#[test]
fn bad_padding_and_truncated_payloads_are_refused() {
    assert_eq!(unpad(&[1, 2, 33]), Err(CryptoError::Decrypt), "pad above 32");
    assert_eq!(unpad(&[7, 0]), Err(CryptoError::Decrypt), "pad 0");
    assert_eq!(unpad(&[1, 3, 2]), Err(CryptoError::Decrypt), "inconsistent pad bytes");
    assert_eq!(unpad(&[5]), Err(CryptoError::Decrypt), "longer than the buffer");
    assert_eq!(unpad(&[9, 9, 2, 2]).unwrap(), &[9, 9]);
    let mut thirty_two = vec![0u8];
    thirty_two.extend([32u8; 32]);
    assert_eq!(unpad(&thirty_two).unwrap(), &[0], "32 is allowed");

    let c = sample();
    let bytes = B64.decode(W2.encrypt).unwrap();
    // W2 is 266 bytes + 22 of padding: one block short still ends in a pad byte (22), but
    // the 22 bytes before it are no longer all padding.
    assert_eq!(c.decrypt(&B64.encode(&bytes[..bytes.len() - 16]), CORP), Err(CryptoError::Decrypt), "one block short");
    assert_eq!(c.decrypt(&B64.encode(&bytes[..bytes.len() - 1]), CORP), Err(CryptoError::Decrypt), "not whole blocks");
    assert_eq!(c.decrypt("", CORP), Err(CryptoError::Decrypt));
    assert_eq!(c.decrypt("not base64!", CORP), Err(CryptoError::DecodeBase64));
    // A well-padded payload too short for random + length.
    assert_eq!(c.decrypt(&c.encrypt_short(), CORP), Err(CryptoError::IllegalBuffer));
}

#[test]
fn bad_keys_are_refused() {
    assert_eq!(MsgCrypt::new("t", "short").unwrap_err(), CryptoError::IllegalAesKey);
    assert_eq!(MsgCrypt::new("t", &"!".repeat(43)).unwrap_err(), CryptoError::IllegalAesKey);
    assert_eq!(CryptoError::IllegalAesKey.library_code(), Some(-40004));
}

#[test]
fn what_we_encrypt_round_trips_for_the_app_and_the_bot() {
    let c = sample();
    for (msg, receive_id) in [("<xml><MsgType>text</MsgType></xml>", CORP), (r#"{"msgtype":"stream"}"#, ""), ("", CORP), (&"界".repeat(300), "")] {
        let a = c.encrypt(msg, receive_id);
        assert_ne!(a, c.encrypt(msg, receive_id), "fresh randomness");
        assert_eq!(c.decrypt(&a, receive_id).unwrap(), msg);
        assert_eq!(c.decrypt_raw(&a).unwrap().len() % 32, 0, "padded to 32 like the library");
    }
    assert!(!format!("{c:?}").contains(TOKEN));
}

#[test]
fn pinned_randomness_reproduces_w1_and_w4a_exactly() {
    let random: [u8; 16] = *b"8908d0ff052afda0";
    assert_eq!(sample().encrypt_with("1288432023552776189", CORP, &random), W1.encrypt);
    let random: [u8; 16] = *b"c41b64491c2468d0";
    assert_eq!(docs().encrypt_with("1616140317555161061", W4_CORP, &random), W4A.encrypt);
}

#[test]
fn the_timestamp_window_is_fifteen_minutes_either_way() {
    let now = Timestamp::from_secs(1_476_422_779);
    assert_eq!(check_fresh("1476422779", now), Ok(()));
    assert_eq!(check_fresh(&(1_476_422_779 - 900).to_string(), now), Ok(()));
    assert_eq!(check_fresh(&(1_476_422_779 + 900).to_string(), now), Ok(()));
    assert_eq!(check_fresh(&(1_476_422_779 - 901).to_string(), now), Err(CryptoError::Stale));
    assert_eq!(check_fresh(&(1_476_422_779 + 901).to_string(), now), Err(CryptoError::Stale));
    assert_eq!(check_fresh("1476422779000", now), Err(CryptoError::Stale), "milliseconds are not seconds");
    assert_eq!(check_fresh("soon", now), Err(CryptoError::Stale));
}

impl MsgCrypt {
    /// A valid PKCS#7 buffer of 32 bytes whose 16-byte body cannot hold random + length.
    fn encrypt_short(&self) -> String {
        let mut plain = vec![0u8; 16];
        plain.extend([16u8; 16]);
        let cipher = cbc::Encryptor::<Aes256>::new_from_slices(&self.key, self.iv()).unwrap();
        B64.encode(cipher.encrypt_padded_vec::<NoPadding>(&plain))
    }
}
