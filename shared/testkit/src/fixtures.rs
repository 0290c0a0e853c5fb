//! Small, valid domain objects for tests.

use warroom_core::*;

pub const T0: Timestamp = Timestamp(1_763_715_600_000);

pub fn tenant_id() -> TenantId {
    TenantId::generate()
}

pub fn tenant(id: &TenantId) -> Tenant {
    Tenant { id: id.clone(), name: format!("Tenant {id}"), settings: TenantSettings::default(), created_at: T0, version: 0 }
}

pub fn member(tenant: &TenantId, id: &str, name: &str) -> Member {
    Member {
        tenant_id: tenant.clone(),
        id: id.into(),
        name: name.into(),
        email: Some(format!("{}@example.com", name.to_lowercase().replace(' ', "."))),
        phone: Some("+8613800000000".into()),
        role: Default::default(),
        updated_at: T0,
    }
}

pub fn integration(tenant: &TenantId, platform: Platform) -> Integration {
    Integration {
        tenant_id: tenant.clone(),
        id: IntegrationId::generate(),
        platform,
        name: format!("{platform} workspace"),
        external_id: Some(format!("EXT{}", ids::random_suffix())),
        credentials: SealedCredentials("c2VhbGVk".into()),
        granted_scopes: vec!["chat:write".into()],
        war_room_enabled: false,
        status: IntegrationStatus::Active,
        created_at: T0,
        updated_at: T0,
        version: 0,
    }
}

pub fn link(tenant: &TenantId, integration: &IntegrationId, member: &str, user: &str) -> UserLink {
    UserLink {
        tenant_id: tenant.clone(),
        integration_id: integration.clone(),
        member_id: member.into(),
        im_user_id: user.into(),
        method: LinkMethod::Email,
        linked_at: T0,
    }
}

pub fn incident(tenant: &TenantId, external_id: &str, created_at: Timestamp) -> Incident {
    Incident {
        tenant_id: tenant.clone(),
        id: IncidentId::generate(),
        source: SourceRef { source: "generic".into(), external_id: external_id.into() },
        title: format!("Incident {external_id}"),
        description: "disk full on db-1".into(),
        severity: Severity::Critical,
        status: Status::Triggered,
        snoozed_until: None,
        responders: vec![Responder { name: Some("Ada".into()), email: Some("ada@example.com".into()), phone: None, member_id: None }],
        labels: [("service".to_string(), "db".to_string())].into(),
        url: Some("https://monitoring.example.com/i/1".into()),
        created_at,
        updated_at: created_at,
        source_updated_at: created_at,
        war_room: WarRoom::default(),
        synced: None,
        version: 0,
    }
}

pub fn entry(incident: &Incident, at: Timestamp, action: TimelineAction, detail: &str) -> TimelineEntry {
    TimelineEntry::new(incident.tenant_id.clone(), incident.id.clone(), at, Actor::System, action, detail)
}
