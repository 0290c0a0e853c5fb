//! `warroom-admin`: bootstrapping a deployment from a shell (the API needs a key, and the
//! first key has to come from somewhere), and re-sealing stored credentials after a key
//! rotation (`reseal`, docs/key-rotation.md).
//!
//! ```text
//! warroom-admin create-tenant --name NAME
//! warroom-admin create-key --tenant TENANT_ID --label LABEL [--scope admin|intake]
//! warroom-admin reseal
//! ```

mod reseal;

pub use reseal::{reseal, ResealError, ResealReport, Tally};
use warroom_core::{Clock, KeyScope, Store, Tenant, TenantId, TenantSettings};
use warroom_http::auth;

pub const USAGE: &str = "\
usage:
  warroom-admin create-tenant --name NAME
      Creates a tenant and prints its first admin API key (shown once).
  warroom-admin create-key --tenant TENANT_ID --label LABEL [--scope admin|intake]
      Adds an API key to an existing tenant and prints it (shown once).
  warroom-admin reseal
      After a key rotation: re-seals every stored credential under the current sealing
      key and reports counts. Safe to run again; exits 1 if a value opens with neither
      key. See docs/key-rotation.md.

environment:
  WARROOM_TABLE                  the DynamoDB table (required)
  WARROOM_DYNAMODB_ENDPOINT      a local emulator's endpoint (optional)
  WARROOM_SECRET_KEY_ARN         reseal only: the sealing key's secret (the stack output
                                 SealingKeySecretArn), or instead
  WARROOM_SECRET_KEY             reseal only: the key text itself
  WARROOM_SECRETSMANAGER_ENDPOINT  an emulator's Secrets Manager endpoint (optional)
  AWS_REGION, AWS credentials    as for any AWS tool";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    CreateTenant { name: String },
    CreateKey { tenant: TenantId, label: String, scope: KeyScope },
    Reseal,
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let (command, rest) = args.split_first().ok_or("no command given")?;
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        return Ok(Command::Help);
    }
    let mut flags: Vec<(&str, &str)> = Vec::new();
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        if matches!(flag.as_str(), "-h" | "--help") {
            return Ok(Command::Help);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (flag.as_str(), None),
        };
        if !name.starts_with("--") {
            return Err(format!("unexpected argument {flag:?}"));
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().map(String::as_str).ok_or_else(|| format!("{name} needs a value"))?,
        };
        flags.push((name, value));
    }
    let allowed: &[&str] = match command.as_str() {
        "create-tenant" => &["--name"],
        "create-key" => &["--tenant", "--label", "--scope"],
        "reseal" => &[],
        other => return Err(format!("unknown command {other:?}")),
    };
    if let Some((name, _)) = flags.iter().find(|(n, _)| !allowed.contains(n)) {
        return Err(format!("{command} does not take {name}"));
    }
    let get = |name: &str| flags.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty());
    let need = |name: &str| get(name).map(str::to_owned).ok_or_else(|| format!("{command} needs {name}"));
    match command.as_str() {
        "create-tenant" => Ok(Command::CreateTenant { name: need("--name")? }),
        "reseal" => Ok(Command::Reseal),
        _ => {
            let scope = match get("--scope").unwrap_or("admin") {
                "admin" => KeyScope::Admin,
                "intake" => KeyScope::Intake,
                other => return Err(format!("--scope must be admin or intake, got {other:?}")),
            };
            Ok(Command::CreateKey { tenant: TenantId::new(need("--tenant")?), label: need("--label")?, scope })
        }
    }
}

/// A new tenant and its first admin key (the key itself, to show once).
pub async fn create_tenant(store: &dyn Store, clock: &dyn Clock, name: &str) -> Result<(Tenant, String), String> {
    let now = clock.now();
    let tenant = Tenant { id: TenantId::generate(), name: name.to_owned(), settings: TenantSettings::default(), created_at: now, version: 0 };
    store.put_tenant(&tenant).await.map_err(|e| format!("could not store the tenant: {e}"))?;
    let (key, record) = auth::new_key(&tenant.id, "bootstrap", KeyScope::Admin, now);
    store.put_api_key(&record).await.map_err(|e| format!("could not store the API key: {e}"))?;
    Ok((tenant, key))
}

/// A new key for an existing tenant.
pub async fn create_key(store: &dyn Store, clock: &dyn Clock, tenant: &TenantId, label: &str, scope: KeyScope) -> Result<String, String> {
    store.get_tenant(tenant).await.map_err(|e| format!("could not read the tenant: {e}"))?.ok_or_else(|| format!("no tenant {tenant}"))?;
    let (key, record) = auth::new_key(tenant, label, scope, clock.now());
    store.put_api_key(&record).await.map_err(|e| format!("could not store the API key: {e}"))?;
    Ok(key)
}
