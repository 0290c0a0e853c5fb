//! `warroom-admin`: creates a tenant and its first admin API key in a deployment's table,
//! and re-seals stored credentials after a key rotation. Run `warroom-admin --help` for
//! usage; the logic lives in `api::cli`.

use api::cli::{self, Command, USAGE};
use std::process::ExitCode;
use warroom_core::SystemClock;
use warroom_runtime::{Aws, Env};

/// Only the table (and an optional endpoint) matter here, and the sealing key for
/// `reseal`; the variables only the functions use get placeholders, so an operator need
/// not export them.
fn env(command: &Command) -> Result<Env, String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let needs_key = matches!(command, Command::Reseal);
    Env::from_lookup(|k| match k {
        "WARROOM_QUEUE_URL" | "WARROOM_PUBLIC_URL" => var(k).or_else(|| Some("unused".to_owned())),
        // Never a placeholder for reseal: sealing under a made-up key would lose everything.
        "WARROOM_SECRET_KEY" | "WARROOM_SECRET_KEY_ARN" if !needs_key => (k == "WARROOM_SECRET_KEY").then(|| "unused".to_owned()),
        _ => var(k),
    })
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
    let env = match env(&command) {
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
        Command::Reseal => return reseal(&aws, &env).await,
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

async fn reseal(aws: &Aws, env: &Env) -> ExitCode {
    let secrets = match aws.sealing_key(env).await {
        Ok(secrets) => secrets,
        Err(e) => {
            eprintln!("warroom-admin: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !secrets.has_previous_key() {
        println!("No previous key is configured: checking that every sealed value opens with the current key.");
    }
    let report = match cli::reseal(aws.store.as_ref(), &secrets).await {
        Ok(report) => report,
        Err(e) => {
            let again = if e.is_retryable() { " (temporary: run reseal again)" } else { "" };
            eprintln!("warroom-admin: reseal stopped: {e}{again}\nValues re-sealed before it stopped stay re-sealed; running reseal again continues.");
            return ExitCode::FAILURE;
        }
    };
    println!("tenants:                 {}", report.tenants);
    for (name, tally) in [("integration credentials", &report.credentials), ("settings secrets", &report.settings)] {
        println!("{:<24} {} re-sealed, {} already current, {} unopenable", format!("{name}:"), tally.resealed, tally.current, tally.unopenable.len());
    }
    if report.all_current() {
        println!("\nEvery sealed value opens with the current key: the previous key can be removed (docs/key-rotation.md).");
        return ExitCode::SUCCESS;
    }
    eprintln!("\nThese values open with neither the current nor the previous key (they were unreadable before this run too):");
    for place in report.credentials.unopenable.iter().chain(&report.settings.unopenable) {
        eprintln!("  {place}");
    }
    eprintln!("No key configured now opens them, so dropping the previous key changes nothing for them: enter them again (reconnect the integration, PUT /api/v1/settings). If they were sealed under a key older than the previous one, put that key back as \"previous\" and run reseal again.");
    ExitCode::FAILURE
}
