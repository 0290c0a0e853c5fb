//! WeCom's WXBizMsgCrypt (`wecom::MsgCrypt`) on its own, with vector W1's Token and key.
//! Input by first byte:
//! - `!signature\ntimestamp\nnonce\nencrypt`: a callback's parts as received: `verify`
//!   (which must accept exactly the reference's SHA-1, in either case) and `decrypt` for
//!   either ReceiveId (base64 parsing, AES, the checks behind it);
//! - `#bytes`: arbitrary ciphertext (whole blocks or not), base64-encoded;
//! - `&bytes`: a plaintext the input chooses byte for byte (cut to whole blocks), encrypted
//!   by the harness: `decrypt` must accept exactly what the reference's layout accepts
//!   (padding 1..=32, length field, the exact ReceiveId, UTF-8) and give that message back;
//! - `%key`: an arbitrary EncodingAESKey for `MsgCrypt::new`;
//! - anything else: a message, which must come back unchanged through `encrypt_with` →
//!   `decrypt` and through the harness's own sealing, for the CorpID and for the bot's "",
//!   and never for the other ReceiveId (non-UTF-8 messages are refused).
#![no_main]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use warroom_fuzz::{
    dingtalk_encrypt_blocks, dingtalk_random, dingtalk_seal, fields, wecom_open_plain, wecom_seal, wecom_signature, RAW, WECOM_AES_KEY, WECOM_CORP_ID,
    WECOM_TOKEN,
};
use warroom_platforms::wecom::{CryptoError, MsgCrypt};

const RECEIVE_IDS: [&str; 2] = [WECOM_CORP_ID, ""];

fn crypt() -> &'static MsgCrypt {
    static CRYPT: std::sync::OnceLock<MsgCrypt> = std::sync::OnceLock::new();
    CRYPT.get_or_init(|| MsgCrypt::new(WECOM_TOKEN, WECOM_AES_KEY).expect("W1's key"))
}

fuzz_target!(|data: &[u8]| {
    let crypt = crypt();
    match data.first() {
        Some(&RAW) => {
            let (f, encrypt) = fields(&data[1..], 3);
            let encrypt = String::from_utf8_lossy(encrypt);
            let (sig, ts, nonce) = (&f[0], &f[1], &f[2]);
            let expected = wecom_signature(WECOM_TOKEN, ts, nonce, &encrypt);
            assert_eq!(crypt.signature(ts, nonce, &encrypt), expected, "the signature is the reference's");
            if crypt.verify(sig, ts, nonce, &encrypt).is_ok() {
                assert!(sig.trim().eq_ignore_ascii_case(&expected), "verify accepted a wrong signature");
            }
            assert!(crypt.verify(&expected, ts, nonce, &encrypt).is_ok() && crypt.verify(&expected.to_ascii_uppercase(), ts, nonce, &encrypt).is_ok());
            for id in RECEIVE_IDS {
                let _ = crypt.decrypt(&encrypt, id);
            }
        }
        Some(b'#') => {
            for id in RECEIVE_IDS {
                let _ = crypt.decrypt(&B64.encode(&data[1..]), id);
            }
        }
        Some(b'&') => {
            let plain = &data[1..data.len() - (data.len() - 1) % 16];
            let sealed = dingtalk_encrypt_blocks(WECOM_AES_KEY, plain);
            for id in RECEIVE_IDS {
                let opened = crypt.decrypt(&sealed, id);
                assert_eq!(opened.ok(), wecom_open_plain(plain, id), "decrypt disagrees with the reference layout (ReceiveId {id:?})");
            }
        }
        Some(b'%') => {
            let key = String::from_utf8_lossy(&data[1..]);
            if let Ok(c) = MsgCrypt::new(WECOM_TOKEN, &key) {
                assert_eq!(key.trim().len(), 43, "only a 43-character key is usable");
                assert_eq!(c.decrypt(&c.encrypt_with("echo", "ww1", &[7; 16]), "ww1").as_deref(), Ok("echo"));
                // The same AES key as the harness derives it.
                let theirs = dingtalk_seal(key.trim(), b"echo", "ww1", &[7; 16], 32);
                assert_eq!(c.decrypt(&theirs, "ww1").as_deref(), Ok("echo"));
            }
        }
        _ => {
            let random = dingtalk_random(data);
            for (id, other) in [(WECOM_CORP_ID, ""), ("", WECOM_CORP_ID)] {
                let sealed = wecom_seal(WECOM_AES_KEY, data, id);
                match std::str::from_utf8(data) {
                    Ok(text) => assert_eq!(crypt.decrypt(&sealed, id).as_deref(), Ok(text), "round trip (harness sealing)"),
                    Err(_) => assert_eq!(crypt.decrypt(&sealed, id), Err(CryptoError::IllegalBuffer), "a non-UTF-8 message"),
                }
                assert_eq!(crypt.decrypt(&sealed, other), Err(CryptoError::WrongReceiveId), "another ReceiveId's payload");
                assert_eq!(crypt.decrypt(&sealed, &format!("{id}x")), Err(CryptoError::WrongReceiveId), "the ReceiveId must match whole");
                if let Ok(text) = std::str::from_utf8(data) {
                    let sealed = crypt.encrypt_with(text, id, &random);
                    assert_eq!(crypt.decrypt(&sealed, id).as_deref(), Ok(text), "round trip (encrypt_with)");
                    assert_eq!(B64.decode(&sealed).map(|b| b.len() % 32), Ok(0), "32-byte padding");
                }
            }
        }
    }
});
