//! Every route of the design's contract exists in the function that owns it, and
//! anything else gets a JSON 404.

use axum::body::{to_bytes, Body};
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use std::sync::Arc;
use tower::ServiceExt;
use warroom_core::SystemClock;
use warroom_http::{AppState, Settings};
use warroom_queue::{MemoryQueue, MemoryQueueConfig};
use warroom_store::embedded::EmbeddedStore;

fn state() -> AppState {
    AppState::new(
        Arc::new(EmbeddedStore::open_temporary().unwrap()),
        Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), Arc::new(SystemClock))),
        Arc::new(SystemClock),
        Settings { public_url: "http://127.0.0.1:3000".into() },
    )
}

async fn status(router: Router, method: Method, path: &str) -> (StatusCode, serde_json::Value) {
    let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let body = to_bytes(resp.into_body(), 64 * 1024).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn every_designed_route_is_served_by_its_function() {
    let s = state();
    let table: Vec<(Router, Method, &str)> = vec![
        (incident_intake::router(s.clone()), Method::POST, "/hooks/generic"),
        (incident_intake::router(s.clone()), Method::POST, "/hooks/alertmanager"),
        (im_events::router(s.clone()), Method::POST, "/im/slack/events"),
        (im_events::router(s.clone()), Method::POST, "/im/int_1/events"),
        (im_events::router(s.clone()), Method::GET, "/im/int_1/events"),
        (card_actions::router(s.clone()), Method::POST, "/im/slack/interactions"),
        (card_actions::router(s.clone()), Method::POST, "/im/int_1/cards"),
        (oauth_callback::router(s.clone()), Method::GET, "/oauth/slack/callback"),
        (oauth_callback::router(s.clone()), Method::GET, "/im/int_1/web"),
        (oauth_callback::router(s.clone()), Method::GET, "/oauth/int_1/callback"),
        (api::router(s.clone()), Method::GET, "/api/v1/incidents"),
    ];
    for (router, method, path) in table {
        let (code, body) = status(router, method.clone(), path).await;
        assert_ne!(code, StatusCode::NOT_FOUND, "{method} {path} is missing");
        assert_ne!(code, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is missing");
        if code == StatusCode::NOT_IMPLEMENTED {
            assert_eq!(body["error"]["code"], "not_implemented", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn a_route_in_the_wrong_function_is_not_served() {
    let (code, _) = status(incident_intake::router(state()), Method::POST, "/im/slack/events").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}
