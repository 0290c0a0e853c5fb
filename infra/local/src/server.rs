//! One router for the whole bundle: the five functions' routers exactly as their Lambdas
//! run them, `GET /healthz`, and in demo mode the sandboxes, the sandbox web view and the
//! control endpoints under `/sandbox`.

use crate::control::{self, ControlContext};
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
    /// Every sandbox's API by its path (`Sandboxes::routers`).
    pub apis: Vec<(&'static str, Router)>,
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
        router = router.merge(control::router(mounts.control));
        for (path, api) in mounts.apis {
            router = router.nest_service(path, api);
        }
        router = router
            .nest("/sandbox", web::router(mounts.web))
            // axum 0.8 matches a nested `/` only without the trailing slash.
            .route("/sandbox/", get(|| async { Redirect::temporary("/sandbox") }));
    }
    router.layer(middleware::from_fn_with_state(Admission::new(MAX_IN_FLIGHT), admit)).layer(middleware::from_fn_with_state(draining, refuse_while_draining))
}

/// Callbacks and intake requests in progress at most. Past it the bundle answers 503 at
/// once (Slack and Feishu redeliver, as after a timeout) instead of queueing them behind
/// the store's single writer until every caller has given up: measured with
/// `callback_load`, an unbounded backlog took the stack to 577 MiB with every caller timing
/// out, where shedding kept p99 under half a second at 1,400/s.
pub const MAX_IN_FLIGHT: usize = 256;

#[derive(Clone)]
pub struct Admission(Arc<tokio::sync::Semaphore>);

impl Admission {
    pub fn new(limit: usize) -> Self {
        Self(Arc::new(tokio::sync::Semaphore::new(limit)))
    }
}

/// `/im/…` and `/hooks/…`: admitted within the limit, then run to the end in a task of
/// their own, so a caller that hangs up cannot leave a callback half applied (a status
/// saved without its card-update job, a de-duplication claim without its event). That is
/// how Lambda behaves too: an invocation runs to its end whatever the caller does.
async fn admit(State(admission): State<Admission>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !(path.starts_with("/im/") || path.starts_with("/hooks/")) {
        return next.run(request).await;
    }
    let Ok(permit) = admission.0.clone().try_acquire_owned() else {
        let body = json!({"error": {"code": "overloaded", "message": "warroom-local is at capacity; try again shortly"}});
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], Json(body)).into_response();
    };
    let handled = tokio::spawn(async move {
        let response = next.run(request).await;
        drop(permit);
        response
    });
    handled.await.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn refuse_while_draining(State(draining): State<Draining>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if draining.is_on() && path != "/healthz" && !path.starts_with("/sandbox/") {
        let body = json!({"error": {"code": "shutting_down", "message": "warroom-local is shutting down; try again once it is back"}});
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::CONNECTION, "close"), (header::RETRY_AFTER, "5")], Json(body)).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::routing::post;
    use tower::ServiceExt;

    fn app(limit: usize, finished: Arc<AtomicBool>) -> Router {
        let slow = move || {
            let finished = finished.clone();
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                finished.store(true, Ordering::SeqCst);
                "done"
            }
        };
        Router::new().route("/im/x", post(slow)).route("/healthz", get(|| async { "ok" })).layer(middleware::from_fn_with_state(Admission::new(limit), admit))
    }

    fn req(method: &str, path: &str) -> Request {
        Request::builder().method(method).uri(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_callback_past_the_in_flight_limit_gets_a_json_503_and_other_routes_pass() {
        let app = app(0, Arc::default());
        let resp = app.clone().oneshot(req("POST", "/im/x")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        let body: serde_json::Value = serde_json::from_slice(&to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "overloaded");
        assert_eq!(app.oneshot(req("GET", "/healthz")).await.unwrap().status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_callback_whose_caller_hangs_up_still_runs_to_its_end() {
        let finished = Arc::new(AtomicBool::new(false));
        let call = tokio::spawn(app(1, finished.clone()).oneshot(req("POST", "/im/x")));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        call.abort(); // the caller goes away mid-request
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(finished.load(Ordering::SeqCst), "the handler was dropped with its caller");
    }
}
