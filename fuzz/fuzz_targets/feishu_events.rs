//! Feishu event callbacks through `FeishuCodec::decode_event` (see
//! `warroom_fuzz::feishu_request` for the input format): sealed and signed plaintext JSON,
//! a signed body, signed arbitrary ciphertext, or a raw request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_core::CallbackCodec;
use warroom_fuzz::{feishu_codecs, feishu_request, refused, Request};

fuzz_target!(|data: &[u8]| {
    let codecs = feishu_codecs();
    let (request, sealed) = feishu_request(data);
    let _ = request.run(|r| codecs.keyed.decode_event(r));
    let result = request.run(|r| codecs.key_only.decode_event(r));
    if sealed {
        if let Err(e) = &result {
            assert!(
                !refused(e),
                "a correctly sealed and signed event was refused: {e:?}"
            );
        }
    }
    // An app without an Encrypt Key gets the plain JSON, unsigned.
    let _ = Request::post(data.to_vec(), 0).run(|r| codecs.plain.decode_event(r));
});
