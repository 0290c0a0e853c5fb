//! Slack Events API deliveries through `SlackCodec::decode_event`: signed by the harness
//! (the JSON parsing behind verification), raw (`!ts\nsig\nbody`: verification itself), or
//! signed at a timestamp from the input (`~ts\nbody`: the freshness check).
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_core::CallbackCodec;
use warroom_fuzz::{refused, slack_codecs, slack_signed, slack_special};

fuzz_target!(|data: &[u8]| {
    for codec in slack_codecs() {
        if let Some(request) = slack_special(data) {
            let _ = request.run(|r| codec.decode_event(r));
            continue;
        }
        let result = slack_signed(data).run(|r| codec.decode_event(r));
        // The harness signed it correctly at the codec's own clock: never refused.
        if let Err(e) = &result {
            assert!(!refused(e), "a correctly signed event was refused: {e:?}");
        }
    }
});
