//! The web console under `/console/`: server-rendered pages for what `docs/api.md` offers.
//!
//! It never reads or writes anything the API does not: every page and form is answered by
//! an in-process call to the API router itself ([`dispatch`]), authenticated by the
//! console's session instead of a bearer key, and renders that call's JSON (or its
//! `{"error": {"code", "message"}}` as the page's message). So the console and the API
//! cannot disagree, and tenancy is exactly the API's.
//!
//! - [`session`]: sign-in with an admin API key, exchanged for a signed, expiring cookie (the
//!   key never reaches the browser), or through the team's IM for admin members
//!   ([`pages::im_sign_in`]); every request re-checks that the key or the admin still exists.
//! - [`csrf`]: every form carries a token bound to the session; a POST without it changes
//!   nothing.
//! - [`flash`]: post-redirect-get; what a form did is carried to the page it redirects to.
//! - [`layout`]: the page shell, security headers (a CSP without inline script or style).
//! - [`pages`]: one module per resource. [`assets`]: the one CSS and one JS file.

pub mod assets;
pub mod csrf;
pub mod dispatch;
pub mod flash;
pub mod layout;
pub mod pages;
pub mod session;
pub mod signing;

use axum::routing::{get, post};
use axum::Router;
use warroom_http::AppState;

/// The console's routes, merged into [`crate::router`]. Every one of them answers with the
/// security headers of [`layout::security_headers`].
pub fn routes() -> Router<AppState> {
    use pages::{admin, connect, im_sign_in, incidents, integrations, links, members, signin, status};
    Router::new()
        .route("/console", get(signin::root))
        .route("/console/", get(signin::show))
        .route("/console/sign-in", post(signin::sign_in))
        .route("/console/sign-out", post(signin::sign_out))
        .route("/console/sign-in/im/done", get(im_sign_in::done))
        .route("/console/sign-in/im/{integration_id}", get(im_sign_in::start))
        .route("/console/static/console.css", get(assets::css))
        .route("/console/static/console.js", get(assets::js))
        .route("/console/integrations", get(integrations::list).post(connect::connect))
        .route("/console/integrations/new", get(connect::new))
        .route("/console/integrations/slack/install", post(connect::slack_install))
        .route("/console/integrations/{id}", get(integrations::show))
        .route("/console/integrations/{id}/war-room/enable", post(integrations::enable_war_room))
        .route("/console/integrations/{id}/war-room/disable", post(integrations::disable_war_room))
        .route("/console/integrations/{id}/war-room/move", post(integrations::move_war_room))
        .route("/console/integrations/{id}/credentials", post(connect::rotate))
        .route("/console/integrations/{id}/manifest", get(integrations::manifest))
        .route("/console/integrations/{id}/delete", post(integrations::delete))
        .route("/console/integrations/{id}/links", get(links::list))
        .route("/console/integrations/{id}/links/auto", post(links::auto_link))
        .route("/console/integrations/{id}/links/{member_id}", post(links::link))
        .route("/console/integrations/{id}/links/{member_id}/unlink", post(links::unlink))
        .route("/console/members", get(members::list).post(members::save))
        .route("/console/members/import", post(members::import))
        .route("/console/members/{id}/delete", post(members::delete))
        .route("/console/incidents", get(incidents::list))
        .route("/console/incidents/{id}", get(incidents::show))
        .route("/console/incidents/{id}/live", get(incidents::live))
        .route("/console/incidents/{id}/war-room", post(incidents::create_war_room))
        .route("/console/incidents/{id}/dismiss", post(incidents::dismiss_war_room))
        .route("/console/settings", get(admin::settings).post(admin::save_settings))
        .route("/console/keys", get(admin::keys).post(admin::create_key))
        .route("/console/keys/{id}/revoke", post(admin::revoke_key))
        .route("/console/dead-letters", get(admin::dead_letters))
        .route("/console/dead-letters/redrive", post(admin::redrive))
        .route("/console/status", get(status::show))
        .route("/console/{*rest}", get(layout::not_found).post(layout::not_found))
        .layer(axum::middleware::map_response(layout::security_headers))
}
