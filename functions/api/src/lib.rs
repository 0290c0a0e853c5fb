//! The management API under `/api/v1`.

use axum::routing::any;
use axum::Router;
use warroom_http::{not_implemented, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1", any(not_implemented))
        .route("/api/v1/{*rest}", any(not_implemented))
        .with_state(state)
}
