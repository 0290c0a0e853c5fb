//! What the IM tells us: messages (captured for the transcript; text commands where there
//! are no buttons; @mentions for the assistant), chats disbanded from inside, the app
//! uninstalled.

use crate::{ClickOrigin, Engine, EngineError};
use warroom_core::{Actor, ApiFamily, CardAction, ChatId, ImEvent, Integration, IntegrationStatus, Job, JobKind, MessageId, TimelineAction};

/// What an event led to, for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    Captured,
    Command(String),
    MentionQueued,
    ChatGone,
    Revoked,
    Ignored,
}

/// `ack`, `resolve`, `snooze 30m` (also `/ack`, any case): the text commands that stand
/// in for the card's buttons.
pub fn parse_command(text: &str) -> Option<CardAction> {
    let text = text.trim().trim_start_matches('/').to_lowercase();
    let mut words = text.split_whitespace();
    let action = match (words.next()?, words.next()) {
        ("ack" | "acknowledge", None) => CardAction::Acknowledge,
        ("resolve", None) => CardAction::Resolve,
        ("snooze", Some(d)) => {
            let minutes = match d.strip_suffix('h') {
                Some(h) => h.parse::<u32>().ok()?.checked_mul(60)?,
                None => d.trim_end_matches('m').parse::<u32>().ok()?,
            };
            CardAction::parse(&format!("snooze:{minutes}"))?
        }
        _ => return None,
    };
    words.next().is_none().then_some(action)
}

impl Engine {
    pub async fn handle_im_event(&self, integration: &Integration, event: ImEvent) -> Result<EventOutcome, EngineError> {
        match event {
            ImEvent::Message { chat, message, mentions_bot } => {
                let Some(chat_ref) = self.store.find_chat(&integration.id, &chat).await? else { return Ok(EventOutcome::Ignored) };
                self.store.append_chat_message(&chat_ref.tenant_id, &chat_ref.incident_id, &message).await?;
                if let Some(action) = parse_command(&message.text) {
                    let origin = ClickOrigin { integration_id: integration.id.clone(), im_user: message.author.clone() };
                    let reply = match self.card_action(&origin, &chat_ref.incident_id, action).await {
                        Ok(reply) => reply.message,
                        Err(e @ (EngineError::NotLinked { .. } | EngineError::Refused(_))) => e.to_string(),
                        Err(e) => return Err(e),
                    };
                    let key = crate::notice::notice_key("re", &[integration.id.as_str(), chat.as_str(), &message.id]);
                    self.reply_in_chat(&chat_ref.tenant_id, &chat_ref.incident_id, integration, &chat, &reply, &key).await?;
                    return Ok(EventOutcome::Command(reply));
                }
                if mentions_bot && crate::assistant::answer::asks_for_postmortem(&message.text) {
                    let reply = self.postmortem_in_room(integration, &chat_ref, &chat, &message).await?;
                    let key = crate::notice::notice_key("pm-asked", &[integration.id.as_str(), chat.as_str(), &message.id]);
                    self.reply_in_chat(&chat_ref.tenant_id, &chat_ref.incident_id, integration, &chat, &reply, &key).await?;
                    return Ok(EventOutcome::Command(reply));
                }
                if mentions_bot {
                    let kind = JobKind::AnswerMention {
                        incident_id: chat_ref.incident_id.clone(),
                        chat_id: chat.clone(),
                        message_id: MessageId::new(message.id.clone()),
                    };
                    self.queue.send(&Job::new(chat_ref.tenant_id.clone(), kind, format!("msg-{}", message.id))).await?;
                    return Ok(EventOutcome::MentionQueued);
                }
                Ok(EventOutcome::Captured)
            }
            ImEvent::ChatGone { chat } => {
                self.chat_disbanded(&integration.id, &chat).await?;
                Ok(EventOutcome::ChatGone)
            }
            ImEvent::AppRevoked => {
                // Over the freshest version: the event's copy may predate a rotation.
                let mut current = integration.clone();
                for _ in 0..8 {
                    let revoked = Integration { status: IntegrationStatus::Revoked, updated_at: self.clock.now(), ..current.clone() };
                    match self.store.update_integration(&revoked).await {
                        Err(warroom_core::StoreError::VersionConflict { .. }) => match self.store.get_integration(&integration.id).await? {
                            Some(fresh) => current = fresh,
                            None => break,
                        },
                        other => {
                            other?;
                            break;
                        }
                    }
                }
                tracing::warn!(integration = %integration.id, "the IM app was uninstalled or its tokens revoked");
                Ok(EventOutcome::Revoked)
            }
            ImEvent::Handshake(_) | ImEvent::MemberJoined { .. } | ImEvent::Ignored(_) => Ok(EventOutcome::Ignored),
        }
    }

    /// "@bot postmortem" in a room: queued once per message (a redelivery does not ask
    /// twice); the answer says what happens next or why not.
    async fn postmortem_in_room(
        &self,
        integration: &Integration,
        chat_ref: &warroom_core::ChatRef,
        chat: &ChatId,
        message: &warroom_core::ChatMessage,
    ) -> Result<String, EngineError> {
        let Some(incident) = self.store.get_incident(&chat_ref.tenant_id, &chat_ref.incident_id).await? else {
            return Ok("This room's incident is gone.".into());
        };
        let claim = format!("pm-asked:{}:{}", integration.id, crate::notice::notice_key("m", &[chat.as_str(), &message.id]));
        if !self.store.claim_dedupe(&claim, std::time::Duration::from_secs(24 * 3600), self.clock.now()).await? {
            return Ok("Drafting the post-mortem from this room's chat: it is posted here when ready.".into());
        }
        let asker = Actor::ImUser { platform: integration.platform, id: message.author.to_string() };
        match self.request_postmortem(&incident, asker, Some(chat.clone())).await {
            Ok(_) => Ok("Drafting the post-mortem from this room's chat: it is posted here when ready.".into()),
            Err(crate::assistant::postmortem_job::RequestError::RateLimited { retry_after }) => {
                let _ = self.store.release_dedupe(&claim).await;
                Ok(format!(
                    "Post-mortems are limited to {} a minute: ask again in {} s.",
                    crate::assistant::postmortem_job::PER_MINUTE,
                    retry_after.as_secs().max(1)
                ))
            }
            Err(crate::assistant::postmortem_job::RequestError::Engine(e)) => {
                let _ = self.store.release_dedupe(&claim).await;
                Err(e)
            }
        }
    }

    /// The assistant's answer to an @mention (see `assistant::answer`). Without a model, one
    /// sentence saying how to configure one: never silence, never a made-up answer.
    pub(crate) async fn answer_mention(
        &self,
        tenant: &warroom_core::TenantId,
        incident_id: &warroom_core::IncidentId,
        chat: &ChatId,
        message: &MessageId,
    ) -> Result<(), EngineError> {
        let Some(incident) = self.store.get_incident(tenant, incident_id).await? else { return Ok(()) };
        let Some(integration_id) = &incident.war_room.integration_id else { return Ok(()) };
        let Some(integration) = self.store.get_integration(integration_id).await? else { return Ok(()) };
        let platform = self.platforms.for_integration(&integration)?;
        let model = match (&self.models, self.store.get_tenant(tenant).await?) {
            (Some(models), Some(t)) => match models.for_tenant(&t) {
                Ok(model) => model,
                // The tenant's model settings cannot work (a refused URL, a key that does
                // not open): said in the room and the timeline, not retried.
                Err(e) => {
                    let key = crate::notice::notice_key("mention-model", &[integration.id.as_str(), chat.as_str(), message.as_str()]);
                    let text = format!("The assistant could not answer: {e}. An admin can check the model settings.");
                    self.tell_asker(platform.as_ref(), &integration.id, chat, message, &text, &key).await?;
                    self.note(&incident, Actor::System, TimelineAction::IncidentUpdated, format!("the assistant could not answer an @mention: {e}")).await;
                    return Ok(());
                }
            },
            _ => None,
        };
        // The "seen, working on it" mark; the answer matters more, so a failure here (no
        // reactions on this platform, a passing error) is only logged.
        if self.try_take(platform.as_ref(), ApiFamily::Reaction, Some(chat)).await {
            if let Err(e) = platform.add_reaction(chat, message, "eyes").await {
                tracing::info!(chat = %chat, error = %e, "could not mark the mention");
            }
        }
        let Some(model) = model else {
            let key = crate::notice::notice_key("mention", &[integration.id.as_str(), chat.as_str(), message.as_str()]);
            let text = crate::assistant::answer::NOT_CONFIGURED;
            self.tell_asker(platform.as_ref(), &integration.id, chat, message, text, &key).await?;
            self.note(&incident, Actor::System, TimelineAction::IncidentUpdated, "answered an @mention: no model is configured").await;
            return Ok(());
        };
        // Cost control: a room gets a few answers a minute; past that, one sentence says so.
        // The token is taken once per question (a retried answer job does not spend another).
        let claim = crate::assistant::answer::claim_key(&integration.id, message);
        let slot = format!("{claim}:slot");
        if self.store.get_ephemeral(&slot, self.clock.now()).await?.is_none() {
            let bucket = crate::assistant::answer::answers_bucket(tenant, chat);
            if let Ok(warroom_core::ratelimit::Take::Wait(wait)) = self.store.take_tokens(&bucket, 1, self.clock.now()).await {
                let key = crate::notice::notice_key("answer-busy", &[integration.id.as_str(), chat.as_str(), message.as_str()]);
                let text = format!("The assistant is answering as many questions in this room as it may right now; ask again in {} s.", wait.as_secs().max(1));
                self.tell_asker(platform.as_ref(), &integration.id, chat, message, &text, &key).await?;
                return Ok(());
            }
            self.store.put_ephemeral(&slot, "taken", std::time::Duration::from_secs(3600), self.clock.now()).await?;
        }
        if !self.store.claim_dedupe(&claim, std::time::Duration::from_secs(7 * 24 * 3600), self.clock.now()).await? {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let answered = self.answer_with_model(&incident, &integration, platform.as_ref(), chat, message, model.as_ref()).await;
        match &answered {
            Ok(stats) => crate::assistant::record_model_call(&model.describe(), Ok(stats.usage), started.elapsed()),
            Err(EngineError::Model(e)) => crate::assistant::record_model_call(&model.describe(), Err(e), started.elapsed()),
            Err(_) => {}
        }
        match answered {
            Ok(stats) => {
                self.note_answer(&incident, &model.describe(), &stats).await;
                Ok(())
            }
            // Retrying cannot help (a bad key, an unknown model): the reply says why.
            Err(EngineError::Model(e)) if !e.is_retryable() => {
                self.note(&incident, Actor::System, TimelineAction::IncidentUpdated, format!("the assistant could not answer an @mention: {e}")).await;
                Ok(())
            }
            Err(e) => {
                // Let the retry answer it.
                let _ = self.store.release_dedupe(&claim).await;
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_commands_parse_only_whole_known_commands() {
        assert_eq!(parse_command("ack"), Some(CardAction::Acknowledge));
        assert_eq!(parse_command(" /Resolve "), Some(CardAction::Resolve));
        assert_eq!(parse_command("snooze 2h"), Some(CardAction::Snooze { minutes: 120 }));
        assert_eq!(parse_command("snooze 30m"), Some(CardAction::Snooze { minutes: 30 }));
        assert_eq!(parse_command("snooze 7m"), None, "only the offered durations");
        assert_eq!(parse_command("ack the db alert please"), None, "a sentence is not a command");
        assert_eq!(parse_command("i will resolve it"), None);
        assert_eq!(parse_command(""), None);
    }
}
