//! `lambda_bench`: each function's binary under a Lambda Runtime API emulator, against
//! the DynamoDB/SQS emulator (moto) and the IM sandboxes; prints cold-start, warm-latency,
//! memory and size figures per function and exits non-zero when any invocation fails.
//! See `warroom_bench::lambda` and the README's benchmark section.

use std::path::PathBuf;
use std::process::ExitCode;
use warroom_bench::lambda::{self, Config, Function};

const USAGE: &str = "\
usage: lambda_bench [--cold N] [--warm N] [--bin-dir DIR] [--functions a,b,...]

  --cold N        fresh processes per function, each answering one event (default 20)
  --warm N        invocations of the last process after its first (default 1000)
  --bin-dir DIR   where the function binaries are (default <target>/release)
  --functions     comma-separated subset of: incident-intake, im-events, card-actions,
                  oauth-callback, api, worker (default all)

Needs WARROOM_DYNAMODB_ENDPOINT and WARROOM_SQS_ENDPOINT (moto: infra/moto_server.py).";

fn parse(args: &[String]) -> Result<Config, String> {
    let mut config = Config { bin_dir: lambda::target_dir().join("release"), functions: Function::ALL.to_vec(), cold: 20, warm: 1000 };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        let count = |v: String| v.parse::<usize>().map_err(|_| format!("{flag} takes a whole number, not {v:?}"));
        match flag.as_str() {
            "--cold" => config.cold = count(value()?)?,
            "--warm" => config.warm = count(value()?)?,
            "--bin-dir" => config.bin_dir = PathBuf::from(value()?),
            "--functions" => {
                config.functions = value()?
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(|n| Function::parse(n).ok_or_else(|| format!("unknown function {n:?}")))
                    .collect::<Result<_, _>>()?
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(config)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
        Ok(config) => config,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lambda_bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lambda_bench: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(lambda::run(&config)) {
        Ok(report) => {
            print!("{}", report.table);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lambda_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
