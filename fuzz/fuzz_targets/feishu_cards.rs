//! Feishu card callbacks (`card.action.trigger`) through `FeishuCodec::decode_click`, with
//! the same inputs as `feishu_events` (see `warroom_fuzz::feishu_request`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_core::CallbackCodec;
use warroom_fuzz::{feishu_codecs, feishu_request, refused, Request};

fuzz_target!(|data: &[u8]| {
    let codecs = feishu_codecs();
    let (request, sealed) = feishu_request(data);
    let _ = request.run(|r| codecs.keyed.decode_click(r));
    let result = request.run(|r| codecs.key_only.decode_click(r));
    if sealed {
        if let Err(e) = &result {
            assert!(
                !refused(e),
                "a correctly sealed and signed card callback was refused: {e:?}"
            );
        }
    }
    let _ = Request::post(data.to_vec(), 0).run(|r| codecs.plain.decode_click(r));
});
