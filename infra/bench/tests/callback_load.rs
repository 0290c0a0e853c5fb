//! The callback load, short: 200 callbacks a second for 5 s (signed Slack and Feishu ones,
//! and DingTalk and WeCom ones relayed by the stack's sandboxes) against the real
//! `warroom-local` binary (demo mode, 5 war rooms per platform). Asserts zero errors (every
//! callback answered 2xx, every click applied or a harmless repeat, the queue drained, no
//! dead letter, no WeCom message dropped, no error in the stack's log, a clean stop with an
//! empty queue), the state changes the clicks asked for, every mention answered on every
//! platform, DingTalk's and WeCom's kinds sent and answered well with none of the bundle's
//! DingTalk calls throttled and no WeCom call answered 45009, and a generous p99 (CI is a
//! 2-core machine running a debug build). The 60 s figures are the bench's
//! (`src/bin/callback_load.rs`), not this test's.

use std::path::PathBuf;
use std::time::Duration;
use warroom_bench::load::{self, Config, Kind};

/// `warroom-local` from the same target dir: `cargo test --workspace` builds it (its
/// package has integration tests); `WARROOM_LOCAL_BIN` overrides.
fn stack_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("WARROOM_LOCAL_BIN") {
        return PathBuf::from(path);
    }
    let me = std::env::current_exe().expect("the test knows its path");
    // target/<profile>/deps/callback_load-… → target/<profile>/warroom-local
    let bin = me.parent().and_then(|deps| deps.parent()).expect("a target dir").join("warroom-local");
    assert!(bin.is_file(), "no {}: run `cargo build --workspace --bin warroom-local` (cargo test --workspace builds it)", bin.display());
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_signed_callbacks_a_second_are_all_answered_well_and_leave_nothing_behind() {
    let mut config = Config { rate: 200.0, duration: Duration::from_secs(5), rooms: 5, drain_timeout: Duration::from_secs(60), ..Config::new(stack_bin()) };
    // The store fsyncs every write (about two a callback), so on disk the rate this test
    // can pass depends on the host's disk (245 fsyncs/s on the shared dev box while others
    // build: 200/s then collapses). In memory the test is about the stack itself; the disk's
    // bound is the bench's to report (`callback_load`, default data root).
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        config.data_root = shm;
    }
    let report = load::run(&config).await.expect("the load runs");
    let table = report.table();
    println!("{table}");

    assert!(report.clean(), "zero errors:\n{table}");
    assert_eq!((report.sent, report.not_sent), (1000, 0), "every callback due was sent:\n{table}");
    // Every room (5 per platform): one Acknowledge and one Resolve changed it; every other
    // click repeated one. The default mix's 30 + 30 + 5 clicks in each second's 200 answer
    // with their outcome; WeCom's 5 answer empty (WeCom shows no text from a click), and
    // their rooms' end state is checked by the settle (`report.clean()`).
    assert_eq!(report.clicks.get("changed"), Some(&30), "two state changes per room:\n{table}");
    let clicks: usize = report.clicks.values().sum();
    assert_eq!(clicks, 325, "every click answered with its outcome:\n{table}");
    for (platform, (sent, answered)) in ["slack", "feishu", "dingtalk", "wecom"].into_iter().zip(report.settled.mentions) {
        assert!(sent > 0, "the mix sends {platform} mentions:\n{table}");
        assert_eq!(answered, sent, "every {platform} mention answered once:\n{table}");
    }
    for kind in [Kind::DingTalkMention, Kind::DingTalkClick, Kind::WeComMention, Kind::WeComClick] {
        let sent = report.by_kind.iter().find(|(k, _, _)| *k == kind).map(|(_, p, failed)| (p.count, *failed));
        assert!(sent.is_some_and(|(count, failed)| count > 0 && failed == 0), "{} sent and answered well: {sent:?}\n{table}", kind.name());
    }
    // About 2 DingTalk calls a second during the load, far under 20 per API: a throttled one
    // would mean the bundle's buckets let a burst through.
    let dingtalk = report.settled.dingtalk_load.expect("the DingTalk call log was read");
    assert_eq!((dingtalk.throttled, dingtalk.over_quota), (0, 0), "no DingTalk call refused by its limits:\n{table}");
    // WeCom: the per-API limit is far off (a few calls a second); every room's messages reach
    // the group owner, whom the bundle keeps under 30 a minute: a dropped one is lost silently.
    let (wecom_setup, wecom) =
        (report.settled.wecom_setup.expect("the WeCom call log was read"), report.settled.wecom_load.expect("the WeCom call log was read"));
    assert_eq!((wecom_setup.throttled, wecom.throttled), (0, 0), "no WeCom call answered 45009:\n{table}");
    assert_eq!((wecom_setup.dropped, wecom.dropped), (0, 0), "no WeCom message dropped:\n{table}");
    // Debug build on /dev/shm: p99 ≈ 60 ms when the 2 cores are free (≈ 0.2 s on disk), over
    // 1 s when other builds and fuzzers share them; a stall or collapse runs into the 10 s
    // timeout, far above.
    assert!(report.latency.p99 < 2000.0, "p99 {:.1} ms is over 2 s:\n{table}", report.latency.p99);
}
