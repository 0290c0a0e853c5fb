//! Feishu event callbacks through `FeishuCodec::decode_event` (see
//! `warroom_fuzz::feishu_request` for the input format): sealed and signed plaintext JSON,
//! a signed body, signed arbitrary ciphertext, or a raw request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_core::CallbackCodec;

fuzz_target!(|data: &[u8]| warroom_fuzz::feishu_target(data, "event", |codec, r| codec.decode_event(r)));
