//! `warroom-local`: parses the arguments, sets up logging (stderr) and runs the stack.

use std::io::IsTerminal;
use std::process::ExitCode;
use warroom_local::cli::{self, Command};
use warroom_local::error::{EXIT_FAILURE, EXIT_USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match cli::parse(&args) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("warroom-local: {message}\n\n{}", cli::USAGE);
            return ExitCode::from(EXIT_USAGE as u8);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,warroom_local=info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()).init();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("warroom-local: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE as u8);
        }
    };
    match runtime.block_on(warroom_local::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warroom-local: {e}");
            ExitCode::from(e.exit_code as u8)
        }
    }
}
