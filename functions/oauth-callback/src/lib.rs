//! OAuth and sign-in pages, for people in a browser:
//! - `GET /oauth/slack/callback`: the end of a Slack install or re-authorize (OAuth v2).
//! - `GET /oauth/{integration_id}/authorize`: where an integration's `reauthorize_url` points.
//! - `GET /im/{integration_id}/web` + `GET /oauth/{integration_id}/callback`: signing in from
//!   the IM app (Feishu's web-app homepage and redirect URL), which links the person's IM
//!   account to the member with the same email or phone; the same callback finishes a
//!   sign-in to the web console through the IM ([`console`]: admin members only).
//!
//! Every `state` is random, single-use and expires after ten minutes; every answer is a
//! short HTML page saying what happened and what to do next.

mod console;
mod flows;
mod page;

use axum::routing::get;
use axum::Router;
use warroom_http::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/oauth/slack/callback", get(flows::slack_callback))
        .route("/oauth/{integration_id}/authorize", get(flows::authorize))
        .route("/im/{integration_id}/web", get(flows::sign_in))
        .route("/oauth/{integration_id}/callback", get(flows::sign_in_callback))
        .with_state(state)
}
