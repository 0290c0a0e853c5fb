//! DingTalk's registration: an internal app connected by the values its developer console
//! shows (seed 004; issue 11 "Connect by app credentials"), checked by fetching a token,
//! its card callback registered at once, and the URLs to paste into the console.

use super::{DingTalkCodec, DingTalkCredentials, DingTalkPlatform, Edition, API_BASE, OAPI_BASE, REQUIRED_SCOPES};
use crate::module::{callback_urls, ConnectError, Connected, CredentialField, FieldValues, PlatformModule};
use crate::Platforms;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;
use warroom_core::{CallbackCodec, ImError, ImPlatform, ImResult, Integration, IntegrationId, Platform};

pub struct DingTalkModule;

const FIELDS: &[CredentialField] = &[
    CredentialField { name: "client_id", required: true, help: "Client ID (AppKey), from \"Credentials & Basic Info\"" },
    CredentialField { name: "client_secret", required: true, help: "Client Secret (AppSecret), from the same page" },
    CredentialField { name: "template_id", required: true, help: "the scene-group template id, from the group template's details" },
    CredentialField {
        name: "owner_user_id",
        required: true,
        help: "the userid of the staff member who owns every war-room group (DingTalk requires a human owner)",
    },
    CredentialField { name: "event_token", required: true, help: "the event subscription's signature Token, from \"Event Subscription\"" },
    CredentialField { name: "event_aes_key", required: true, help: "the event subscription's aes_key (43 characters), from the same page" },
    CredentialField { name: "robot_code", required: false, help: "the group template's robot code; blank: the AppKey (the app's own robot)" },
    CredentialField { name: "corp_id", required: false, help: "the organisation's CorpId" },
    CredentialField { name: "card_template_id", required: false, help: "the card template of the status card; blank: DingTalk's shared template" },
    CredentialField { name: "edition", required: false, help: "standard (free, 20 QPS, 10,000 calls a month), professional or exclusive" },
];

/// The stored credentials with the deployment's base override applied (the sandbox).
fn stored(platforms: &Platforms, integration: &Integration) -> ImResult<DingTalkCredentials> {
    let credentials: DingTalkCredentials = platforms.open(integration)?;
    Ok(match platforms.config.base_override(Platform::Dingtalk) {
        Some(base) => credentials.with_base(base),
        None => credentials,
    })
}

fn edition(raw: Option<&String>) -> Result<Edition, ConnectError> {
    match raw.map(String::as_str) {
        None | Some("standard") => Ok(Edition::Standard),
        Some("professional") => Ok(Edition::Professional),
        Some("exclusive") => Ok(Edition::Exclusive),
        Some(other) => Err(ConnectError::BadRequest(format!("edition: must be standard, professional or exclusive, got {other:?}"))),
    }
}

fn credentials(values: &FieldValues) -> Result<DingTalkCredentials, ConnectError> {
    let get = |name: &str| values.get(name).cloned().unwrap_or_default();
    let required = |name: &str| values.get(name).cloned().ok_or_else(|| ConnectError::BadRequest(format!("{name}: required")));
    let event_aes_key = required("event_aes_key")?;
    // EncodingAESKey is 43 base64 characters (32 bytes once `=` is appended, ref §2a).
    if event_aes_key.len() != 43 || !event_aes_key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/') {
        return Err(ConnectError::BadRequest("event_aes_key: must be the 43 characters the console generated (letters, digits, + and /)".into()));
    }
    Ok(DingTalkCredentials {
        client_id: required("client_id")?,
        client_secret: required("client_secret")?,
        corp_id: get("corp_id"),
        robot_code: get("robot_code"),
        template_id: required("template_id")?,
        owner_user_id: required("owner_user_id")?,
        card_template_id: get("card_template_id"),
        card_route_key: String::new(),
        card_api_secret: String::new(),
        event_token: required("event_token")?,
        event_aes_key,
        edition: edition(values.get("edition"))?,
        oapi_base: OAPI_BASE.into(),
        api_base: API_BASE.into(),
    })
}

fn refused(e: ImError) -> ConnectError {
    match e {
        ImError::Unauthorized(message) => ConnectError::Refused(format!("client_id / client_secret: {message}")),
        ImError::MissingPermission { scope } => ConnectError::Refused(format!(
            "the app lacks the permission {scope}: grant it in the developer console, publish the app version, then connect again"
        )),
        other => ConnectError::Platform(other),
    }
}

#[async_trait]
impl PlatformModule for DingTalkModule {
    fn platform(&self) -> Platform {
        Platform::Dingtalk
    }

    fn fields(&self) -> &'static [CredentialField] {
        FIELDS
    }

    fn required_scopes(&self) -> &'static [(&'static str, &'static str)] {
        REQUIRED_SCOPES
    }

    /// A fresh token proves the AppKey and AppSecret; the card callback URL is registered
    /// (DingTalk sends clicks only to a registered URL, and the console has no field for it).
    /// DingTalk cannot list granted permissions (ref §6): the adapter probes the points war
    /// rooms call (`probe.rs`); enabling war rooms probes again, so a point granted later is
    /// seen then.
    async fn connect(&self, platforms: &Platforms, integration: &IntegrationId, values: &FieldValues) -> Result<Connected, ConnectError> {
        let credentials = credentials(values)?;
        let call = match platforms.config.base_override(Platform::Dingtalk) {
            Some(base) => credentials.clone().with_base(base),
            None => credentials.clone(),
        };
        let probe = DingTalkPlatform::new(call, platforms.http().clone(), platforms.store(), platforms.clock());
        probe.prove_credentials().await.map_err(refused)?;
        let base = platforms.config.public_url.trim_end_matches('/');
        match probe.register_card_callback(&format!("{base}/im/{integration}/cards")).await {
            Ok(()) => {}
            // Noted by the client: the card permission shows as missing, and war rooms stay
            // off until it is granted and the credentials are entered again.
            Err(ImError::MissingPermission { .. }) => {}
            Err(e) => return Err(refused(e)),
        }
        // Probes the permission points (DingTalk cannot list them).
        let scopes = probe.granted_scopes().await.map_err(refused)?;
        let stored = serde_json::to_value(&credentials).expect("credentials serialize");
        Ok(Connected { default_name: format!("DingTalk {}", credentials.client_id), external_id: credentials.client_id, scopes, stored })
    }

    fn client(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        Ok(Arc::new(DingTalkPlatform::new(stored(platforms, integration)?, platforms.http().clone(), platforms.store(), platforms.clock())))
    }

    /// One codec per request: it remembers which kind of callback it decoded to acknowledge it.
    fn callbacks(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>> {
        Ok(Arc::new(DingTalkCodec::new(stored(platforms, integration)?).with_clock(platforms.clock())))
    }

    /// Metered calls this month against the edition's quota (see `usage.rs`).
    async fn usage(&self, platforms: &Platforms, integration: &Integration) -> Option<Value> {
        let credentials = stored(platforms, integration).ok()?;
        Some(super::usage::usage(platforms.store().as_ref(), &credentials, platforms.clock().now()).await)
    }

    /// The event subscription's request URL and the robot's message URL are the same route
    /// (the codec tells them apart); the card callback is registered when connecting.
    fn setup(&self, _platforms: Option<&Platforms>, integration: &Integration, base: &str) -> Option<Value> {
        let (events, cards) = callback_urls(base, integration);
        Some(json!({
            "event_request_url": events,
            "robot_message_url": events,
            "card_callback_url": cards,
        }))
    }
}
