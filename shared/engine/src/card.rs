//! The status card of a room: posted once, then edited in place (or posted again on each
//! change where the platform cannot edit).
//!
//! A post whose answer is lost (timeout, 5xx after the platform acted, a worker killed
//! before the id was written) must not leave a second card. So a marker is written before
//! the post (`card_posting`); a pass that finds it set asks the platform for the card an
//! earlier post left (`find_card`: Slack searches the history) or repeats the post where it
//! is idempotent by itself (Feishu's `uuid`), and records what it got as showing an unknown
//! state, which the usual edit then brings up to date. Each of these steps is written down
//! before the next call, so a rate limit between them defers the job without undoing it.
//! Where cards cannot be edited (none of today's platforms), a new card is posted on each
//! change and a lost post may show twice.

use crate::reconcile::Pass;
use crate::{Engine, EngineError};
use warroom_core::{Actor, ApiFamily, Card, ChatId, ImPlatform, Incident, TimelineAction};

impl Engine {
    pub(crate) async fn sync_card(&self, pass: &Pass, platform: &dyn ImPlatform, incident: Incident) -> Result<Incident, EngineError> {
        let Some(chat) = incident.war_room.chat_id.clone() else { return Ok(incident) };
        let card = Card::for_incident(&incident, pass.now);
        let fingerprint = card.fingerprint();
        let room = &incident.war_room;
        if room.card_fingerprint.as_deref() == Some(fingerprint.as_str()) && room.card_message_id.is_some() && !room.card_posting {
            return Ok(incident);
        }
        let can_edit = platform.capabilities().update_card;
        let incident =
            if room.card_posting && room.card_message_id.is_none() && can_edit { self.recover_card(platform, &chat, incident, &card).await? } else { incident };
        self.throttle(platform, ApiFamily::Message, Some(&chat)).await?;
        let (incident, message, action) = match (&incident.war_room.card_message_id, can_edit) {
            (Some(id), true) => {
                platform.update_card(&chat, id, &card).await?;
                (incident.clone(), id.clone(), TimelineAction::CardUpdated)
            }
            (posted, _) => {
                let action = if posted.is_some() { TimelineAction::CardUpdated } else { TimelineAction::CardPosted };
                let incident = self.save_with(&incident, |inc| !std::mem::replace(&mut inc.war_room.card_posting, true)).await?;
                (incident, platform.post_card(&chat, &card).await?, action)
            }
        };
        let saved = self
            .save_with(&incident, |inc| {
                inc.war_room.card_message_id = Some(message.clone());
                inc.war_room.card_fingerprint = Some(fingerprint.clone());
                inc.war_room.card_posting = false;
                true
            })
            .await?;
        if action == TimelineAction::CardPosted {
            // The first card: the room is ready for its people.
            let waited = saved.created_at.until(self.clock.now());
            warroom_metrics::room_opened(platform.platform().as_str(), waited);
        }
        self.note(&saved, Actor::System, action, card.summary()).await;
        if action == TimelineAction::CardUpdated {
            self.refresh_topic(platform, &chat, &card).await;
        }
        Ok(saved)
    }

    /// After a post whose outcome is unknown: the card it may have left, found in the chat
    /// or answered again by an idempotent post (else a new one), recorded as showing an
    /// unknown state.
    async fn recover_card(&self, platform: &dyn ImPlatform, chat: &ChatId, incident: Incident, card: &Card) -> Result<Incident, EngineError> {
        self.throttle(platform, ApiFamily::Read, Some(chat)).await?;
        let message = match platform.find_card(chat, card).await? {
            Some(found) => found,
            None => {
                self.throttle(platform, ApiFamily::Message, Some(chat)).await?;
                platform.post_card(chat, card).await?
            }
        };
        let saved = self
            .save_with(&incident, |inc| {
                inc.war_room.card_message_id = Some(message.clone());
                inc.war_room.card_fingerprint = None;
                inc.war_room.card_posting = false;
                true
            })
            .await?;
        self.note(&saved, Actor::System, TimelineAction::CardPosted, card.summary()).await;
        Ok(saved)
    }

    /// Before a room is dismissed, its card shows the final status (an archived chat can no
    /// longer be edited). A passing failure retries the pass; any other (the chat already
    /// gone, the card deleted) must not stop the dismissal, so it is only logged.
    pub(crate) async fn final_card(&self, pass: &Pass, platform: &dyn ImPlatform, incident: Incident) -> Result<Incident, EngineError> {
        match self.sync_card(pass, platform, incident.clone()).await {
            Ok(saved) => Ok(saved),
            Err(e) if e.is_retryable() => Err(e),
            Err(e) => {
                tracing::info!(incident = %incident.id, error = %e, "the card could not show the final status before the dismissal");
                Ok(incident)
            }
        }
    }

    /// The chat's header line follows the card. Best effort: the card is what matters, so a
    /// refusal or a busy bucket here is logged and left for the next change.
    async fn refresh_topic(&self, platform: &dyn ImPlatform, chat: &ChatId, card: &Card) {
        if !self.try_take(platform, ApiFamily::Topic, Some(chat)).await {
            tracing::info!(chat = %chat, "chat topic not updated: its rate limit is busy");
            return;
        }
        if let Err(e) = platform.set_topic(chat, &card.summary()).await {
            tracing::info!(chat = %chat, error = %e, "chat topic not updated");
        }
    }
}
