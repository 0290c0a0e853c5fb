//! Card button callbacks. Per-integration apps post to `/im/{integration_id}/cards`; the
//! integration's platform verifies and decodes the request (its own signature scheme) and
//! shapes the answer. A refused callback changes nothing and gets a JSON error.
//! Slack's deployment-wide app posts to `/im/slack/interactions` (built with Slack).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::time::Duration;
use warroom_core::{CallbackCodec, Click, IntegrationId, RawRequest, RawResponse};
use warroom_engine::{ClickOrigin, EngineError};
use warroom_http::{not_implemented, ApiError, AppState};

/// Card callbacks are small; anything larger is not one.
const MAX_BODY: usize = 64 * 1024;
/// How long a callback's delivery id is remembered to refuse replays.
const REPLAY_WINDOW: Duration = Duration::from_secs(24 * 3600);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/im/slack/interactions", post(not_implemented))
        .route("/im/{integration_id}/cards", post(card_callback))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

async fn card_callback(State(state): State<AppState>, Path(integration_id): Path<String>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let integration_id = IntegrationId::new(integration_id);
    let integration = state.store().get_integration(&integration_id).await?.ok_or_else(|| ApiError::not_found("no such integration"))?;
    let codec = state.engine.platforms.callbacks(&integration).map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "platform_unavailable", e.to_string()))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request = RawRequest { method: "POST", query: "", header: &header, body: &body, now: state.clock().now() };
    let click = codec.decode_click(&request).map_err(|e| {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::new(status, e.code(), e.to_string())
    })?;
    if let Some(delivery) = &click.delivery_id {
        let key = format!("click:{integration_id}:{delivery}");
        if !state.store().claim_dedupe(&key, REPLAY_WINDOW, state.clock().now()).await? {
            // The platform retried a click we already applied: answer as before, change nothing.
            return Ok(raw(codec.click_reply("Already handled", None)));
        }
    }
    Ok(raw(apply(&state, codec.as_ref(), &integration_id, click).await))
}

/// Applies the click; every outcome a clicker can act on becomes a reply in the chat.
async fn apply(state: &AppState, codec: &dyn CallbackCodec, integration_id: &IntegrationId, click: Click) -> RawResponse {
    let origin = ClickOrigin { integration_id: integration_id.clone(), im_user: click.user.clone() };
    let (message, card) = match state.engine.card_action(&origin, &click.incident_id, click.action).await {
        Ok(reply) => (reply.message, reply.changed.then_some(reply.card)),
        Err(e @ (EngineError::NotLinked { .. } | EngineError::Refused(_) | EngineError::NotFound(_))) => (e.to_string(), None),
        Err(e) => {
            tracing::error!(error = %e, "card action failed");
            ("Warroom could not apply this right now; please try again.".to_string(), None)
        }
    };
    codec.after_click(&click, &message).await;
    codec.click_reply(&message, card.as_ref())
}

fn raw(r: RawResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, r.content_type)], r.body).into_response()
}
