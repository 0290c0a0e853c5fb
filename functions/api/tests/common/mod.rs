//! One app per test: the real router over the embedded store, the in-process queue, fake
//! IM platforms and a manual clock, called in-process with `oneshot`.
#![allow(dead_code)]

use async_trait::async_trait;
use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use warroom_core::*;
use warroom_engine::{Engine, EngineConfig};
use warroom_http::{auth, AppState, Settings};
use warroom_platforms::{Platforms, PlatformsConfig};
use warroom_queue::{process_batch, MemoryQueue, MemoryQueueConfig};
use warroom_secrets::SecretBox;
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fake_platform::{FakeFactory, FakePlatform};
use warroom_testkit::fixtures;

pub const PUBLIC_URL: &str = "https://warroom.example.com";

/// Status sync is not what these tests are about.
pub struct NoSync;

#[async_trait]
impl SourceSync for NoSync {
    async fn push(&self, _t: &Tenant, _i: &Incident, _p: Option<&SourceState>) -> Result<Synced, SyncError> {
        Ok(Synced { detail: "not synced in tests".into() })
    }
}

pub struct App {
    pub router: Router,
    pub engine: Engine,
    pub store: Arc<EmbeddedStore>,
    pub queue: Arc<MemoryQueue>,
    pub clock: Arc<ManualClock>,
    pub factory: FakeFactory,
    pub secrets: SecretBox,
    /// The router's state (for what tests do beside the routes, e.g. finishing an OAuth state).
    pub state: AppState,
}

/// A tenant and its admin key.
pub struct TenantCtx {
    pub id: TenantId,
    pub key: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

impl App {
    pub fn new() -> Self {
        Self::with_queue(MemoryQueueConfig::default())
    }

    pub fn with_queue(config: MemoryQueueConfig) -> Self {
        warroom_testkit::logging::init();
        let clock = Arc::new(ManualClock::at(fixtures::T0));
        let store = Arc::new(EmbeddedStore::open_temporary().unwrap());
        let queue = Arc::new(MemoryQueue::new(config, clock.clone()));
        let factory = FakeFactory::new();
        let engine = Engine {
            store: store.clone(),
            queue: queue.clone(),
            platforms: Arc::new(factory.clone()),
            sources: Arc::new(NoSync),
            clock: clock.clone(),
            config: EngineConfig { public_url: PUBLIC_URL.into() },
            models: None,
        };
        let secrets = SecretBox::from_key(&[7; 32]);
        let state = AppState::new(engine.clone(), secrets.clone(), Settings { public_url: PUBLIC_URL.into() });
        Self { router: api::router(state.clone()), engine, store, queue, clock, factory, secrets, state }
    }

    /// The real platform adapters (pointed at the IM sandboxes by `config`) instead of the
    /// fakes: the engine's factory and the routers' `platforms` are the same [`Platforms`].
    /// An app whose Feishu adapter talks to a Feishu sandbox served on a free port (Slack
    /// pointed at nothing); the sandbox, to add apps and users to.
    pub async fn with_feishu_sandbox() -> (Self, warroom_sandbox::feishu::FeishuSandbox) {
        let sandbox = warroom_sandbox::feishu::FeishuSandbox::new(Default::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = sandbox.router();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let (app, _platforms) = App::with_platforms(PlatformsConfig {
            slack_api_base: "http://127.0.0.1:9/api".into(),
            slack_oauth_base: "http://127.0.0.1:9".into(),
            base_overrides: [(Platform::Feishu, base)].into(),
            ..PlatformsConfig::production(PUBLIC_URL)
        });
        (app, sandbox)
    }

    pub fn with_platforms(config: PlatformsConfig) -> (Self, Arc<Platforms>) {
        warroom_testkit::logging::init();
        let clock = Arc::new(ManualClock::at(fixtures::T0));
        let store = Arc::new(EmbeddedStore::open_temporary().unwrap());
        let queue = Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock.clone()));
        let secrets = SecretBox::from_key(&[7; 32]);
        let platforms = Arc::new(Platforms::new(config, secrets.clone(), store.clone(), clock.clone()).unwrap());
        let engine = Engine {
            store: store.clone(),
            queue: queue.clone(),
            platforms: platforms.clone(),
            sources: Arc::new(NoSync),
            clock: clock.clone(),
            config: EngineConfig { public_url: PUBLIC_URL.into() },
            models: None,
        };
        let state = AppState::new(engine.clone(), secrets.clone(), Settings { public_url: PUBLIC_URL.into() }).with_platforms(platforms.clone());
        let app = Self { router: api::router(state.clone()), engine, store, queue, clock, factory: FakeFactory::new(), secrets, state };
        (app, platforms)
    }

    pub async fn tenant(&self, name: &str) -> TenantCtx {
        let id = TenantId::generate();
        let tenant = Tenant { id: id.clone(), name: name.into(), settings: TenantSettings::default(), created_at: fixtures::T0, version: 0 };
        self.store.put_tenant(&tenant).await.unwrap();
        let key = self.key(&id, KeyScope::Admin).await;
        TenantCtx { id, key }
    }

    pub async fn key(&self, tenant: &TenantId, scope: KeyScope) -> String {
        let (key, record) = auth::new_key(tenant, "tests", scope, fixtures::T0);
        self.store.put_api_key(&record).await.unwrap();
        key
    }

    /// An integration with these granted scopes, and the fake platform behind it (which
    /// reports the same scopes).
    pub async fn integration(&self, tenant: &TenantId, platform: Platform, scopes: &[&str]) -> (Integration, FakePlatform) {
        let mut integration = fixtures::integration(tenant, platform);
        integration.granted_scopes = scopes.iter().map(|s| s.to_string()).collect();
        self.store.create_integration(&integration).await.unwrap();
        let fake = FakePlatform::new(platform);
        fake.set_granted_scopes(integration.granted_scopes.clone());
        self.factory.insert(integration.id.clone(), fake.clone());
        (integration, fake)
    }

    /// Every scope the fake factory requires.
    pub fn all_scopes() -> Vec<&'static str> {
        warroom_testkit::fake_platform::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect()
    }

    pub async fn incident(&self, tenant: &TenantId, external_id: &str) -> Incident {
        self.store.create_incident(&fixtures::incident(tenant, external_id, fixtures::T0)).await.unwrap()
    }

    pub async fn member(&self, tenant: &TenantId, id: &str, name: &str) -> Member {
        let m = fixtures::member(tenant, id, name);
        self.store.put_member(&m).await.unwrap();
        m
    }

    pub async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        let raw = body.map(|b| b.to_string());
        self.raw(method, path, key, raw.as_deref(), Some("application/json")).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn raw(&self, method: Method, path: &str, key: Option<&str>, body: Option<&str>, content_type: Option<&str>) -> Reply {
        self.raw_with(method, path, key, body, content_type, &[]).await
    }

    /// A JSON call with extra request headers (`If-Match`, ...).
    pub async fn call_with(&self, method: Method, path: &str, key: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Reply {
        let raw = body.map(|b| b.to_string());
        self.raw_with(method, path, Some(key), raw.as_deref(), Some("application/json"), headers).await
    }

    pub async fn raw_with(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
        content_type: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(key) = key {
            req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        if let (Some(ct), Some(_)) = (content_type, body) {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req.body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned()))).unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    /// Jobs waiting in the queue (received and left in flight: call last).
    pub async fn queued_jobs(&self) -> Vec<Job> {
        let deliveries = self.queue.receive(10, Duration::ZERO).await.unwrap();
        deliveries.iter().map(|d| d.job().unwrap()).collect()
    }

    /// One worker pass over whatever is queued.
    pub async fn run_worker(&self) {
        let deliveries = self.queue.receive(10, Duration::ZERO).await.unwrap();
        process_batch(self.queue.as_ref(), &self.engine, deliveries, true).await;
    }
}
