//! Tenants, incidents and a router wired to fixed settings.

use std::sync::Arc;
use warroom_core::*;
use warroom_secrets::SecretBox;
use warroom_sources::{secret_context, FixedSettings, OutboundPolicy, SourceRouter, SyncSettings};

/// 2025-11-21T09:00:00Z: fake receivers only; real Alertmanager tests use the wall clock.
pub const T0: Timestamp = Timestamp(1_763_715_600_000);

pub fn secrets() -> SecretBox {
    SecretBox::from_key(&[7u8; 32])
}

pub fn tenant() -> Tenant {
    Tenant { id: TenantId::generate(), name: "Acme".into(), settings: TenantSettings::default(), created_at: T0, version: 0 }
}

/// Seals `plaintext` the way the management API must: under `tenant:{id}:sync`.
pub fn seal(tenant: &Tenant, plaintext: &str) -> SealedCredentials {
    secrets().seal(plaintext, &secret_context(&tenant.id))
}

/// The test peers listen on loopback, which the default outbound policy refuses.
pub fn router(settings: SyncSettings) -> SourceRouter {
    router_with(settings, OutboundPolicy::allowing_loopback())
}

pub fn router_with(settings: SyncSettings, policy: OutboundPolicy) -> SourceRouter {
    SourceRouter::with_policy(Arc::new(FixedSettings(settings)), secrets(), policy).unwrap().with_clock(Arc::new(ManualClock::at(T0)))
}

pub fn incident(tenant: &Tenant, source: &str, external_id: &str, status: Status) -> Incident {
    Incident {
        tenant_id: tenant.id.clone(),
        id: IncidentId::generate(),
        source: SourceRef { source: source.into(), external_id: external_id.into() },
        title: "Disk full on db-1".into(),
        description: String::new(),
        severity: Severity::Critical,
        status,
        snoozed_until: None,
        responders: vec![],
        labels: Default::default(),
        url: Some("https://monitoring.example.com/i/1".into()),
        created_at: T0,
        updated_at: T0,
        source_updated_at: T0,
        war_room: WarRoom::default(),
        synced: None,
        version: 1,
    }
}

pub fn state(status: Status, snoozed_until: Option<Timestamp>) -> SourceState {
    SourceState { status, snoozed_until }
}
