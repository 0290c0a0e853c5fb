//! IM event callbacks: the deployment's own Slack app, and per-integration apps
//! (Feishu/Lark, DingTalk, WeCom, self-managed Slack), some of which verify by GET.

use axum::routing::post;
use axum::Router;
use warroom_http::{not_implemented, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/im/slack/events", post(not_implemented))
        .route("/im/{integration_id}/events", post(not_implemented).get(not_implemented))
        .with_state(state)
}
