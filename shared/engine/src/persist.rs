//! Writing an incident back with its version check. Jobs of one incident never run in
//! parallel, but the HTTP functions (intake, card clicks) may change it meanwhile: on a
//! conflict the change is re-applied to a fresh read, so neither side's change is lost.

use crate::{Engine, EngineError};
use warroom_core::{Incident, StoreError};

const ATTEMPTS: usize = 8;

impl Engine {
    /// Applies `change` to `incident` and stores it; on a version conflict re-reads and
    /// re-applies. `change` returns false when there is nothing to write.
    pub(crate) async fn save_with<F>(&self, incident: &Incident, mut change: F) -> Result<Incident, EngineError>
    where
        F: FnMut(&mut Incident) -> bool + Send,
    {
        let mut current = incident.clone();
        for _ in 0..ATTEMPTS {
            let mut next = current.clone();
            if !change(&mut next) {
                return Ok(current);
            }
            match self.store.update_incident(&next).await {
                Ok(saved) => return Ok(saved),
                Err(StoreError::VersionConflict { .. }) => {
                    current = self
                        .store
                        .get_incident(&incident.tenant_id, &incident.id)
                        .await?
                        .ok_or_else(|| EngineError::NotFound(format!("incident {}", incident.id)))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::VersionConflict { expected: current.version }.into())
    }
}
