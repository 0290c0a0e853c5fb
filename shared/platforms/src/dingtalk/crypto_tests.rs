//! Vectors D1–D4 of ref "TEST VECTORS" (from the Crypto repo, verified there with Python
//! `cryptography`), plus refusals.

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
}

/// `DingCallbackCrypto3.py` `__main__`: check_url, pad 31.
const D1: Vector = Vector {
    token: "mryue",
    aes_key: "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7",
    owner: "ding6ccabc44d2c8d38b",
    signature: "03044561471240d4a14bb09372dfcfd4fd0e40cb",
    timestamp: "1608001896814",
    nonce: "WL4PK6yA",
    encrypt: "0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3",
    msg: r#"{"EventType":"check_url"}"#,
};

/// `dingtalk_callback_crypto.rs` `test_msg_decrypt` (an ISV suite), pad 22.
const D2: Vector = Vector {
    token: "123456",
    aes_key: "4g5j64qlyl3zvetqxz5jiocdr586fn2zvjpa8zls3ij",
    owner: "suite4xxxxxxxxxxxxxxx",
    signature: "5a65ceeef9aab2d149439f82dc191dd6c5cbe2c0",
    timestamp: "1445827045067",
    nonce: "nEXhMP4r",
    encrypt: "1a3NBxmCFwkCJvfoQ7WhJHB+iX3qHPsc9JbaDznE1i03peOk1LaOQoRz3+nlyGNhwmwJ3vDMG+OzrHMeiZI7gTRWVdUBmfxjZ8Ej23JVYa9VrYeJ5as7XM/ZpulX8NEQis44w53h1qAgnC3PRzM7Zc/D6Ibr0rgUathB6zRHP8PYrfgnNOS9PhSBdHlegK+AGGanfwjXuQ9+0pZcy0w9lQ==",
    msg: r#"{"EventType":"check_create_suite_url","Random":"LPIdSnlF","TestSuiteKey":"suite4xxxxxxxxxxxxxxx"}"#,
};

/// `DingTalkCrypto.go` `main()`: the encrypted `success` reply, random = the nonce, pad 27.
const D3: Vector = Vector {
    token: "tokenxxxx",
    aes_key: "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus",
    owner: "dingxxxxxx",
    signature: "f36f4ba5337d426c7d4bca0dbcb06b3ddc1388fc",
    timestamp: "1605695694141",
    nonce: "WelUQl6bCqcBa2fM",
    encrypt: "X1VSe9cTJUMZu60d3kyLYTrBq5578ZRJtteU94wG0Q4Uk6E/wQYeJRIC0/UFW5Wkya1Ihz9oXAdLlyC9TRaqsQ==",
    msg: "success",
};

fn crypto(v: &Vector) -> EventCrypto {
    EventCrypto::new(v.token, v.aes_key).unwrap()
}

#[test]
fn vectors_d1_to_d3_verify_and_decrypt_to_their_messages() {
    for v in [D1, D2, D3] {
        let c = crypto(&v);
        assert_eq!(c.signature(v.timestamp, v.nonce, v.encrypt), v.signature, "{}", v.token);
        assert!(c.verify(v.signature, v.timestamp, v.nonce, v.encrypt));
        assert!(c.verify(&v.signature.to_uppercase(), v.timestamp, v.nonce, v.encrypt));
        assert_eq!(c.decrypt(v.encrypt, &[v.owner]).unwrap(), v.msg, "{}", v.token);
    }
}

#[test]
fn the_aes_keys_decode_as_the_reference_computed() {
    assert_eq!(hex::encode(crypto(&D1).key), "62e7b411f74de7dd3473571ee5c7fa035e7673adc30ded7cd3c6bad1ce5e71de");
    assert_eq!(hex::encode(crypto(&D3).key), "a35c346ae9b8db26a9b65cfc6a59e1c229237778de9f3b7d71bf709b3a6d82eb");
}

#[test]
fn encrypting_success_with_d3s_random_bytes_gives_d3_exactly() {
    let c = crypto(&D3);
    let random: [u8; 16] = D3.nonce.as_bytes().try_into().unwrap();
    assert_eq!(c.encrypt_with("success", D3.owner, &random), D3.encrypt);
}

/// D4: raw AES with a 16-byte PKCS#7 block (the Rust sample's own encoder).
#[test]
fn vector_d4_decrypts_raw_with_sixteen_byte_padding() {
    let c = EventCrypto::new("", D2.aes_key).unwrap();
    let raw = c.decrypt_raw("DwCJ9BMxu4r+VTe9TD+AWc1yfxqs7d2YgepFe4XruMgh1+6pTjCCq4nqAM6StRcafOx5a1OfwmX3ckSBifatlA==").unwrap();
    assert_eq!(&raw[raw.len() - 14..], &[0x0e; 14]);
    assert_eq!(unpad(&raw).unwrap(), b"5p7b4jXMWUshiBCosucc111esssuite4xxxxxxxxxxxxxxx221");
}

#[test]
fn the_success_reply_is_signed_and_decrypts_to_success() {
    let c = crypto(&D3);
    let reply = c.success_reply("dingapp", "1700000000000", "n0nce");
    let encrypt = reply["encrypt"].as_str().unwrap();
    assert_eq!((reply["timeStamp"].as_str(), reply["nonce"].as_str()), (Some("1700000000000"), Some("n0nce")));
    assert_eq!(reply["msg_signature"].as_str().unwrap(), c.signature("1700000000000", "n0nce", encrypt));
    assert_eq!(c.decrypt(encrypt, &["dingapp"]).unwrap(), "success");
    let raw = c.decrypt_raw(encrypt).unwrap();
    assert_eq!(raw.len() % 32, 0, "padded to 32 like the Python and Java samples");
}

#[test]
fn a_tampered_signature_is_refused() {
    let c = crypto(&D1);
    let mut forged = D1.signature.to_string();
    forged.replace_range(0..1, "1");
    assert!(!c.verify(&forged, D1.timestamp, D1.nonce, D1.encrypt));
    assert!(!c.verify(D1.signature, "1608001896815", D1.nonce, D1.encrypt), "timestamp changed");
    assert!(!c.verify(D1.signature, D1.timestamp, D1.nonce, D2.encrypt), "payload changed");
    assert!(!c.verify("", D1.timestamp, D1.nonce, D1.encrypt));
    let other_token = EventCrypto::new("not-mryue", D1.aes_key).unwrap();
    assert!(!other_token.verify(D1.signature, D1.timestamp, D1.nonce, D1.encrypt));
}

#[test]
fn a_payload_for_another_owner_is_refused() {
    let c = crypto(&D1);
    assert_eq!(c.decrypt(D1.encrypt, &["dingsomeoneelse"]), Err(CryptoError::WrongOwner));
    assert_eq!(c.decrypt(D1.encrypt, &[]), Err(CryptoError::WrongOwner));
    assert_eq!(c.decrypt(D1.encrypt, &["dingsomeoneelse", D1.owner]).unwrap(), D1.msg);
}

#[test]
fn a_wrong_key_is_refused_with_a_typed_error() {
    let wrong = EventCrypto::new(D1.token, D2.aes_key).unwrap();
    let err = wrong.decrypt(D1.encrypt, &[D1.owner]).unwrap_err();
    assert!(matches!(err, CryptoError::BadPadding | CryptoError::BadLength | CryptoError::WrongOwner), "{err:?}");
    // Many random keys: none may yield the message.
    for _ in 0..100 {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let c = EventCrypto { token: String::new(), key };
        assert!(c.decrypt(D1.encrypt, &[D1.owner]).is_err());
    }
}

#[test]
fn a_tampered_ciphertext_is_refused() {
    let c = crypto(&D3);
    let mut bytes = B64.decode(D3.encrypt).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    assert!(c.decrypt(&B64.encode(&bytes), &[D3.owner]).is_err());
}

#[test]
fn garbage_and_bad_keys_are_refused_as_such() {
    let c = crypto(&D1);
    assert_eq!(c.decrypt("not base64!", &[D1.owner]), Err(CryptoError::NotBase64));
    assert_eq!(c.decrypt("", &[D1.owner]), Err(CryptoError::NotBlocks));
    assert_eq!(c.decrypt(&B64.encode([0u8; 17]), &[D1.owner]), Err(CryptoError::NotBlocks));
    assert_eq!(EventCrypto::new("t", "short").unwrap_err(), CryptoError::BadKey);
    assert_eq!(EventCrypto::new("t", &"!".repeat(43)).unwrap_err(), CryptoError::BadKey);
    assert_eq!(unpad(&[1, 2, 33]), Err(CryptoError::BadPadding));
    assert_eq!(unpad(&[1, 3, 2]), Err(CryptoError::BadPadding));
    assert_eq!(unpad(&[7, 0]), Err(CryptoError::BadPadding));
    assert_eq!(unpad(&[9, 9, 2, 2]).unwrap(), &[9, 9]);
}

#[test]
fn what_we_encrypt_round_trips_with_fresh_randomness() {
    let c = crypto(&D2);
    let a = c.encrypt(r#"{"EventType":"chat_disband"}"#, "dingapp");
    assert_ne!(a, c.encrypt(r#"{"EventType":"chat_disband"}"#, "dingapp"));
    assert_eq!(c.decrypt(&a, &["dingapp"]).unwrap(), r#"{"EventType":"chat_disband"}"#);
    assert!(!format!("{c:?}").contains(D2.token));
}
