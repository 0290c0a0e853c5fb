//! One router for the whole bundle: the five functions' routers exactly as their Lambdas
//! run them, `GET /healthz`, and in demo mode the sandboxes, the sandbox web view and the
//! control endpoints under `/sandbox`.

use crate::control::{self, ControlContext};
use crate::sandboxes::{FEISHU_PATH, SLACK_PATH};
use crate::web::{self, WebContext};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use warroom_http::AppState;

/// Set at shutdown: the bundle stops taking requests while the workers finish (the
/// sandboxes keep answering, since the jobs being finished call them).
#[derive(Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What demo mode adds under `/sandbox`.
pub struct SandboxMounts {
    pub web: WebContext,
    pub control: ControlContext,
}

/// Every function's routes, merged as the Lambdas serve them one by one.
pub fn functions(state: AppState) -> Router {
    Router::new()
        .merge(incident_intake::router(state.clone()))
        .merge(im_events::router(state.clone()))
        .merge(card_actions::router(state.clone()))
        .merge(oauth_callback::router(state.clone()))
        .merge(api::router(state))
}

pub fn router(state: AppState, sandbox: Option<SandboxMounts>, draining: Draining) -> Router {
    let mut router = functions(state).route("/healthz", get(|| async { "ok" }));
    if let Some(mounts) = sandbox {
        let slack = mounts.web.slack.router();
        let feishu = mounts.web.feishu.router();
        router = router
            .merge(control::router(mounts.control))
            .nest_service(SLACK_PATH, slack)
            .nest_service(FEISHU_PATH, feishu)
            .nest("/sandbox", web::router(mounts.web))
            // axum 0.8 matches a nested `/` only without the trailing slash.
            .route("/sandbox/", get(|| async { Redirect::temporary("/sandbox") }));
    }
    router.layer(middleware::from_fn_with_state(draining, refuse_while_draining))
}

async fn refuse_while_draining(State(draining): State<Draining>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if draining.is_on() && path != "/healthz" && !path.starts_with("/sandbox/") {
        let body = json!({"error": {"code": "shutting_down", "message": "warroom-local is shutting down; try again once it is back"}});
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::CONNECTION, "close"), (header::RETRY_AFTER, "5")], Json(body)).into_response();
    }
    next.run(request).await
}
