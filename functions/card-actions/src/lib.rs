//! Card button callbacks: Slack interactivity and per-integration card callbacks.

use axum::routing::post;
use axum::Router;
use warroom_http::{not_implemented, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/im/slack/interactions", post(not_implemented))
        .route("/im/{integration_id}/cards", post(not_implemented))
        .with_state(state)
}
