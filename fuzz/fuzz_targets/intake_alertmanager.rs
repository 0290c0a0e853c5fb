//! The Alertmanager (webhook v4) intake parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = warroom_intake::alertmanager::parse(data);
});
