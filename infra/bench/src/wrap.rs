//! Bench-local wrappers around the real pieces, for counting and for trying other
//! rate-limit buckets without touching the adapter:
//!
//! - [`BenchFactory`] / [`BenchPlatform`]: the deployment's `Platforms` factory and the
//!   Feishu client it builds, unchanged except that `buckets()` may be reshaped (see
//!   [`Buckets`]) and that rate-limit answers seen by the engine are counted;
//! - [`CountingHandler`]: the engine as the worker's `JobHandler`, counting outcomes and
//!   receives (the local worker loop only logs its batch reports);
//! - [`NoopSync`]: a `SourceSync` that accepts every push.

pub use crate::buckets::{Buckets, Shape};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::ratelimit::BucketSpec;
use warroom_core::*;
use warroom_engine::Engine;

/// Counters shared by the wrappers.
#[derive(Default, Debug)]
pub struct Counters {
    /// Job deliveries handled (passes).
    pub passes: AtomicU64,
    pub done: AtomicU64,
    /// `Outcome::Defer` for any reason (local bucket wait or a platform rate limit).
    pub deferrals: AtomicU64,
    /// Sum of the deferral delays, in milliseconds.
    pub deferred_ms: AtomicU64,
    pub retries: AtomicU64,
    /// The highest `receive_count` a delivery carried.
    pub max_receive_count: AtomicU64,
    /// Platform answers the engine saw as `ImError::RateLimited` (429 / 99991400 / 230020).
    pub platform_rate_limited: AtomicU64,
    /// Other platform errors seen by the engine.
    pub platform_errors: AtomicU64,
    /// Reserve mode: calls told to come back at their reserved slot.
    pub reservations: AtomicU64,
    /// Time spent inside the job handler, all workers together, in microseconds.
    pub busy_us: AtomicU64,
}

impl Counters {
    fn get(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            passes: Self::get(&self.passes),
            done: Self::get(&self.done),
            deferrals: Self::get(&self.deferrals),
            deferred_ms: Self::get(&self.deferred_ms),
            retries: Self::get(&self.retries),
            max_receive_count: Self::get(&self.max_receive_count),
            platform_rate_limited: Self::get(&self.platform_rate_limited),
            platform_errors: Self::get(&self.platform_errors),
            reservations: Self::get(&self.reservations),
            busy_us: Self::get(&self.busy_us),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub passes: u64,
    pub done: u64,
    pub deferrals: u64,
    pub deferred_ms: u64,
    pub retries: u64,
    pub max_receive_count: u64,
    pub platform_rate_limited: u64,
    pub platform_errors: u64,
    pub reservations: u64,
    pub busy_us: u64,
}

/// The deployment's factory, handing out [`BenchPlatform`]s.
pub struct BenchFactory {
    pub inner: Arc<dyn PlatformFactory>,
    pub buckets: Buckets,
    pub counters: Arc<Counters>,
    /// Reserve mode's limiter, shared by every client handed out (one per job pass).
    pub reserver: Arc<Mutex<Reserver>>,
}

impl BenchFactory {
    pub fn new(inner: Arc<dyn PlatformFactory>, buckets: Buckets, counters: Arc<Counters>) -> Self {
        Self { inner, buckets, counters, reserver: Arc::default() }
    }
}

/// GCRA with reservations (reserve mode): a call that cannot go now is given the earliest
/// slot every bucket allows, the buckets are charged at that slot, and the call is told to
/// come back then; coming back at (or after) the slot, it goes through.
#[derive(Default)]
pub struct Reserver {
    /// Bucket key → theoretical arrival time (ms).
    tat: HashMap<String, i64>,
    /// Operation → its reserved slot (ms).
    held: HashMap<String, i64>,
}

impl Reserver {
    pub fn admit(&mut self, op: &str, specs: &[BucketSpec], now: i64) -> Result<(), Duration> {
        if let Some(&slot) = self.held.get(op) {
            if slot <= now {
                self.held.remove(op);
                return Ok(());
            }
            return Err(Duration::from_millis((slot - now) as u64));
        }
        // GCRA: a take at t is allowed iff max(tat, t) + I − t ≤ C·I, i.e. t ≥ tat + I − C·I.
        let slot = specs.iter().filter_map(|b| self.tat.get(&b.key).map(|tat| tat + b.interval_ms - b.burst_ms())).fold(now, i64::max);
        for b in specs {
            let tat = self.tat.entry(b.key.clone()).or_insert(slot);
            *tat = (*tat).max(slot) + b.interval_ms;
        }
        if slot <= now {
            Ok(())
        } else {
            self.held.insert(op.to_string(), slot);
            Err(Duration::from_millis((slot - now) as u64))
        }
    }
}

impl PlatformFactory for BenchFactory {
    fn for_integration(&self, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        let inner = self.inner.for_integration(integration)?;
        Ok(Arc::new(BenchPlatform { inner, buckets: self.buckets.clone(), counters: self.counters.clone(), reserver: self.reserver.clone() }))
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

/// The real client; only `buckets()` may differ.
pub struct BenchPlatform {
    inner: Arc<dyn ImPlatform>,
    buckets: Buckets,
    counters: Arc<Counters>,
    reserver: Arc<Mutex<Reserver>>,
}

impl BenchPlatform {
    /// Reserve mode: go now, or be told when this operation's slot comes.
    fn slot(&self, op: String, family: ApiFamily, chat: Option<&ChatId>) -> ImResult<()> {
        if !self.buckets.reserves() {
            return Ok(());
        }
        let specs = self.buckets.apply(self.inner.buckets(family, chat));
        let now = SystemClock.now().millis();
        let admitted = self.reserver.lock().unwrap_or_else(|p| p.into_inner()).admit(&op, &specs, now);
        admitted.map_err(|retry_after| {
            self.counters.reservations.fetch_add(1, Ordering::Relaxed);
            ImError::RateLimited { retry_after }
        })
    }

    fn seen<T>(&self, result: ImResult<T>) -> ImResult<T> {
        match &result {
            Err(ImError::RateLimited { .. }) => {
                self.counters.platform_rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(error = %e, "platform error");
                self.counters.platform_errors.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
        }
        result
    }
}

#[async_trait]
impl ImPlatform for BenchPlatform {
    fn platform(&self) -> Platform {
        self.inner.platform()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn buckets(&self, family: ApiFamily, chat: Option<&ChatId>) -> Vec<BucketSpec> {
        if self.buckets.reserves() {
            return Vec::new();
        }
        self.buckets.apply(self.inner.buckets(family, chat))
    }
    async fn granted_scopes(&self) -> ImResult<Vec<String>> {
        self.slot("scopes".into(), ApiFamily::Read, None)?;
        self.seen(self.inner.granted_scopes().await)
    }
    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat> {
        self.slot(format!("create:{}", request.idempotency_key), ApiFamily::CreateChat, None)?;
        self.seen(self.inner.create_chat(request).await)
    }
    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult> {
        self.slot(format!("members:{chat}"), ApiFamily::Members, Some(chat))?;
        let result = self.seen(self.inner.add_members(chat, users).await)?;
        // Per-user failures (a rate limit among them) come back inside the result.
        for (_, e) in &result.failed {
            let _ = self.seen::<()>(Err(e.clone()));
        }
        Ok(result)
    }
    async fn find_card(&self, chat: &ChatId, card: &Card) -> ImResult<Option<MessageId>> {
        self.slot(format!("find:{chat}:{}", card.incident_id), ApiFamily::Read, Some(chat))?;
        self.seen(self.inner.find_card(chat, card).await)
    }
    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
        self.slot(format!("card:{chat}:{}", card.fingerprint()), ApiFamily::Message, Some(chat))?;
        self.seen(self.inner.post_card(chat, card).await)
    }
    async fn update_card(&self, chat: &ChatId, message: &MessageId, card: &Card) -> ImResult<()> {
        self.slot(format!("update:{message}:{}", card.fingerprint()), ApiFamily::Message, Some(chat))?;
        self.seen(self.inner.update_card(chat, message, card).await)
    }
    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId> {
        self.slot(format!("text:{chat}:{text}"), ApiFamily::Message, Some(chat))?;
        self.seen(self.inner.send_text(chat, text).await)
    }
    async fn send_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<MessageId> {
        self.slot(format!("notice:{chat}:{key}"), ApiFamily::Message, Some(chat))?;
        self.seen(self.inner.send_notice(chat, text, key).await)
    }
    async fn find_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<Option<MessageId>> {
        self.slot(format!("find-notice:{chat}:{key}"), ApiFamily::Read, Some(chat))?;
        self.seen(self.inner.find_notice(chat, text, key).await)
    }
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()> {
        self.slot(format!("dismiss:{chat}"), ApiFamily::DismissChat, Some(chat))?;
        self.seen(self.inner.dismiss_chat(chat).await)
    }
    async fn lookup_by_email(&self, email: &str) -> ImResult<Option<ImUserId>> {
        self.slot(format!("email:{email}"), ApiFamily::Lookup, None)?;
        self.seen(self.inner.lookup_by_email(email).await)
    }
    async fn lookup_by_phone(&self, phone: &str) -> ImResult<Option<ImUserId>> {
        self.slot(format!("phone:{phone}"), ApiFamily::Lookup, None)?;
        self.seen(self.inner.lookup_by_phone(phone).await)
    }
    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>> {
        self.slot("list".into(), ApiFamily::Read, None)?;
        self.seen(self.inner.list_bot_chats().await)
    }
    async fn chat_history(&self, chat: &ChatId) -> ImResult<Vec<ChatMessage>> {
        self.slot(format!("history:{chat}"), ApiFamily::Read, Some(chat))?;
        self.seen(self.inner.chat_history(chat).await)
    }
    async fn add_reaction(&self, chat: &ChatId, message: &MessageId, emoji: &str) -> ImResult<()> {
        self.slot(format!("reaction:{message}:{emoji}"), ApiFamily::Reaction, Some(chat))?;
        self.seen(self.inner.add_reaction(chat, message, emoji).await)
    }
    async fn quota_warning(&self) -> Option<String> {
        self.inner.quota_warning().await
    }
    async fn post_answer(&self, chat: &ChatId, reply_to: Option<&MessageId>, text: &str) -> ImResult<MessageId> {
        self.seen(self.inner.post_answer(chat, reply_to, text).await)
    }
    async fn edit_answer(&self, chat: &ChatId, message: &MessageId, text: &str) -> ImResult<()> {
        self.seen(self.inner.edit_answer(chat, message, text).await)
    }
}

/// The engine as the worker runs it, with its outcomes counted.
pub struct CountingHandler {
    pub engine: Engine,
    pub counters: Arc<Counters>,
}

#[async_trait]
impl JobHandler for CountingHandler {
    async fn handle(&self, job: &Job, delivery: &Delivery) -> Outcome {
        let c = &self.counters;
        c.passes.fetch_add(1, Ordering::Relaxed);
        c.max_receive_count.fetch_max(u64::from(delivery.receive_count), Ordering::Relaxed);
        let started = std::time::Instant::now();
        let outcome = self.engine.handle(job, delivery).await;
        c.busy_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        match &outcome {
            Outcome::Done | Outcome::GaveUp => c.done.fetch_add(1, Ordering::Relaxed),
            Outcome::Defer(d) => {
                c.deferred_ms.fetch_add(d.as_millis() as u64, Ordering::Relaxed);
                c.deferrals.fetch_add(1, Ordering::Relaxed)
            }
            Outcome::Retry(_) => c.retries.fetch_add(1, Ordering::Relaxed),
        };
        outcome
    }
}

/// Status sync is not under test: every push succeeds without leaving the process.
pub struct NoopSync;

#[async_trait]
impl SourceSync for NoopSync {
    async fn push(&self, _tenant: &Tenant, incident: &Incident, _previous: Option<&SourceState>) -> Result<Synced, SyncError> {
        Ok(Synced { detail: format!("bench: {} not pushed anywhere", incident.status) })
    }
}

/// `d` in seconds with millisecond precision.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_maxima_match_the_gcra_bound() {
        assert_eq!(Shape::new(50, 20).max_in_window(1000), 99);
        assert_eq!(Shape::new(1, 20).max_in_window(1000), 50);
        assert_eq!(Shape::new(1, 21).max_in_window(1000), 48);
        assert_eq!(Shape::new(500, 120).max_in_window(60_000), 999);
        assert_eq!(Shape::new(2, 334).max_in_window(1000), 4);
    }

    #[test]
    fn the_proposed_constructor_gives_the_bench_shapes() {
        assert_eq!(Shape::within(48, 1000, 3), Shape::new(3, 22), "app, polled");
        assert_eq!(Shape::within(46, 1000, 1), Shape::new(1, 22), "app, reserved");
        assert_eq!(Shape::within(999, 60_000, 500), Shape::new(500, 120), "messages");
        assert_eq!(Shape::within(4, 1000, 2), Shape::new(2, 334), "chat");
        for (limit, per, burst) in [(48, 1000, 3), (46, 1000, 1), (999, 60_000, 500), (4, 1000, 2), (50, 1000, 50), (7, 1000, 1)] {
            let shape = Shape::within(limit, per, burst);
            assert!(shape.max_in_window(per) <= i64::from(limit), "{shape} over {limit}/{per}ms");
            let faster = Shape::new(shape.capacity, shape.interval_ms - 1);
            assert!(shape.interval_ms == 1 || faster.max_in_window(per) > i64::from(limit), "{shape} is the fastest");
        }
    }

    #[test]
    fn reservations_hand_out_spaced_slots_and_honour_them_once() {
        let specs = vec![BucketSpec { key: "a".into(), capacity: 1, interval_ms: 21 }];
        let mut r = Reserver::default();
        assert_eq!(r.admit("x", &specs, 1000), Ok(()));
        assert_eq!(r.admit("y", &specs, 1000), Err(Duration::from_millis(21)));
        assert_eq!(r.admit("z", &specs, 1005), Err(Duration::from_millis(37)));
        assert_eq!(r.admit("y", &specs, 1010), Err(Duration::from_millis(11)), "still its slot");
        assert_eq!(r.admit("y", &specs, 1021), Ok(()));
        assert_eq!(r.admit("z", &specs, 1050), Ok(()), "late is fine");
        assert_eq!(r.admit("w", &specs, 1050), Err(Duration::from_millis(13)), "after z's slot at 1042");
    }

    #[test]
    fn reshaping_keeps_keys_and_only_touches_the_named_buckets() {
        let specs = vec![
            BucketSpec::per("feishu.cli_1.app", 50, Duration::from_secs(1)),
            BucketSpec::per("feishu.cli_1.messages", 1000, Duration::from_secs(60)),
            BucketSpec::per("feishu.cli_1.chat.oc_1", 5, Duration::from_secs(1)),
        ];
        let out = Buckets::parse("app=1:21").unwrap().apply(specs.clone());
        assert_eq!((out[0].key.as_str(), out[0].capacity, out[0].interval_ms), ("feishu.cli_1.app", 1, 21));
        assert_eq!(out[1..], specs[1..]);
        assert_eq!(Buckets::Shipped.apply(specs.clone()), specs);
        let p = Buckets::proposed().apply(specs);
        assert_eq!((p[1].capacity, p[1].interval_ms, p[2].capacity, p[2].interval_ms), (500, 120, 2, 334));
    }
}
