//! One app per test: every router merged as the local stack will, over real local peers
//! (the embedded store or DynamoDB, the in-process queue or SQS), the fake IM platform,
//! and a local HTTP receiver standing in for the incident source's status callback.
#![allow(dead_code)]

pub mod assistant_world;
pub mod cn_assistant;
pub mod corpus;
pub mod faults;
pub mod platform_app;
pub mod receiver;

/// Status-sync settings a test can change after the app is built (e.g. to point at an
/// Alertmanager it started).
#[derive(Default)]
pub struct MutableSettings(pub std::sync::Mutex<SyncSettings>);

#[async_trait::async_trait]
impl warroom_sources::SettingsSource for MutableSettings {
    async fn sync_settings(&self, _tenant: &TenantId) -> Result<SyncSettings, SyncError> {
        Ok(self.0.lock().unwrap().clone())
    }
}

use axum::body::{to_bytes, Body};
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use warroom_core::*;
use warroom_engine::{Engine, EngineConfig};
use warroom_http::{auth, AppState, Settings};
use warroom_queue::{process_batch, MemoryQueue, MemoryQueueConfig};
use warroom_secrets::SecretBox;
use warroom_sources::{GenericSettings, SourceRouter, SyncSettings};
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fake_callbacks;
use warroom_testkit::fake_platform::{FakeFactory, FakePlatform};
use warroom_testkit::fixtures;

pub const CALLBACK_SECRET: &str = "status-callback-secret";

pub struct App {
    pub router: Router,
    pub state: AppState,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<ManualClock>,
    pub fake: FakePlatform,
    pub tenant: TenantId,
    pub integration: Integration,
    pub admin_key: String,
    pub intake_key: String,
    pub receiver: receiver::Receiver,
    pub sync_settings: Arc<MutableSettings>,
    /// Set for the in-process queue: lets `drain` move time past deferrals.
    memory_queue: Option<Arc<MemoryQueue>>,
}

impl App {
    pub async fn new() -> Self {
        let clock = Arc::new(ManualClock::at(SystemClock.now()));
        let queue = Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock.clone()));
        Self::with(Arc::new(EmbeddedStore::open_temporary().unwrap()), queue.clone(), Some(queue), clock).await
    }

    pub async fn with(store: Arc<dyn Store>, queue: Arc<dyn JobQueue>, memory_queue: Option<Arc<MemoryQueue>>, clock: Arc<ManualClock>) -> Self {
        warroom_testkit::logging::init();
        let secrets = SecretBox::from_key(&[42u8; 32]);
        let tenant = fixtures::tenant_id();
        store.put_tenant(&fixtures::tenant(&tenant)).await.unwrap();
        for (id, name) in [("m_ada", "Ada"), ("m_bob", "Bob"), ("m_cy", "Cy"), ("m_dee", "Dee")] {
            store.put_member(&fixtures::member(&tenant, id, name)).await.unwrap();
        }
        let mut integration = fixtures::integration(&tenant, Platform::Slack);
        integration.granted_scopes = fake_platform_scopes();
        store.create_integration(&integration).await.unwrap();
        store.enable_war_room(&tenant, &integration.id).await.unwrap();
        store.put_link(&fixtures::link(&tenant, &integration.id, "m_ada", "U_ADA")).await.unwrap();
        let fake = FakePlatform::new(Platform::Slack);
        fake.add_user("U_ADA", "Ada", Some("ada@example.com"), None);
        fake.add_user("U_BOB", "Bob", Some("bob@example.com"), None);
        fake.add_user("U_CY", "Cy", Some("cy@example.com"), None);
        let factory = FakeFactory::new();
        factory.insert(integration.id.clone(), fake.clone());

        let receiver = receiver::Receiver::start().await;
        let sealed = secrets.seal(CALLBACK_SECRET, &warroom_sources::secret_context(&tenant));
        let settings = SyncSettings { generic: Some(GenericSettings { callback_url: receiver.url(), signing_secret: sealed }), ..Default::default() };
        let sync_settings = Arc::new(MutableSettings(std::sync::Mutex::new(settings)));
        // The receiver is on loopback: allowed here as an operator would allow a private peer.
        let loopback = warroom_sources::OutboundPolicy::allowing_loopback();
        let sources = SourceRouter::with_policy(sync_settings.clone(), secrets.clone(), loopback).unwrap().with_clock(clock.clone());
        let engine = Engine {
            store: store.clone(),
            queue: queue.clone(),
            platforms: Arc::new(factory),
            sources: Arc::new(sources),
            clock: clock.clone(),
            config: EngineConfig { public_url: "https://warroom.example.com".into() },
            models: None,
        };
        let state = AppState::new(engine, secrets, Settings { public_url: "https://warroom.example.com".into() });
        let router = Router::new()
            .merge(incident_intake::router(state.clone()))
            .merge(im_events::router(state.clone()))
            .merge(card_actions::router(state.clone()))
            .merge(oauth_callback::router(state.clone()));
        let (admin_key, admin) = auth::new_key(&tenant, "tests", KeyScope::Admin, clock.now());
        let (intake_key, intake) = auth::new_key(&tenant, "monitoring", KeyScope::Intake, clock.now());
        store.put_api_key(&admin).await.unwrap();
        store.put_api_key(&intake).await.unwrap();
        Self { router, state, store, queue, clock, fake, tenant, integration, admin_key, intake_key, receiver, sync_settings, memory_queue }
    }

    pub async fn request(&self, method: Method, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = self.router.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// `POST /hooks/generic` with the intake key.
    pub async fn hook(&self, body: Value) -> (StatusCode, Value) {
        let auth = ("authorization", format!("Bearer {}", self.intake_key));
        self.request(Method::POST, "/hooks/generic", &[auth, ("content-type", "application/json".into())], body.to_string().into_bytes()).await
    }

    /// A signed button click from the fake platform, as it would arrive.
    pub async fn click(&self, user: &str, incident: &IncidentId, action: CardAction, delivery: &str) -> (StatusCode, Value) {
        let body = fake_callbacks::click_body(user, incident, action, delivery);
        let ts = self.clock.now().secs();
        let headers = [(fake_callbacks::TIMESTAMP_HEADER, ts.to_string()), (fake_callbacks::SIGNATURE_HEADER, fake_callbacks::signature(ts, &body))];
        self.request(Method::POST, &format!("/im/{}/cards", self.integration.id), &headers, body).await
    }

    /// Runs the worker until the queue is idle (moving the in-process queue's clock past
    /// deferrals of up to two minutes; with SQS, waiting for real).
    pub async fn drain(&self) {
        let deadline = self.clock.now().plus(Duration::from_secs(120));
        let mut idle = 0;
        for _ in 0..500 {
            let wait = if self.memory_queue.is_some() { Duration::ZERO } else { Duration::from_secs(1) };
            let batch = self.queue.receive(10, wait).await.unwrap();
            if !batch.is_empty() {
                idle = 0;
                process_batch(self.queue.as_ref(), &self.state.engine, batch, true).await;
                continue;
            }
            match &self.memory_queue {
                Some(q) if q.is_empty() || self.clock.now() >= deadline => return,
                Some(_) => self.clock.advance(Duration::from_secs(1)),
                // SQS: two quiet polls in a row means idle.
                None if idle >= 1 => return,
                None => idle += 1,
            }
        }
        panic!("the queue never went idle");
    }

    /// Serves every route on a loopback port (for peers that call us: Alertmanager).
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = self.router.clone();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        addr
    }

    pub async fn incident(&self, external: &str) -> Incident {
        incident_by_external(&*self.store, &self.tenant, external).await
    }

    pub async fn timeline(&self, incident: &Incident) -> Vec<TimelineEntry> {
        timeline_of(&*self.store, &self.tenant, incident).await
    }
}

/// The incident the generic source knows as `external` (it must exist).
pub async fn incident_by_external(store: &dyn Store, tenant: &TenantId, external: &str) -> Incident {
    let src = SourceRef { source: "generic".into(), external_id: external.into() };
    store.find_incident_by_source(tenant, &src).await.unwrap().expect("incident exists")
}

pub async fn timeline_of(store: &dyn Store, tenant: &TenantId, incident: &Incident) -> Vec<TimelineEntry> {
    store.list_timeline(tenant, &incident.id).await.unwrap()
}

/// Runs the worker over an in-process queue until it is idle (waiting out deferrals of up
/// to two minutes, in real time).
pub async fn drain_queue(queue: &Arc<MemoryQueue>, state: &AppState, clock: &ManualClock) {
    let deadline = clock.now().plus(Duration::from_secs(120));
    for _ in 0..2000 {
        let batch = queue.receive(10, Duration::ZERO).await.unwrap();
        if !batch.is_empty() {
            process_batch(queue.as_ref(), &state.engine, batch, true).await;
            continue;
        }
        if queue.is_empty() || clock.now() >= deadline {
            return;
        }
        // In step with the wall clock: the sandboxes' rate limits run on it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        clock.advance(Duration::from_millis(50));
    }
    panic!("the queue never went idle");
}

pub fn fake_platform_scopes() -> Vec<String> {
    warroom_testkit::fake_platform::REQUIRED_SCOPES.iter().map(|(s, _)| s.to_string()).collect()
}

/// A generic-webhook body.
pub fn event(id: &str, status: &str, at_secs: i64, responders: &[&str]) -> Value {
    let responders: Vec<Value> = responders.iter().map(|n| serde_json::json!({"name": n, "email": format!("{}@example.com", n.to_lowercase())})).collect();
    let at = Timestamp(fixtures::T0.0 + at_secs * 1000).to_rfc3339();
    serde_json::json!({"id": id, "title": format!("Checkout errors {id}"), "severity": "critical", "status": status, "time": at, "responders": responders, "war_room": true})
}
