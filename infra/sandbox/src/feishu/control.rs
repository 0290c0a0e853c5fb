//! Changing the Feishu sandbox over HTTP, for tests in other processes and the local stack:
//! what a tenant admin does in Feishu's developer console. Paths are relative: mount with
//! `Router::nest("/control/feishu", control::router(&sb))`.
//!
//! | route | body | does |
//! |---|---|---|
//! | `POST /scopes` | `{"app","scopes"}` | replaces the app's granted scopes ([`FeishuSandbox::set_scopes`]) |
//!
//! Answers 200 with the app's grant now (`{"app","scopes"}`, sorted); 404 for an app the
//! sandbox does not have; 400 for a body that is not that JSON object (a scope must be a
//! non-empty name without spaces). Errors are `{"error": ...}`.
//!
//! The body is parsed here rather than by axum's `Json`, which answers 415 without a
//! `content-type` and 422 for a wrong shape: a script's mistake gets one status and a
//! message that shows the expected body.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeSet;

use super::FeishuSandbox;

const EXPECTED: &str = r#"{"app": "cli_…", "scopes": ["im:chat", …]}"#;

/// The control routes (see the module docs).
pub fn router(sb: &FeishuSandbox) -> Router {
    Router::new().route("/scopes", post(scopes)).with_state(sb.clone())
}

fn problem(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    app: String,
    scopes: Vec<String>,
}

async fn scopes(State(sb): State<FeishuSandbox>, body: Bytes) -> Response {
    let grant: Grant = match serde_json::from_slice(&body) {
        Ok(grant) => grant,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("the body must be {EXPECTED}: {e}")),
    };
    if let Some(bad) = grant.scopes.iter().find(|s| s.is_empty() || s.chars().any(char::is_whitespace)) {
        return problem(StatusCode::BAD_REQUEST, format!("scope {bad:?} is not a scope name (e.g. im:chat)"));
    }
    // Checked and replaced under one lock, so the answer is the grant this call made.
    let mut st = sb.lock();
    let Some(app) = st.apps.get_mut(&grant.app) else {
        let mut known: Vec<&str> = st.apps.keys().map(String::as_str).collect();
        known.sort_unstable();
        return problem(StatusCode::NOT_FOUND, format!("the Feishu sandbox has no app {:?} (it has: {})", grant.app, known.join(", ")));
    };
    app.scopes = grant.scopes.into_iter().collect::<BTreeSet<_>>();
    Json(json!({ "app": app.app_id, "scopes": app.scopes })).into_response()
}
