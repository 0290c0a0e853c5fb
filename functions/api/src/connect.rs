//! Connecting IM apps: `POST /api/v1/integrations` (a self-managed Slack app by its bot
//! token and signing secret, a Feishu/Lark custom app by its four console values),
//! `PUT /api/v1/integrations/{id}/credentials` (rotation), and for the deployment's own
//! Slack app the install link and an app manifest.
//!
//! Credentials are checked against the platform before anything is stored, sealed for the
//! integration they belong to, and never shown again: answers are the integration view.

use crate::error::{self, ApiResult, Failure};
use crate::extract::{Body, Caller, PathParams};
use crate::{lookup, validate, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use warroom_core::{ImError, ImPlatform, Integration, IntegrationId, IntegrationStatus, Platform, SealedCredentials, StoreError};
use warroom_http::AppState;
use warroom_platforms::feishu::{FeishuCredentials, FeishuPlatform};
use warroom_platforms::slack::{SlackApiError, SlackCredentials, SlackPlatform};
use warroom_platforms::{feishu, Platforms, StoredFeishu};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/integrations", post(connect)).route("/api/v1/integrations/{id}/credentials", put(rotate))
}

/// The longest name, and the longest credential value, accepted.
const NAME_MAX: usize = 200;
const VALUE_MAX: usize = 4096;

/// The fields of every platform; each platform refuses the others' (a typo or a value meant
/// for another platform is an error, never silently dropped).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    platform: Option<String>,
    name: Option<String>,
    // Slack (a self-managed app).
    bot_token: Option<String>,
    signing_secret: Option<String>,
    // Feishu / Lark (a custom app).
    app_id: Option<String>,
    app_secret: Option<String>,
    verification_token: Option<String>,
    encrypt_key: Option<String>,
    domain: Option<String>,
}

const SLACK_FIELDS: &[&str] = &["bot_token", "signing_secret"];
const FEISHU_FIELDS: &[&str] = &["app_id", "app_secret", "verification_token", "encrypt_key", "domain"];

impl CredentialsBody {
    fn field(&self, name: &str) -> Option<&str> {
        match name {
            "bot_token" => self.bot_token.as_deref(),
            "signing_secret" => self.signing_secret.as_deref(),
            "app_id" => self.app_id.as_deref(),
            "app_secret" => self.app_secret.as_deref(),
            "verification_token" => self.verification_token.as_deref(),
            "encrypt_key" => self.encrypt_key.as_deref(),
            "domain" => self.domain.as_deref(),
            _ => None,
        }
    }

    /// For replacing credentials: fields of another platform than the integration's are a
    /// conflict with what the integration is (409), not a malformed body.
    fn only_for(&self, integration: &Integration) -> ApiResult<()> {
        let allowed = if integration.platform == Platform::Slack { SLACK_FIELDS } else { FEISHU_FIELDS };
        self.only(integration.platform, allowed).map_err(|e| {
            Failure::conflict("wrong_platform", format!("{}; integration {} is a {} integration", e.error.message, integration.id, integration.platform))
        })
    }

    /// Refuses the fields that belong to other platforms.
    fn only(&self, platform: Platform, allowed: &[&str]) -> ApiResult<()> {
        for name in SLACK_FIELDS.iter().chain(FEISHU_FIELDS) {
            if !allowed.contains(name) && self.field(name).is_some() {
                return Err(Failure::bad_request(format!("{name}: not a field of a {platform} integration")));
            }
        }
        Ok(())
    }

    /// A required value: trimmed, non-empty, at most [`VALUE_MAX`] characters, no whitespace
    /// inside (no credential has any; a pasted line break is a mistake). The value itself is
    /// never quoted in an error.
    fn required(&self, name: &str) -> ApiResult<String> {
        match self.optional(name)? {
            Some(v) => Ok(v),
            None => Err(Failure::bad_request(format!("{name}: required"))),
        }
    }

    /// As [`Self::required`], but absent or blank means `None` (`validate::token_pattern`).
    fn optional(&self, name: &str) -> ApiResult<Option<String>> {
        let Some(raw) = self.field(name) else { return Ok(None) };
        validate::token(raw, VALUE_MAX).map_err(|m| Failure::bad_request(format!("{name}: {m}")))
    }

    /// The integration's name if given: a label of at most 200 characters (blank = not given).
    fn name(&self) -> ApiResult<Option<String>> {
        match self.name.as_deref().filter(|n| validate::trimmed(n).is_some()) {
            None => Ok(None),
            Some(n) => validate::label(n, NAME_MAX).map(Some).map_err(|m| Failure::bad_request(format!("name: {m}"))),
        }
    }
}

/// `422 invalid_credentials`: the platform refused what was entered (its message, never the
/// secret).
fn invalid_credentials(message: impl Into<String>) -> Failure {
    Failure::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials", message)
}

/// `503 platforms_unavailable` when the deployment runs without IM adapters.
pub(crate) fn platforms(state: &AppState) -> ApiResult<Arc<Platforms>> {
    state
        .platforms
        .clone()
        .ok_or_else(|| Failure::new(StatusCode::SERVICE_UNAVAILABLE, "platforms_unavailable", "this deployment has no IM platform adapters configured"))
}

pub(crate) fn public_url(state: &AppState) -> &str {
    state.settings.public_url.trim_end_matches('/')
}

/// What connecting learned: the sealed-to-be credentials, the installation's id on the
/// platform, the granted permissions and a default name.
struct Checked {
    external_id: String,
    scopes: Vec<String>,
    default_name: String,
    secret: Plain,
}

enum Plain {
    Slack(SlackCredentials),
    Feishu(StoredFeishu),
}

impl Checked {
    fn seal(&self, platforms: &Platforms, id: &IntegrationId) -> SealedCredentials {
        match &self.secret {
            Plain::Slack(c) => platforms.seal(id, c),
            Plain::Feishu(c) => platforms.seal(id, c),
        }
    }
}

fn tidy(mut scopes: Vec<String>) -> Vec<String> {
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Reads and checks the credentials in the body against the platform.
async fn check(state: &AppState, platforms: &Platforms, platform: Platform, body: &CredentialsBody) -> ApiResult<Checked> {
    match platform {
        Platform::Slack => check_slack(platforms, body).await,
        Platform::Feishu => check_feishu(state, platforms, body).await,
        other => Err(Failure::bad_request(format!("platform: {other} apps cannot be connected by credentials in this build; supported: slack, feishu"))),
    }
}

/// Slack's own refusal of the token is the admin's to fix (400); a failure before Slack
/// answered properly (timeout, unreadable answer, 5xx, rate limit) is not.
fn slack_refused(e: SlackApiError) -> Failure {
    // The adapter's own codes (`slack::error::local`, not exported).
    const LOCAL: &[&str] = &["timeout", "connect_failed", "transport_error", "unparsable_response", "unencodable_request"];
    let ours = LOCAL.contains(&e.code.as_str()) || e.code.starts_with("http_");
    match e.to_im_error() {
        ImError::Unauthorized(_) | ImError::Rejected { .. } | ImError::MissingPermission { .. } if !ours => {
            invalid_credentials(format!("bot_token: Slack refused the token ({})", e.code))
        }
        ImError::Rejected { .. } | ImError::MissingPermission { .. } | ImError::Unauthorized(_) => {
            error::platform(ImError::Transient(format!("Slack auth.test failed: {}", e.code)))
        }
        other => error::platform(other),
    }
}

/// `auth.test` with the bot token: the workspace, the bot user, the app, and the token's
/// scopes (`x-oauth-scopes`).
async fn check_slack(platforms: &Platforms, body: &CredentialsBody) -> ApiResult<Checked> {
    body.only(Platform::Slack, SLACK_FIELDS)?;
    let bot_token = body.required("bot_token")?;
    if !bot_token.starts_with("xoxb-") {
        return Err(Failure::bad_request("bot_token: must be the app's Bot User OAuth Token (it starts with xoxb-)"));
    }
    let signing_secret = body.required("signing_secret")?;
    let mut credentials = SlackCredentials { bot_token, team_id: String::new(), bot_user_id: None, app_id: None, signing_secret: Some(signing_secret) };
    let probe = SlackPlatform::new(credentials.clone(), platforms.config.slack_api_base.clone(), platforms.http().clone());
    let (who, scopes) = probe.client().auth_test().await.map_err(slack_refused)?;
    if who.team_id.is_empty() {
        return Err(invalid_credentials("bot_token: Slack's auth.test named no workspace for this token"));
    }
    if who.bot_id.is_none() {
        return Err(invalid_credentials("bot_token: Slack says this is not a bot token; use the app's Bot User OAuth Token"));
    }
    credentials.team_id = who.team_id.clone();
    credentials.bot_user_id = Some(who.user_id).filter(|u| !u.is_empty());
    credentials.app_id = who.app_id;
    let scopes = scopes.unwrap_or_else(|| {
        tracing::warn!(team = %who.team_id, "auth.test answered without x-oauth-scopes; no scopes recorded");
        Vec::new()
    });
    Ok(Checked { default_name: format!("Slack {}", who.team_id), external_id: who.team_id, scopes: tidy(scopes), secret: Plain::Slack(credentials) })
}

/// Asks for a tenant_access_token with exactly these credentials. The adapter shares
/// tokens per app id through the store, so a token cached for the app would hide a wrong
/// secret: this call proves the secret.
async fn feishu_token(platforms: &Platforms, base: &str, credentials: &FeishuCredentials) -> ApiResult<()> {
    let url = format!("{}/open-apis/auth/v3/tenant_access_token/internal", base.trim_end_matches('/'));
    let body = json!({"app_id": credentials.app_id, "app_secret": credentials.app_secret});
    let response = platforms
        .http()
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| error::platform(ImError::Transient(format!("Feishu unreachable: {}", e.without_url()))))?;
    let status = response.status().as_u16();
    let answer: Option<Value> = response.json().await.ok();
    let code = answer.as_ref().and_then(|a| a.get("code")).and_then(Value::as_i64);
    let msg = answer.as_ref().and_then(|a| a.get("msg")).and_then(Value::as_str).unwrap_or_default();
    let token = answer.as_ref().and_then(|a| a.get("tenant_access_token")).and_then(Value::as_str).unwrap_or_default();
    match code {
        Some(0) if !token.is_empty() => Ok(()),
        // The gateway's rate limit: HTTP 429, or code 99991400 (reference §5).
        _ if status == 429 || code == Some(99991400) => Err(error::platform(ImError::RateLimited { retry_after: std::time::Duration::from_secs(1) })),
        _ if status >= 500 => Err(error::platform(ImError::Transient(format!("Feishu answered HTTP {status}")))),
        Some(code) if code != 0 => Err(invalid_credentials(format!("app_id / app_secret: Feishu refused the app credentials ({code}: {msg})"))),
        _ => Err(error::platform(ImError::Transient(format!("unreadable tenant_access_token answer (HTTP {status})")))),
    }
}

fn feishu_refused(e: ImError) -> Failure {
    match e {
        ImError::Unauthorized(message) => invalid_credentials(format!("app_id / app_secret: {message}")),
        other => error::platform(other),
    }
}

/// The app's token (proving app_id and app_secret), its granted scopes, and its bot's
/// open_id (events name an @mention of the bot only by it). The bot capability may be
/// enabled after connecting (seed 003 adds the integration first): without a bot yet, the
/// open_id is left unknown and learned when the credentials are entered again.
async fn check_feishu(state: &AppState, platforms: &Platforms, body: &CredentialsBody) -> ApiResult<Checked> {
    body.only(Platform::Feishu, FEISHU_FIELDS)?;
    let app_id = body.required("app_id")?;
    let app_secret = body.required("app_secret")?;
    let verification_token = body.required("verification_token")?;
    let encrypt_key = body.optional("encrypt_key")?.unwrap_or_default();
    let (base, label) = match body.domain.as_deref() {
        None | Some("feishu") => (feishu::FEISHU_BASE, "Feishu"),
        Some("lark") => (feishu::LARK_BASE, "Lark"),
        Some(other) => return Err(Failure::bad_request(format!("domain: must be feishu or lark, got {other:?}"))),
    };
    let credentials = FeishuCredentials { app_id: app_id.clone(), app_secret, verification_token, encrypt_key, base_url: base.to_owned() };
    // The sandbox (or a test) replaces the host; the stored credentials keep the real one
    // and the factory applies the override when it opens them.
    let call_base = platforms.config.feishu_base_override.clone().unwrap_or_else(|| base.to_owned());
    feishu_token(platforms, &call_base, &credentials).await?;
    let probe = FeishuPlatform::new(
        FeishuCredentials { base_url: call_base, ..credentials.clone() },
        platforms.http().clone(),
        state.store().clone(),
        state.clock().clone(),
    );
    let scopes = probe.granted_scopes().await.map_err(feishu_refused)?;
    let bot_open_id = match probe.bot_open_id().await {
        Ok(id) => Some(id),
        Err(e @ (ImError::RateLimited { .. } | ImError::Transient(_))) => return Err(error::platform(e)),
        Err(e) => {
            tracing::warn!(app_id = %app_id, error = %e, "the app's bot is not readable yet (bot capability not enabled?); its open_id stays unknown");
            None
        }
    };
    Ok(Checked {
        default_name: format!("{label} {app_id}"),
        external_id: app_id,
        scopes: tidy(scopes),
        secret: Plain::Feishu(StoredFeishu { credentials, bot_open_id }),
    })
}

/// Exactly as the document spells it (`slack`, `feishu`): what else is accepted would be
/// beyond the contract.
fn parse_platform(raw: Option<&str>) -> ApiResult<Platform> {
    let raw = raw.ok_or_else(|| Failure::bad_request("platform: required (slack or feishu)"))?;
    Platform::parse(raw)
        .filter(|p| p.to_string() == raw)
        .ok_or_else(|| Failure::bad_request(format!("platform: unknown platform {raw:?}; supported: slack, feishu")))
}

fn already_connected(state: &AppState, caller: &Caller, existing: &Integration) -> Failure {
    let what = match existing.platform {
        Platform::Slack => "Slack workspace",
        _ => "app",
    };
    if existing.tenant_id == caller.tenant {
        let path = format!("/api/v1/integrations/{}/credentials", existing.id);
        Failure::conflict(
            "already_connected",
            format!("this {what} is already connected as integration {} (\"{}\"); to change its credentials use PUT {path}", existing.id, existing.name),
        )
        .with("integration_id", existing.id.to_string())
        .with("credentials_url", format!("{}{path}", public_url(state)))
    } else {
        Failure::conflict("already_connected", format!("this {what} is already connected to another Warroom tenant"))
    }
}

async fn connect(State(state): State<AppState>, caller: Caller, Body(body): Body<CredentialsBody>) -> ApiResult<Response> {
    let platforms = platforms(&state)?;
    let platform = parse_platform(body.platform.as_deref())?;
    let name = body.name()?;
    let checked = check(&state, &platforms, platform, &body).await?;
    let name = name.unwrap_or_else(|| checked.default_name.clone());
    if let Some(existing) = state.store().find_integration_by_external(platform, &checked.external_id).await? {
        return Err(already_connected(&state, &caller, &existing));
    }
    let id = IntegrationId::generate();
    let now = state.clock().now();
    let integration = Integration {
        tenant_id: caller.tenant.clone(),
        credentials: checked.seal(&platforms, &id),
        id,
        platform,
        name,
        external_id: Some(checked.external_id.clone()),
        granted_scopes: checked.scopes,
        war_room_enabled: false,
        status: IntegrationStatus::Active,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    match state.store().create_integration(&integration).await {
        Ok(()) => {}
        // Connected by someone else between the check and the create.
        Err(StoreError::AlreadyExists { .. }) => {
            let existing = state.store().find_integration_by_external(platform, &checked.external_id).await?;
            return Err(match existing {
                Some(existing) => already_connected(&state, &caller, &existing),
                None => Failure::conflict("already_connected", "this installation was connected at the same moment; list the integrations"),
            });
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(tenant = %caller.tenant, integration = %integration.id, %platform, external_id = %checked.external_id, key = %caller.prefix, "integration connected by credentials");
    Ok((StatusCode::CREATED, Json(views::integration_detail(&state, &integration))).into_response())
}

/// New credentials for the same installation (same Slack workspace, same Feishu app):
/// name (if given), granted scopes, status and credentials change; the war-room flag,
/// member links and everything else stay.
async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    Body(body): Body<CredentialsBody>,
) -> ApiResult<Json<Value>> {
    let platforms = platforms(&state)?;
    let integration = lookup::integration(&state, &caller, &id).await?;
    if let Some(raw) = body.platform.as_deref() {
        let asked = parse_platform(Some(raw))?;
        if asked != integration.platform {
            return Err(Failure::conflict(
                "different_installation",
                format!(
                    "integration {} is a {} integration; a {asked} app cannot replace it: connect it with POST /api/v1/integrations",
                    integration.id, integration.platform
                ),
            ));
        }
    }
    body.only_for(&integration)?;
    let name = body.name()?.unwrap_or_else(|| integration.name.clone());
    let checked = check(&state, &platforms, integration.platform, &body).await?;
    if let Some(current) = integration.external_id.as_deref().filter(|c| *c != checked.external_id) {
        let what = if integration.platform == Platform::Slack { "Slack workspace" } else { "app" };
        return Err(Failure::conflict(
            "different_installation",
            format!(
                "these credentials belong to the {what} {}, not {current} of integration {}; connect it with POST /api/v1/integrations",
                checked.external_id, integration.id
            ),
        ));
    }
    if integration.external_id.is_none() {
        if let Some(other) = state.store().find_integration_by_external(integration.platform, &checked.external_id).await?.filter(|o| o.id != integration.id) {
            return Err(already_connected(&state, &caller, &other));
        }
    }
    let credentials = checked.seal(&platforms, &integration.id);
    let now = state.clock().now();
    let saved = lookup::update_integration(&state, &caller, &id, |current| {
        Ok(Some(Integration {
            credentials: credentials.clone(),
            name: name.clone(),
            external_id: Some(checked.external_id.clone()),
            granted_scopes: checked.scopes.clone(),
            status: IntegrationStatus::Active,
            updated_at: now,
            ..current
        }))
    })
    .await?;
    tracing::info!(tenant = %caller.tenant, integration = %saved.id, key = %caller.prefix, "integration credentials replaced");
    Ok(Json(views::integration_detail(&state, &saved)))
}
