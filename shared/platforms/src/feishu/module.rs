//! Feishu / Lark's registration: a custom app connected by its four console values
//! (seed 003, "Add Feishu/Lark Integration"), the URLs its console needs, and signing in
//! from the Feishu app.

use super::{authorize_url, login_user, FeishuCodec, FeishuCredentials, FeishuPlatform, FEISHU_BASE, LARK_BASE, REQUIRED_SCOPES};
use crate::module::{callback_urls, ConnectError, Connected, CredentialField, FieldValues, PlatformModule, SignIn, SignedIn};
use crate::Platforms;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use warroom_core::{CallbackCodec, ImError, ImPlatform, ImResult, Integration, IntegrationId, Platform};

pub struct FeishuModule;

/// A Feishu integration's stored (sealed) form: the app credentials the admin entered plus
/// the bot's own open_id, learned when connecting (events name mentions only by open_id).
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredFeishu {
    #[serde(flatten)]
    pub credentials: FeishuCredentials,
    #[serde(default)]
    pub bot_open_id: Option<String>,
}

const FIELDS: &[CredentialField] = &[
    CredentialField { name: "app_id", required: true, help: "App ID (cli_…), from \"Credentials & Basic Info\"" },
    CredentialField { name: "app_secret", required: true, help: "App Secret, from \"Credentials & Basic Info\"" },
    CredentialField { name: "verification_token", required: true, help: "Verification Token, from \"Events & Callbacks\" → \"Encryption Strategy\"" },
    CredentialField { name: "encrypt_key", required: false, help: "Encrypt Key, from \"Events & Callbacks\" → \"Encryption Strategy\"" },
    CredentialField { name: "domain", required: false, help: "feishu (default) or lark" },
];

/// The stored credentials with the deployment's base override applied (the sandbox): the
/// stored value keeps the real host.
pub(crate) fn stored(platforms: &Platforms, integration: &Integration) -> ImResult<StoredFeishu> {
    let mut stored: StoredFeishu = platforms.open(integration)?;
    if let Some(base) = platforms.config.base_override(Platform::Feishu) {
        stored.credentials.base_url = base.to_owned();
    }
    Ok(stored)
}

fn required(values: &FieldValues, name: &str) -> Result<String, ConnectError> {
    values.get(name).cloned().ok_or_else(|| ConnectError::BadRequest(format!("{name}: required")))
}

/// Asks for a tenant_access_token with exactly these credentials. The adapter shares
/// tokens per app id through the store, so a token cached for the app would hide a wrong
/// secret: this call proves the secret.
async fn prove_secret(platforms: &Platforms, base: &str, credentials: &FeishuCredentials) -> Result<(), ConnectError> {
    let url = format!("{}/open-apis/auth/v3/tenant_access_token/internal", base.trim_end_matches('/'));
    let body = json!({"app_id": credentials.app_id, "app_secret": credentials.app_secret});
    let response = platforms
        .http()
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| ConnectError::Platform(ImError::Transient(format!("Feishu unreachable: {}", e.without_url()))))?;
    let status = response.status().as_u16();
    let answer: Option<Value> = response.json().await.ok();
    let code = answer.as_ref().and_then(|a| a.get("code")).and_then(Value::as_i64);
    let msg = answer.as_ref().and_then(|a| a.get("msg")).and_then(Value::as_str).unwrap_or_default();
    let token = answer.as_ref().and_then(|a| a.get("tenant_access_token")).and_then(Value::as_str).unwrap_or_default();
    match code {
        Some(0) if !token.is_empty() => Ok(()),
        // The gateway's rate limit: HTTP 429, or code 99991400 (reference §5).
        _ if status == 429 || code == Some(99991400) => Err(ConnectError::Platform(ImError::RateLimited { retry_after: std::time::Duration::from_secs(1) })),
        _ if status >= 500 => Err(ConnectError::Platform(ImError::Transient(format!("Feishu answered HTTP {status}")))),
        Some(code) if code != 0 => Err(ConnectError::Refused(format!("app_id / app_secret: Feishu refused the app credentials ({code}: {msg})"))),
        _ => Err(ConnectError::Platform(ImError::Transient(format!("unreadable tenant_access_token answer (HTTP {status})")))),
    }
}

fn refused(e: ImError) -> ConnectError {
    match e {
        ImError::Unauthorized(message) => ConnectError::Refused(format!("app_id / app_secret: {message}")),
        other => ConnectError::Platform(other),
    }
}

#[async_trait]
impl PlatformModule for FeishuModule {
    fn platform(&self) -> Platform {
        Platform::Feishu
    }

    fn fields(&self) -> &'static [CredentialField] {
        FIELDS
    }

    fn required_scopes(&self) -> &'static [(&'static str, &'static str)] {
        REQUIRED_SCOPES
    }

    /// The app's token (proving app_id and app_secret), its granted scopes, and its bot's
    /// open_id (events name an @mention of the bot only by it). The bot capability may be
    /// enabled after connecting (seed 003 adds the integration first): without a bot yet,
    /// the open_id is left unknown and learned when the credentials are entered again.
    async fn connect(&self, platforms: &Platforms, _integration: &IntegrationId, values: &FieldValues) -> Result<Connected, ConnectError> {
        let app_id = required(values, "app_id")?;
        let app_secret = required(values, "app_secret")?;
        let verification_token = required(values, "verification_token")?;
        let encrypt_key = values.get("encrypt_key").cloned().unwrap_or_default();
        let (base, label) = match values.get("domain").map(String::as_str) {
            None | Some("feishu") => (FEISHU_BASE, "Feishu"),
            Some("lark") => (LARK_BASE, "Lark"),
            Some(other) => return Err(ConnectError::BadRequest(format!("domain: must be feishu or lark, got {other:?}"))),
        };
        let credentials = FeishuCredentials { app_id: app_id.clone(), app_secret, verification_token, encrypt_key, base_url: base.to_owned() };
        // The sandbox (or a test) replaces the host; the stored credentials keep the real one
        // and `stored` applies the override when they are opened.
        let call_base = platforms.config.base_override(Platform::Feishu).unwrap_or(base).to_owned();
        prove_secret(platforms, &call_base, &credentials).await?;
        let probe = FeishuPlatform::new(
            FeishuCredentials { base_url: call_base, ..credentials.clone() },
            platforms.http().clone(),
            platforms.store(),
            platforms.clock(),
        );
        let scopes = probe.granted_scopes().await.map_err(refused)?;
        let bot_open_id = match probe.bot_open_id().await {
            Ok(id) => Some(id),
            Err(e @ (ImError::RateLimited { .. } | ImError::Transient(_))) => return Err(ConnectError::Platform(e)),
            Err(e) => {
                tracing::warn!(app_id = %app_id, error = %e, "the app's bot is not readable yet (bot capability not enabled?); its open_id stays unknown");
                None
            }
        };
        let stored = serde_json::to_value(StoredFeishu { credentials, bot_open_id }).expect("credentials serialize");
        Ok(Connected { default_name: format!("{label} {app_id}"), external_id: app_id, scopes, stored })
    }

    fn client(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        Ok(Arc::new(FeishuPlatform::new(stored(platforms, integration)?.credentials, platforms.http().clone(), platforms.store(), platforms.clock())))
    }

    fn callbacks(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>> {
        let stored = stored(platforms, integration)?;
        let codec = FeishuCodec::new(stored.credentials);
        // Without the bot's own open_id, an @mention of it cannot be recognised.
        Ok(Arc::new(match stored.bot_open_id {
            Some(id) => codec.with_bot_open_id(id),
            None => codec,
        }))
    }

    /// Seed 003: the Web App homepage, the sign-in redirect, the card callback and the event
    /// subscription.
    fn setup(&self, _platforms: Option<&Platforms>, integration: &Integration, base: &str) -> Option<Value> {
        let (events, cards) = callback_urls(base, integration);
        let id = &integration.id;
        Some(json!({
            "web_configuration_url": format!("{base}/im/{id}/web"),
            "redirect_url": format!("{base}/oauth/{id}/callback"),
            "card_request_url": cards,
            "event_request_url": events,
        }))
    }

    fn sign_in(&self) -> Option<&dyn SignIn> {
        Some(self)
    }
}

#[async_trait]
impl SignIn for FeishuModule {
    fn authorize_url(&self, platforms: &Platforms, integration: &Integration, redirect_uri: &str, state: &str) -> ImResult<String> {
        Ok(authorize_url(&stored(platforms, integration)?.credentials, redirect_uri, state))
    }

    async fn user(&self, platforms: &Platforms, integration: &Integration, redirect_uri: &str, code: &str) -> ImResult<SignedIn> {
        let user = login_user(platforms.http(), &stored(platforms, integration)?.credentials, redirect_uri, code).await?;
        Ok(SignedIn { im_user_id: user.open_id, name: user.name, email: user.email, mobile: user.mobile })
    }
}
