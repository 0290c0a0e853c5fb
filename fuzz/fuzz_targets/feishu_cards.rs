//! Feishu card callbacks (`card.action.trigger`) through `FeishuCodec::decode_click`, with
//! the same inputs as `feishu_events` (see `warroom_fuzz::feishu_request`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_core::CallbackCodec;

fuzz_target!(|data: &[u8]| warroom_fuzz::feishu_target(data, "card callback", |codec, r| codec.decode_click(r)));
