//! Who may call the API: admin-scope keys only, and every error is JSON.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use warroom_core::KeyScope;

#[tokio::test]
async fn a_request_without_a_key_is_refused_with_401_json() {
    let app = App::new();
    let r = app.call(Method::GET, "/api/v1/incidents", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "unauthorized");
    assert!(r.message().contains("Bearer"), "{}", r.text);
}

#[tokio::test]
async fn an_unknown_key_is_refused_with_401() {
    let app = App::new();
    app.tenant("acme").await;
    let r = app.get("/api/v1/integrations", "wr_notarealkeynotarealkeynotareal").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "unauthorized");
}

#[tokio::test]
async fn an_intake_scope_key_is_refused_with_403() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let intake = app.key(&t.id, KeyScope::Intake).await;
    for path in ["/api/v1/integrations", "/api/v1/settings", "/api/v1/members"] {
        let r = app.get(path, &intake).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.code(), "forbidden", "{path}");
    }
}

#[tokio::test]
async fn authentication_comes_before_body_parsing() {
    let app = App::new();
    let r = app.raw(Method::PUT, "/api/v1/members", None, Some("{not json"), Some("application/json")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404_no_such_route() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.get("/api/v1/nothing-here", &t.key).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "no_such_route");
}

#[tokio::test]
async fn a_known_route_with_the_wrong_method_is_a_json_405() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.call(Method::PATCH, "/api/v1/settings", Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "method_not_allowed");
}
