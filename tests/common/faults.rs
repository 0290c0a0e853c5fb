//! The rig of the fault-injection tests (`tests/faults/`): an app wired like a deployment —
//! real platform adapters with a short call timeout, every router on a loopback port — over
//! the embedded store and the in-process queue; a pool of worker loops; a clock that keeps
//! pace with the wall clock and skips ahead while every job is waiting (backoffs, rate-limit
//! deferrals), so a run takes seconds rather than minutes; a source that records status
//! callbacks.

use super::platform_app::routers;
use super::receiver::Receiver;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use warroom_core::*;
use warroom_engine::{Engine, EngineConfig};
use warroom_http::{auth, AppState, Settings};
use warroom_platforms::{Platforms, PlatformsConfig};
use warroom_queue::{process_batch, MemoryQueue, MemoryQueueConfig};
use warroom_secrets::SecretBox;
use warroom_sources::{GenericSettings, SourceRouter, SyncSettings};
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fixtures;

/// The adapters' bound on one IM call: a hung call fails fast (the default is 10 s).
pub const CALL_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the fault layer hangs a call: past `CALL_TIMEOUT`.
pub const HANG: Duration = Duration::from_millis(800);
const WORKERS: usize = 4;
/// Click signatures (Slack, Feishu) are refused more than 300 s away from the app's clock.
/// The clock starts this far behind the wall clock and may run this far ahead of it while
/// clicks are still to come, so skipping ahead never makes a click stale.
const SKEW: Duration = Duration::from_secs(270);
const SETTLE_LIMIT: Duration = Duration::from_secs(90);

/// Job outcomes, counted as the worker pool handles them.
#[derive(Default)]
pub struct Counting {
    outcomes: Mutex<BTreeMap<&'static str, usize>>,
}

struct Handler {
    engine: Engine,
    counts: Arc<Counting>,
}

#[async_trait]
impl JobHandler for Handler {
    async fn handle(&self, job: &Job, delivery: &Delivery) -> Outcome {
        let outcome = self.engine.handle(job, delivery).await;
        let name = match outcome {
            Outcome::Done => "done",
            Outcome::Defer(_) => "deferred",
            Outcome::Retry(_) => "retried",
            Outcome::GaveUp => "given_up",
        };
        *self.counts.outcomes.lock().unwrap().entry(name).or_default() += 1;
        outcome
    }
}

pub struct Rig {
    pub state: AppState,
    pub store: Arc<dyn Store>,
    pub queue: Arc<MemoryQueue>,
    pub clock: Arc<ManualClock>,
    pub secrets: SecretBox,
    pub tenant: TenantId,
    pub admin_key: String,
    pub intake_key: String,
    pub url: String,
    pub receiver: Receiver,
    pub counts: Arc<Counting>,
    busy: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    /// How far ahead of the wall clock the app's clock may run (ms), and how far it has.
    ahead_limit: Arc<AtomicI64>,
    pub skipped: Arc<AtomicI64>,
}

impl Rig {
    pub async fn start(platforms: PlatformsConfig) -> Self {
        warroom_testkit::logging::init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let clock = Arc::new(ManualClock::at(Timestamp(SystemClock.now().millis() - SKEW.as_millis() as i64)));
        let embedded = EmbeddedStore::open_temporary().unwrap();
        let store: Arc<dyn Store> = Arc::new(embedded);
        let queue = Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock.clone()));
        let secrets = SecretBox::from_key(&[7u8; 32]);
        let platforms =
            Platforms::with_http_timeout(PlatformsConfig { public_url: url.clone(), ..platforms }, CALL_TIMEOUT, secrets.clone(), store.clone(), clock.clone())
                .unwrap();
        let platforms = Arc::new(platforms);
        let settings = Arc::new(warroom_sources::TenantSettings::new(store.clone()));
        let loopback = warroom_sources::OutboundPolicy::allowing_loopback();
        let sources = SourceRouter::with_policy(settings, secrets.clone(), loopback).unwrap().with_clock(clock.clone());
        let engine = Engine {
            store: store.clone(),
            queue: queue.clone(),
            platforms: platforms.clone(),
            sources: Arc::new(sources),
            clock: clock.clone(),
            config: EngineConfig { public_url: url.clone() },
            models: None,
        };
        let state = AppState::new(engine, secrets.clone(), Settings { public_url: url.clone() }).with_platforms(platforms);
        let router = routers(&state);
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

        let tenant = fixtures::tenant_id();
        let receiver = Receiver::start().await;
        let mut t = fixtures::tenant(&tenant);
        t.settings.auto_dismiss_after_minutes = Some(0);
        let signing_secret = secrets.seal("status-callback-secret", &warroom_sources::secret_context(&tenant));
        let sync = SyncSettings { generic: Some(GenericSettings { callback_url: receiver.url(), signing_secret }), ..Default::default() };
        t.settings.sources = Some(serde_json::to_value(sync).unwrap());
        store.put_tenant(&t).await.unwrap();
        for (id, name) in [("m_ada", "Ada"), ("m_bob", "Bob"), ("m_dee", "Dee")] {
            store.put_member(&fixtures::member(&tenant, id, name)).await.unwrap();
        }
        let (admin_key, admin) = auth::new_key(&tenant, "tests", KeyScope::Admin, clock.now());
        let (intake_key, intake) = auth::new_key(&tenant, "monitoring", KeyScope::Intake, clock.now());
        store.put_api_key(&admin).await.unwrap();
        store.put_api_key(&intake).await.unwrap();
        let rig = Self {
            state,
            store,
            queue,
            clock,
            secrets,
            tenant,
            admin_key,
            intake_key,
            url,
            receiver,
            counts: Arc::default(),
            busy: Arc::default(),
            stop: Arc::default(),
            ahead_limit: Arc::new(AtomicI64::new(SKEW.as_millis() as i64)),
            skipped: Arc::default(),
        };
        rig.start_workers();
        rig.start_clock();
        rig
    }

    /// Worker loops, as the local stack runs them, several at once; a loop counts as busy
    /// from its receive to the end of the batch, so the clock never skips under a job.
    fn start_workers(&self) {
        for _ in 0..WORKERS {
            let (queue, busy, stop) = (self.queue.clone(), self.busy.clone(), self.stop.clone());
            let handler = Handler { engine: self.state.engine.clone(), counts: self.counts.clone() };
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    busy.fetch_add(1, Ordering::SeqCst);
                    let batch = queue.receive(10, Duration::ZERO).await.unwrap_or_default();
                    if !batch.is_empty() {
                        process_batch(queue.as_ref(), &handler, batch, true).await;
                    }
                    busy.fetch_sub(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
        }
    }

    /// In step with the wall clock; while every queued job waits and no worker is busy, a
    /// quarter second more per tick (within the skew the clicks allow).
    fn start_clock(&self) {
        let (clock, queue, busy, stop) = (self.clock.clone(), self.queue.clone(), self.busy.clone(), self.stop.clone());
        let (limit, skipped) = (self.ahead_limit.clone(), self.skipped.clone());
        tokio::spawn(async move {
            let mut last = Instant::now();
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                clock.advance(last.elapsed());
                last = Instant::now();
                let waiting = !queue.is_empty() && queue.in_flight() == queue.len() && busy.load(Ordering::SeqCst) == 0;
                let ahead = clock.now().millis() - SystemClock.now().millis();
                if waiting && ahead + 250 <= limit.load(Ordering::SeqCst) {
                    clock.advance(Duration::from_millis(250));
                    skipped.fetch_add(250, Ordering::SeqCst);
                }
            }
        });
    }

    /// No click comes any more: the clock may skip ahead as far as it needs.
    pub fn clicks_done(&self) {
        self.ahead_limit.store(i64::MAX / 2, Ordering::SeqCst);
    }

    /// Waits until every job is done (or dead-lettered) and no worker is busy.
    pub async fn settle(&self) {
        let started = Instant::now();
        let mut quiet = 0;
        while quiet < 3 {
            let ahead = (self.clock.now().millis() - SystemClock.now().millis()) / 1000;
            assert!(
                started.elapsed() < SETTLE_LIMIT,
                "the queue never settled: {} jobs left, {} in flight; clock {ahead} s ahead of the wall, {} s skipped; outcomes {:?}",
                self.queue.len(),
                self.queue.in_flight(),
                self.skipped.load(Ordering::SeqCst) / 1000,
                self.outcomes()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            quiet = if self.queue.is_empty() && self.busy.load(Ordering::SeqCst) == 0 { quiet + 1 } else { 0 };
        }
    }

    pub fn outcomes(&self) -> BTreeMap<&'static str, usize> {
        self.counts.outcomes.lock().unwrap().clone()
    }

    pub async fn post(&self, path: &str, key: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = reqwest::Client::new().post(format!("{}{path}", self.url)).bearer_auth(key).json(&body).send().await.unwrap();
        let code = resp.status().as_u16();
        (code, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn get(&self, path: &str, key: &str) -> (u16, serde_json::Value) {
        let resp = reqwest::Client::new().get(format!("{}{path}", self.url)).bearer_auth(key).send().await.unwrap();
        let code = resp.status().as_u16();
        (code, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub fn platforms(&self) -> Arc<Platforms> {
        self.state.platforms.clone().unwrap()
    }

    /// Stores an integration with these sealed credentials, war room on, Ada and Bob linked.
    /// `credentials` as the platform's adapter reads them (serialized).
    pub async fn integrate(&self, platform: Platform, external: &str, credentials: serde_json::Value, ada: &str, bob: &str) -> Integration {
        let mut integration = fixtures::integration(&self.tenant, platform);
        integration.external_id = Some(external.into());
        integration.credentials = self.platforms().seal(&integration.id, &credentials);
        self.store.create_integration(&integration).await.unwrap();
        self.store.enable_war_room(&self.tenant, &integration.id).await.unwrap();
        self.store.put_link(&fixtures::link(&self.tenant, &integration.id, "m_ada", ada)).await.unwrap();
        self.store.put_link(&fixtures::link(&self.tenant, &integration.id, "m_bob", bob)).await.unwrap();
        integration
    }

    pub async fn incident(&self, external: &str) -> Incident {
        super::incident_by_external(&*self.store, &self.tenant, external).await
    }

    pub async fn timeline(&self, incident: &Incident) -> Vec<TimelineEntry> {
        super::timeline_of(&*self.store, &self.tenant, incident).await
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
