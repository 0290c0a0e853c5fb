//! Slack's registration: a self-managed app connected by its bot token and signing secret
//! (the deployment's own app installs by OAuth instead, in `oauth-callback`), the Request
//! URLs to paste, and the deployment-wide codec of the deployment's app.

use super::{SlackApiError, SlackCodec, SlackCredentials, REQUIRED_SCOPES};
use crate::module::{callback_urls, ConnectError, Connected, CredentialField, FieldValues, PlatformModule};
use crate::Platforms;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;
use warroom_core::{CallbackCodec, ImError, ImPlatform, ImResult, Integration, IntegrationId, Platform};
use warroom_secrets::Secret;

pub struct SlackModule;

const FIELDS: &[CredentialField] = &[
    CredentialField { name: "bot_token", required: true, help: "the app's Bot User OAuth Token (xoxb-…), from \"OAuth & Permissions\"" },
    CredentialField { name: "signing_secret", required: true, help: "the app's Signing Secret, from \"Basic Information\"" },
];

/// Slack's own refusal of the token is the admin's to fix; a failure before Slack answered
/// properly (timeout, unreadable answer, 5xx, rate limit) is not.
fn refused(e: SlackApiError) -> ConnectError {
    // The adapter's own codes (`slack::error::local`).
    const LOCAL: &[&str] = &["timeout", "connect_failed", "transport_error", "unparsable_response", "unencodable_request"];
    let ours = LOCAL.contains(&e.code.as_str()) || e.code.starts_with("http_");
    match e.to_im_error() {
        ImError::Unauthorized(_) | ImError::Rejected { .. } | ImError::MissingPermission { .. } if !ours => {
            ConnectError::Refused(format!("bot_token: Slack refused the token ({})", e.code))
        }
        ImError::Rejected { .. } | ImError::MissingPermission { .. } | ImError::Unauthorized(_) => {
            ConnectError::Platform(ImError::Transient(format!("Slack auth.test failed: {}", e.code)))
        }
        other => ConnectError::Platform(other),
    }
}

#[async_trait]
impl PlatformModule for SlackModule {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    fn installation(&self) -> &'static str {
        "Slack workspace"
    }

    fn fields(&self) -> &'static [CredentialField] {
        FIELDS
    }

    fn required_scopes(&self) -> &'static [(&'static str, &'static str)] {
        REQUIRED_SCOPES
    }

    /// `auth.test` with the bot token: the workspace, the bot user, the app, and the
    /// token's scopes (`x-oauth-scopes`).
    async fn connect(&self, platforms: &Platforms, _integration: &IntegrationId, values: &FieldValues) -> Result<Connected, ConnectError> {
        let required = |name: &str| values.get(name).cloned().ok_or_else(|| ConnectError::BadRequest(format!("{name}: required")));
        let bot_token = required("bot_token")?;
        if !bot_token.starts_with("xoxb-") {
            return Err(ConnectError::BadRequest("bot_token: must be the app's Bot User OAuth Token (it starts with xoxb-)".into()));
        }
        let signing_secret = required("signing_secret")?;
        let mut credentials = SlackCredentials { bot_token, team_id: String::new(), bot_user_id: None, app_id: None, signing_secret: Some(signing_secret) };
        let probe = super::SlackPlatform::new(credentials.clone(), platforms.config.slack_api_base.clone(), platforms.http().clone());
        let (who, scopes) = probe.client().auth_test().await.map_err(refused)?;
        if who.team_id.is_empty() {
            return Err(ConnectError::Refused("bot_token: Slack's auth.test named no workspace for this token".into()));
        }
        if who.bot_id.is_none() {
            return Err(ConnectError::Refused("bot_token: Slack says this is not a bot token; use the app's Bot User OAuth Token".into()));
        }
        credentials.team_id = who.team_id.clone();
        credentials.bot_user_id = Some(who.user_id).filter(|u| !u.is_empty());
        credentials.app_id = who.app_id;
        let scopes = scopes.unwrap_or_else(|| {
            tracing::warn!(team = %who.team_id, "auth.test answered without x-oauth-scopes; no scopes recorded");
            Vec::new()
        });
        let stored = serde_json::to_value(&credentials).expect("credentials serialize");
        Ok(Connected { default_name: format!("Slack {}", who.team_id), external_id: who.team_id, scopes, stored })
    }

    fn client(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        Ok(platforms.slack(platforms.slack_credentials(integration)?))
    }

    fn callbacks(&self, platforms: &Platforms, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>> {
        let credentials = platforms.slack_credentials(integration)?;
        // A self-managed app signs with its own secret; else the deployment's app.
        let secret = match (credentials.signing_secret, &platforms.config.slack_app) {
            (Some(own), _) => Secret::new(own),
            (None, Some(app)) => app.signing_secret.clone(),
            (None, None) => return Err(ImError::Unauthorized("no Slack signing secret: this integration has none and the deployment has no Slack app".into())),
        };
        Ok(Arc::new(SlackCodec::new(secret, platforms.http().clone())))
    }

    fn app_callbacks(&self, platforms: &Platforms) -> Option<Arc<dyn CallbackCodec>> {
        let app = platforms.config.slack_app.as_ref()?;
        Some(Arc::new(SlackCodec::new(app.signing_secret.clone(), platforms.http().clone())))
    }

    /// A self-managed app: its Event and Interactivity Request URLs and a manifest; through
    /// the deployment's app, the deployment-wide URLs. `None` when the stored credentials
    /// cannot be opened (or there are no adapters).
    fn setup(&self, platforms: Option<&Platforms>, integration: &Integration, base: &str) -> Option<Value> {
        let id = &integration.id;
        match platforms?.slack_credentials(integration).ok()?.signing_secret {
            Some(_) => {
                let (events, cards) = callback_urls(base, integration);
                Some(json!({
                    "event_request_url": events,
                    "interactivity_url": cards,
                    "manifest_url": format!("{base}/api/v1/integrations/slack/manifest?integration_id={id}"),
                }))
            }
            None => Some(json!({
                "event_request_url": format!("{base}/im/slack/events"),
                "interactivity_url": format!("{base}/im/slack/interactions"),
            })),
        }
    }
}
