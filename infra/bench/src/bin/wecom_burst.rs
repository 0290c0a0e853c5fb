//! The WeCom burst: N incidents × R responders fired at once against the WeCom sandbox with
//! its limits enforced (per corp per API per minute; 30 app messages a minute to one member,
//! the excess dropped silently; 1,000 groups created a day, 1,000 changes an hour); reports
//! the time against the lower bound those limits allow (`warroom_bench::wecom::bound`), the
//! 45009 answers, the dropped messages, and the WeCom calls per incident by API.
//!
//! ```text
//! cargo build --release -p warroom-bench --bin wecom_burst
//! target/release/wecom_burst --incidents 100 --responders 10
//! ```
//!
//! Options (lists are comma-separated; every combination is run, in order):
//!   --incidents N          default 100
//!   --responders R         default 10 (distinct per incident: N × R users, each with a phone)
//!   --workers W            concurrent worker loops, default 8
//!   --linked | --lookup    one mode only (default: linked); lookup = by phone (user/getuserid)
//!   --modes linked,lookup
//!   --api-per-minute LIST  the sandbox's per-corp per-API limit; default 2000 (the figure the
//!                          adapter assumes; WeCom's current page says 10000, UNCERTAIN)
//!   --max-receives LIST    the queue's redrive limit; default 100
//!   --timeout SECS         per run, default 300
//!   --no-jitter            hide receive counts above 3 from the engine (no contention jitter)
//! Prints a table per run, then one JSON line: {"bench": "wecom_burst", "runs": [...]}.
//! `RUST_LOG` sets the log filter (default `error`).

use std::time::Duration;
use warroom_bench::wecom::{run, WeComScenario};
use warroom_bench::Mode;

fn usage(problem: &str) -> ! {
    eprintln!("wecom_burst: {problem}");
    eprintln!("usage: wecom_burst [--incidents N] [--responders R] [--workers W] [--linked|--lookup|--modes linked,lookup] [--api-per-minute 2000,10000] [--max-receives 100] [--timeout SECS] [--no-jitter]");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(flag: &str, v: Option<String>) -> T {
    v.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage(&format!("{flag} needs a number")))
}

fn list<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Vec<T> {
    let v = v.unwrap_or_else(|| usage(&format!("{flag} needs a list")));
    v.split(',').map(|n| n.trim().parse().unwrap_or_else(|_| usage(&format!("{flag}: bad value {n}")))).collect()
}

#[tokio::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "error".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).init();

    let mut base = WeComScenario::standard();
    let mut modes = vec![Mode::Linked];
    let mut per_minute = vec![base.sandbox.api_per_minute];
    let mut receives = vec![base.max_receive_count];
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
                let names: Vec<String> = list(&arg, args.next());
                modes = names
                    .iter()
                    .map(|m| match m.as_str() {
                        "linked" => Mode::Linked,
                        "lookup" => Mode::Lookup,
                        other => usage(&format!("unknown mode {other}")),
                    })
                    .collect();
            }
            "--api-per-minute" => per_minute = list(&arg, args.next()),
            "--max-receives" => receives = list(&arg, args.next()),
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown option {other}")),
        }
    }
    if base.incidents == 0 || base.responders == 0 || base.workers == 0 || per_minute.contains(&0) {
        usage("incidents, responders, workers and the per-minute limit must be at least 1");
    }

    let mut runs = Vec::new();
    for &mode in &modes {
        for &api_per_minute in &per_minute {
            for &max_receive_count in &receives {
                let mut scenario = WeComScenario { mode, max_receive_count, ..base.clone() };
                scenario.sandbox.api_per_minute = api_per_minute;
                match run(&scenario).await {
                    Ok(report) => {
                        println!("{}", report.table());
                        runs.push(report.json());
                    }
                    Err(e) => {
                        eprintln!("run failed ({mode:?}, {api_per_minute}/min): {e}");
                        runs.push(
                            serde_json::json!({"mode": mode.name(), "api_per_minute": api_per_minute, "max_receive_count": max_receive_count, "error": e}),
                        );
                    }
                }
            }
        }
    }
    println!("{}", serde_json::json!({ "bench": "wecom_burst", "runs": runs }));
}
