//! The Feishu burst benchmark, small: 10 incidents × 3 responders through the real engine,
//! queue, store and adapter against the rate-limited sandbox. Asserts outcomes only —
//! every room complete, no rate-limited answer — never timings (benchmarks are not tests).

use std::time::Duration;
use warroom_bench::{run, Buckets, Mode, Scenario};

fn small(mode: Mode) -> Scenario {
    Scenario {
        incidents: 10,
        responders: 3,
        workers: 4,
        mode,
        buckets: Buckets::Shipped,
        max_receive_count: 5,
        timeout: Duration::from_secs(60),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_burst_of_linked_responders_gets_every_room_without_a_rate_limited_answer() {
    let report = run(&small(Mode::Linked)).await.expect("the bench runs");
    println!("{}", report.table());
    assert!(report.all_complete(), "every room open with its members and card:\n{}", report.table());
    assert_eq!(report.chats_complete, 10, "the sandbox holds every chat complete:\n{}", report.table());
    assert_eq!(report.rate_limited(), 0, "no rate-limited answer:\n{}", report.table());
    assert_eq!(report.outcome.dead_letters, 0);
    // 10 chats created, 10 member adds, 10 cards; lookups none (linked).
    assert_eq!(report.needed_calls, 30, "{}", report.table());
}

/// Lookups double the calls (60 > the 50 a fresh GCRA bucket of `BucketSpec::per(50, 1 s)`
/// hands out at once, and up to 99 within one second), so the shipped buckets draw 429s;
/// and the waits it causes are deferrals that count towards `maxReceiveCount: 5`, so jobs
/// are dead-lettered. Run it with `--ignored` once the buckets are window-safe and
/// rate-limit deferrals no longer use up the redrive limit (see the bench's report).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fails with the shipped buckets: 60 calls at once draw 429s from the 50/s window"]
async fn a_small_burst_that_looks_responders_up_gets_every_room_without_a_rate_limited_answer() {
    let report = run(&small(Mode::Lookup)).await.expect("the bench runs");
    println!("{}", report.table());
    assert_eq!(report.outcome.dead_letters, 0, "{}", report.table());
    assert!(report.all_complete(), "{}", report.table());
    assert_eq!(report.rate_limited(), 0, "{}", report.table());
    assert_eq!(report.needed_calls, 60, "{}", report.table());
}
