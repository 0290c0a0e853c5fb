//! What people do: card buttons, the manual create / dismiss, and what the IM tells us
//! about a chat (disbanded from inside, a message to capture).

use crate::{Engine, EngineError};
use std::time::Duration;
use warroom_core::{
    Action, Actor, Card, CardAction, ChatId, ChatMessage, ImUserId, Incident, IncidentId, IntegrationId, Job, JobKind, TenantId, TimelineAction,
    TransitionError, WarRoomState,
};

/// Who clicked, as the IM callback tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClickOrigin {
    pub integration_id: IntegrationId,
    pub im_user: ImUserId,
}

/// The answer to a click: a short message for the clicker and the card to show now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionReply {
    pub incident: Incident,
    pub message: String,
    pub card: Card,
    pub changed: bool,
}

impl Engine {
    pub async fn card_action(&self, origin: &ClickOrigin, incident_id: &IncidentId, action: CardAction) -> Result<ActionReply, EngineError> {
        let integration =
            self.store.get_integration(&origin.integration_id).await?.ok_or_else(|| EngineError::NotFound(format!("integration {}", origin.integration_id)))?;
        let tenant_id = integration.tenant_id.clone();
        let incident = self.store.get_incident(&tenant_id, incident_id).await?.ok_or_else(|| EngineError::NotFound(format!("incident {incident_id}")))?;
        let not_linked = || EngineError::NotLinked { link_url: self.link_url(&integration.id) };
        let link = self.store.link_by_im_user(&tenant_id, &integration.id, &origin.im_user).await?.ok_or_else(not_linked)?;
        let member = self.store.get_member(&tenant_id, &link.member_id).await?.ok_or_else(not_linked)?;
        let actor = Actor::Member { id: member.id.clone(), name: member.name.clone() };
        let now = self.clock.now();
        let lifecycle = match action {
            CardAction::Acknowledge => Action::Acknowledge,
            CardAction::Resolve => Action::Resolve,
            CardAction::Snooze { minutes } => Action::Snooze { until: now.plus(Duration::from_secs(u64::from(minutes) * 60)) },
        };
        let (saved, change) = self.change_status(&incident, lifecycle, actor.clone()).await?;
        let Some(change) = change else {
            let message = format!("Already {}", saved.status);
            return Ok(ActionReply { card: Card::for_incident(&saved, now), incident: saved, message, changed: false });
        };
        self.note(&saved, actor, TimelineAction::StatusChanged, format!("{} → {} by {} from {}", change.from, change.to, member.name, integration.platform))
            .await;
        let message = match lifecycle {
            Action::Snooze { until } => format!("Snoozed by {} until {until}", member.name),
            _ => format!("{} by {}", capitalised(change.to.as_str()), member.name),
        };
        Ok(ActionReply { card: Card::for_incident(&saved, now), incident: saved, message, changed: true })
    }

    /// Applies a status change made in Warroom (card, API), then queues the card update
    /// and the sync back to the source. `None` change: it was already so.
    pub async fn change_status(&self, incident: &Incident, action: Action, actor: Actor) -> Result<(Incident, Option<warroom_core::Change>), EngineError> {
        let tenant = self.store.get_tenant(&incident.tenant_id).await?.ok_or_else(|| EngineError::NotFound(format!("tenant {}", incident.tenant_id)))?;
        let now = self.clock.now();
        let mut refused: Option<TransitionError> = None;
        let mut change = None;
        let saved = self
            .save_with(incident, |inc| {
                refused = None;
                change = None;
                let was_open = inc.status.is_open();
                match inc.apply(action, now) {
                    Ok(c) => change = Some(c),
                    Err(e) => {
                        refused = Some(e);
                        return false;
                    }
                }
                if was_open && !inc.status.is_open() {
                    if let Some(minutes) = tenant.settings.auto_dismiss_after_minutes {
                        inc.war_room.dismiss_at = Some(now.plus(Duration::from_secs(u64::from(minutes) * 60)));
                        inc.war_room.dismissed_by = Some(actor.clone());
                    }
                }
                true
            })
            .await?;
        match refused {
            Some(TransitionError::AlreadyInState(_)) => return Ok((saved, None)),
            Some(e) => return Err(e.into()),
            None => {}
        }
        self.enqueue_reconcile(&saved).await?;
        self.postmortem_on_close(&tenant, incident.status.is_open(), &saved).await?;
        let sync = JobKind::SyncStatus { incident_id: saved.id.clone() };
        self.queue.send(&Job::new(saved.tenant_id.clone(), sync, format!("v{}", saved.version))).await?;
        for due in [saved.snoozed_until, saved.war_room.dismiss_at].into_iter().flatten() {
            if due > now {
                self.schedule(&saved, due).await?;
            }
        }
        Ok((saved, change))
    }

    /// The manual one-click create. A dismissed room is not recreated.
    pub async fn request_war_room(&self, tenant: &TenantId, incident_id: &IncidentId, actor: Actor) -> Result<Incident, EngineError> {
        let incident = self.store.get_incident(tenant, incident_id).await?.ok_or_else(|| EngineError::NotFound(format!("incident {incident_id}")))?;
        match incident.war_room.state {
            WarRoomState::Dismissed | WarRoomState::DisbandedExternally => {
                return Err(EngineError::Invalid("this incident's war room was dismissed; it is not recreated".into()))
            }
            WarRoomState::Open => return Ok(incident),
            WarRoomState::None => {}
        }
        if !incident.status.is_open() {
            return Err(EngineError::Invalid(format!("the incident is {}; war rooms are for open incidents", incident.status)));
        }
        if incident.war_room.wanted {
            return Ok(incident);
        }
        let saved = self.save_with(&incident, |inc| !std::mem::replace(&mut inc.war_room.wanted, true)).await?;
        self.note(&saved, actor, TimelineAction::WarRoomRequested, "war room requested").await;
        self.enqueue_reconcile(&saved).await?;
        Ok(saved)
    }

    /// The manual dismiss: the transcript is captured, then the chat disbanded.
    pub async fn request_dismiss(&self, tenant: &TenantId, incident_id: &IncidentId, actor: Actor) -> Result<Incident, EngineError> {
        let incident = self.store.get_incident(tenant, incident_id).await?.ok_or_else(|| EngineError::NotFound(format!("incident {incident_id}")))?;
        if incident.war_room.state != WarRoomState::Open {
            return Err(EngineError::Invalid("this incident has no open war room".into()));
        }
        let now = self.clock.now();
        let saved = self
            .save_with(&incident, |inc| {
                inc.war_room.dismiss_at = Some(now);
                inc.war_room.dismissed_by = Some(actor.clone());
                true
            })
            .await?;
        self.enqueue_reconcile(&saved).await?;
        Ok(saved)
    }

    /// The IM says the chat was disbanded / archived. Our own dismiss is not news.
    pub async fn chat_disbanded(&self, integration: &IntegrationId, chat: &ChatId) -> Result<Option<Incident>, EngineError> {
        let Some(chat_ref) = self.store.find_chat(integration, chat).await? else { return Ok(None) };
        let Some(incident) = self.store.get_incident(&chat_ref.tenant_id, &chat_ref.incident_id).await? else { return Ok(None) };
        if incident.war_room.state != WarRoomState::Open || incident.war_room.chat_id.as_ref() != Some(chat) {
            return Ok(Some(incident));
        }
        Ok(Some(self.mark_gone(incident).await?))
    }

    /// Keeps a war-room message for the transcript (platforms without a history API).
    /// Returns false when the chat is not a war room.
    pub async fn capture_message(&self, integration: &IntegrationId, chat: &ChatId, message: &ChatMessage) -> Result<bool, EngineError> {
        let Some(chat_ref) = self.store.find_chat(integration, chat).await? else { return Ok(false) };
        self.store.append_chat_message(&chat_ref.tenant_id, &chat_ref.incident_id, message).await?;
        Ok(true)
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}
