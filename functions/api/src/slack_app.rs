//! The deployment's own Slack app: the install (or re-authorize) link, and app manifests
//! with this deployment's URLs, scopes and events.

use crate::connect::{platforms, public_url};
use crate::error::{ApiResult, Failure};
use crate::extract::{Caller, OptionalBody, QueryMap};
use crate::lookup;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use warroom_core::{Integration, Platform};
use warroom_http::oauth_state::{self, Pending};
use warroom_http::AppState;
use warroom_platforms::slack;

/// The app name manifests carry.
const APP_NAME: &str = "Warroom";

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/integrations/slack/install", post(install)).route("/api/v1/integrations/slack/manifest", get(manifest))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InstallBody {
    integration_id: Option<String>,
}

/// One of the caller's Slack integrations, for the field `field`.
async fn slack_integration(state: &AppState, caller: &Caller, field: &str, id: &str) -> ApiResult<Integration> {
    let integration = lookup::integration(state, caller, id).await?;
    if integration.platform != Platform::Slack {
        let message = format!("{field}: integration {} is a {} integration, not a Slack one", integration.id, integration.platform);
        return Err(Failure::conflict("wrong_platform", message));
    }
    Ok(integration)
}

/// The Slack consent page for the deployment's own app: a new workspace, or (with
/// `integration_id`) re-authorizing one. Built as the OAuth function builds it, with a
/// single-use state the callback (`/oauth/slack/callback`) takes.
async fn install(State(state): State<AppState>, caller: Caller, OptionalBody(body): OptionalBody<InstallBody>) -> ApiResult<Json<Value>> {
    let platforms = platforms(&state)?;
    let Some(app) = &platforms.config.slack_app else {
        return Err(Failure::conflict(
            "no_slack_app",
            "this deployment has no Slack app of its own (WARROOM_SLACK_CLIENT_ID); connect a self-managed app with POST /api/v1/integrations and its bot token instead",
        ));
    };
    let integration = match body.integration_id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
        Some(id) => Some(slack_integration(&state, &caller, "integration_id", id).await?.id),
        None => None,
    };
    let pending = Pending::SlackInstall { tenant_id: caller.tenant.clone(), integration_id: integration.clone() };
    let oauth_state = oauth_state::begin(&state, &pending).await?;
    let scopes: Vec<&str> = slack::REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
    let redirect_uri = format!("{}/oauth/slack/callback", public_url(&state));
    let url = slack::authorize_url(&platforms.config.slack_oauth_base, &app.client_id, &scopes, &redirect_uri, &oauth_state);
    tracing::info!(tenant = %caller.tenant, integration = ?integration, key = %caller.prefix, "slack install link issued");
    Ok(Json(json!({ "install_url": url, "expires_in_seconds": oauth_state::TTL.as_secs() })))
}

/// A Slack app manifest (YAML): for a self-managed app of an integration
/// (`?integration_id=`, its own event and interactivity URLs), else for the deployment's
/// own app.
async fn manifest(State(state): State<AppState>, caller: Caller, query: QueryMap) -> ApiResult<Response> {
    let integration = match query.text("integration_id") {
        Some(id) => Some(slack_integration(&state, &caller, "integration_id", id).await?),
        None => None,
    };
    let yaml = slack::manifest(APP_NAME, public_url(&state), integration.as_ref().map(|i| i.id.as_str()));
    Ok(([(header::CONTENT_TYPE, "text/yaml; charset=utf-8")], yaml).into_response())
}
