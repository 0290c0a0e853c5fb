//! Creating and dismissing the chat itself. Each side effect is written down right after
//! it happens; a crash in between is repaired by the next pass (the create call carries an
//! idempotency key stored before the call, so it finds the same chat again).

use crate::reconcile::Pass;
use crate::{Engine, EngineError};
use warroom_core::{Actor, ApiFamily, Card, ChatRef, CreateChat, ImError, ImPlatform, Incident, Integration, TimelineAction, WarRoomState};

const ALREADY_GONE: &str = "the chat was already gone when it was to be dismissed (an earlier dismiss whose answer was lost, or a disband from inside)";

/// Slack-safe and readable everywhere: lowercase, `[a-z0-9-]`, at most 80 characters.
pub(crate) fn chat_name(incident: &Incident) -> String {
    let mut slug: String = incident.title.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    let slug = slug.trim_matches('-');
    let suffix = incident.id.as_str().trim_start_matches("inc_");
    let suffix = &suffix[..suffix.len().min(6)];
    let room = 80 - "inc--".len() - suffix.len();
    let slug: String = slug.chars().take(room).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("inc-{suffix}")
    } else {
        format!("inc-{slug}-{suffix}")
    }
}

impl Engine {
    /// Creates the chat and records it. Returns the incident as saved.
    pub(crate) async fn create_room(
        &self,
        pass: &Pass,
        platform: &dyn ImPlatform,
        integration: &Integration,
        incident: Incident,
    ) -> Result<Incident, EngineError> {
        // The key is stored before the call, so a retry after a crash reuses it.
        let incident = if incident.war_room.create_key.is_none() || incident.war_room.integration_id.as_ref() != Some(&integration.id) {
            let key = format!("wr-{}", incident.id);
            let integration_id = integration.id.clone();
            self.save_with(&incident, |inc| {
                inc.war_room.create_key = Some(key.clone());
                inc.war_room.integration_id = Some(integration_id.clone());
                true
            })
            .await?
        } else {
            incident
        };
        self.throttle(platform, ApiFamily::CreateChat, None).await?;
        let request = CreateChat {
            name: chat_name(&incident),
            topic: Card::for_incident(&incident, pass.now).summary(),
            private: pass.tenant.settings.private_chats,
            idempotency_key: incident.war_room.create_key.clone().unwrap_or_default(),
        };
        let created = platform.create_chat(&request).await?;
        // The chat's way back to its incident first: should the worker die before the next
        // write, the retry finds the same chat and writes both again.
        let chat_ref = ChatRef {
            tenant_id: incident.tenant_id.clone(),
            integration_id: integration.id.clone(),
            chat_id: created.chat_id.clone(),
            incident_id: incident.id.clone(),
        };
        self.store.put_chat_ref(&chat_ref).await?;
        let chat_url = self.platforms.chat_link(&created.chat_id, created.url.clone());
        let saved = self
            .save_with(&incident, |inc| {
                inc.war_room.chat_id = Some(created.chat_id.clone());
                inc.war_room.chat_url = chat_url.clone();
                inc.war_room.state = WarRoomState::Open;
                inc.war_room.last_error = None;
                true
            })
            .await?;
        self.note(&saved, Actor::System, TimelineAction::WarRoomCreated, format!("{} chat {} ({})", integration.platform, created.chat_id, request.name)).await;
        // Said at the room's start, while there is still budget to act on it.
        if let Some(warning) = platform.quota_warning().await {
            self.note(&saved, Actor::System, TimelineAction::QuotaWarning, warning).await;
        }
        Ok(saved)
    }

    /// Captures the transcript (the chat's history is gone once it is disbanded), then
    /// dismisses the chat.
    pub(crate) async fn dismiss_room(&self, platform: &dyn ImPlatform, incident: Incident) -> Result<Incident, EngineError> {
        let Some(chat) = incident.war_room.chat_id.clone() else { return Ok(incident) };
        if platform.capabilities().history {
            self.throttle(platform, ApiFamily::Read, Some(&chat)).await?;
            match platform.chat_history(&chat).await {
                Ok(messages) => {
                    for m in &messages {
                        self.store.append_chat_message(&incident.tenant_id, &incident.id, m).await?;
                    }
                    self.note(&incident, Actor::System, TimelineAction::TranscriptCaptured, format!("{} messages saved before dismissing", messages.len()))
                        .await;
                }
                // Already gone while we were dismissing it: most likely our own dismiss whose
                // answer was lost. Either way the room is over, as wanted.
                Err(ImError::ChatGone) => return self.dismissed(platform, incident, Some(ALREADY_GONE)).await,
                Err(e) if e.is_retryable() => return Err(e.into()),
                // Dismissing is still right; the gap is on the record.
                Err(e) => self.note(&incident, Actor::System, TimelineAction::TranscriptCaptured, format!("transcript could not be read: {e}")).await,
            }
        }
        self.throttle(platform, ApiFamily::DismissChat, Some(&chat)).await?;
        match platform.dismiss_chat(&chat).await {
            Ok(()) => self.dismissed(platform, incident, None).await,
            Err(ImError::ChatGone) => self.dismissed(platform, incident, Some(ALREADY_GONE)).await,
            Err(e) => Err(e.into()),
        }
    }

    async fn dismissed(&self, platform: &dyn ImPlatform, incident: Incident, gone: Option<&str>) -> Result<Incident, EngineError> {
        let by = incident.war_room.dismissed_by.clone().unwrap_or(Actor::System);
        let saved = self
            .save_with(&incident, |inc| {
                inc.war_room.state = WarRoomState::Dismissed;
                true
            })
            .await?;
        let how = match gone {
            Some(why) => why,
            None if platform.capabilities().dismiss => "chat dismissed",
            None => "the platform cannot disband chats; the bot left it",
        };
        self.note(&saved, by, TimelineAction::WarRoomDismissed, how).await;
        Ok(saved)
    }

    /// The chat was disbanded or archived from inside the IM: recorded, never recreated.
    pub(crate) async fn mark_gone(&self, incident: Incident) -> Result<Incident, EngineError> {
        if incident.war_room.state == WarRoomState::DisbandedExternally {
            return Ok(incident);
        }
        let saved = self
            .save_with(&incident, |inc| {
                let changed = inc.war_room.state != WarRoomState::DisbandedExternally;
                inc.war_room.state = WarRoomState::DisbandedExternally;
                changed
            })
            .await?;
        self.note(&saved, Actor::System, TimelineAction::DisbandedExternally, "the chat was disbanded or archived from inside the IM").await;
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warroom_testkit::fixtures;

    #[test]
    fn chat_names_are_slugs_within_eighty_characters() {
        let mut inc = fixtures::incident(&"t".into(), "e", fixtures::T0);
        inc.id = "inc_abcdefghjk".into();
        inc.title = "DB: Primary   DOWN!! (eu-west-1)".into();
        assert_eq!(chat_name(&inc), "inc-db-primary-down-eu-west-1-abcdef");
        inc.title = "x".repeat(300);
        assert_eq!(chat_name(&inc).len(), 80);
        inc.title = "数据库故障".into();
        assert_eq!(chat_name(&inc), "inc-abcdef");
    }
}
