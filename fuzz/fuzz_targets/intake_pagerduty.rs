//! The PagerDuty (webhook v3) intake parser. Input: `!header\nbody` raw (signature header
//! parsing and verification), anything else a body the harness signs, so the event parser
//! is reached; a correctly signed body is never refused as badly signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warroom_fuzz::{fields, RAW};
use warroom_intake::{pagerduty, IntakeError};

/// Not a real secret: the harness signs with it.
const SECRET: &[u8] = b"fuzz-pagerduty-secret";

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&RAW) {
        let (f, body) = fields(&data[1..], 1);
        let _ = pagerduty::parse(body, Some(&f[0]), SECRET);
        return;
    }
    let signature = pagerduty::signature_for(data, SECRET).expect("HMAC takes any key");
    // A rotated secret: PagerDuty sends one `v1=` entry per active secret.
    let header = format!("v1=00ff, {signature}");
    let result = pagerduty::parse(data, Some(&header), SECRET);
    assert_ne!(result, Err(IntakeError::BadSignature), "a correctly signed body was refused");
});
