//! `feishu::decrypt` on its own. Input by first byte: `!text` the `encrypt` string as
//! received (base64 parsing); `#bytes` arbitrary ciphertext (IV + blocks), base64-encoded
//! (AES-CBC and the PKCS#7 check); anything else a plaintext the harness seals, which must
//! come back unchanged when it is UTF-8 (a round-trip property, not just "no panic").
#![no_main]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use warroom_fuzz::{feishu_seal, FEISHU_KEY, RAW};
use warroom_platforms::feishu::decrypt;

fuzz_target!(|data: &[u8]| {
    match data.first() {
        Some(&RAW) => {
            let _ = decrypt(FEISHU_KEY, &String::from_utf8_lossy(&data[1..]));
        }
        Some(b'#') => {
            let _ = decrypt(FEISHU_KEY, &B64.encode(&data[1..]));
        }
        _ => {
            let sealed = feishu_seal(FEISHU_KEY, data);
            let opened = decrypt(FEISHU_KEY, &sealed);
            match std::str::from_utf8(data) {
                Ok(text) => assert_eq!(opened.as_deref(), Ok(text), "round trip"),
                Err(_) => assert!(opened.is_err(), "non-UTF-8 plaintext must be refused"),
            }
        }
    }
});
