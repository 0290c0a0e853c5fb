//! Each integration's health as its own IM calls saw it: when a call last succeeded, the
//! last failure that says something about the integration (refused credentials, a missing
//! permission, the platform down or refusing), and from those whether its token still
//! works. The metered client (metered.rs) reports every call here; the API shows it.
//!
//! Writes are bounded, not per call: a success is stored at most once a minute per
//! integration and process, a failure at most once every 10 s (the first of a burst is the
//! one worth keeping). The records live in the store's ephemeral space for 30 days, so a
//! deleted integration's records expire on their own.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::{Clock, ImError, Integration, IntegrationId, IntegrationStatus, Store, StoreResult, Timestamp};

const OK_EVERY: Duration = Duration::from_secs(60);
const ERROR_EVERY: Duration = Duration::from_secs(10);
const KEEP: Duration = Duration::from_secs(30 * 24 * 3600);
/// Platform messages can be long (and are shown on a page): the start says what happened.
const MESSAGE_CHARS: usize = 300;

fn ok_key(id: &IntegrationId) -> String {
    format!("integration-health:{id}:ok")
}

fn error_key(id: &IntegrationId) -> String {
    format!("integration-health:{id}:error")
}

/// The last failure, as stored and shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthError {
    pub at: Timestamp,
    /// `unauthorized`, `missing_permission`, `rate_limited`, `unavailable` or the platform's
    /// own code for a refusal.
    pub code: String,
    pub message: String,
}

/// What the API shows of an integration's health.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrationHealth {
    pub last_ok_at: Option<Timestamp>,
    pub last_error: Option<HealthError>,
}

/// Whether the integration's credentials work, as far as Warroom can tell without a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    Valid,
    /// Uninstalled, revoked, or the platform refused the credentials after their last success.
    Revoked,
    /// The credentials work but lack a permission war rooms need.
    MissingPermissions,
    /// No call has been made with them yet.
    Unknown,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Valid => "valid",
            TokenState::Revoked => "revoked",
            TokenState::MissingPermissions => "missing_permissions",
            TokenState::Unknown => "unknown",
        }
    }
}

impl IntegrationHealth {
    /// The token's state: the stored status and permissions first (they are what the
    /// platform said at install or revocation), then the calls' own evidence.
    pub fn token(&self, integration: &Integration, missing_permissions: bool) -> TokenState {
        // A refusal counts when nothing worked after it and the credentials were not
        // replaced since (a rotation updates the record).
        let refused_since_ok =
            self.last_error.as_ref().is_some_and(|e| e.code == "unauthorized" && e.at >= integration.updated_at && self.last_ok_at.is_none_or(|ok| e.at > ok));
        if integration.status == IntegrationStatus::Revoked || refused_since_ok {
            TokenState::Revoked
        } else if missing_permissions {
            TokenState::MissingPermissions
        } else if self.last_ok_at.is_some() {
            TokenState::Valid
        } else {
            TokenState::Unknown
        }
    }
}

/// The code stored for a failure; `None` for outcomes that say nothing about the
/// integration (a chat disbanded from the IM, a user who is not on the platform).
fn code_of(error: &ImError) -> Option<String> {
    match error {
        ImError::Unauthorized(_) => Some("unauthorized".into()),
        ImError::MissingPermission { .. } => Some("missing_permission".into()),
        ImError::RateLimited { .. } => Some("rate_limited".into()),
        ImError::Transient(_) => Some("unavailable".into()),
        ImError::Rejected { code, .. } => Some(code.chars().take(64).collect()),
        ImError::ChatGone | ImError::UserNotFound => None,
    }
}

/// Records calls' outcomes for the API to show; one per process (held by `Platforms`).
pub struct HealthLog {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// When this process last wrote each record (integration, is-error).
    written: Mutex<HashMap<(IntegrationId, bool), Timestamp>>,
}

impl HealthLog {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, written: Mutex::new(HashMap::new()) }
    }

    /// Claims this process's turn to write `integration`'s record of this kind.
    fn due(&self, integration: &IntegrationId, error: bool, now: Timestamp) -> bool {
        let every = if error { ERROR_EVERY } else { OK_EVERY };
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        let key = (integration.clone(), error);
        if written.get(&key).is_some_and(|at| at.plus(every) > now) {
            return false;
        }
        written.insert(key, now);
        true
    }

    /// Notes one call's outcome. A store failure is logged, never the call's failure: the
    /// health record must not break the war room it describes.
    pub async fn record(&self, integration: &IntegrationId, outcome: Result<(), &ImError>) {
        let now = self.clock.now();
        let (key, value) = match outcome {
            Ok(()) => {
                if !self.due(integration, false, now) {
                    return;
                }
                (ok_key(integration), now.millis().to_string())
            }
            Err(error) => {
                let Some(code) = code_of(error) else { return };
                if !self.due(integration, true, now) {
                    return;
                }
                let message: String = error.to_string().chars().take(MESSAGE_CHARS).collect();
                let record = HealthError { at: now, code, message };
                (error_key(integration), serde_json::to_string(&record).unwrap_or_default())
            }
        };
        if let Err(e) = self.store.put_ephemeral(&key, &value, KEEP, now).await {
            tracing::warn!(integration = %integration, error = %e, "integration health not recorded");
        }
    }
}

/// Reads what [`HealthLog`] kept for `integration`.
pub async fn read(store: &dyn Store, integration: &IntegrationId, now: Timestamp) -> StoreResult<IntegrationHealth> {
    let last_ok_at = store.get_ephemeral(&ok_key(integration), now).await?.and_then(|v| v.parse::<i64>().ok()).map(Timestamp);
    let last_error = store.get_ephemeral(&error_key(integration), now).await?.and_then(|v| serde_json::from_str(&v).ok());
    Ok(IntegrationHealth { last_ok_at, last_error })
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
