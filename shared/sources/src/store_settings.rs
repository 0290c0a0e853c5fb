//! Settings read from the tenant record, where the management API keeps them
//! (`tenant.settings.sources`, secrets sealed in place).

use crate::settings::{SettingsSource, SyncSettings};
use async_trait::async_trait;
use std::sync::Arc;
use warroom_core::{Store, SyncError, TenantId};

/// [`SettingsSource`] over the store: the deployment's normal wiring.
pub struct TenantSettings {
    store: Arc<dyn Store>,
}

impl TenantSettings {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl SettingsSource for TenantSettings {
    async fn sync_settings(&self, tenant: &TenantId) -> Result<SyncSettings, SyncError> {
        let record = self.store.get_tenant(tenant).await.map_err(|e| {
            if e.is_retryable() {
                SyncError::retryable(format!("settings unavailable: {e}"))
            } else {
                SyncError::permanent(format!("settings unreadable: {e}"))
            }
        })?;
        match record.and_then(|t| t.settings.sources) {
            Some(sources) => SyncSettings::from_sources(&sources),
            None => Ok(SyncSettings::default()),
        }
    }
}
