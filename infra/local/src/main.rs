//! `warroom-local`: parses the arguments, sets up logging (stderr) and runs the stack.

use std::process::ExitCode;
use warroom_local::cli::{self, Command};
use warroom_local::error::EXIT_USAGE;

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
    cli::run_main("warroom-local", "warn,warroom_local=info", warroom_local::run(options))
}
