//! The DingTalk buckets the bench can run with: as `DingTalkPlatform::buckets()` ships them,
//! or every family's bucket reshaped, to try a fix without editing the adapter.
//!
//! The adapter keys one bucket per API family and app, `dingtalk.{client_id}.{family}`, all
//! of the same shape (`BucketSpec::within(qps − 1, 1 s, 3)`: 3:59ms on the standard edition,
//! ≤ 19 in any second, 16.9/s steady). DingTalk counts per app per *API*, so a family that
//! spans several APIs (message: card createAndDeliver, card update, robot send) is stricter
//! than DingTalk; a burst of new rooms uses one API per family, so that does not show here.

use crate::buckets::Shape;
use async_trait::async_trait;
use std::sync::Arc;
use warroom_core::ratelimit::BucketSpec;
use warroom_core::*;

/// Which buckets the engine takes tokens from before each DingTalk call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DingBuckets {
    /// `DingTalkPlatform::buckets()` as shipped, with the engine's own reservations.
    Shipped,
    /// Every DingTalk bucket with this shape (the shipped keys).
    Reshaped { name: String, shape: Shape },
}

impl DingBuckets {
    /// `within(qps − 1, 1 s, 1)`: no burst (the engine reserves slots, so none is needed to
    /// keep the rate), ≤ 19 in any second, 18.9/s steady: 1:53ms on the standard edition.
    pub fn fix(qps: u32) -> Self {
        DingBuckets::Reshaped { name: "fix".into(), shape: Shape::within(qps.saturating_sub(1).max(1), 1000, 1) }
    }

    /// `within(qps, 1 s, 1)`: the full rate, ≤ 20 in any second, no slack for a call that
    /// reaches DingTalk later than the one after it (1:50ms).
    pub fn exact(qps: u32) -> Self {
        DingBuckets::Reshaped { name: "exact".into(), shape: Shape::within(qps.max(1), 1000, 1) }
    }

    /// `shipped`, `fix`, `exact` (for `qps`), or `CAP:MS`.
    pub fn parse(s: &str, qps: u32) -> Option<Self> {
        match s {
            "shipped" => Some(DingBuckets::Shipped),
            "fix" => Some(Self::fix(qps)),
            "exact" => Some(Self::exact(qps)),
            other => Shape::parse(other).map(|shape| DingBuckets::Reshaped { name: other.to_string(), shape }),
        }
    }

    pub fn name(&self) -> String {
        match self {
            DingBuckets::Shipped => "shipped".into(),
            DingBuckets::Reshaped { name, .. } => name.clone(),
        }
    }

    pub fn shape(&self) -> Option<Shape> {
        match self {
            DingBuckets::Shipped => None,
            DingBuckets::Reshaped { shape, .. } => Some(*shape),
        }
    }

    /// The shipped specs with this shape.
    pub fn apply(&self, specs: Vec<BucketSpec>) -> Vec<BucketSpec> {
        match self.shape() {
            None => specs,
            Some(s) => specs.into_iter().map(|b| BucketSpec { key: b.key, capacity: s.capacity, interval_ms: s.interval_ms }).collect(),
        }
    }
}

/// One line for a bucket shape: `3:59ms (≤19 in any 1 s, 16.9/s steady)`.
pub fn describe(shape: Shape) -> String {
    format!("{shape} (≤{} in any 1 s, {:.1}/s steady)", shape.max_in_window(1000), 1000.0 / shape.interval_ms.max(1) as f64)
}

/// The deployment's factory, its DingTalk clients' buckets reshaped.
pub struct ShapedFactory {
    pub inner: Arc<dyn PlatformFactory>,
    pub buckets: DingBuckets,
}

impl PlatformFactory for ShapedFactory {
    fn for_integration(&self, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        let inner = self.inner.for_integration(integration)?;
        Ok(Arc::new(Shaped { inner, buckets: self.buckets.clone() }))
    }

    fn required_scopes(&self, platform: Platform) -> Vec<(&'static str, &'static str)> {
        self.inner.required_scopes(platform)
    }

    fn callbacks(&self, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>> {
        self.inner.callbacks(integration)
    }

    fn app_callbacks(&self, platform: Platform) -> Option<Arc<dyn CallbackCodec>> {
        self.inner.app_callbacks(platform)
    }
}

/// The real client; only `buckets()` differs.
struct Shaped {
    inner: Arc<dyn ImPlatform>,
    buckets: DingBuckets,
}

#[async_trait]
impl ImPlatform for Shaped {
    fn platform(&self) -> Platform {
        self.inner.platform()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn buckets(&self, family: ApiFamily, chat: Option<&ChatId>) -> Vec<BucketSpec> {
        self.buckets.apply(self.inner.buckets(family, chat))
    }
    async fn granted_scopes(&self) -> ImResult<Vec<String>> {
        self.inner.granted_scopes().await
    }
    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat> {
        self.inner.create_chat(request).await
    }
    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult> {
        self.inner.add_members(chat, users).await
    }
    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
        self.inner.post_card(chat, card).await
    }
    async fn find_card(&self, chat: &ChatId, card: &Card) -> ImResult<Option<MessageId>> {
        self.inner.find_card(chat, card).await
    }
    async fn update_card(&self, chat: &ChatId, message: &MessageId, card: &Card) -> ImResult<()> {
        self.inner.update_card(chat, message, card).await
    }
    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId> {
        self.inner.send_text(chat, text).await
    }
    async fn send_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<MessageId> {
        self.inner.send_notice(chat, text, key).await
    }
    async fn find_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<Option<MessageId>> {
        self.inner.find_notice(chat, text, key).await
    }
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()> {
        self.inner.dismiss_chat(chat).await
    }
    async fn lookup_by_email(&self, email: &str) -> ImResult<Option<ImUserId>> {
        self.inner.lookup_by_email(email).await
    }
    async fn lookup_by_phone(&self, phone: &str) -> ImResult<Option<ImUserId>> {
        self.inner.lookup_by_phone(phone).await
    }
    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>> {
        self.inner.list_bot_chats().await
    }
    async fn chat_history(&self, chat: &ChatId) -> ImResult<Vec<ChatMessage>> {
        self.inner.chat_history(chat).await
    }
    async fn set_topic(&self, chat: &ChatId, topic: &str) -> ImResult<()> {
        self.inner.set_topic(chat, topic).await
    }
    async fn add_reaction(&self, chat: &ChatId, message: &MessageId, emoji: &str) -> ImResult<()> {
        self.inner.add_reaction(chat, message, emoji).await
    }
    async fn quota_warning(&self) -> Option<String> {
        self.inner.quota_warning().await
    }
    async fn post_answer(&self, chat: &ChatId, reply_to: Option<&MessageId>, text: &str) -> ImResult<MessageId> {
        self.inner.post_answer(chat, reply_to, text).await
    }
    async fn edit_answer(&self, chat: &ChatId, message: &MessageId, text: &str) -> ImResult<()> {
        self.inner.edit_answer(chat, message, text).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_shapes_stay_inside_twenty_per_second() {
        assert_eq!(DingBuckets::fix(20).shape(), Some(Shape::new(1, 53)));
        assert_eq!(DingBuckets::exact(20).shape(), Some(Shape::new(1, 50)));
        assert_eq!(Shape::within(19, 1000, 3), Shape::new(3, 59), "what the adapter ships");
        for b in [DingBuckets::fix(20), DingBuckets::exact(20)] {
            assert!(b.shape().unwrap().max_in_window(1000) <= 20, "{b:?}");
        }
        assert_eq!(DingBuckets::parse("2:56", 20), Some(DingBuckets::Reshaped { name: "2:56".into(), shape: Shape::new(2, 56) }));
        assert_eq!(DingBuckets::parse("nope", 20), None);
    }

    #[test]
    fn reshaping_keeps_every_key() {
        let specs = vec![BucketSpec::within("dingtalk.k.create_chat", 19, std::time::Duration::from_secs(1), 3)];
        let out = DingBuckets::fix(20).apply(specs.clone());
        assert_eq!((out[0].key.as_str(), out[0].capacity, out[0].interval_ms), ("dingtalk.k.create_chat", 1, 53));
        assert_eq!(DingBuckets::Shipped.apply(specs.clone()), specs);
    }
}
