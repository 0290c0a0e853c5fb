//! One router for the whole bundle: the five functions' routers exactly as their Lambdas
//! run them, `GET /healthz` (cheap: the process answers), `GET /readyz` (the store and the
//! queue answer), `GET /metrics` (Prometheus text), and in demo mode the sandboxes, the sandbox web view and the
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
use warroom_core::{JobQueue, Store, TenantId};
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
    let (store, queue) = (state.store().clone(), state.engine.queue.clone());
    let mut router = functions(state)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(move || readyz(store.clone(), queue.clone())))
        .route("/metrics", get(metrics_text));
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

/// How long `/readyz` waits for each check: a store stuck behind its writer is not ready.
const READY_CHECK_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// 200 when a cheap store read and a cheap queue call both answer; else 503 naming each
/// check that failed (`{"ready": false, "failed": {"store": "..."}}`).
pub async fn readyz(store: Arc<dyn Store>, queue: Arc<dyn JobQueue>) -> Response {
    let limit = |what: &str| format!("no answer within {} s ({what})", READY_CHECK_LIMIT.as_secs());
    // A tenant that cannot exist: one point read, nothing written.
    let probe = TenantId::new("readyz-probe");
    let store_check = tokio::time::timeout(READY_CHECK_LIMIT, store.get_tenant(&probe));
    let queue_check = tokio::time::timeout(READY_CHECK_LIMIT, queue.dead_letters(1));
    let (store_result, queue_result) = tokio::join!(store_check, queue_check);
    let mut failed = serde_json::Map::new();
    match store_result {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => drop(failed.insert("store".into(), json!(e.to_string()))),
        Err(_) => drop(failed.insert("store".into(), json!(limit("read")))),
    }
    match queue_result {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => drop(failed.insert("queue".into(), json!(e.to_string()))),
        Err(_) => drop(failed.insert("queue".into(), json!(limit("peek")))),
    }
    if failed.is_empty() {
        (StatusCode::OK, Json(json!({"ready": true}))).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"ready": false, "failed": failed}))).into_response()
    }
}

/// The Prometheus text exposition (404 when metrics are off: `WARROOM_METRICS=off`).
async fn metrics_text() -> Response {
    match warroom_metrics::render() {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are off in this process (WARROOM_METRICS=off)\n").into_response(),
    }
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

    /// A queue whose every call fails, as an unreachable queue would.
    struct DownQueue;

    #[async_trait::async_trait]
    impl JobQueue for DownQueue {
        async fn send(&self, _: &warroom_core::Job) -> warroom_core::QueueResult<()> {
            Err(down())
        }
        async fn receive(&self, _: usize, _: std::time::Duration) -> warroom_core::QueueResult<Vec<warroom_core::Delivery>> {
            Err(down())
        }
        async fn ack(&self, _: &str) -> warroom_core::QueueResult<()> {
            Err(down())
        }
        async fn defer(&self, _: &str, _: std::time::Duration) -> warroom_core::QueueResult<()> {
            Err(down())
        }
        async fn dead_letter(&self, _: &warroom_core::Delivery) -> warroom_core::QueueResult<()> {
            Err(down())
        }
        async fn dead_letters(&self, _: usize) -> warroom_core::QueueResult<Vec<warroom_core::Delivery>> {
            Err(down())
        }
        async fn redrive_dead_letters(&self) -> warroom_core::QueueResult<usize> {
            Err(down())
        }
    }

    fn down() -> warroom_core::QueueError {
        warroom_core::QueueError::Unavailable { message: "connection refused".into(), retryable: true }
    }

    #[tokio::test]
    async fn readyz_is_503_naming_the_queue_when_the_queue_does_not_answer() {
        let store: Arc<dyn Store> = Arc::new(warroom_store::embedded::EmbeddedStore::open_temporary().unwrap());
        let resp = readyz(store.clone(), Arc::new(DownQueue)).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_slice(&to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert_eq!(body["ready"], false);
        assert!(body["failed"]["queue"].as_str().unwrap().contains("connection refused"), "{body}");
        assert!(body["failed"].get("store").is_none(), "{body}");
        let queue = Arc::new(warroom_queue::MemoryQueue::new(warroom_queue::MemoryQueueConfig::default(), Arc::new(warroom_core::SystemClock)));
        assert_eq!(readyz(store, queue).await.status(), StatusCode::OK);
    }

    /// The real DynamoDB store's client, pointed at `endpoint` with one attempt per call.
    fn dynamo_store_at(endpoint: &str) -> Arc<dyn Store> {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_dynamodb::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .endpoint_url(endpoint)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .http_client(warroom_runtime::sdk_http::http_client())
            .build();
        Arc::new(warroom_store::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), "warroom"))
    }

    async fn failed_store(store: Arc<dyn Store>) -> String {
        let queue = Arc::new(warroom_queue::MemoryQueue::new(warroom_queue::MemoryQueueConfig::default(), Arc::new(warroom_core::SystemClock)));
        let resp = readyz(store, queue).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_slice(&to_bytes(resp.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert_eq!(body["ready"], false);
        assert!(body["failed"].get("queue").is_none(), "{body}");
        body["failed"]["store"].as_str().unwrap_or_else(|| panic!("the store named in {body}")).to_owned()
    }

    #[tokio::test]
    async fn readyz_is_503_naming_the_store_when_its_endpoint_refuses_connections() {
        // A port that was free a moment ago: nothing listens there now.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let why = failed_store(dynamo_store_at(&format!("http://127.0.0.1:{port}"))).await;
        assert!(!why.is_empty());
    }

    #[tokio::test]
    async fn readyz_is_503_within_its_limit_when_the_store_accepts_and_never_answers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        // Accepts connections and holds them open without a byte in answer.
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let started = std::time::Instant::now();
        let why = failed_store(dynamo_store_at(&endpoint)).await;
        assert!(why.contains("no answer within 2 s"), "{why}");
        assert!(started.elapsed() < READY_CHECK_LIMIT + std::time::Duration::from_secs(2), "{:?}", started.elapsed());
        held.abort();
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
