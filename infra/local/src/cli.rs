//! The command line: `warroom-local [--listen ADDR] [--data-dir DIR] [--no-sandbox |
//! --sandbox-url URL] [--workers N]`. Hand-rolled (five flags do not need a parser crate);
//! every mistake is one sentence.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = ".warroom-local";
pub const DEFAULT_WORKERS: usize = 2;
pub const MAX_WORKERS: usize = 64;

pub const USAGE: &str = "\
usage: warroom-local [--listen 127.0.0.1:3000] [--data-dir ./.warroom-local] [--no-sandbox | --sandbox-url URL] [--workers 2]

Runs the whole Warroom bundle in one process: every route of every function, the worker,
the embedded store and the in-process queue. By default it also starts the Slack and Feishu
sandboxes and seeds a demo tenant, so a war room opens without any real workspace.

options:
  --listen HOST:PORT  where to serve HTTP (default 127.0.0.1:3000; port 0 picks a free one)
  --data-dir DIR      the store, the sealing key, the queue kept across restarts and the
                      demo keys (default ./.warroom-local; created if missing)
  --no-sandbox        no IM sandboxes and no demo integrations: talk to the real Slack and
                      Feishu (WARROOM_SLACK_CLIENT_ID / _CLIENT_SECRET / _SIGNING_SECRET,
                      WARROOM_PUBLIC_URL as for a deployment)
  --sandbox-url URL   demo mode with the sandboxes of a running `warroom-sandbox` process
                      (e.g. http://127.0.0.1:3100) instead of in-process ones: its chats
                      outlive restarts of this process (crash tests); no sandbox web view
  --workers N         worker loops taking jobs from the queue (default 2, 0..=64)
  -h, --help          this text

environment:
  RUST_LOG            log filter (default: warn,warroom_local=info)";

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Demo mode (in-process or external sandboxes) or the real platforms.
    pub sandbox: SandboxMode,
    pub workers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3000),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            sandbox: SandboxMode::InProcess,
            workers: DEFAULT_WORKERS,
        }
    }
}

/// Where demo mode's sandboxes are, if demo mode is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SandboxMode {
    /// Served by this process, under `/sandbox` (the default).
    InProcess,
    /// Served by a `warroom-sandbox` process at this URL.
    External(String),
    /// No demo: the real Slack and Feishu.
    Off,
}

impl SandboxMode {
    pub fn is_demo(&self) -> bool {
        !matches!(self, SandboxMode::Off)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Run(Options),
    Help,
}

/// Parses the arguments after the program name. `--flag value` and `--flag=value` both work.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut options = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().cloned().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match name {
            "-h" | "--help" => return Ok(Command::Help),
            "--listen" => options.listen = parse_listen(&value(name)?)?,
            "--data-dir" => {
                let dir = value(name)?;
                if dir.trim().is_empty() {
                    return Err("--data-dir needs a directory".into());
                }
                options.data_dir = PathBuf::from(dir);
            }
            "--workers" => {
                let raw = value(name)?;
                options.workers = raw
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_WORKERS)
                    .ok_or_else(|| format!("--workers wants a number from 0 to {MAX_WORKERS}, got {raw:?}"))?;
            }
            "--no-sandbox" if inline.is_none() => set_sandbox(&mut options, SandboxMode::Off)?,
            "--no-sandbox" => return Err("--no-sandbox takes no value".into()),
            "--sandbox-url" => {
                let raw = value(name)?;
                let url = raw.trim().trim_end_matches('/');
                if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "https://".len() {
                    return Err(format!("--sandbox-url wants the sandbox's URL, e.g. http://127.0.0.1:3100, got {raw:?}"));
                }
                set_sandbox(&mut options, SandboxMode::External(url.to_string()))?;
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other => return Err(format!("unexpected argument {other:?} (warroom-local takes only options)")),
        }
    }
    Ok(Command::Run(options))
}

fn set_sandbox(options: &mut Options, mode: SandboxMode) -> Result<(), String> {
    if options.sandbox != SandboxMode::InProcess {
        return Err("--no-sandbox and --sandbox-url exclude each other (pass one)".into());
    }
    options.sandbox = mode;
    Ok(())
}

/// `HOST:PORT` with an IP host, `localhost:PORT`, or a bare `PORT` (on 127.0.0.1).
pub fn parse_listen(raw: &str) -> Result<SocketAddr, String> {
    let raw = raw.trim();
    let bad = || format!("--listen wants HOST:PORT, e.g. {DEFAULT_LISTEN}, got {raw:?}");
    if let Ok(port) = raw.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Some(port) = raw.strip_prefix("localhost:") {
        return port.parse::<u16>().map(|p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p)).map_err(|_| bad());
    }
    raw.parse::<SocketAddr>().map_err(|_| bad())
}

/// What both binaries do once their arguments are parsed: logs on stderr (`RUST_LOG`, else
/// `default_filter`; colours only on a terminal), a multi-thread runtime, and `serve` run to
/// its end. Every failure is one line on stderr, prefixed with the program's name, and the
/// exit code the error carries.
pub fn run_main<F>(program: &str, default_filter: &str, serve: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = crate::error::LocalResult<()>>,
{
    use std::io::IsTerminal;
    use std::process::ExitCode;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()).init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{program}: cannot start the async runtime: {e}");
            return ExitCode::from(crate::error::EXIT_FAILURE as u8);
        }
    };
    match runtime.block_on(serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::from(e.exit_code as u8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_arguments_mean_the_documented_defaults() {
        assert_eq!(parse(&[]).unwrap(), Command::Run(Options::default()));
        assert_eq!(Options::default().listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn every_flag_is_read_in_both_spellings() {
        let Command::Run(o) = parse(&args(&["--listen=127.0.0.1:0", "--data-dir", "/tmp/x", "--no-sandbox", "--workers=0"])).unwrap() else {
            panic!("not a run")
        };
        assert_eq!(o.listen.port(), 0);
        assert_eq!(o.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(o.sandbox, SandboxMode::Off);
        assert_eq!(o.workers, 0);
        assert_eq!(parse(&args(&["--workers", "3", "-h"])).unwrap(), Command::Help);
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(parse(&args(&["--bogus"])).unwrap_err(), "unknown option --bogus");
        assert_eq!(parse(&args(&["--listen"])).unwrap_err(), "--listen needs a value");
        assert!(parse(&args(&["--listen", "nowhere"])).unwrap_err().contains("HOST:PORT"));
        assert!(parse(&args(&["--workers", "many"])).unwrap_err().contains("0 to 64"));
        assert!(parse(&args(&["serve"])).unwrap_err().contains("\"serve\""));
        assert!(parse(&args(&["--sandbox-url", "127.0.0.1:3100"])).unwrap_err().contains("http://127.0.0.1:3100"));
        assert!(parse(&args(&["--no-sandbox", "--sandbox-url=http://127.0.0.1:1"])).unwrap_err().contains("exclude each other"));
    }

    #[test]
    fn an_external_sandbox_is_named_by_its_url() {
        let Command::Run(o) = parse(&args(&["--sandbox-url", "http://127.0.0.1:3100/"])).unwrap() else { panic!("not a run") };
        assert_eq!(o.sandbox, SandboxMode::External("http://127.0.0.1:3100".into()));
        assert!(o.sandbox.is_demo());
    }

    #[test]
    fn a_bare_port_or_localhost_listens_on_the_loopback() {
        assert_eq!(parse_listen("8080").unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(parse_listen("localhost:8080").unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(parse_listen("[::1]:8080").unwrap().to_string(), "[::1]:8080");
    }
}
