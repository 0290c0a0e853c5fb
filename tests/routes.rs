//! Every route of the design's contract exists in the function that owns it.

mod common;

use axum::body::{to_bytes, Body};
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use tower::ServiceExt;

async fn status(router: Router, method: Method, path: &str) -> (StatusCode, serde_json::Value) {
    let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let html = resp.headers().get("content-type").is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
    let body = to_bytes(resp.into_body(), 64 * 1024).await.unwrap();
    // The browser flows answer with a page; treat one as a served route.
    let value = if html { serde_json::json!({"error": {"code": "html_page"}}) } else { serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null) };
    (status, value)
}

#[tokio::test]
async fn every_designed_route_is_served_by_its_function() {
    let app = common::App::new().await;
    let s = app.state.clone();
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
        (oauth_callback::router(s.clone()), Method::GET, "/oauth/int_1/authorize"),
        (api::router(s.clone()), Method::GET, "/api/v1/incidents"),
    ];
    for (router, method, path) in table {
        let (code, body) = status(router, method.clone(), path).await;
        assert_ne!(code, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is missing");
        assert!(body["error"]["code"].is_string() || code.is_success(), "{method} {path}: {code} without a JSON error");
        assert_ne!(body["error"]["code"], "no_such_route", "{method} {path} is missing");
        assert!(code != StatusCode::NOT_FOUND || body["error"]["code"].is_string(), "{method} {path} is missing");
    }
}

#[tokio::test]
async fn a_route_in_the_wrong_function_is_not_served() {
    let app = common::App::new().await;
    let (code, _) = status(incident_intake::router(app.state.clone()), Method::POST, "/im/slack/events").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}
