//! `warroom-admin`: creates a tenant and its first admin API key in a deployment's table.
//! Run `warroom-admin --help` for usage; the logic lives in `api::cli`.

use api::cli::{self, Command, USAGE};
use std::process::ExitCode;
use warroom_core::SystemClock;
use warroom_runtime::{Aws, Env};

/// Only the table (and an optional endpoint) matter here; the variables only the
/// functions use get placeholders, so an operator need not export them.
fn env() -> Result<Env, String> {
    let unused = ["WARROOM_QUEUE_URL", "WARROOM_PUBLIC_URL", "WARROOM_SECRET_KEY"];
    Env::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()).or_else(|| unused.contains(&k).then(|| "unused".to_owned())))
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(c) => c,
        Err(e) => {
            eprintln!("warroom-admin: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let env = match env() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("warroom-admin: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let aws = Aws::connect(&env).await;
    let result = match command {
        Command::CreateTenant { name } => cli::create_tenant(aws.store.as_ref(), &SystemClock, &name).await.map(|(tenant, key)| {
            println!("tenant:  {} ({})", tenant.id, tenant.name);
            println!("api key: {key}");
            println!("\nThe key is shown only this once. Use it as: Authorization: Bearer {key}");
        }),
        Command::CreateKey { tenant, label, scope } => cli::create_key(aws.store.as_ref(), &SystemClock, &tenant, &label, scope).await.map(|key| {
            println!("api key: {key}");
            println!("\nThe key is shown only this once.");
        }),
        Command::Help => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warroom-admin: {e}");
            ExitCode::FAILURE
        }
    }
}
