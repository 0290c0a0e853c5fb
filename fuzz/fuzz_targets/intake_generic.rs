//! The generic intake webhook parser (`POST /hooks/generic`), and the source dispatcher.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let direct = warroom_intake::generic::parse(data);
    let dispatched = warroom_intake::parse(warroom_intake::generic::SOURCE, data, &|_| None, None);
    assert_eq!(direct, dispatched, "the dispatcher must answer like the parser");
});
