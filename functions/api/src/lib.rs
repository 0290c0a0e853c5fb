//! The management API under `/api/v1` (see `docs/api.md` and `docs/openapi.json`).
//!
//! Every request carries `Authorization: Bearer <admin-scope API key>`; the key names one
//! tenant and every object is looked up within it: another tenant's object answers
//! `404 not_found` exactly like a missing one. Bodies are JSON in and out; every error is
//! `{"error": {"code", "message", ...}}` with a stable `code` (an unknown route is
//! `404 no_such_route`, a known route with the wrong method `405 method_not_allowed`).
//!
//! One module per resource: [`integrations`] (and [`connect`]: connecting apps by their
//! credentials, the Slack install link and manifest), [`links`], [`members`], [`incidents`],
//! [`settings`], [`keys`], [`dead_letters`]. [`cli`] backs the `warroom-admin` binary.

pub mod cli;
pub mod connect;
pub mod console;
pub mod dead_letters;
pub mod error;
pub mod extract;
pub mod incident_filter;
pub mod incidents;
pub mod integrations;
pub mod keys;
pub mod links;
mod lookup;
pub mod members;
pub mod postmortem;
pub mod runbooks;
pub mod settings;
pub mod settings_model;
pub mod slack_app;
pub mod validate;
pub mod views;

use axum::Router;
use warroom_http::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(integrations::routes())
        .merge(connect::routes())
        .merge(slack_app::routes())
        .merge(links::routes())
        .merge(members::routes())
        .merge(incidents::routes())
        .merge(postmortem::routes())
        .merge(runbooks::routes())
        .merge(settings::routes())
        .merge(keys::routes())
        .merge(dead_letters::routes())
        .merge(console::routes())
        // After the routes: it applies to the routes present when called.
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::no_such_route)
        .with_state(state)
}
