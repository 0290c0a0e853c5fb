//! Status sync back to the source: a job compares what the source was last told with the
//! incident now, and pushes the difference. Pushing the same state twice is harmless.

use crate::{Engine, EngineError};
use warroom_core::{Actor, IncidentId, SourceState, TenantId, TimelineAction};

impl Engine {
    /// `Err` only for failures worth retrying; permanent ones are recorded and dropped.
    pub async fn sync_status(&self, tenant_id: &TenantId, incident_id: &IncidentId) -> Result<(), EngineError> {
        let Some(incident) = self.store.get_incident(tenant_id, incident_id).await? else { return Ok(()) };
        let Some(tenant) = self.store.get_tenant(tenant_id).await? else { return Ok(()) };
        let state = SourceState { status: incident.status, snoozed_until: incident.snoozed_until };
        let label = source_label(&incident.source.source);
        if incident.synced == Some(state) {
            warroom_metrics::status_sync(label, warroom_metrics::SyncOutcome::Skipped);
            return Ok(());
        }
        let source = Actor::Source { name: incident.source.source.clone() };
        match self.sources.push(&tenant, &incident, incident.synced.as_ref()).await {
            Ok(done) => {
                let saved = self
                    .save_with(&incident, |inc| {
                        let changed = inc.synced != Some(state);
                        inc.synced = Some(state);
                        changed
                    })
                    .await?;
                self.note(&saved, source, TimelineAction::SyncedToSource, done.detail).await;
                warroom_metrics::status_sync(label, warroom_metrics::SyncOutcome::Ok);
                Ok(())
            }
            Err(e) if e.retryable => {
                warroom_metrics::status_sync(label, warroom_metrics::SyncOutcome::Deferred);
                Err(EngineError::Sync(e))
            }
            Err(e) => {
                warroom_metrics::status_sync(label, warroom_metrics::SyncOutcome::Failed);
                self.note(&incident, source, TimelineAction::SyncFailed, format!("not synced to {}: {}", incident.source.source, e.message)).await;
                Ok(())
            }
        }
    }
}

/// Sources as metric labels: the ones Warroom knows, everything else `other` (a label never
/// carries what a sender chose).
fn source_label(source: &str) -> &'static str {
    match source {
        "generic" => "generic",
        "alertmanager" => "alertmanager",
        "pagerduty" => "pagerduty",
        _ => "other",
    }
}
