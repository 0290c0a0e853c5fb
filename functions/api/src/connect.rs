//! Connecting IM apps: `POST /api/v1/integrations` (an app by the credentials its
//! platform's module declares: a self-managed Slack app's bot token and signing secret, a
//! Feishu/Lark custom app's four console values, ...),
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
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use warroom_core::{Integration, IntegrationId, IntegrationStatus, Platform, StoreError};
use warroom_http::AppState;
use warroom_platforms::{ConnectError, Connected, FieldValues, PlatformModule, Platforms};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/integrations", post(connect)).route("/api/v1/integrations/{id}/credentials", put(rotate))
}

/// The longest name, and the longest credential value, accepted.
const NAME_MAX: usize = 200;
const VALUE_MAX: usize = 4096;

/// `platform`, `name`, and the platform's credential fields (its module's
/// [`CredentialField`]s); a field of another platform, or of none, is refused (a typo or a
/// value meant for another platform is an error, never silently dropped).
#[derive(Deserialize, Default)]
pub struct CredentialsBody {
    platform: Option<String>,
    name: Option<String>,
    #[serde(flatten)]
    fields: BTreeMap<String, Value>,
}

enum FieldProblem {
    /// A field another platform takes.
    OtherPlatform(String),
    Bad(String),
}

impl CredentialsBody {
    /// For replacing credentials: fields of another platform than the integration's are a
    /// conflict with what the integration is (409), not a malformed body.
    fn only_for(&self, platforms: &Platforms, integration: &Integration) -> ApiResult<()> {
        let module = platforms.module_or_err(integration.platform).map_err(error::platform)?;
        self.checked_values(platforms, module).map(|_| ()).map_err(|e| match e {
            FieldProblem::OtherPlatform(m) => {
                Failure::conflict("wrong_platform", format!("{m}; integration {} is a {} integration", integration.id, integration.platform))
            }
            FieldProblem::Bad(m) => Failure::bad_request(m),
        })
    }

    fn values(&self, platforms: &Platforms, module: &dyn PlatformModule) -> ApiResult<FieldValues> {
        self.checked_values(platforms, module).map_err(|(FieldProblem::OtherPlatform(m) | FieldProblem::Bad(m))| Failure::bad_request(m))
    }

    /// The module's fields, each trimmed and checked as a token (at most [`VALUE_MAX`]
    /// characters, no whitespace inside: no credential has any; a pasted line break is a
    /// mistake); blank means not given. A value itself is never quoted in an error.
    fn checked_values(&self, platforms: &Platforms, module: &dyn PlatformModule) -> Result<FieldValues, FieldProblem> {
        let own = module.fields();
        let mut values = FieldValues::new();
        for (name, raw) in &self.fields {
            if !own.iter().any(|f| f.name == name) {
                let elsewhere = platforms.modules().any(|m| m.fields().iter().any(|f| f.name == name));
                return Err(if elsewhere {
                    FieldProblem::OtherPlatform(format!("{name}: not a field of a {} integration", module.platform()))
                } else {
                    let known: Vec<&str> = own.iter().map(|f| f.name).collect();
                    FieldProblem::Bad(format!("unknown field `{name}`; a {} integration takes platform, name, {}", module.platform(), known.join(", ")))
                });
            }
            let Value::String(raw) = raw else {
                return Err(FieldProblem::Bad(format!("{name}: must be a string")));
            };
            if let Some(v) = validate::token(raw, VALUE_MAX).map_err(|m| FieldProblem::Bad(format!("{name}: {m}")))? {
                values.insert(name.clone(), v);
            }
        }
        if let Some(missing) = own.iter().find(|f| f.required && !values.contains_key(f.name)) {
            return Err(FieldProblem::Bad(format!("{}: required ({})", missing.name, missing.help)));
        }
        Ok(values)
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

/// Checks the credentials in the body against the platform, through its module.
async fn check(platforms: &Platforms, platform: Platform, id: &IntegrationId, body: &CredentialsBody) -> ApiResult<Connected> {
    let module = platforms
        .module(platform)
        .ok_or_else(|| Failure::bad_request(format!("platform: {platform} apps cannot be connected in this build; supported: {}", supported(platforms))))?;
    let values = body.values(platforms, module)?;
    let mut connected = module.connect(platforms, id, &values).await.map_err(|e| match e {
        ConnectError::BadRequest(m) => Failure::bad_request(m),
        ConnectError::Refused(m) => invalid_credentials(m),
        ConnectError::Platform(e) => error::platform(e),
    })?;
    connected.scopes.sort();
    connected.scopes.dedup();
    Ok(connected)
}

fn supported(platforms: &Platforms) -> String {
    platforms.modules().map(|m| m.platform().as_str()).collect::<Vec<_>>().join(", ")
}

fn installation(platforms: &Platforms, platform: Platform) -> &'static str {
    platforms.module(platform).map_or("app", |m| m.installation())
}

/// Exactly as the document spells it (`slack`, `feishu`): what else is accepted would be
/// beyond the contract.
fn parse_platform(platforms: &Platforms, raw: Option<&str>) -> ApiResult<Platform> {
    let raw = raw.ok_or_else(|| Failure::bad_request(format!("platform: required ({})", supported(platforms))))?;
    let platform = Platform::parse(raw)
        .filter(|p| p.to_string() == raw)
        .ok_or_else(|| Failure::bad_request(format!("platform: unknown platform {raw:?}; supported: {}", supported(platforms))))?;
    match platforms.module(platform) {
        Some(_) => Ok(platform),
        None => Err(Failure::bad_request(format!("platform: {platform} apps cannot be connected in this build; supported: {}", supported(platforms)))),
    }
}

fn already_connected(state: &AppState, platforms: &Platforms, caller: &Caller, existing: &Integration) -> Failure {
    let what = installation(platforms, existing.platform);
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
    let platform = parse_platform(&platforms, body.platform.as_deref())?;
    let name = body.name()?;
    let id = IntegrationId::generate();
    let checked = check(&platforms, platform, &id, &body).await?;
    let name = name.unwrap_or_else(|| checked.default_name.clone());
    if let Some(existing) = state.store().find_integration_by_external(platform, &checked.external_id).await? {
        return Err(already_connected(&state, &platforms, &caller, &existing));
    }
    let now = state.clock().now();
    let integration = Integration {
        tenant_id: caller.tenant.clone(),
        credentials: platforms.seal(&id, &checked.stored),
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
                Some(existing) => already_connected(&state, &platforms, &caller, &existing),
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
        let asked = parse_platform(&platforms, Some(raw))?;
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
    body.only_for(&platforms, &integration)?;
    let name = body.name()?.unwrap_or_else(|| integration.name.clone());
    let checked = check(&platforms, integration.platform, &integration.id, &body).await?;
    if let Some(current) = integration.external_id.as_deref().filter(|c| *c != checked.external_id) {
        let what = installation(&platforms, integration.platform);
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
            return Err(already_connected(&state, &platforms, &caller, &other));
        }
    }
    let credentials = platforms.seal(&integration.id, &checked.stored);
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
