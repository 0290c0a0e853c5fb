//! IM event callbacks: the deployment's own Slack app (`/im/slack/events`, one URL for
//! every workspace, the integration found by team id) and per-integration apps
//! (`/im/{integration_id}/events`; some platforms verify the URL with a GET).
//!
//! Each request is verified and decoded by its platform, de-duplicated by event id (the
//! platforms redeliver), applied, and answered well inside the platforms' 3-second limit:
//! slow work (AI answers, reconciling) goes to the queue.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{CallbackCodec, ImEvent, Integration, IntegrationId, Platform, RawRequest, RawResponse};
use warroom_engine::EventOutcome;
use warroom_http::{ApiError, AppState, RawBody};

const MAX_BODY: usize = 256 * 1024;
/// Platforms redeliver for hours at most; a day covers every retry schedule.
const DEDUPE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The callback routes, counted by `warroom_metrics::http` (platform when the path names it).
const CALLBACK_ROUTES: &[warroom_metrics::http::CallbackRoute] = &[("/im/slack/events", "slack"), ("/im/{integration_id}/events", "unknown")];

pub fn router(state: AppState) -> Router {
    let router = Router::new()
        .route("/im/slack/events", post(slack_app_event))
        .route("/im/{integration_id}/events", post(integration_event).get(integration_event))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    warroom_metrics::http::layer(router, CALLBACK_ROUTES)
}

/// The callback as the codec sees it.
struct Incoming {
    method: Method,
    query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Incoming {
    /// The platform's answer to the handled event, where it carries data (WeCom's smart-bot
    /// streams); else the plain acknowledgement.
    async fn answer(&self, state: &AppState, codec: &dyn CallbackCodec, answer_queued: bool) -> RawResponse {
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let request = RawRequest { method: self.method.as_str(), query: &self.query, header: &header, body: &self.body, now: state.clock().now() };
        codec.event_answer(&request, answer_queued).await.unwrap_or_else(|| codec.event_ack())
    }

    fn decode(&self, state: &AppState, codec: &dyn CallbackCodec) -> Result<warroom_core::EventDelivery, ApiError> {
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let request = RawRequest { method: self.method.as_str(), query: &self.query, header: &header, body: &self.body, now: state.clock().now() };
        codec.decode_event(&request).map_err(|e| ApiError::new(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), e.code(), e.to_string()))
    }

    /// A card click that arrived at the events URL (Feishu lets one URL serve both).
    fn decode_click(&self, state: &AppState, codec: &dyn CallbackCodec) -> Option<warroom_core::Click> {
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let request = RawRequest { method: self.method.as_str(), query: &self.query, header: &header, body: &self.body, now: state.clock().now() };
        codec.decode_click(&request).ok()
    }
}

async fn integration_event(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let integration = state.store().get_integration(&IntegrationId::new(integration_id)).await?.ok_or_else(|| ApiError::not_found("no such integration"))?;
    warroom_metrics::http::note_platform(integration.platform.as_str());
    let codec = codec_for(&state, &integration)?;
    let incoming = Incoming { method, query: query.unwrap_or_default(), headers, body };
    let delivery = incoming.decode(&state, codec.as_ref())?;
    if matches!(delivery.event, ImEvent::Ignored(_)) {
        if let Some(click) = incoming.decode_click(&state, codec.as_ref()) {
            return Ok(raw(warroom_http::clicks::apply_click(&state, codec.as_ref(), &integration.id, click).await?));
        }
    }
    handle(&state, codec.as_ref(), &integration, delivery, &incoming).await
}

async fn slack_app_event(State(state): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap, RawBody(body): RawBody) -> Result<Response, ApiError> {
    let codec = state
        .engine
        .platforms
        .app_callbacks(Platform::Slack)
        .ok_or_else(|| ApiError::not_found("this deployment has no Slack app of its own; use the integration's /im/{integration_id}/events URL"))?;
    let incoming = Incoming { method: Method::POST, query: query.unwrap_or_default(), headers, body };
    let delivery = incoming.decode(&state, codec.as_ref())?;
    if let ImEvent::Handshake(answer) = &delivery.event {
        return Ok(raw(answer.clone()));
    }
    let team = delivery.installation.clone().ok_or_else(|| ApiError::bad_request("the event names no workspace (team_id)"))?;
    let Some(integration) = state.store().find_integration_by_external(Platform::Slack, &team).await? else {
        // A workspace that installed the app but is not (or no longer) an integration.
        tracing::info!(team = %team, "event from a Slack workspace with no integration; ignored");
        return Ok(raw(codec.event_ack()));
    };
    handle(&state, codec.as_ref(), &integration, delivery, &incoming).await
}

async fn handle(
    state: &AppState,
    codec: &dyn CallbackCodec,
    integration: &Integration,
    delivery: warroom_core::EventDelivery,
    incoming: &Incoming,
) -> Result<Response, ApiError> {
    if let ImEvent::Handshake(answer) = delivery.event {
        return Ok(raw(answer));
    }
    if let Some(id) = &delivery.delivery_id {
        let key = format!("event:{}:{id}", integration.id);
        if !state.store().claim_dedupe(&key, DEDUPE_WINDOW, state.clock().now()).await? {
            // A redelivery gets the same answer as the first (a WeCom stream already started).
            return Ok(raw(incoming.answer(state, codec, false).await));
        }
    }
    let mut answer_queued = false;
    match state.engine.handle_im_event(integration, delivery.event).await {
        Ok(outcome) => {
            answer_queued = outcome == EventOutcome::MentionQueued && has_model(state, integration).await;
            tracing::debug!(integration = %integration.id, ?outcome, "event handled")
        }
        Err(e) if e.is_retryable() => {
            // Let the platform redeliver: forget the claim so the retry is not dropped.
            if let Some(id) = &delivery.delivery_id {
                let _ = state.store().release_dedupe(&format!("event:{}:{id}", integration.id)).await;
            }
            tracing::warn!(integration = %integration.id, error = %e, "event failed; the platform will redeliver");
            return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again"));
        }
        Err(e) => tracing::error!(integration = %integration.id, error = %e, "event could not be applied"),
    }
    Ok(raw(incoming.answer(state, codec, answer_queued).await))
}

/// Whether the assistant can answer in this tenant at all: a platform that starts its answer
/// in the callback (WeCom's stream) does so only then; without a model the job says so in a
/// message, and a started stream would wait for an answer that never comes.
async fn has_model(state: &AppState, integration: &Integration) -> bool {
    let Some(models) = &state.engine.models else { return false };
    match state.store().get_tenant(&integration.tenant_id).await {
        Ok(Some(tenant)) => matches!(models.for_tenant(&tenant), Ok(Some(_))),
        _ => false,
    }
}

fn codec_for(state: &AppState, integration: &Integration) -> Result<Arc<dyn CallbackCodec>, ApiError> {
    state.engine.platforms.callbacks(integration).map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "platform_unavailable", e.to_string()))
}

fn raw(r: RawResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, r.content_type)], r.body).into_response()
}
