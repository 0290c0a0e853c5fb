//! `scan-test-logs --logs DIR [--source DIR]... [--min-files N]`: fails when any log under
//! DIR contains a secret of the test suite (see `warroom_testkit::log_scan`), or when DIR
//! holds fewer than N log files (a run that logged nothing proves nothing). `--list` prints
//! where each secret literal was found (labels only, never values).
//! Run by `./infra/test.sh` after `cargo test`.

use std::path::PathBuf;
use std::process::ExitCode;
use warroom_testkit::log_scan::{literals_under, Scanner};

const USAGE: &str = "usage: scan-test-logs --logs DIR [--source DIR]... [--min-files N] [--list]";

fn main() -> ExitCode {
    let mut logs = None;
    let mut sources = Vec::new();
    let mut min_files = 1usize;
    let mut list = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--list" {
            list = true;
            continue;
        }
        let value = args.next();
        match (arg.as_str(), value) {
            ("--logs", Some(v)) => logs = Some(PathBuf::from(v)),
            ("--source", Some(v)) => sources.push(PathBuf::from(v)),
            ("--min-files", Some(v)) => match v.parse() {
                Ok(n) => min_files = n,
                Err(_) => return fail(&format!("--min-files needs a number, not {v:?}")),
            },
            _ => return fail(USAGE),
        }
    }
    let Some(logs) = logs else { return fail(USAGE) };
    let needles = match literals_under(&sources) {
        Ok(n) => n,
        Err(e) => return fail(&format!("reading the sources: {e}")),
    };
    if list {
        // Labels only: where each secret literal was found, never its value.
        needles.iter().for_each(|n| println!("{}", n.label));
    }
    let scanner = Scanner::new(needles);
    let (findings, coverage) = match scanner.scan_dir(&logs) {
        Ok(r) => r,
        Err(e) => return fail(&format!("reading {}: {e}", logs.display())),
    };
    println!(
        "scanned {} log files ({} lines, {:.1} MiB) under {} for {} secret literals and {} kinds of minted credentials",
        coverage.files,
        coverage.lines,
        coverage.bytes as f64 / (1024.0 * 1024.0),
        logs.display(),
        scanner.needles(),
        scanner.minted_kinds()
    );
    if coverage.files < min_files {
        return fail(&format!("only {} log files (expected at least {min_files}): was test logging on?", coverage.files));
    }
    if findings.is_empty() {
        println!("no secret found in the logs");
        return ExitCode::SUCCESS;
    }
    for f in findings.iter().take(50) {
        println!("{}:{}: {} {}", f.file.display(), f.line, f.label, f.hint);
    }
    fail(&format!("{} secret(s) found in the logs", findings.len()))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("scan-test-logs: {message}");
    ExitCode::FAILURE
}
