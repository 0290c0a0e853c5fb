//! DingTalk's event-subscription crypto (`dingtalk::EventCrypto`) on its own, with vector
//! D1's Token and key. Input by first byte:
//! - `!signature\ntimestamp\nnonce\nencrypt`: a push's parts as received: `verify` (which
//!   must accept only the right SHA-1, in either case) and `decrypt` (base64 parsing);
//! - `#bytes`: arbitrary ciphertext (whole blocks or not), base64-encoded: AES-CBC and the
//!   checks behind it on random-looking plaintext;
//! - `&bytes`: a plaintext the input chooses byte for byte (cut to whole blocks), encrypted
//!   by the harness: `decrypt` must accept exactly what the reference's layout accepts
//!   (padding, length field, owner key, UTF-8), and give that message back;
//! - `%key`: an arbitrary EncodingAESKey for `EventCrypto::new`;
//! - anything else: a message, which must come back unchanged through `encrypt_with` →
//!   `decrypt` and through the harness's own sealing (padded to 16 and to 32 bytes), for
//!   either owner key, and never for another owner (non-UTF-8 messages are refused).
#![no_main]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use warroom_fuzz::{
    dingtalk_encrypt_blocks, dingtalk_open_plain, dingtalk_random, dingtalk_seal, fields, DINGTALK_AES_KEY, DINGTALK_APP_KEY, DINGTALK_CORP_ID, DINGTALK_TOKEN,
    RAW,
};
use warroom_platforms::dingtalk::{CryptoError, EventCrypto};

const OWNERS: [&str; 2] = [DINGTALK_APP_KEY, DINGTALK_CORP_ID];

fn crypto() -> &'static EventCrypto {
    static CRYPTO: std::sync::OnceLock<EventCrypto> = std::sync::OnceLock::new();
    CRYPTO.get_or_init(|| EventCrypto::new(DINGTALK_TOKEN, DINGTALK_AES_KEY).expect("D1's key"))
}

fuzz_target!(|data: &[u8]| {
    let crypto = crypto();
    match data.first() {
        Some(&RAW) => {
            let (f, encrypt) = fields(&data[1..], 3);
            let encrypt = String::from_utf8_lossy(encrypt);
            let (sig, ts, nonce) = (&f[0], &f[1], &f[2]);
            let expected = crypto.signature(ts, nonce, &encrypt);
            if crypto.verify(sig, ts, nonce, &encrypt) {
                assert!(sig.trim().eq_ignore_ascii_case(&expected), "verify accepted a wrong signature");
            }
            assert!(crypto.verify(&expected, ts, nonce, &encrypt) && crypto.verify(&expected.to_ascii_uppercase(), ts, nonce, &encrypt), "the right signature");
            let _ = crypto.decrypt(&encrypt, &OWNERS);
        }
        Some(b'#') => {
            let _ = crypto.decrypt(&B64.encode(&data[1..]), &OWNERS);
        }
        Some(b'&') => {
            let plain = &data[1..data.len() - (data.len() - 1) % 16];
            let opened = crypto.decrypt(&dingtalk_encrypt_blocks(DINGTALK_AES_KEY, plain), &OWNERS);
            assert_eq!(opened.ok(), dingtalk_open_plain(plain, &OWNERS), "decrypt disagrees with the reference layout");
        }
        Some(b'%') => {
            let key = String::from_utf8_lossy(&data[1..]);
            if let Ok(c) = EventCrypto::new(DINGTALK_TOKEN, &key) {
                assert_eq!(key.trim().len(), 43, "only a 43-character key is usable");
                assert_eq!(c.decrypt(&c.encrypt_with("success", "o", &[7; 16]), &["o"]).as_deref(), Ok("success"));
                // Same key, same AES key as the harness derives it.
                let theirs = dingtalk_seal(key.trim(), b"success", "o", &[7; 16], 32);
                assert_eq!(c.decrypt(&theirs, &["o"]).as_deref(), Ok("success"));
            }
        }
        _ => {
            let random = dingtalk_random(data);
            for owner in OWNERS {
                for pad_block in [16, 32] {
                    let sealed = dingtalk_seal(DINGTALK_AES_KEY, data, owner, &random, pad_block);
                    let opened = crypto.decrypt(&sealed, &OWNERS);
                    match std::str::from_utf8(data) {
                        Ok(text) => assert_eq!(opened.as_deref(), Ok(text), "round trip (harness sealing, {pad_block}-byte padding)"),
                        Err(_) => assert_eq!(opened, Err(CryptoError::NotUtf8), "non-UTF-8 message"),
                    }
                    assert_eq!(crypto.decrypt(&sealed, &["dingsomeoneelse"]), Err(CryptoError::WrongOwner), "another owner's payload");
                    assert_eq!(crypto.decrypt(&sealed, &[]), Err(CryptoError::WrongOwner), "no owner key accepts nothing");
                }
                if let Ok(text) = std::str::from_utf8(data) {
                    let sealed = crypto.encrypt_with(text, owner, &random);
                    assert_eq!(crypto.decrypt(&sealed, &[owner]).as_deref(), Ok(text), "round trip (encrypt_with)");
                    // The adapter pads to 32 bytes like DingTalk's Python and Java code.
                    assert_eq!(B64.decode(&sealed).map(|b| b.len() % 32), Ok(0), "32-byte padding");
                }
            }
        }
    }
});
