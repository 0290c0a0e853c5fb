//! Bookkeeping items (the entities themselves are stored as the domain types).

use serde::{Deserialize, Serialize};
use warroom_core::{IncidentId, IntegrationId, TenantId, Timestamp};

/// A global pointer to tenant data, for ids that arrive without their tenant (API key
/// hash, integration id, external id). Holds only the tenant and the target id.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Pointer {
    pub tenant_id: TenantId,
    pub target: String,
}

impl Pointer {
    pub fn new(tenant_id: &TenantId, target: impl Into<String>) -> Self {
        Self { tenant_id: tenant_id.clone(), target: target.into() }
    }
}

/// The tenant's war-room guard: which integration holds it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct WarRoomGuard {
    pub integration_id: IntegrationId,
}

/// Source reference → incident id.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SourceIndex {
    pub incident_id: IncidentId,
}

/// A dedupe claim; the time is only for whoever inspects the file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Claim {
    pub claimed_at: Timestamp,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Ephemeral {
    pub value: String,
}

/// A counter's total (its expiry is the item's).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Counter {
    pub total: u64,
}

/// A GCRA bucket: its theoretical arrival time (see `warroom_core::ratelimit`).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Bucket {
    pub tat: i64,
}
