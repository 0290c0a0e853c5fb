//! An app wired like a deployment (real platform adapters, through `warroom_runtime::compose`)
//! over the embedded store and the in-process queue, served on a loopback port so the IM
//! sandboxes can call it back.

use super::drain_queue;
use axum::Router;
use std::sync::Arc;
use warroom_core::*;
use warroom_http::{auth, AppState};
use warroom_platforms::{feishu, PlatformsConfig, StoredFeishu};
use warroom_queue::{MemoryQueue, MemoryQueueConfig};
use warroom_secrets::SecretBox;
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fixtures;

pub struct PlatformApp {
    pub state: AppState,
    pub store: Arc<dyn Store>,
    pub queue: Arc<MemoryQueue>,
    pub clock: Arc<ManualClock>,
    pub tenant: TenantId,
    pub admin_key: String,
    pub intake_key: String,
    /// `http://127.0.0.1:PORT`: where the sandboxes send callbacks.
    pub url: String,
    /// The same store as `store`, for whole-store snapshots (`dump`).
    pub embedded: EmbeddedStore,
}

/// Every function's router, merged as the local stack does.
pub fn routers(state: &AppState) -> Router {
    Router::new()
        .merge(incident_intake::router(state.clone()))
        .merge(im_events::router(state.clone()))
        .merge(card_actions::router(state.clone()))
        .merge(oauth_callback::router(state.clone()))
        .merge(api::router(state.clone()))
}

/// What the tests' peers need: loopback, where the sandboxes listen.
fn loopback_policy() -> warroom_sources::OutboundPolicy {
    warroom_sources::OutboundPolicy::allowing_loopback()
}

impl PlatformApp {
    /// `platforms(public_url)` builds the adapters' configuration once the app's own URL is known.
    pub async fn start(platforms: impl FnOnce(&str) -> PlatformsConfig) -> Self {
        Self::start_with_model(platforms, None).await
    }

    /// No IM platform configured beyond the production defaults, and no model.
    pub async fn start_without_model() -> Self {
        Self::start(|url| PlatformsConfig::production(url)).await
    }

    /// Like `start`, with the deployment's model (the assistant, the post-mortem) set for
    /// the served routes and the worker alike.
    pub async fn start_with_model(platforms: impl FnOnce(&str) -> PlatformsConfig, model: Option<&ModelSettings>) -> Self {
        warroom_testkit::logging::init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let clock = Arc::new(ManualClock::at(SystemClock.now()));
        let embedded = EmbeddedStore::open_temporary().unwrap();
        let store: Arc<dyn Store> = Arc::new(embedded.clone());
        let queue = Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock.clone()));
        let loopback = warroom_sources::OutboundPolicy::allowing_loopback();
        let state = warroom_runtime::compose(store.clone(), queue.clone(), clock.clone(), SecretBox::from_key(&[9u8; 32]), platforms(&url), loopback).unwrap();
        let state = warroom_runtime::with_models_under(state, model, &loopback_policy()).unwrap();
        let router = routers(&state);
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

        let tenant = fixtures::tenant_id();
        let mut t = fixtures::tenant(&tenant);
        t.settings.auto_create_min_severity = Some(Severity::Critical);
        store.put_tenant(&t).await.unwrap();
        for (id, name) in [("m_ada", "Ada"), ("m_bob", "Bob"), ("m_dee", "Dee")] {
            store.put_member(&fixtures::member(&tenant, id, name)).await.unwrap();
        }
        let (admin_key, admin) = auth::new_key(&tenant, "tests", KeyScope::Admin, clock.now());
        let (intake_key, intake) = auth::new_key(&tenant, "monitoring", KeyScope::Intake, clock.now());
        store.put_api_key(&admin).await.unwrap();
        store.put_api_key(&intake).await.unwrap();
        Self { state, store, queue, clock, tenant, admin_key, intake_key, url, embedded }
    }

    pub async fn drain(&self) {
        drain_queue(&self.queue, &self.state, &self.clock).await;
    }

    /// A management-API `PUT` with the admin key.
    pub async fn put_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = reqwest::Client::new().put(format!("{}{path}", self.url)).bearer_auth(&self.admin_key).json(&body).send().await.unwrap();
        let code = resp.status().as_u16();
        (code, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post(&self, path: &str, key: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = reqwest::Client::new().post(format!("{}{path}", self.url)).bearer_auth(key).json(&body).send().await.unwrap();
        let code = resp.status().as_u16();
        (code, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// What connecting a Feishu app by its credentials stores (as `POST /api/v1/integrations`
    /// does): sealed credentials with the bot's open_id, and the scopes Feishu reports.
    pub async fn connect_feishu(&self, app_id: &str, app_secret: &str, verification_token: &str, encrypt_key: &str, base_url: &str) -> Integration {
        let platforms = self.state.platforms.clone().unwrap();
        let credentials = feishu::FeishuCredentials {
            app_id: app_id.into(),
            app_secret: app_secret.into(),
            verification_token: verification_token.into(),
            encrypt_key: encrypt_key.into(),
            base_url: base_url.into(),
        };
        let client = feishu::FeishuPlatform::new(credentials.clone(), platforms.http().clone(), self.store.clone(), self.clock.clone());
        let bot = client.bot_open_id().await.unwrap();
        let scopes = client.granted_scopes().await.unwrap();
        let id = IntegrationId::generate();
        let now = self.clock.now();
        let integration = Integration {
            tenant_id: self.tenant.clone(),
            credentials: platforms.seal(&id, &StoredFeishu { credentials, bot_open_id: Some(bot) }),
            id,
            platform: Platform::Feishu,
            name: "Feishu".into(),
            external_id: Some(app_id.into()),
            granted_scopes: scopes,
            war_room_enabled: false,
            status: IntegrationStatus::Active,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        self.store.create_integration(&integration).await.unwrap();
        integration
    }

    pub async fn incident(&self, external: &str) -> Incident {
        super::incident_by_external(&*self.store, &self.tenant, external).await
    }

    pub async fn timeline(&self, incident: &Incident) -> Vec<TimelineEntry> {
        super::timeline_of(&*self.store, &self.tenant, incident).await
    }
}
