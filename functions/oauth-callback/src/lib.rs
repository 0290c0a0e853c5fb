//! OAuth install / re-authorize, and IM sign-in pages that link a member's account.

use axum::routing::get;
use axum::Router;
use warroom_http::{not_implemented, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/oauth/slack/callback", get(not_implemented))
        .route("/im/{integration_id}/web", get(not_implemented))
        .route("/oauth/{integration_id}/callback", get(not_implemented))
        // Where the API's `reauthorize_url` points: redirects to the platform's consent page.
        .route("/oauth/{integration_id}/authorize", get(not_implemented))
        .with_state(state)
}
