//! Issue 7's load: IM callbacks at a fixed rate (open loop) against the real
//! `warroom-local` binary in demo mode: Slack and Feishu ones signed by the bench, DingTalk
//! and WeCom ones relayed by the stack's DingTalk and WeCom sandboxes (DingTalk's card
//! callbacks are signed with a secret only the sandbox and the bundle know; a WeCom click
//! carries a single-use ResponseCode only the sandbox can issue; so the sandboxes' work is in
//! their latency). Reports latency, errors, the stack's memory and CPU, the DingTalk and
//! WeCom calls their limits refused, the WeCom messages dropped for the per-member limit, and
//! whether everything drained cleanly. Exits 1 unless the run had zero errors (a dropped
//! WeCom message is one).
//!
//! ```text
//! cargo build --release --workspace --bin warroom-local --bin callback_load
//! target/release/callback_load                       # 200/s for 60 s
//! target/release/callback_load --rate 800 --duration 60 --json
//! ```
//!
//! Options:
//!   --rate N             callbacks a second (default 200)
//!   --duration SECS      (default 60)
//!   --mix LIST           kind=weight,… of slack_message, slack_mention, slack_click,
//!                        feishu_message, feishu_mention, feishu_click,
//!                        dingtalk_mention, dingtalk_click, wecom_mention, wecom_click
//!                        (default slack_message=73,slack_mention=1,slack_click=30,
//!                        feishu_message=52,feishu_mention=2,feishu_click=30,
//!                        dingtalk_mention=1,dingtalk_click=5,wecom_mention=1,wecom_click=5)
//!   --rooms N            war rooms per platform (default 20; Slack, Feishu, DingTalk and
//!                        WeCom)
//!   --stack-bin PATH     warroom-local (default: next to this binary)
//!   --stack-workers N    the stack's worker loops (default 2, as warroom-local's)
//!   --data-root DIR      where the stack's temporary data directory goes (default the
//!                        system temp dir; /dev/shm takes the disk's fsync out of the measure)
//!   --timeout SECS       per callback (default 10)
//!   --drain-timeout SECS after the load (default 180)
//!   --max-in-flight N    (default 4000)
//!   --resolve-from F     share of the run after which clicks press Resolve (default 0.8)
//!   --json               one JSON object instead of the table

use std::path::PathBuf;
use std::time::Duration;
use warroom_bench::load::{self, Config, Mix};

fn usage(problem: &str) -> ! {
    eprintln!("callback_load: {problem}");
    eprintln!("usage: callback_load [--rate 200] [--duration 60] [--mix kind=weight,…] [--rooms 20] [--stack-bin PATH] [--stack-workers 2] [--data-root DIR] [--timeout 10] [--drain-timeout 180] [--max-in-flight 4000] [--resolve-from 0.8] [--json]");
    std::process::exit(2)
}

fn number<T: std::str::FromStr>(flag: &str, v: Option<String>) -> T {
    v.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage(&format!("{flag} needs a number")))
}

/// `warroom-local` beside this executable (both are built into the same target dir).
fn default_stack_bin() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.parent().map(|dir| dir.join("warroom-local")).unwrap_or_else(|| PathBuf::from("warroom-local"))
}

#[tokio::main]
async fn main() {
    let mut config = Config::new(default_stack_bin());
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rate" => config.rate = number(&arg, args.next()),
            "--duration" => config.duration = Duration::from_secs_f64(number(&arg, args.next())),
            "--mix" => config.mix = Mix::parse(&args.next().unwrap_or_else(|| usage("--mix needs a list"))).unwrap_or_else(|e| usage(&e)),
            "--rooms" => config.rooms = number(&arg, args.next()),
            "--stack-bin" => config.stack_bin = PathBuf::from(args.next().unwrap_or_else(|| usage("--stack-bin needs a path"))),
            "--stack-workers" => config.stack_workers = number(&arg, args.next()),
            "--data-root" => config.data_root = PathBuf::from(args.next().unwrap_or_else(|| usage("--data-root needs a directory"))),
            "--timeout" => config.request_timeout = Duration::from_secs_f64(number(&arg, args.next())),
            "--drain-timeout" => config.drain_timeout = Duration::from_secs_f64(number(&arg, args.next())),
            "--max-in-flight" => config.max_in_flight = number(&arg, args.next()),
            "--resolve-from" => config.resolve_from = number(&arg, args.next()),
            "--json" => json = true,
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown option {other}")),
        }
    }
    match load::run(&config).await {
        Ok(report) => {
            if json {
                println!("{}", report.json());
            } else {
                println!("{}", report.table());
            }
            if !report.clean() {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("callback_load: {e}");
            std::process::exit(1);
        }
    }
}
