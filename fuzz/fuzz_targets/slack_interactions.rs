//! Slack interactivity posts through `SlackCodec::decode_click`. Input by first byte:
//! `!ts\nsig\nbody` raw (verification), `~ts\nbody` signed at that timestamp (freshness),
//! `{…` a JSON payload the harness form-encodes as `payload=…` and signs (the interaction
//! parser), anything else a form body it signs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_core::CallbackCodec;
use warroom_fuzz::{refused, slack_codecs, slack_signed, slack_special};

fuzz_target!(|data: &[u8]| {
    let [codec, _] = slack_codecs();
    if let Some(request) = slack_special(data) {
        let _ = request.run(|r| codec.decode_click(r));
        return;
    }
    let request = match std::str::from_utf8(data) {
        Ok(json) if json.starts_with('{') => slack_signed(serde_urlencoded::to_string([("payload", json)]).expect("form-encodes").as_bytes()),
        _ => slack_signed(data),
    };
    if let Err(e) = request.run(|r| codec.decode_click(r)) {
        assert!(!refused(&e), "a correctly signed interaction was refused: {e:?}");
    }
});
