//! The deployment's `PlatformFactory`: opens an integration's sealed credentials and hands
//! out the platform's client and callback codec; also the install / connect flows the
//! management API and the OAuth routes use.

use crate::module::PlatformModule;
// Declared here (not in lib.rs) so the metering stays beside the one place clients are made.
#[path = "metered.rs"]
pub(crate) mod metered;
use crate::health::HealthLog;
use crate::{registry, slack};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{
    CallbackCodec, ChatId, Clock, ImError, ImPlatform, ImResult, Integration, IntegrationId, Platform, PlatformFactory, SealedCredentials, Store,
};
use warroom_secrets::{Secret, SecretBox};

/// The deployment's own Slack app (one Request URL for every workspace, installed by OAuth).
#[derive(Clone, Debug)]
pub struct SlackApp {
    pub client_id: String,
    pub client_secret: Secret,
    pub signing_secret: Secret,
}

#[derive(Clone, Debug)]
pub struct PlatformsConfig {
    pub public_url: String,
    /// `https://slack.com/api`, or the sandbox.
    pub slack_api_base: String,
    /// `https://slack.com` (the OAuth authorize page), or the sandbox.
    pub slack_oauth_base: String,
    pub slack_app: Option<SlackApp>,
    /// Replaces the API base URL of every integration of a platform connected by app
    /// credentials (the sandbox); empty in production. Keyed by platform, so the runtime
    /// reads `WARROOM_{PLATFORM}_BASE_URL` for each registered platform.
    pub base_overrides: BTreeMap<Platform, String>,
    /// Where people open a war room's chat when the platforms are sandboxes: the sandbox
    /// page, whose chats are anchored `#chat-{id}`. `None` in production: the platform's
    /// own link (Slack's app_redirect, Feishu's AppLink) stands.
    pub chat_links: Option<String>,
}

impl PlatformsConfig {
    pub fn production(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            slack_api_base: slack::API_BASE.to_string(),
            slack_oauth_base: slack::OAUTH_BASE.to_string(),
            slack_app: None,
            base_overrides: BTreeMap::new(),
            chat_links: None,
        }
    }

    /// The same configuration with `platform`'s API base replaced (the sandbox).
    pub fn with_base_override(mut self, platform: Platform, base: impl Into<String>) -> Self {
        self.base_overrides.insert(platform, base.into());
        self
    }

    pub fn base_override(&self, platform: Platform) -> Option<&str> {
        self.base_overrides.get(&platform).map(String::as_str)
    }
}

/// How long one IM API call may take before it counts as failed (and the job is retried).
/// No sleeping on slow peers inside a Lambda.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Platforms {
    pub config: PlatformsConfig,
    timeout: Duration,
    secrets: SecretBox,
    http: reqwest::Client,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    modules: Vec<Arc<dyn PlatformModule>>,
    health: Arc<HealthLog>,
}

/// Credentials are sealed for their integration: a sealed value copied onto another
/// integration does not open.
fn context(id: &IntegrationId) -> String {
    format!("integration:{id}")
}

impl Platforms {
    pub fn new(config: PlatformsConfig, secrets: SecretBox, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Result<Self, reqwest::Error> {
        Self::with_http_timeout(config, DEFAULT_HTTP_TIMEOUT, secrets, store, clock)
    }

    /// As [`Platforms::new`], with another bound on each IM API call (tests of lost answers
    /// use a short one so a hung call fails fast).
    pub fn with_http_timeout(
        config: PlatformsConfig,
        timeout: Duration,
        secrets: SecretBox,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, reqwest::Error> {
        // Short connect, bounded total.
        let http = crate::tls::http_client_builder().connect_timeout(Duration::from_secs(3).min(timeout)).timeout(timeout).build()?;
        let health = Arc::new(HealthLog::new(store.clone(), clock.clone()));
        Ok(Self { config, timeout, secrets, http, store, clock, modules: registry::modules(), health })
    }

    /// The bound on each IM API call.
    pub fn http_timeout(&self) -> Duration {
        self.timeout
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The registered module of `platform`, if this build has one.
    pub fn module(&self, platform: Platform) -> Option<&dyn PlatformModule> {
        self.modules.iter().find(|m| m.platform() == platform).map(|m| m.as_ref())
    }

    /// Every registered module, in registration order.
    pub fn modules(&self) -> impl Iterator<Item = &dyn PlatformModule> {
        self.modules.iter().map(|m| m.as_ref())
    }

    /// The module of `platform`, or the error a build without it gives.
    pub fn module_or_err(&self, platform: Platform) -> ImResult<&dyn PlatformModule> {
        self.module(platform).ok_or_else(|| unsupported(platform))
    }

    pub fn seal<T: Serialize>(&self, integration: &IntegrationId, credentials: &T) -> SealedCredentials {
        let json = serde_json::to_string(credentials).expect("credentials serialize");
        self.secrets.seal(&json, &context(integration))
    }

    pub fn open<T: DeserializeOwned>(&self, integration: &Integration) -> ImResult<T> {
        let plain = self
            .secrets
            .open(&integration.credentials, &context(&integration.id))
            .map_err(|e| ImError::Unauthorized(format!("the integration's credentials could not be opened ({e}); enter them again")))?;
        serde_json::from_str(plain.expose())
            .map_err(|_| ImError::Unauthorized("the integration's stored credentials are not readable; enter them again".into()))
    }

    pub fn slack_credentials(&self, integration: &Integration) -> ImResult<slack::SlackCredentials> {
        self.open(integration)
    }

    pub fn slack(&self, credentials: slack::SlackCredentials) -> Arc<dyn ImPlatform> {
        Arc::new(slack::SlackPlatform::new(credentials, self.config.slack_api_base.clone(), self.http.clone()).with_timeout(self.timeout))
    }
}

fn unsupported(platform: Platform) -> ImError {
    ImError::Rejected { code: "platform_unavailable".into(), message: format!("the {platform} platform is not available in this build yet") }
}

impl PlatformFactory for Platforms {
    fn for_integration(&self, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        // Every client is metered: IM call counts, latency, 429 waits, revoked integrations,
        // and the integration's own health record.
        let client = self.module_or_err(integration.platform)?.client(self, integration)?;
        Ok(metered::metered_with_health(client, self.health.clone(), integration.id.clone()))
    }

    fn chat_link(&self, chat: &ChatId, given: Option<String>) -> Option<String> {
        match &self.config.chat_links {
            Some(page) => Some(format!("{page}#chat-{}", chat.as_str())),
            None => given,
        }
    }

    fn required_scopes(&self, platform: Platform) -> Vec<(&'static str, &'static str)> {
        self.module(platform).map(|m| m.required_scopes().to_vec()).unwrap_or_default()
    }

    fn callbacks(&self, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>> {
        self.module_or_err(integration.platform)?.callbacks(self, integration)
    }

    fn app_callbacks(&self, platform: Platform) -> Option<Arc<dyn CallbackCodec>> {
        self.module(platform)?.app_callbacks(self)
    }
}
