//! The Feishu burst benchmark, small: 10 incidents × 3 responders through the real engine,
//! queue, store and adapter against the rate-limited sandbox. Asserts outcomes only —
//! every room complete, no rate-limited answer — never timings (benchmarks are not tests).

use std::time::Duration;
use warroom_bench::{run, Buckets, Mode, Scenario};

fn small(mode: Mode) -> Scenario {
    Scenario { incidents: 10, responders: 3, workers: 4, mode, buckets: Buckets::Shipped, max_receive_count: 100, timeout: Duration::from_secs(60) }
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

/// Lookups double the calls: 60 at once, more than the 50/s window. The window-safe
/// buckets make the jobs that must wait defer instead of drawing 429s, and deferrals no
/// longer use up a job's attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_burst_that_looks_responders_up_gets_every_room_without_a_rate_limited_answer() {
    let report = run(&small(Mode::Lookup)).await.expect("the bench runs");
    println!("{}", report.table());
    assert_eq!(report.outcome.dead_letters, 0, "{}", report.table());
    assert!(report.all_complete(), "{}", report.table());
    assert_eq!(report.rate_limited(), 0, "{}", report.table());
    assert_eq!(report.needed_calls, 60, "{}", report.table());
}
