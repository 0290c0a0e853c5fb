//! The `SourceSync` port: pushing a status change made in the war room back to the
//! on-call system the incident came from.

use crate::incident::{Incident, SourceState};
use crate::tenant::Tenant;
use async_trait::async_trait;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyncError {
    pub message: String,
    pub retryable: bool,
    /// When the source asked to be called again (a 429 / 503 `Retry-After`): the job is
    /// deferred until then instead of backing off by its own count.
    pub retry_after: Option<std::time::Duration>,
}

impl SyncError {
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: true, retry_after: None }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: false, retry_after: None }
    }
    /// The source's own time to come back, for a retryable error (a permanent one has none).
    pub fn after(mut self, wait: Option<std::time::Duration>) -> Self {
        self.retry_after = wait.filter(|_| self.retryable);
        self
    }
}

/// What a push did, for the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synced {
    pub detail: String,
}

#[async_trait]
pub trait SourceSync: Send + Sync {
    /// Tells the source the incident's current status and snooze. `previous` is what was
    /// pushed last (so a source that needs it, e.g. a silence per snooze, acts once).
    /// Idempotent: pushing the same state twice does no harm at the source.
    async fn push(&self, tenant: &Tenant, incident: &Incident, previous: Option<&SourceState>) -> Result<Synced, SyncError>;
}
