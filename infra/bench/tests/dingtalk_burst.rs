//! The DingTalk burst benchmark, small: 5 incidents × 3 responders through the real engine,
//! queue, store and adapter against the QPS-limited DingTalk sandbox. Asserts outcomes —
//! every room created once with its members and card, no throttled answer — and only a
//! loose ratio to the bound (≤ 2, debug builds on a busy machine included).

use std::time::Duration;
use warroom_bench::dingtalk::{run, DingBuckets, DingReport, DingScenario};
use warroom_bench::Mode;

fn small(mode: Mode) -> DingScenario {
    DingScenario { incidents: 5, responders: 3, mode, workers: 4, buckets: DingBuckets::Shipped, timeout: Duration::from_secs(60), ..DingScenario::standard() }
}

fn assert_every_room_once_without_throttling(report: &DingReport) {
    let table = report.table();
    assert!(report.all_complete(), "every room open with its members and card in the store:\n{table}");
    assert_eq!(report.sandbox.groups, 5, "one scene group per incident, none twice:\n{table}");
    assert!(report.every_room_once(), "each group holds its responders and one card:\n{table}");
    assert_eq!(report.throttled, 0, "no throttled answer:\n{table}");
    assert_eq!(report.sandbox.throttled, 0, "the sandbox agrees:\n{table}");
    assert_eq!(report.counters.platform_rate_limited, 0, "{table}");
    assert_eq!(report.outcome.dead_letters, 0, "{table}");
    let ratio = report.ratio().expect("a bound");
    assert!(ratio <= 2.0, "within twice the bound the QPS allows: {ratio:.3}\n{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_dingtalk_burst_of_linked_responders_opens_every_room_once_without_a_throttled_answer() {
    let report = run(&small(Mode::Linked)).await.expect("the bench runs");
    println!("{}", report.table());
    assert_every_room_once_without_throttling(&report);
    // One scene group, one member add (3 users fit one call), one card per incident.
    assert_eq!(report.needed_calls, 15, "{}", report.table());
    assert_eq!(report.metered_needed, 15, "{}", report.table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_dingtalk_burst_that_finds_responders_by_phone_opens_every_room_once_without_a_throttled_answer() {
    let report = run(&small(Mode::Lookup)).await.expect("the bench runs");
    println!("{}", report.table());
    assert_every_room_once_without_throttling(&report);
    // Plus one getbymobile per responder, which the monthly quota does not count.
    assert_eq!(report.needed_calls, 30, "{}", report.table());
    assert_eq!(report.metered_needed, 15, "{}", report.table());
    let lookups = report.apis.iter().find(|r| r.api == "POST /topapi/v2/user/getbymobile").expect("lookups by phone");
    assert_eq!((lookups.calls, lookups.metered), (15, false), "{}", report.table());
}
