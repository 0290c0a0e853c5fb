//! Card button callbacks. Per-integration apps post to `/im/{integration_id}/cards`; the
//! integration's platform verifies and decodes the request (its own signature scheme) and
//! shapes the answer. A refused callback changes nothing and gets a JSON error.
//! Slack's deployment-wide app posts every workspace's clicks to `/im/slack/interactions`;
//! the workspace (team id) in the payload names the integration.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use warroom_core::{CallbackError, EventDelivery, ImEvent, IntegrationId, Platform, RawRequest, RawResponse};
use warroom_http::{clicks, ApiError, AppState, RawBody};

/// Card callbacks are small; anything larger is not one.
const MAX_BODY: usize = 64 * 1024;

/// The callback routes, counted by `warroom_metrics::http` (platform when the path names it).
const CALLBACK_ROUTES: &[warroom_metrics::http::CallbackRoute] = &[("/im/slack/interactions", "slack"), ("/im/{integration_id}/cards", "unknown")];

pub fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/im/slack/interactions", post(slack_app_interaction))
        .route("/im/{integration_id}/cards", post(card_callback))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    warroom_metrics::http::layer(router, CALLBACK_ROUTES)
}

async fn card_callback(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let integration_id = IntegrationId::new(integration_id);
    let integration = state.store().get_integration(&integration_id).await?.ok_or_else(|| ApiError::not_found("no such integration"))?;
    warroom_metrics::http::note_platform(integration.platform.as_str());
    let codec =
        state.engine.platforms.callbacks(&integration).map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "platform_unavailable", e.to_string()))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request = RawRequest { method: "POST", query: "", header: &header, body: &body, now: state.clock().now() };
    let click = match codec.decode_click(&request) {
        Ok(click) => click,
        // The platform checks the URL with its handshake before it sends clicks (Feishu).
        Err(e @ CallbackError::Unsupported(_)) => match codec.decode_event(&request) {
            Ok(EventDelivery { event: ImEvent::Handshake(answer), .. }) => return Ok(raw(answer)),
            _ => return Err(refused(e)),
        },
        Err(e) => return Err(refused(e)),
    };
    Ok(raw(clicks::apply_click(&state, codec.as_ref(), &integration_id, click).await?))
}

async fn slack_app_interaction(State(state): State<AppState>, headers: HeaderMap, RawBody(body): RawBody) -> Result<Response, ApiError> {
    let codec = state
        .engine
        .platforms
        .app_callbacks(Platform::Slack)
        .ok_or_else(|| ApiError::not_found("this deployment has no Slack app of its own; use the integration's /im/{integration_id}/cards URL"))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request = RawRequest { method: "POST", query: "", header: &header, body: &body, now: state.clock().now() };
    let click = codec.decode_click(&request).map_err(refused)?;
    let team = click.installation.clone().ok_or_else(|| ApiError::bad_request("the interaction names no workspace (team.id)"))?;
    let Some(integration) = state.store().find_integration_by_external(Platform::Slack, &team).await? else {
        let answer = codec.click_reply("This Slack workspace is not connected to Warroom.", None);
        return Ok(raw(answer));
    };
    Ok(raw(clicks::apply_click(&state, codec.as_ref(), &integration.id, click).await?))
}

fn refused(e: CallbackError) -> ApiError {
    ApiError::new(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), e.code(), e.to_string())
}

fn raw(r: RawResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, r.content_type)], r.body).into_response()
}
