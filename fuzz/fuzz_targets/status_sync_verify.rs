//! The generic status-sync callback verifier receivers use (`warroom_sources::verify`):
//! input `timestamp\nnow\nheader\nbody`. Besides not panicking, a header that carries the
//! correct signature among the fuzzed entries must verify inside the tolerance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use warroom_fuzz::fields;
use warroom_sources::{sign, verify};

const SECRET: &[u8] = b"fuzz-status-sync-secret";
const TOLERANCE: Duration = Duration::from_secs(300);

fuzz_target!(|data: &[u8]| {
    let (f, body) = fields(data, 3);
    let timestamp: i64 = f[0].trim().parse().unwrap_or(0);
    let now: i64 = f[1].trim().parse().unwrap_or(timestamp);
    let _ = verify(SECRET, timestamp, body, &f[2], now, TOLERANCE);
    let good = format!("{},{}", f[2], sign(SECRET, timestamp, body));
    let fresh = now.abs_diff(timestamp) <= TOLERANCE.as_secs();
    assert_eq!(verify(SECRET, timestamp, body, &good, now, TOLERANCE), fresh, "a correct entry decides");
});
