//! Texts people must see exactly once: a command's answer, "could not be invited". Neither
//! may be dropped (a full chat bucket defers it, it does not lose it) and neither may show
//! twice when a post's answer is lost.
//!
//! A marker is written before the post (`sending`) and after it (`sent`). A retry that finds
//! `sending` asks the platform for the message an earlier post left (`find_notice`: Slack
//! by a block id carrying the key, Feishu by listing the chat) before posting again; Feishu
//! also dedupes the post itself by a `uuid` derived from the key.

use crate::{Engine, EngineError};
use sha2::{Digest, Sha256};
use std::time::Duration;
use warroom_core::{ApiFamily, ChatId, ImPlatform, IncidentId, Integration, IntegrationId, Job, JobKind, TenantId};

/// How long the markers are kept: longer than any retry or redrive of the same notice.
const MARKER_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
const SENDING: &str = "sending";
const SENT: &str = "sent";

/// A notice key within the ports' rules (≤ 40 characters of `[A-Za-z0-9_-]`): a prefix
/// saying what it is, and a hash of what makes it unique.
pub(crate) fn notice_key(prefix: &str, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    format!("{prefix}-{}", hex::encode(&hash.finalize()[..12]))
}

fn marker_key(integration: &IntegrationId, key: &str) -> String {
    format!("notice:{integration}:{key}")
}

/// Where a notice goes and what it says.
pub(crate) struct Notice<'a> {
    pub integration: &'a IntegrationId,
    pub chat: &'a ChatId,
    pub text: &'a str,
    pub key: &'a str,
}

impl Engine {
    /// Sends the notice unless it was sent already. In a job, a busy bucket defers the job
    /// (its slot is booked); outside one, the caller queues a job (see `reply_in_chat`).
    pub(crate) async fn send_once(&self, platform: &dyn ImPlatform, notice: &Notice<'_>) -> Result<(), EngineError> {
        let marker = marker_key(notice.integration, notice.key);
        match self.store.get_ephemeral(&marker, self.clock.now()).await?.as_deref() {
            Some(SENT) => return Ok(()),
            Some(_) => {
                self.throttle(platform, ApiFamily::Read, Some(notice.chat)).await?;
                if platform.find_notice(notice.chat, notice.text, notice.key).await?.is_some() {
                    self.store.put_ephemeral(&marker, SENT, MARKER_TTL, self.clock.now()).await?;
                    return Ok(());
                }
            }
            None => {}
        }
        self.throttle(platform, ApiFamily::Message, Some(notice.chat)).await?;
        self.store.put_ephemeral(&marker, SENDING, MARKER_TTL, self.clock.now()).await?;
        platform.send_notice(notice.chat, notice.text, notice.key).await?;
        self.store.put_ephemeral(&marker, SENT, MARKER_TTL, self.clock.now()).await?;
        Ok(())
    }

    /// An answer in the chat that a person waits for (a text command's result). Sent now if
    /// the chat's rate limit allows; otherwise, or after a passing failure, queued and sent
    /// by the worker as soon as it allows. A permanent refusal (the chat is gone) is logged.
    pub(crate) async fn reply_in_chat(
        &self,
        tenant: &TenantId,
        incident: &IncidentId,
        integration: &Integration,
        chat: &ChatId,
        text: &str,
        key: &str,
    ) -> Result<(), EngineError> {
        let platform = match self.platforms.for_integration(integration) {
            Ok(platform) => platform,
            Err(e) => {
                tracing::warn!(chat = %chat, error = %e, "could not reply in the chat: the integration is not usable");
                return Ok(());
            }
        };
        let notice = Notice { integration: &integration.id, chat, text, key };
        match self.send_once(platform.as_ref(), &notice).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_retryable() => {
                tracing::info!(chat = %chat, error = %e, "reply queued: it goes out when the chat's rate limit allows");
                let kind = JobKind::Notice { incident_id: incident.clone(), chat_id: chat.clone(), text: text.to_string(), key: key.to_string() };
                self.queue.send(&Job::new(tenant.clone(), kind, key.to_string())).await?;
                Ok(())
            }
            Err(e) => {
                tracing::warn!(chat = %chat, error = %e, "could not reply in the chat");
                Ok(())
            }
        }
    }

    /// The worker's side of a queued reply: the room's integration, then `send_once`.
    pub(crate) async fn send_queued_notice(
        &self,
        tenant: &TenantId,
        incident_id: &IncidentId,
        chat: &ChatId,
        text: &str,
        key: &str,
    ) -> Result<(), EngineError> {
        let Some(incident) = self.store.get_incident(tenant, incident_id).await? else { return Ok(()) };
        let Some(integration_id) = &incident.war_room.integration_id else { return Ok(()) };
        let Some(integration) = self.store.get_integration(integration_id).await? else { return Ok(()) };
        let platform = self.platforms.for_integration(&integration)?;
        match self.send_once(platform.as_ref(), &Notice { integration: &integration.id, chat, text, key }).await {
            Err(e) if !e.is_retryable() => {
                tracing::warn!(chat = %chat, error = %e, "queued reply could not be sent");
                Ok(())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_keys_fit_the_port_rules_and_tell_inputs_apart() {
        let a = notice_key("unl", &["inc_1", "ada@example.com"]);
        assert!(a.len() <= 40 && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{a}");
        assert_eq!(a, notice_key("unl", &["inc_1", "ada@example.com"]));
        assert_ne!(a, notice_key("unl", &["inc_2", "ada@example.com"]));
        assert_ne!(notice_key("x", &["ab", "c"]), notice_key("x", &["a", "bc"]), "parts are separated");
    }
}
