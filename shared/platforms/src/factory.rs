//! The deployment's `PlatformFactory`: opens an integration's sealed credentials and hands
//! out the platform's client and callback codec; also the install / connect flows the
//! management API and the OAuth routes use.

use crate::{feishu, slack};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{CallbackCodec, Clock, ImError, ImPlatform, ImResult, Integration, IntegrationId, Platform, PlatformFactory, SealedCredentials, Store};
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
    /// Replaces every Feishu/Lark integration's base URL (the sandbox); `None` in production.
    pub feishu_base_override: Option<String>,
}

impl PlatformsConfig {
    pub fn production(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            slack_api_base: slack::API_BASE.to_string(),
            slack_oauth_base: slack::OAUTH_BASE.to_string(),
            slack_app: None,
            feishu_base_override: None,
        }
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
}

/// A Feishu integration's stored (sealed) form: the app credentials the admin entered plus
/// the bot's own open_id, learned when connecting (events name mentions only by open_id).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredFeishu {
    #[serde(flatten)]
    pub credentials: feishu::FeishuCredentials,
    #[serde(default)]
    pub bot_open_id: Option<String>,
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
        Ok(Self { config, timeout, secrets, http, store, clock })
    }

    /// The bound on each IM API call.
    pub fn http_timeout(&self) -> Duration {
        self.timeout
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
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

    pub fn feishu_credentials(&self, integration: &Integration) -> ImResult<feishu::FeishuCredentials> {
        Ok(self.feishu_stored(integration)?.credentials)
    }

    fn feishu_stored(&self, integration: &Integration) -> ImResult<StoredFeishu> {
        let mut stored: StoredFeishu = self.open(integration)?;
        if let Some(base) = &self.config.feishu_base_override {
            stored.credentials.base_url = base.clone();
        }
        Ok(stored)
    }

    pub fn slack(&self, credentials: slack::SlackCredentials) -> Arc<dyn ImPlatform> {
        Arc::new(slack::SlackPlatform::new(credentials, self.config.slack_api_base.clone(), self.http.clone()).with_timeout(self.timeout))
    }

    pub fn feishu(&self, credentials: feishu::FeishuCredentials) -> Arc<dyn ImPlatform> {
        Arc::new(feishu::FeishuPlatform::new(credentials, self.http.clone(), self.store.clone(), self.clock.clone()))
    }
}

fn unsupported(platform: Platform) -> ImError {
    ImError::Rejected { code: "platform_unavailable".into(), message: format!("the {platform} platform is not available in this build yet") }
}

impl PlatformFactory for Platforms {
    fn for_integration(&self, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        match integration.platform {
            Platform::Slack => Ok(self.slack(self.slack_credentials(integration)?)),
            Platform::Feishu => Ok(self.feishu(self.feishu_credentials(integration)?)),
            other => Err(unsupported(other)),
        }
    }

    fn required_scopes(&self, platform: Platform) -> Vec<(&'static str, &'static str)> {
        match platform {
            Platform::Slack => slack::REQUIRED_SCOPES.to_vec(),
            Platform::Feishu => feishu::REQUIRED_SCOPES.to_vec(),
            _ => Vec::new(),
        }
    }

    fn callbacks(&self, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>> {
        match integration.platform {
            Platform::Slack => {
                let credentials = self.slack_credentials(integration)?;
                // A self-managed app signs with its own secret; else the deployment's app.
                let secret = match (credentials.signing_secret, &self.config.slack_app) {
                    (Some(own), _) => Secret::new(own),
                    (None, Some(app)) => app.signing_secret.clone(),
                    (None, None) => {
                        return Err(ImError::Unauthorized("no Slack signing secret: this integration has none and the deployment has no Slack app".into()))
                    }
                };
                Ok(Arc::new(slack::SlackCodec::new(secret, self.http.clone())))
            }
            Platform::Feishu => {
                let stored = self.feishu_stored(integration)?;
                let codec = feishu::FeishuCodec::new(stored.credentials);
                // Without the bot's own open_id, an @mention of it cannot be recognised.
                Ok(Arc::new(match stored.bot_open_id {
                    Some(id) => codec.with_bot_open_id(id),
                    None => codec,
                }))
            }
            other => Err(unsupported(other)),
        }
    }

    fn app_callbacks(&self, platform: Platform) -> Option<Arc<dyn CallbackCodec>> {
        match (platform, &self.config.slack_app) {
            (Platform::Slack, Some(app)) => Some(Arc::new(slack::SlackCodec::new(app.signing_secret.clone(), self.http.clone()))),
            _ => None,
        }
    }
}
