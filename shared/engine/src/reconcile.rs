//! One pass over an incident's war room: read the desired state (wanted? status?
//! responders?) and the actual one (chat? members? card shown?), take the next steps.
//! Every step is safe to repeat, so duplicate, retried or reordered jobs do no harm.

use crate::members::Reachable;
use crate::{Engine, EngineError};
use std::sync::Arc;
use warroom_core::{
    Actor, ApiFamily, ImError, ImPlatform, Incident, IncidentId, Integration, IntegrationStatus, Tenant, TenantId, TimelineAction, Timestamp, WarRoomState,
};

/// What one pass knows besides the incident.
pub(crate) struct Pass {
    pub tenant: Tenant,
    pub now: Timestamp,
}

impl Engine {
    pub async fn reconcile(&self, tenant_id: &TenantId, incident_id: &IncidentId) -> Result<(), EngineError> {
        let Some(incident) = self.store.get_incident(tenant_id, incident_id).await? else { return Ok(()) };
        let Some(tenant) = self.store.get_tenant(tenant_id).await? else { return Ok(()) };
        let pass = Pass { tenant, now: self.clock.now() };
        match incident.war_room.state {
            WarRoomState::Dismissed | WarRoomState::DisbandedExternally => Ok(()),
            WarRoomState::None => {
                let dismissed_before_created = incident.war_room.dismiss_at.is_some_and(|t| t <= pass.now);
                // A create already begun (its idempotency key stored) may have made the chat
                // before its answer was lost: it is finished even if the incident closed
                // meanwhile, so the chat is found, recorded and dismissed, never left behind.
                let begun = incident.war_room.create_key.is_some();
                if !incident.war_room.wanted || (!begun && (!incident.status.is_open() || dismissed_before_created)) {
                    return Ok(());
                }
                let Some((integration, platform)) = self.war_room_platform(&incident).await? else { return Ok(()) };
                let incident = self.guard(incident.clone(), self.create_room(&pass, platform.as_ref(), &integration, incident).await).await?;
                self.tend_room(&pass, platform.as_ref(), &integration, incident).await
            }
            WarRoomState::Open => {
                let Some((integration, platform)) = self.room_platform(&incident).await? else { return Ok(()) };
                self.tend_room(&pass, platform.as_ref(), &integration, incident).await
            }
        }
    }

    /// Members and card of an open room, or its dismissal when due.
    async fn tend_room(&self, pass: &Pass, platform: &dyn ImPlatform, integration: &Integration, incident: Incident) -> Result<(), EngineError> {
        if incident.war_room.dismiss_at.is_some_and(|t| t <= pass.now) {
            let incident = self.final_card(pass, platform, incident).await?;
            let result = self.dismiss_room(platform, incident.clone()).await;
            return self.guard(incident, result).await.map(|_| ());
        }
        let result = self.sync_members(pass, platform, integration, incident.clone()).await;
        let incident = self.guard(incident, result).await?;
        if incident.war_room.state != WarRoomState::Open {
            return Ok(());
        }
        let result = self.sync_card(pass, platform, incident.clone()).await;
        let incident = self.guard(incident, result).await?;
        // The room is ready: its matching runbook, once.
        self.post_runbook(platform, integration, &incident).await
    }

    /// Turns the errors that end this room (chat gone) or this integration (no
    /// permission, revoked) into recorded state; passes the retryable ones up.
    async fn guard(&self, incident: Incident, result: Result<Incident, EngineError>) -> Result<Incident, EngineError> {
        match result {
            Err(EngineError::Platform(ImError::ChatGone)) => self.mark_gone(incident).await,
            Err(EngineError::Platform(ImError::MissingPermission { scope })) => {
                let message = format!("the IM app lacks the permission {scope}; re-authorize the integration");
                self.report_blocked(&incident, TimelineAction::PermissionMissing, message).await?;
                Err(EngineError::Platform(ImError::MissingPermission { scope }))
            }
            Err(EngineError::Platform(e @ (ImError::Unauthorized(_) | ImError::Rejected { .. }))) => {
                self.report_blocked(&incident, TimelineAction::WarRoomCreateFailed, e.to_string()).await?;
                Err(EngineError::Platform(e))
            }
            other => other,
        }
    }

    /// Records a problem once (not on every pass) in the incident and its timeline.
    pub(crate) async fn report_blocked(&self, incident: &Incident, action: TimelineAction, message: String) -> Result<(), EngineError> {
        if incident.war_room.last_error.as_deref() == Some(message.as_str()) {
            return Ok(());
        }
        let saved = self
            .save_with(incident, |inc| {
                inc.war_room.last_error = Some(message.clone());
                true
            })
            .await?;
        self.note(&saved, Actor::System, action, message).await;
        Ok(())
    }

    /// The tenant's war-room integration and its client, or a recorded reason why not.
    async fn war_room_platform(&self, incident: &Incident) -> Result<Option<(Integration, Arc<dyn ImPlatform>)>, EngineError> {
        let id = self.store.war_room_integration(&incident.tenant_id).await?;
        let integration = match id {
            Some(id) => self.store.get_integration(&id).await?,
            None => None,
        };
        self.usable(incident, integration, "no IM integration has war room enabled").await
    }

    /// The integration the room was created on (it may no longer be the war-room one).
    async fn room_platform(&self, incident: &Incident) -> Result<Option<(Integration, Arc<dyn ImPlatform>)>, EngineError> {
        let integration = match &incident.war_room.integration_id {
            Some(id) => self.store.get_integration(id).await?,
            None => None,
        };
        self.usable(incident, integration, "the war room's IM integration was deleted").await
    }

    async fn usable(
        &self,
        incident: &Incident,
        integration: Option<Integration>,
        missing: &str,
    ) -> Result<Option<(Integration, Arc<dyn ImPlatform>)>, EngineError> {
        let Some(integration) = integration else {
            self.report_blocked(incident, TimelineAction::WarRoomCreateFailed, missing.to_string()).await?;
            return Ok(None);
        };
        if integration.status == IntegrationStatus::Revoked {
            let message = format!("the {} integration was uninstalled or its tokens revoked; re-authorize it", integration.platform);
            self.report_blocked(incident, TimelineAction::WarRoomCreateFailed, message).await?;
            return Ok(None);
        }
        let platform = self.platforms.for_integration(&integration)?;
        Ok(Some((integration, platform)))
    }

    /// Invites the reachable responders first (on WeCom the group only comes to be with its
    /// first members), then tells the room who could not be invited, once each.
    async fn sync_members(&self, pass: &Pass, platform: &dyn ImPlatform, integration: &Integration, incident: Incident) -> Result<Incident, EngineError> {
        let Some(chat) = incident.war_room.chat_id.clone() else { return Ok(incident) };
        let (reachable, unreachable) = self.resolve_responders(&incident, integration, platform).await?;
        let incident = self.invite(platform, &chat, &reachable, incident).await?;
        let _ = pass;
        self.report_unreachable(platform, integration, &chat, unreachable, incident).await
    }

    async fn report_unreachable(
        &self,
        platform: &dyn ImPlatform,
        integration: &Integration,
        chat: &warroom_core::ChatId,
        unreachable: Vec<crate::members::Unreachable>,
        mut incident: Incident,
    ) -> Result<Incident, EngineError> {
        for person in unreachable {
            if incident.war_room.unlinked_reported.contains(&person.key) {
                continue;
            }
            let (text, why) = if person.email_only {
                let why = format!("{} finds people by phone only, and Warroom has only an email for them", integration.platform);
                (format!("{} could not be invited: {why}. Add their phone number to their Warroom member profile.", person.display), why)
            } else {
                let text = format!(
                    "{} could not be invited: no linked {} account. Link it here: {}",
                    person.display,
                    integration.platform,
                    self.link_url(&integration.id)
                );
                (text, "no linked account, and no match by email or phone".to_string())
            };
            let key = crate::notice::notice_key("unl", &[incident.id.as_str(), &person.key]);
            self.send_once(platform, &crate::notice::Notice { integration: &integration.id, chat, text: &text, key: &key }).await?;
            // Noted by the one run whose write recorded it (a redelivered job racing this
            // one finds it recorded and notes nothing).
            let mut recorded = false;
            incident = self
                .save_with(&incident, |inc| {
                    recorded = inc.war_room.unlinked_reported.insert(person.key.clone());
                    recorded
                })
                .await?;
            if recorded {
                self.note(&incident, Actor::System, TimelineAction::ResponderUnlinked, format!("{}: {why}", person.display)).await;
            }
        }
        Ok(incident)
    }

    pub(crate) async fn invite(
        &self,
        platform: &dyn ImPlatform,
        chat: &warroom_core::ChatId,
        reachable: &[Reachable],
        incident: Incident,
    ) -> Result<Incident, EngineError> {
        let pending: Vec<&Reachable> =
            reachable.iter().filter(|r| !incident.war_room.invited.contains(&r.user) && !incident.war_room.invite_failed.contains_key(&r.user)).collect();
        if pending.is_empty() {
            return Ok(incident);
        }
        let users: Vec<_> = pending.iter().map(|r| r.user.clone()).collect();
        self.throttle(platform, ApiFamily::Members, Some(chat)).await?;
        let result = platform.add_members(chat, &users).await?;
        let permanent: Vec<_> = result.failed.iter().filter(|(_, e)| !e.is_retryable()).cloned().collect();
        // What this run's write recorded first: the timeline notes those only, so two runs of
        // the same job (a redelivery past the visibility timeout) note each invite once —
        // the incident's versioned write lets only one of them record it.
        let (mut invited_now, mut failed_now) = (Vec::new(), Vec::new());
        let saved = self
            .save_with(&incident, |inc| {
                invited_now = result.invited.iter().filter(|u| inc.war_room.invited.insert((*u).clone())).cloned().collect();
                failed_now.clear();
                for (user, error) in &permanent {
                    if !inc.war_room.invite_failed.contains_key(user) {
                        inc.war_room.invite_failed.insert(user.clone(), error.to_string());
                        failed_now.push((user.clone(), error.clone()));
                    }
                }
                !invited_now.is_empty() || !failed_now.is_empty()
            })
            .await?;
        let name_of = |u: &warroom_core::ImUserId| pending.iter().find(|r| &r.user == u).map(|r| r.display.clone()).unwrap_or_else(|| u.to_string());
        for user in &invited_now {
            self.note(&saved, Actor::System, TimelineAction::MemberInvited, format!("{} ({user})", name_of(user))).await;
        }
        // Passing failures are noted on every attempt (each is one); lasting ones once.
        let retrying = result.failed.iter().filter(|(_, e)| e.is_retryable()).cloned();
        for (user, error) in failed_now.into_iter().chain(retrying) {
            self.note(&saved, Actor::System, TimelineAction::InviteFailed, format!("{} ({user}): {error}", name_of(&user))).await;
        }
        // A passing failure (rate limit, outage) for some users: try them again later.
        if let Some((_, e)) = result.failed.iter().find(|(_, e)| e.is_retryable()) {
            return Err(e.clone().into());
        }
        Ok(saved)
    }
}
