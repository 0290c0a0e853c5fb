//! `POST /hooks/{source}`: incident lifecycle events from an on-call system.

use axum::routing::post;
use axum::Router;
use warroom_http::{not_implemented, AppState};

pub fn router(state: AppState) -> Router {
    Router::new().route("/hooks/{source}", post(not_implemented)).with_state(state)
}
