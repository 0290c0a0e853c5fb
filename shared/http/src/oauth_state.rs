//! Single-use, expiring OAuth `state` values (shared by the API, which starts installs, and
//! the OAuth function, which finishes them), kept in the store (so any instance can
//! finish a flow another one started).

use crate::AppState;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use warroom_core::{IntegrationId, TenantId};

pub const TTL: Duration = Duration::from_secs(600);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// A Slack install (new workspace) or re-authorize (`integration` set).
    SlackInstall { tenant_id: TenantId, integration_id: Option<IntegrationId> },
    /// Someone signing in from the IM app to link their account.
    SignIn { tenant_id: TenantId, integration_id: IntegrationId },
}

fn key(state: &str) -> String {
    format!("oauth:{state}")
}

/// Stores `pending` under a fresh random state and returns the state.
pub async fn begin(app: &AppState, pending: &Pending) -> Result<String, warroom_core::StoreError> {
    let state = format!("{}{}", warroom_core::ids::random_suffix(), warroom_core::ids::random_suffix());
    let value = serde_json::to_string(pending).expect("pending state serializes");
    app.store().put_ephemeral(&key(&state), &value, TTL, app.clock().now()).await?;
    Ok(state)
}

/// Takes the state: `None` if unknown, expired or already used.
pub async fn finish(app: &AppState, state: &str) -> Result<Option<Pending>, warroom_core::StoreError> {
    if state.is_empty() || state.len() > 64 {
        return Ok(None);
    }
    let Some(value) = app.store().take_ephemeral(&key(state), app.clock().now()).await? else { return Ok(None) };
    Ok(serde_json::from_str(&value).ok())
}
