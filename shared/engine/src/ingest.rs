//! Incident events from sources. Repeated and out-of-order events never move an incident
//! backwards: an event older than the newest one applied is ignored, and a status the
//! incident has already passed (triggered after acknowledged) changes nothing.

use crate::{Engine, EngineError};
use warroom_core::{
    Action, Actor, Incident, IncidentEvent, IncidentId, Job, SourceState, Status, StoreError, Tenant, TenantId, TimelineAction, TimelineEntry, WarRoom,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    Created(IncidentId),
    Updated(IncidentId),
    /// Accepted, but it changes nothing (duplicate, stale, or not worth an incident).
    Ignored {
        incident: Option<IncidentId>,
        reason: String,
    },
}

/// The action that moves `current` towards what the source says, if any.
fn action_towards(current: Status, reported: Status) -> Option<Action> {
    match (current, reported) {
        (Status::Resolved, Status::Triggered) => Some(Action::Reopen),
        (Status::Triggered, Status::Acknowledged) => Some(Action::Acknowledge),
        (Status::Triggered | Status::Acknowledged, Status::Resolved) => Some(Action::Resolve),
        (Status::Closed, _) => None,
        (_, Status::Closed) => Some(Action::Close),
        _ => None,
    }
}

fn wants_war_room(tenant: &Tenant, event: &IncidentEvent) -> bool {
    event.war_room || tenant.settings.auto_create_min_severity.is_some_and(|min| event.severity >= min)
}

impl Engine {
    pub async fn ingest(&self, tenant_id: &TenantId, event: IncidentEvent) -> Result<IngestOutcome, EngineError> {
        let tenant = self.store.get_tenant(tenant_id).await?.ok_or_else(|| EngineError::NotFound(format!("tenant {tenant_id}")))?;
        if let Some(existing) = self.store.find_incident_by_source(tenant_id, &event.source).await? {
            return self.apply_event(&tenant, existing, event).await;
        }
        if !event.status.is_open() {
            return Ok(IngestOutcome::Ignored { incident: None, reason: format!("a new incident that is already {}", event.status) });
        }
        let incident = self.new_incident(&tenant, &event);
        match self.store.create_incident(&incident).await {
            Ok(created) => {
                self.note(
                    &created,
                    Actor::Source { name: event.source.source.clone() },
                    TimelineAction::IncidentOpened,
                    format!("{} ({})", created.title, created.status),
                )
                .await;
                if created.war_room.wanted {
                    self.note(&created, Actor::System, TimelineAction::WarRoomRequested, "severity rule or source asked for a war room").await;
                }
                self.enqueue_reconcile(&created).await?;
                Ok(IngestOutcome::Created(created.id))
            }
            // Two deliveries raced to create it: the loser applies its event as an update.
            Err(StoreError::AlreadyExists { .. }) => {
                let existing = self
                    .store
                    .find_incident_by_source(tenant_id, &event.source)
                    .await?
                    .ok_or_else(|| EngineError::NotFound(format!("incident for {}", event.source.external_id)))?;
                self.apply_event(&tenant, existing, event).await
            }
            Err(e) => Err(e.into()),
        }
    }

    fn new_incident(&self, tenant: &Tenant, event: &IncidentEvent) -> Incident {
        let now = self.clock.now();
        let mut incident = Incident {
            tenant_id: tenant.id.clone(),
            id: IncidentId::generate(),
            source: event.source.clone(),
            title: event.title.clone(),
            description: event.description.clone(),
            severity: event.severity,
            status: Status::Triggered,
            snoozed_until: None,
            responders: event.responders.clone().unwrap_or_default(),
            labels: event.labels.clone(),
            url: event.url.clone(),
            created_at: now,
            updated_at: now,
            source_updated_at: event.at,
            war_room: WarRoom { wanted: wants_war_room(tenant, event), ..WarRoom::default() },
            synced: None,
            version: 0,
        };
        if event.status == Status::Acknowledged {
            let _ = incident.apply(Action::Acknowledge, now);
        }
        // The source already knows its own status: nothing to push back.
        incident.synced = Some(SourceState { status: incident.status, snoozed_until: None });
        incident
    }

    async fn apply_event(&self, tenant: &Tenant, incident: Incident, event: IncidentEvent) -> Result<IngestOutcome, EngineError> {
        if event.at < incident.source_updated_at {
            return Ok(IngestOutcome::Ignored { incident: Some(incident.id), reason: "stale: a newer event was already applied".into() });
        }
        let now = self.clock.now();
        let auto_dismiss = tenant.settings.auto_dismiss_after_minutes;
        let wanted = wants_war_room(tenant, &event);
        let mut status_change = None;
        let saved = self
            .save_with(&incident, |inc| {
                let before = inc.clone();
                status_change = None;
                if let Some(action) = action_towards(inc.status, event.status) {
                    if let Ok(change) = inc.apply(action, now) {
                        status_change = Some(change);
                        inc.synced = Some(SourceState { status: inc.status, snoozed_until: inc.snoozed_until });
                    }
                }
                inc.title = event.title.clone();
                inc.description = event.description.clone();
                inc.severity = event.severity;
                inc.labels = event.labels.clone();
                inc.url = event.url.clone().or(inc.url.take());
                if let Some(responders) = &event.responders {
                    inc.responders = merge_responders(&inc.responders, responders);
                }
                if wanted && inc.status.is_open() {
                    inc.war_room.wanted = true;
                }
                if !inc.status.is_open() && before.status.is_open() {
                    if let Some(minutes) = auto_dismiss {
                        inc.war_room.dismiss_at = Some(now.plus(std::time::Duration::from_secs(u64::from(minutes) * 60)));
                    }
                }
                inc.source_updated_at = inc.source_updated_at.max(event.at);
                let changed = strip_times(inc) != strip_times(&before);
                if changed {
                    inc.updated_at = now;
                }
                changed
            })
            .await?;
        if saved.version == incident.version {
            return Ok(IngestOutcome::Ignored { incident: Some(incident.id), reason: "duplicate: nothing changed".into() });
        }
        let actor = Actor::Source { name: event.source.source.clone() };
        match status_change {
            Some(change) => self.note(&saved, actor, TimelineAction::StatusChanged, format!("{} → {} (reported by the source)", change.from, change.to)).await,
            None => self.note(&saved, actor, TimelineAction::IncidentUpdated, "details updated by the source").await,
        }
        if let Some(due) = saved.war_room.dismiss_at.filter(|_| incident.war_room.dismiss_at.is_none()) {
            self.schedule(&saved, due).await?;
        }
        self.enqueue_reconcile(&saved).await?;
        self.postmortem_on_close(tenant, incident.status.is_open(), &saved).await?;
        Ok(IngestOutcome::Updated(saved.id))
    }

    /// Queues a look at the incident as it is at this version.
    pub(crate) async fn enqueue_reconcile(&self, incident: &Incident) -> Result<(), EngineError> {
        self.queue.send(&Job::reconcile(incident.tenant_id.clone(), incident.id.clone(), incident.version)).await?;
        Ok(())
    }

    /// Wakes the incident at `due` without holding up its other jobs.
    pub(crate) async fn schedule(&self, incident: &Incident, due: warroom_core::Timestamp) -> Result<(), EngineError> {
        let kind = warroom_core::JobKind::Timer { incident_id: incident.id.clone(), due };
        self.queue.send(&Job::new(incident.tenant_id.clone(), kind, format!("at-{}", due.millis()))).await?;
        Ok(())
    }

    /// Appends to the timeline. A failure here is logged, not fatal: the operation it
    /// records has already happened and must not be undone or repeated for it.
    pub(crate) async fn note(&self, incident: &Incident, actor: Actor, action: TimelineAction, detail: impl Into<String>) {
        let entry = TimelineEntry::new(incident.tenant_id.clone(), incident.id.clone(), self.clock.now(), actor, action, detail);
        if let Err(e) = self.store.append_timeline(&entry).await {
            tracing::error!(incident = %incident.id, ?action, error = %e, "timeline append failed");
        }
    }
}

/// The new responder list, keeping member ids already matched for the same person.
fn merge_responders(old: &[warroom_core::Responder], new: &[warroom_core::Responder]) -> Vec<warroom_core::Responder> {
    new.iter()
        .map(|r| {
            let mut r = r.clone();
            if r.member_id.is_none() {
                r.member_id = old.iter().find(|o| same_person(o, &r)).and_then(|o| o.member_id.clone());
            }
            r
        })
        .collect()
}

pub(crate) fn same_person(a: &warroom_core::Responder, b: &warroom_core::Responder) -> bool {
    let eq = |x: &Option<String>, y: &Option<String>| matches!((x, y), (Some(x), Some(y)) if x.eq_ignore_ascii_case(y));
    eq(&a.email, &b.email) || eq(&a.phone, &b.phone) || (a.email.is_none() && b.email.is_none() && eq(&a.name, &b.name))
}

fn strip_times(i: &Incident) -> Incident {
    Incident { updated_at: warroom_core::Timestamp(0), ..i.clone() }
}
