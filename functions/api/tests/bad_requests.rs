//! Broken requests get 400-class JSON errors naming what is wrong, never axum's plain text.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::json;
use warroom_core::Store;

#[tokio::test]
async fn malformed_json_is_a_400_json_error() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for (method, path) in [(Method::PUT, "/api/v1/members"), (Method::PUT, "/api/v1/settings"), (Method::POST, "/api/v1/keys")] {
        let r = app.raw(method.clone(), path, Some(&t.key), Some("{\"name\": "), Some("application/json")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{method} {path}: {}", r.text);
        assert_eq!(r.code(), "bad_request", "{method} {path}");
        assert!(r.message().starts_with("request body"), "{}", r.message());
    }
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_a_400_naming_the_field() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.call(Method::POST, "/api/v1/keys", Some(&t.key), Some(json!({"label": "ci", "scope": "root"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().contains("unknown variant `root`"), "{}", r.message());
    let r = app.call(Method::POST, "/api/v1/keys", Some(&t.key), Some(json!({"label": "ci"}))).await;
    assert!(r.message().contains("missing field `scope`"), "{}", r.message());
}

#[tokio::test]
async fn an_empty_body_where_one_is_required_is_a_400() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.raw(Method::PUT, "/api/v1/settings", Some(&t.key), Some(""), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "bad_request");
}

#[tokio::test]
async fn a_non_json_content_type_is_a_415_json_error() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.raw(Method::PUT, "/api/v1/settings", Some(&t.key), Some("private_chats=true"), Some("application/x-www-form-urlencoded")).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.code(), "unsupported_media_type");
}

#[tokio::test]
async fn a_json_body_without_a_content_type_is_accepted() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.raw(Method::PUT, "/api/v1/settings", Some(&t.key), Some(r#"{"private_chats": false}"#), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["private_chats"], false);
}

#[tokio::test]
async fn bad_query_parameters_are_400s_naming_the_parameter() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.get("/api/v1/incidents?limit=0", &t.key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.message().starts_with("limit:"), "{}", r.message());
    let r = app.get("/api/v1/incidents?cursor=garbage", &t.key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

/// serde reads a struct from a JSON array too (`[null]`); the document says object.
#[tokio::test]
async fn arrays_where_objects_belong_are_refused() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for (method, path, body) in [
        (Method::POST, "/api/v1/integrations/slack/install", json!([null])),
        (Method::POST, "/api/v1/keys", json!(["ci", "admin"])),
        (Method::PUT, "/api/v1/members", json!([["Ada", null, null, null]])),
        (Method::PUT, "/api/v1/members", json!({"name": "Ada"})),
    ] {
        let r = app.call(method.clone(), path, Some(&t.key), Some(body.clone())).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{method} {path} {body}: {}", r.text);
    }
    assert!(app.store.list_members(&t.id).await.unwrap().is_empty());
}
