//! `warroom-admin reseal`: after a key rotation, moves every sealed value in the store to
//! the current key, so the previous key can be dropped (docs/key-rotation.md).
//!
//! What is sealed, and under which context (grep `.seal(` to check this list is whole):
//! - each integration's credentials, under `integration:{id}` (`Platforms::seal`);
//! - secrets inside each tenant's `settings.sources` (status-sync and intake webhook
//!   secrets), under `tenant:{id}:sync` (`warroom_sources::secret_context`). Those settings
//!   are free-form JSON that other features add to, so every string there that has the
//!   shape of a sealed value is re-sealed, not a fixed list of fields.
//!
//! Idempotent and safe beside a live deployment: a value the current key already opens is
//! left alone (a second run writes nothing), and every write is a versioned update of the
//! record as just read, so a concurrent change (a credentials rotation, a settings save) is
//! never overwritten: the record is read again and re-sealed from there.

use serde_json::Value;
use warroom_core::{Integration, Store, StoreError, Tenant};
use warroom_secrets::{Resealed, SecretBox};

/// How often one record is read again after another writer got there first.
const ATTEMPTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("{what}: {source}")]
    Store { what: String, source: StoreError },
    #[error("{what} kept changing while it was re-sealed ({ATTEMPTS} attempts); run reseal again")]
    KeptChanging { what: String },
}

impl ResealError {
    /// Whether running `reseal` again may succeed (it is idempotent, so re-running is safe).
    pub fn is_retryable(&self) -> bool {
        match self {
            ResealError::Store { source, .. } => source.is_retryable(),
            ResealError::KeptChanging { .. } => true,
        }
    }
}

fn store_err(what: impl Into<String>) -> impl FnOnce(StoreError) -> ResealError {
    let what = what.into();
    move |source| ResealError::Store { what, source }
}

/// Counts for one kind of sealed value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Were under the previous key, now under the current one.
    pub resealed: usize,
    /// Already under the current key: left as they were.
    pub current: usize,
    /// Open with neither key: where they are (never what they hold). They were unreadable
    /// before this run too; they need entering again.
    pub unopenable: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.resealed += other.resealed;
        self.current += other.current;
        self.unopenable.extend(other.unopenable);
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResealReport {
    pub tenants: usize,
    pub credentials: Tally,
    pub settings: Tally,
}

impl ResealReport {
    /// True when every sealed value now opens with the current key alone.
    pub fn all_current(&self) -> bool {
        self.credentials.unopenable.is_empty() && self.settings.unopenable.is_empty()
    }
}

/// Re-seals every sealed value of every tenant under `secrets`' current key.
pub async fn reseal(store: &dyn Store, secrets: &SecretBox) -> Result<ResealReport, ResealError> {
    let mut report = ResealReport::default();
    for tenant in store.list_tenants().await.map_err(store_err("listing tenants"))? {
        report.tenants += 1;
        let id = tenant.id.clone();
        report.settings.add(reseal_tenant_settings(store, secrets, tenant).await?);
        let integrations = store.list_integrations(&id).await.map_err(store_err(format!("listing the integrations of tenant {id}")))?;
        for integration in integrations {
            report.credentials.add(reseal_integration(store, secrets, integration).await?);
        }
    }
    Ok(report)
}

/// The tenant's settings secrets; one versioned write for all of them.
async fn reseal_tenant_settings(store: &dyn Store, secrets: &SecretBox, mut tenant: Tenant) -> Result<Tally, ResealError> {
    let what = format!("tenant {} settings", tenant.id);
    for _ in 0..ATTEMPTS {
        let mut tally = Tally::default();
        let context = warroom_sources::secret_context(&tenant.id);
        let Some(sources) = tenant.settings.sources.as_mut() else { return Ok(tally) };
        reseal_json(sources, secrets, &context, &mut format!("tenant {} settings: sources", tenant.id), &mut tally);
        if tally.resealed == 0 {
            return Ok(tally);
        }
        match store.update_tenant(&tenant).await {
            Ok(_) => return Ok(tally),
            Err(StoreError::VersionConflict { .. }) => match store.get_tenant(&tenant.id).await.map_err(store_err(what.clone()))? {
                Some(fresh) => tenant = fresh,
                None => return Ok(Tally::default()),
            },
            // Deleted meanwhile: nothing left to re-seal.
            Err(StoreError::NotFound { .. }) => return Ok(Tally::default()),
            Err(e) => return Err(store_err(what)(e)),
        }
    }
    Err(ResealError::KeptChanging { what })
}

/// Re-seals, in place, every string under `value` that has the shape of a sealed value.
fn reseal_json(value: &mut Value, secrets: &SecretBox, context: &str, path: &mut String, tally: &mut Tally) {
    match value {
        Value::String(text) if SecretBox::looks_sealed(text) => match secrets.reseal(&warroom_core::SealedCredentials(text.clone()), context) {
            Ok(Resealed::AlreadyCurrent) => tally.current += 1,
            Ok(Resealed::Moved(sealed)) => {
                *text = sealed.0;
                tally.resealed += 1;
            }
            Err(_) => tally.unopenable.push(path.clone()),
        },
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                reseal_json(child, secrets, context, path, tally);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                reseal_json(child, secrets, context, path, tally);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The context `Platforms::seal` binds credentials to (pinned by the reseal tests, which
/// seal through `Platforms` and open the result through it).
fn integration_context(integration: &Integration) -> String {
    format!("integration:{}", integration.id)
}

/// One integration's credentials.
async fn reseal_integration(store: &dyn Store, secrets: &SecretBox, mut integration: Integration) -> Result<Tally, ResealError> {
    let what = format!("integration {} (tenant {})", integration.id, integration.tenant_id);
    for _ in 0..ATTEMPTS {
        let mut tally = Tally::default();
        let moved = match secrets.reseal(&integration.credentials, &integration_context(&integration)) {
            Ok(Resealed::AlreadyCurrent) => None,
            Ok(Resealed::Moved(sealed)) => Some(sealed),
            Err(_) => {
                tally.unopenable.push(format!("{what}: credentials"));
                return Ok(tally);
            }
        };
        let Some(sealed) = moved else {
            tally.current += 1;
            return Ok(tally);
        };
        let updated = Integration { credentials: sealed, ..integration.clone() };
        match store.update_integration(&updated).await {
            Ok(()) => {
                tally.resealed += 1;
                return Ok(tally);
            }
            Err(StoreError::VersionConflict { .. }) => match store.get_integration(&integration.id).await.map_err(store_err(what.clone()))? {
                Some(fresh) => integration = fresh,
                None => return Ok(Tally::default()),
            },
            Err(StoreError::NotFound { .. }) => return Ok(Tally::default()),
            Err(e) => return Err(store_err(what)(e)),
        }
    }
    Err(ResealError::KeptChanging { what })
}
