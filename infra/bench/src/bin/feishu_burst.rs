//! Issue 5's benchmark: N incidents × R responders fired at once against the Feishu
//! sandbox with its documented limits enforced; reports the time against the lower bound
//! the limits allow and the count of rate-limited answers.
//!
//! ```text
//! cargo build --release --workspace --bin feishu_burst
//! target/release/feishu_burst --incidents 100 --responders 10
//! ```
//!
//! (`cargo run --release --bin feishu_burst -- …` finds the binary only once the root
//! manifest lists `infra/bench` in `default-members`: the root is a package, so without
//! `--workspace` cargo looks in it alone, and `cargo run` takes no `--workspace`.)
//!
//! Options (lists are comma-separated; every combination is run, in order):
//!   --incidents N          default 100
//!   --responders R         default 10 (distinct per incident: N × R users)
//!   --workers W            concurrent worker loops, default 8
//!   --linked | --lookup    one mode only (default: both, linked first)
//!   --modes linked,lookup
//!   --buckets LIST         shipped | proposed | reserve | exact
//!                          | app=CAP:MS[+messages=CAP:MS][+chat=CAP:MS][+reserve]
//!                          default shipped,proposed,reserve (see `warroom_bench::Buckets`)
//!   --max-receives LIST    the queue's redrive limit; default 100 (as template.yaml)
//!   --timeout SECS         per run, default 300
//! Prints a table per run, then one JSON line: {"runs": [...]}. `RUST_LOG` sets the log
//! filter (default `error`).

use std::time::Duration;
use warroom_bench::{run, Buckets, Mode, Scenario};

fn usage(problem: &str) -> ! {
    eprintln!("feishu_burst: {problem}");
    eprintln!("usage: feishu_burst [--incidents N] [--responders R] [--workers W] [--linked|--lookup|--modes linked,lookup] [--buckets shipped,proposed,reserve,exact,app=CAP:MS+reserve] [--max-receives 100] [--timeout SECS]");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(flag: &str, v: Option<String>) -> T {
    v.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage(&format!("{flag} needs a number")))
}

#[tokio::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "error".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).init();

    let mut base = Scenario::issue5();
    let mut modes = vec![Mode::Linked, Mode::Lookup];
    let mut buckets = vec![Buckets::Shipped, Buckets::proposed(), Buckets::reserve()];
    let mut receives = vec![100u32];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--incidents" => base.incidents = number(&arg, args.next()),
            "--responders" => base.responders = number(&arg, args.next()),
            "--workers" => base.workers = number(&arg, args.next()),
            "--timeout" => base.timeout = Duration::from_secs(number(&arg, args.next())),
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
                buckets = list.split(',').map(|b| Buckets::parse(b.trim()).unwrap_or_else(|| usage(&format!("unknown buckets {b}")))).collect();
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
                let scenario = Scenario { mode, buckets: b.clone(), max_receive_count, ..base.clone() };
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
    println!("{}", serde_json::json!({ "bench": "feishu_burst", "runs": runs }));
}
