//! The seam every IM platform plugs into. A platform is one adapter module that implements
//! [`PlatformModule`] and one line in [`crate::registry`]: the management API, the OAuth
//! routes, the callback routes and the runtime's configuration ask the registry, never a
//! platform by name. What a module declares: the credential fields an admin enters, how they
//! are checked against the platform, the permissions war rooms need, how the client and the
//! callback codec are built from the sealed credentials, the URLs to paste into the
//! platform's console, and (where offered) signing in from the IM app.

use crate::Platforms;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use warroom_core::{CallbackCodec, ImError, ImPlatform, ImResult, Integration, IntegrationId, Platform};

/// One credential value the admin enters when connecting (the API's body field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialField {
    pub name: &'static str,
    pub required: bool,
    /// Where the admin finds it, for error messages and the console.
    pub help: &'static str,
}

/// The credential values of a request, trimmed and checked as tokens (no whitespace inside,
/// bounded length) by the API; absent and blank fields are left out.
pub type FieldValues = BTreeMap<String, String>;

/// Why connecting failed. The API answers 400, 422 `invalid_credentials`, or the platform
/// error's own status (rate limited, unavailable) for these.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// A value is malformed before the platform was asked (`field: what is wrong`).
    #[error("{0}")]
    BadRequest(String),
    /// The platform refused the credentials (its message, never the secret).
    #[error("{0}")]
    Refused(String),
    /// The platform could not be asked: retry later.
    #[error(transparent)]
    Platform(ImError),
}

impl ConnectError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ConnectError::Platform(e) if e.is_retryable())
    }
}

/// What connecting learned.
#[derive(Clone, Debug)]
pub struct Connected {
    /// The platform's id for the installation (Slack team id, an app id): one integration each.
    pub external_id: String,
    /// Granted permissions as the platform reports them (empty where it cannot list them).
    pub scopes: Vec<String>,
    pub default_name: String,
    /// What is sealed and stored as the integration's credentials.
    pub stored: Value,
}

/// Who signed in from the IM app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub im_user_id: String,
    pub name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
}

#[async_trait]
pub trait PlatformModule: Send + Sync {
    fn platform(&self) -> Platform;

    /// What one installation is called in messages ("Slack workspace", "app").
    fn installation(&self) -> &'static str {
        "app"
    }

    /// The fields `POST /api/v1/integrations` takes for this platform (besides `platform`
    /// and `name`); fields of other platforms are refused.
    fn fields(&self) -> &'static [CredentialField];

    /// The permissions war rooms need, as the platform's console names them, with what each is for.
    fn required_scopes(&self) -> &'static [(&'static str, &'static str)];

    /// Checks the credentials against the platform (a token, who the app is, what it was
    /// granted) before anything is stored. `integration` is the id the credentials will be
    /// stored under (new, or the one whose credentials are replaced), for platforms that
    /// register a callback URL while connecting.
    async fn connect(&self, platforms: &Platforms, integration: &IntegrationId, values: &FieldValues) -> Result<Connected, ConnectError>;

    /// The client of an integration, its sealed credentials opened.
    fn client(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>>;

    /// Verifies and decodes an integration's callbacks (events, messages, card clicks).
    fn callbacks(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>>;

    /// The codec of the deployment's own app (Slack's one Request URL for every workspace).
    fn app_callbacks(&self, platforms: &Platforms) -> Option<Arc<dyn CallbackCodec>> {
        let _ = platforms;
        None
    }

    /// The URLs to paste into the platform's developer console for this integration
    /// (`base` is the deployment's public URL without a trailing slash); `None` where there
    /// is nothing to paste.
    fn setup(&self, platforms: Option<&Platforms>, integration: &Integration, base: &str) -> Option<Value>;

    /// What the integration has used of a platform quota (DingTalk's monthly API calls),
    /// for the integration's detail; `None` where the platform has none.
    async fn usage(&self, platforms: &Platforms, integration: &Integration) -> Option<Value> {
        let _ = (platforms, integration);
        None
    }

    /// Signing in from the IM app (its web-app homepage), where the platform offers it.
    fn sign_in(&self) -> Option<&dyn SignIn> {
        None
    }
}

/// Linking a person by signing in from the IM app: the platform's authorize page, then the
/// `code` it redirects back with exchanged for who signed in.
#[async_trait]
pub trait SignIn: Send + Sync {
    fn authorize_url(&self, platforms: &Platforms, integration: &Integration, redirect_uri: &str, state: &str) -> ImResult<String>;
    async fn user(&self, platforms: &Platforms, integration: &Integration, redirect_uri: &str, code: &str) -> ImResult<SignedIn>;
}

/// The usual URLs of an app connected by credentials: its event subscription and its card
/// callback, both per integration.
pub fn callback_urls(base: &str, integration: &Integration) -> (String, String) {
    let id = &integration.id;
    (format!("{base}/im/{id}/events"), format!("{base}/im/{id}/cards"))
}
