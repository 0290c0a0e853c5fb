//! `warroom-sandbox [--listen 127.0.0.1:3100]`: demo mode's Slack and Feishu sandboxes in a
//! process of their own (see `warroom_local::sandbox_server`), for `warroom-local --sandbox-url`.

use std::net::SocketAddr;
use std::process::ExitCode;
use warroom_local::cli::{parse_listen, run_main};
use warroom_local::error::EXIT_USAGE;

const USAGE: &str = "\
usage: warroom-sandbox [--listen 127.0.0.1:3100]

Serves demo mode's Slack and Feishu sandboxes (the demo workspace, apps and people of
warroom-local) in their own process, so their chats outlive restarts of
`warroom-local --sandbox-url URL`. Also serves /control/ (state, call log, holding a call
in flight) for crash tests.

options:
  --listen HOST:PORT  where to serve HTTP (default 127.0.0.1:3100; port 0 picks a free one)
  -h, --help          this text";

fn parse(args: &[String]) -> Result<Option<SocketAddr>, String> {
    let mut listen = parse_listen("127.0.0.1:3100")?;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.split_once('=') {
            Some(("--listen", v)) => listen = parse_listen(v)?,
            _ if arg == "--listen" => listen = parse_listen(it.next().ok_or("--listen needs a value")?)?,
            _ if arg == "-h" || arg == "--help" => return Ok(None),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Some(listen))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listen = match parse(&args) {
        Ok(Some(listen)) => listen,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("warroom-sandbox: {message}\n\n{USAGE}");
            return ExitCode::from(EXIT_USAGE as u8);
        }
    };
    run_main("warroom-sandbox", "warn", warroom_local::sandbox_server::serve(listen))
}
