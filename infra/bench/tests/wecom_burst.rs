//! The WeCom burst benchmark, small: 5 incidents × 4 responders through the real engine,
//! queue, store and adapter against the WeCom sandbox with its limits enforced. Asserts
//! outcomes — every app group opened once with its owner, responders, status message and
//! cards; no 45009 answer; no message silently dropped — and that the report's bound is
//! what the sandbox's limits make of the calls one room needs.

use std::time::Duration;
use warroom_bench::wecom::bound::{self, Kind};
use warroom_bench::wecom::{run, WeComReport, WeComScenario, OWNER};
use warroom_bench::Mode;

fn small(mode: Mode) -> WeComScenario {
    WeComScenario { incidents: 5, responders: 4, workers: 4, mode, timeout: Duration::from_secs(120), ..WeComScenario::standard() }
}

fn assert_every_room_once_without_throttling_or_drops(report: &WeComReport) {
    let table = report.table();
    assert!(report.all_complete(), "every room open with its members and card in the store:\n{table}");
    assert_eq!(report.sandbox.groups, 5, "one app group per incident, none twice:\n{table}");
    assert!(report.every_room_once(), "each group holds its owner, its responders, one status message, and each responder a card:\n{table}");
    assert_eq!(report.sandbox.cards, 5 * (4 + 1), "a card to each responder and to the owner, once per room:\n{table}");
    assert_eq!(report.throttled, 0, "no 45009 answer:\n{table}");
    assert_eq!(report.sandbox.throttled, 0, "the sandbox agrees:\n{table}");
    assert_eq!(report.sandbox.dropped, 0, "no app message silently dropped:\n{table}");
    assert_eq!(report.counters.platform_rate_limited, 0, "{table}");
    assert_eq!(report.outcome.dead_letters, 0, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_wecom_burst_of_linked_responders_opens_every_room_once_without_a_refused_or_dropped_call() {
    let report = run(&small(Mode::Linked)).await.expect("the bench runs");
    println!("{}", report.table());
    assert_every_room_once_without_throttling_or_drops(&report);
    // One appchat/create, appchat/send, appchat/get and message/send per incident.
    assert_eq!(report.gated_calls, 20, "{}", report.table());
    for api in [bound::CREATE, bound::SEND, bound::GET, bound::MESSAGE] {
        let row = report.apis.iter().find(|r| r.api == api).unwrap_or_else(|| panic!("{api} called:\n{}", report.table()));
        assert_eq!((row.calls, row.ok), (5, 5), "{api}:\n{}", report.table());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_small_bursts_bound_is_what_the_sandboxs_limits_make_of_one_rooms_calls() {
    let report = run(&small(Mode::Lookup)).await.expect("the bench runs");
    println!("{}", report.table());
    assert_every_room_once_without_throttling_or_drops(&report);
    assert_eq!(report.bound, report.predicted, "the run asked of WeCom exactly what 5 rooms need:\n{}", report.table());
    let term = |prefix: &str| report.bound.terms.iter().find(|t| t.what.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}:\n{}", report.table()));
    // Per corp per API at 2,000 a minute: 5 calls of each room API take 0.15 s, the 20
    // look-ups by phone 0.6 s.
    for api in [bound::CREATE, bound::SEND, bound::GET] {
        assert_eq!((term(api).calls, term(api).limit), (5, 2000));
        assert!((term(api).bound_s - 0.15).abs() < 1e-9, "{:?}", term(api));
    }
    assert!((term(bound::BY_MOBILE).bound_s - 0.6).abs() < 1e-9, "{:?}", term(bound::BY_MOBILE));
    // The owner is in every room and gets every room's card: 5 at 30 a minute, 10 s, which
    // binds; the sliding window itself holds all 5 at once.
    let owner = term(&format!("app messages to {OWNER}"));
    assert_eq!((owner.calls, owner.limit), (5, 30));
    assert_eq!(report.bound.binding, owner.what);
    assert!((report.bound.bound_s - 10.0).abs() < 1e-9, "{}", report.table());
    assert_eq!(report.bound.window_s, 0.0, "{}", report.table());
    // 5 groups fit 1,000 a day; no group was changed.
    let quotas: Vec<_> = report.bound.terms.iter().filter(|t| t.kind == Kind::Quota).collect();
    assert_eq!(quotas.iter().map(|t| (t.calls, t.bound_s)).collect::<Vec<_>>(), vec![(5, 0.0), (0, 0.0)]);
}
