//! Every IM client the factory hands out is wrapped here, so each API call of every
//! platform is counted in one place: by platform, call family and outcome, with its
//! latency; a rate limit with the wait it asked for; revoked credentials or a missing
//! permission as an unhealthy integration (the `IntegrationUnhealthy` alarm).
//!
//! One port call is one count, even where the adapter makes several HTTP requests for it
//! (pagination, a token refresh): the unit is what the engine asked for.
//!
//! Every method of `ImPlatform` must be delegated here, the defaulted ones too: a method
//! added to the port with a default and not added here would run the default instead of
//! the platform's own (the test below lists them).

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Instant;
use warroom_core::ratelimit::BucketSpec;
use warroom_core::IntegrationId;
use warroom_core::{
    ApiFamily, Capabilities, Card, ChatId, ChatMessage, ChatSummary, CreateChat, CreatedChat, ImError, ImPlatform, ImResult, ImUserId, InviteResult, MessageId,
    Platform, StreamRef,
};
use warroom_metrics::{ImOutcome, UnhealthyReason};

use crate::health::HealthLog;

/// `inner`, counted (the tests'; the factory's clients also keep health).
#[cfg(test)]
pub fn metered(inner: Arc<dyn ImPlatform>) -> Arc<dyn ImPlatform> {
    Arc::new(Metered { platform: inner.platform().as_str(), inner, health: None })
}

/// `inner`, counted, and each outcome noted in `integration`'s health (health.rs).
pub fn metered_with_health(inner: Arc<dyn ImPlatform>, health: Arc<HealthLog>, integration: IntegrationId) -> Arc<dyn ImPlatform> {
    Arc::new(Metered { platform: inner.platform().as_str(), inner, health: Some((health, integration)) })
}

struct Metered {
    platform: &'static str,
    inner: Arc<dyn ImPlatform>,
    health: Option<(Arc<HealthLog>, IntegrationId)>,
}

/// The `family` label: the rate-limit families of `ApiFamily`, plus `scopes` and `read`.
const CREATE_CHAT: &str = "create_chat";
const MEMBERS: &str = "members";
const MESSAGE: &str = "message";
const DISMISS: &str = "dismiss_chat";
const LOOKUP: &str = "lookup";
const READ: &str = "read";
const REACTION: &str = "reaction";
const TOPIC: &str = "topic";
const SCOPES: &str = "scopes";
const STREAM: &str = "stream";

pub fn outcome_of(error: &ImError) -> ImOutcome {
    match error {
        ImError::RateLimited { .. } => ImOutcome::RateLimited,
        ImError::Unauthorized(_) => ImOutcome::Unauthorized,
        ImError::MissingPermission { .. } => ImOutcome::MissingPermission,
        ImError::ChatGone | ImError::UserNotFound => ImOutcome::NotFound,
        ImError::Transient(_) => ImOutcome::Transient,
        ImError::Rejected { .. } => ImOutcome::Rejected,
    }
}

impl Metered {
    async fn count<T>(&self, family: &'static str, call: impl std::future::Future<Output = ImResult<T>>) -> ImResult<T> {
        let started = Instant::now();
        let result = call.await;
        let outcome = result.as_ref().err().map_or(ImOutcome::Ok, outcome_of);
        warroom_metrics::im_call(self.platform, family, outcome, started.elapsed());
        match &result {
            Err(ImError::RateLimited { retry_after }) => warroom_metrics::im_rate_limited(self.platform, family, *retry_after),
            Err(ImError::Unauthorized(_)) => warroom_metrics::integration_unhealthy(self.platform, UnhealthyReason::Revoked),
            Err(ImError::MissingPermission { .. }) => warroom_metrics::integration_unhealthy(self.platform, UnhealthyReason::MissingPermission),
            _ => {}
        }
        if let Some((health, integration)) = &self.health {
            health.record(integration, result.as_ref().map(|_| ())).await;
        }
        result
    }
}

#[async_trait]
impl ImPlatform for Metered {
    fn platform(&self) -> Platform {
        self.inner.platform()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn buckets(&self, family: ApiFamily, chat: Option<&ChatId>) -> Vec<BucketSpec> {
        self.inner.buckets(family, chat)
    }
    async fn granted_scopes(&self) -> ImResult<Vec<String>> {
        self.count(SCOPES, self.inner.granted_scopes()).await
    }
    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat> {
        self.count(CREATE_CHAT, self.inner.create_chat(request)).await
    }
    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult> {
        self.count(MEMBERS, self.inner.add_members(chat, users)).await
    }
    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
        self.count(MESSAGE, self.inner.post_card(chat, card)).await
    }
    async fn find_card(&self, chat: &ChatId, card: &Card) -> ImResult<Option<MessageId>> {
        self.count(READ, self.inner.find_card(chat, card)).await
    }
    async fn update_card(&self, chat: &ChatId, message: &MessageId, card: &Card) -> ImResult<()> {
        self.count(MESSAGE, self.inner.update_card(chat, message, card)).await
    }
    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId> {
        self.count(MESSAGE, self.inner.send_text(chat, text)).await
    }
    async fn send_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<MessageId> {
        self.count(MESSAGE, self.inner.send_notice(chat, text, key)).await
    }
    async fn find_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<Option<MessageId>> {
        self.count(READ, self.inner.find_notice(chat, text, key)).await
    }
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()> {
        self.count(DISMISS, self.inner.dismiss_chat(chat)).await
    }
    async fn lookup_by_email(&self, email: &str) -> ImResult<Option<ImUserId>> {
        self.count(LOOKUP, self.inner.lookup_by_email(email)).await
    }
    async fn lookup_by_phone(&self, phone: &str) -> ImResult<Option<ImUserId>> {
        self.count(LOOKUP, self.inner.lookup_by_phone(phone)).await
    }
    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>> {
        self.count(READ, self.inner.list_bot_chats()).await
    }
    async fn chat_history(&self, chat: &ChatId) -> ImResult<Vec<ChatMessage>> {
        self.count(READ, self.inner.chat_history(chat)).await
    }
    async fn set_topic(&self, chat: &ChatId, topic: &str) -> ImResult<()> {
        self.count(TOPIC, self.inner.set_topic(chat, topic)).await
    }
    async fn add_reaction(&self, chat: &ChatId, message: &MessageId, emoji: &str) -> ImResult<()> {
        self.count(REACTION, self.inner.add_reaction(chat, message, emoji)).await
    }
    async fn quota_warning(&self) -> Option<String> {
        self.inner.quota_warning().await
    }
    async fn post_answer(&self, chat: &ChatId, reply_to: Option<&MessageId>, text: &str) -> ImResult<MessageId> {
        self.count(MESSAGE, self.inner.post_answer(chat, reply_to, text)).await
    }
    async fn edit_answer(&self, chat: &ChatId, message: &MessageId, text: &str) -> ImResult<()> {
        self.count(MESSAGE, self.inner.edit_answer(chat, message, text)).await
    }
    async fn start_stream(&self, chat: &ChatId, reply_to: Option<&MessageId>, first: &str) -> ImResult<Option<StreamRef>> {
        self.count(STREAM, self.inner.start_stream(chat, reply_to, first)).await
    }
    async fn append_stream(&self, chat: &ChatId, stream: &StreamRef, so_far: &str, delta: &str) -> ImResult<()> {
        self.count(STREAM, self.inner.append_stream(chat, stream, so_far, delta)).await
    }
    async fn stop_stream(&self, chat: &ChatId, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        self.count(STREAM, self.inner.stop_stream(chat, stream, final_text)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use warroom_testkit::fake_platform::{FakeOp, FakePlatform};

    /// Fails when the port gains a method this wrapper does not delegate (see the top).
    #[test]
    fn every_method_of_the_port_is_delegated() {
        let port = include_str!("../../core/src/ports/im.rs");
        let start = port.find("pub trait ImPlatform").expect("the trait");
        let end = start + port[start..].find("\n}\n").expect("its end");
        let here = include_str!("metered.rs");
        for line in port[start..end].lines().map(str::trim).filter(|l| l.starts_with("fn ") || l.starts_with("async fn ")) {
            let name = line.trim_start_matches("async ").trim_start_matches("fn ").split(['(', '<']).next().unwrap();
            assert!(here.contains(&format!("fn {name}(")), "ImPlatform::{name} is not delegated by the metered client");
        }
    }

    #[test]
    fn calls_are_counted_by_family_and_outcome_and_a_rate_limit_with_its_wait() {
        let fake = FakePlatform::new(Platform::Feishu);
        fake.fail_next(FakeOp::SendText, ImError::RateLimited { retry_after: Duration::from_secs(7) });
        fake.fail_next(FakeOp::CreateChat, ImError::Unauthorized("revoked".into()));
        let client = metered(Arc::new(fake.clone()));
        let recorder = warroom_metrics::emf::EmfRecorder::new("Warroom");
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        metrics::with_local_recorder(&recorder, || {
            runtime.block_on(async {
                let chat = ChatId::new("oc_1");
                assert!(client.send_text(&chat, "hello").await.is_err());
                let request = CreateChat { name: "inc".into(), topic: String::new(), private: true, idempotency_key: "k".into() };
                assert!(client.create_chat(&request).await.is_err());
            })
        });
        let text = recorder.drain_lines(1_700_000_000_000).join("\n");
        assert!(text.contains(r#""outcome":"rate_limited""#) && text.contains(r#""family":"message""#), "{text}");
        assert!(text.contains(r#""warroom_im_rate_limit_wait_seconds":[7.0]"#), "{text}");
        assert!(text.contains(r#""reason":"revoked""#) && text.contains(r#""warroom_integration_unhealthy_total":1"#), "{text}");
        assert!(text.contains(r#""platform":"feishu""#), "{text}");
        assert!(!text.contains("hello") && !text.contains("oc_1"), "{text}");
    }
}
