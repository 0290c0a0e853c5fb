//! The DingTalk burst: N incidents × R responders fired at once against the DingTalk
//! sandbox with its per-app per-API QPS enforced (standard edition, 20 QPS); reports the
//! time against the lower bound the limits allow (per API: calls ÷ QPS, the largest), the
//! count of throttled answers, and the DingTalk calls per incident (all and metered, by API).
//!
//! ```text
//! cargo build --release -p warroom-bench --bin dingtalk_burst
//! target/release/dingtalk_burst --incidents 100 --responders 10
//! ```
//!
//! Options (lists are comma-separated; every combination is run, in order):
//!   --incidents N          default 100
//!   --responders R         default 10 (distinct per incident: N × R users, each with a phone)
//!   --workers W            concurrent worker loops, default 8
//!   --linked | --lookup    one mode only (default: both, linked first); lookup = by phone
//!   --modes linked,lookup
//!   --buckets LIST         shipped | fix | exact | CAP:MS (every DingTalk family's bucket)
//!                          default shipped (see `warroom_bench::dingtalk::DingBuckets`)
//!   --max-receives LIST    the queue's redrive limit; default 100
//!   --timeout SECS         per run, default 300
//!   --no-jitter            hide receive counts above 3 from the engine, which turns off its
//!                          `contention_jitter` on rate-limit deferrals (a bench-local
//!                          experiment: what the engine would do without jittering waits
//!                          for its own reservations)
//! Prints a table per run, then one JSON line: {"bench": "dingtalk_burst", "runs": [...]}.
//! `RUST_LOG` sets the log filter (default `error`); `DT_DEBUG=1` prints each throttled call
//! with how long before it the admitted calls of its API in the previous second came.

use std::time::Duration;
use warroom_bench::dingtalk::{run, DingBuckets, DingScenario, EDITION};
use warroom_bench::Mode;

fn usage(problem: &str) -> ! {
    eprintln!("dingtalk_burst: {problem}");
    eprintln!("usage: dingtalk_burst [--incidents N] [--responders R] [--workers W] [--linked|--lookup|--modes linked,lookup] [--buckets shipped,fix,exact,CAP:MS] [--max-receives 100] [--timeout SECS] [--no-jitter]");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(flag: &str, v: Option<String>) -> T {
    v.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage(&format!("{flag} needs a number")))
}

#[tokio::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "error".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).init();

    let qps = EDITION.qps_per_api();
    let mut base = DingScenario::standard();
    let mut modes = vec![Mode::Linked, Mode::Lookup];
    let mut buckets = vec![DingBuckets::Shipped];
    let mut receives = vec![100u32];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--incidents" => base.incidents = number(&arg, args.next()),
            "--responders" => base.responders = number(&arg, args.next()),
            "--workers" => base.workers = number(&arg, args.next()),
            "--timeout" => base.timeout = Duration::from_secs(number(&arg, args.next())),
            "--no-jitter" => base.jitter = false,
            "--linked" => modes = vec![Mode::Linked],
            "--lookup" => modes = vec![Mode::Lookup],
            "--modes" => {
                let list = args.next().unwrap_or_else(|| usage("--modes needs a list"));
                modes = list
                    .split(',')
                    .map(|m| match m.trim() {
                        "linked" => Mode::Linked,
                        "lookup" => Mode::Lookup,
                        other => usage(&format!("unknown mode {other}")),
                    })
                    .collect();
            }
            "--buckets" => {
                let list = args.next().unwrap_or_else(|| usage("--buckets needs a list"));
                buckets = list.split(',').map(|b| DingBuckets::parse(b.trim(), qps).unwrap_or_else(|| usage(&format!("unknown buckets {b}")))).collect();
            }
            "--max-receives" => {
                let list = args.next().unwrap_or_else(|| usage("--max-receives needs a list"));
                receives = list.split(',').map(|n| n.trim().parse().unwrap_or_else(|_| usage(&format!("bad receive count {n}")))).collect();
            }
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown option {other}")),
        }
    }
    if base.incidents == 0 || base.responders == 0 || base.workers == 0 {
        usage("incidents, responders and workers must be at least 1");
    }

    let mut runs = Vec::new();
    for &mode in &modes {
        for b in &buckets {
            for &max_receive_count in &receives {
                let scenario = DingScenario { mode, buckets: b.clone(), max_receive_count, ..base.clone() };
                match run(&scenario).await {
                    Ok(report) => {
                        println!("{}", report.table());
                        runs.push(report.json());
                    }
                    Err(e) => {
                        eprintln!("run failed ({:?}, {}): {e}", mode, b.name());
                        runs.push(serde_json::json!({"mode": mode.name(), "buckets": b.name(), "max_receive_count": max_receive_count, "error": e}));
                    }
                }
            }
        }
    }
    println!("{}", serde_json::json!({ "bench": "dingtalk_burst", "runs": runs }));
}
