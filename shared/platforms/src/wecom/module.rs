//! WeCom's registration: a self-built app connected by the values its admin console shows
//! (seed 004: "a custom app for War Room … and smart bot credentials"; issue 12), checked by
//! fetching a token and probing the app's reach (trusted IP, visibility), and the URLs to
//! paste into the console.

use super::{WeComCodec, WeComCredentials, WeComPlatform, API_BASE, REQUIRED_SETUP};
use crate::module::{ConnectError, Connected, CredentialField, FieldValues, PlatformModule};
use crate::Platforms;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;
use warroom_core::{CallbackCodec, ImError, ImPlatform, ImResult, Integration, IntegrationId, Platform};

pub struct WeComModule;

const FIELDS: &[CredentialField] = &[
    CredentialField { name: "corp_id", required: true, help: "企业ID (CorpID), from \"My Company\" → \"Company Information\"" },
    CredentialField { name: "agent_id", required: true, help: "the self-built app's AgentId, from the app's page" },
    CredentialField { name: "secret", required: true, help: "the app's Secret, from the same page" },
    CredentialField { name: "callback_token", required: true, help: "\"Receive API\" (API接收) Token, from the app's page" },
    CredentialField { name: "callback_aes_key", required: true, help: "\"Receive API\" EncodingAESKey (43 characters), from the same place" },
    CredentialField { name: "owner_userid", required: true, help: "the userid of the member who owns every war-room group (an app group needs two people)" },
    CredentialField { name: "bot_token", required: false, help: "the smart bot's callback Token (API mode, URL callback); blank: no @bot" },
    CredentialField { name: "bot_aes_key", required: false, help: "the smart bot's callback EncodingAESKey (43 characters); @bot needs both" },
];

/// The stored credentials with the deployment's base override applied (the sandbox).
fn stored(platforms: &Platforms, integration: &Integration) -> ImResult<WeComCredentials> {
    let credentials: WeComCredentials = platforms.open(integration)?;
    Ok(match platforms.config.base_override(Platform::Wecom) {
        Some(base) => credentials.with_base(base),
        None => credentials,
    })
}

/// EncodingAESKey is 43 base64 characters (§2 "Setup").
fn aes_key(values: &FieldValues, name: &str, required: bool) -> Result<String, ConnectError> {
    let value = values.get(name).cloned().unwrap_or_default();
    if value.is_empty() && !required {
        return Ok(value);
    }
    if value.len() != 43 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ConnectError::BadRequest(format!("{name}: must be the 43 letters and digits the console generated")));
    }
    Ok(value)
}

fn credentials(values: &FieldValues) -> Result<WeComCredentials, ConnectError> {
    let required = |name: &str| values.get(name).filter(|v| !v.trim().is_empty()).cloned().ok_or_else(|| ConnectError::BadRequest(format!("{name}: required")));
    let agent = required("agent_id")?;
    let agent_id = agent.trim().parse::<i64>().map_err(|_| ConnectError::BadRequest(format!("agent_id: the app's AgentId digits, got {agent:?}")))?;
    // The smart bot needs both; with one of them only, there is no @bot (the setup says so).
    let bot_token = values.get("bot_token").cloned().unwrap_or_default();
    let bot_aes_key = aes_key(values, "bot_aes_key", false)?;
    Ok(WeComCredentials {
        corp_id: required("corp_id")?,
        agent_id,
        secret: required("secret")?,
        callback_token: required("callback_token")?,
        callback_aes_key: aes_key(values, "callback_aes_key", true)?,
        bot_token,
        bot_aes_key,
        owner_userid: required("owner_userid")?,
        api_base: API_BASE.into(),
    })
}

fn refused(e: ImError) -> ConnectError {
    match e {
        ImError::Unauthorized(message) => ConnectError::Refused(format!("corp_id / secret: {message}")),
        ImError::MissingPermission { scope } => {
            ConnectError::Refused(format!("the app cannot call WeCom yet ({scope}); fix it in the admin console, then connect again"))
        }
        other => ConnectError::Platform(other),
    }
}

#[async_trait]
impl PlatformModule for WeComModule {
    fn platform(&self) -> Platform {
        Platform::Wecom
    }

    fn fields(&self) -> &'static [CredentialField] {
        FIELDS
    }

    /// The console settings war rooms need (WeCom has no scopes, §6); the smart bot is
    /// optional, so it is listed in the setup, not required.
    fn required_scopes(&self) -> &'static [(&'static str, &'static str)] {
        &REQUIRED_SETUP[..4]
    }

    /// A fresh token proves the CorpID and Secret; the probe (`granted_scopes`) finds a
    /// missing trusted IP (60020, whose message names the IP) or visibility at once.
    async fn connect(&self, platforms: &Platforms, _integration: &IntegrationId, values: &FieldValues) -> Result<Connected, ConnectError> {
        let credentials = credentials(values)?;
        let call = match platforms.config.base_override(Platform::Wecom) {
            Some(base) => credentials.clone().with_base(base),
            None => credentials.clone(),
        };
        let probe = WeComPlatform::new(call, platforms.http().clone(), platforms.store(), platforms.clock());
        probe.prove_credentials().await.map_err(refused)?;
        // An app that cannot call WeCom from here (60020: the IP is not trusted) is refused
        // now, with the IP to add, rather than stored to fail at 3 a.m.
        probe.probe_reach().await.map_err(refused)?;
        let scopes = probe.granted_scopes().await.map_err(refused)?;
        let stored = serde_json::to_value(&credentials).expect("credentials serialize");
        let external_id = format!("{}:{}", credentials.corp_id, credentials.agent_id);
        Ok(Connected { default_name: format!("WeCom {}", credentials.corp_id), external_id, scopes, stored })
    }

    fn client(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        let platform = WeComPlatform::new(stored(platforms, integration)?, platforms.http().clone(), platforms.store(), platforms.clock());
        Ok(Arc::new(platform.with_integration(&integration.id)))
    }

    fn callbacks(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>> {
        let codec = WeComCodec::new(stored(platforms, integration)?).with_clock(platforms.clock()).with_store(platforms.store());
        Ok(Arc::new(codec.with_integration(&integration.id)))
    }

    /// One URL serves both the app's "Receive API" and the smart bot's callback: the codec
    /// tells them apart by which Token signed the request.
    fn setup(&self, _platforms: Option<&Platforms>, integration: &Integration, base: &str) -> Option<Value> {
        let url = format!("{base}/im/{}/events", integration.id);
        let checklist: Vec<Value> = REQUIRED_SETUP.iter().map(|(item, why)| json!({"item": item, "why": why})).collect();
        let smart_bot = match _platforms.and_then(|p| stored(p, integration).ok()) {
            Some(c) if c.has_bot() => "on",
            Some(c) if !c.bot_token.is_empty() || !c.bot_aes_key.is_empty() => "off: set both bot_token and bot_aes_key",
            _ => "off",
        };
        Some(json!({
            "event_request_url": url,
            "app_callback_url": url,
            "smart_bot_callback_url": url,
            "smart_bot": smart_bot,
            "checklist": checklist,
        }))
    }
}
