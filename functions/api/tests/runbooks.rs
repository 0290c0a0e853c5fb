//! Runbooks: create, read (JSON and Markdown), replace under a version, delete; clear 400s.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::json;
use warroom_core::Store;

#[tokio::test]
async fn a_runbook_is_created_read_replaced_at_its_version_and_deleted() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let body = json!({"title": "Checkout 5xx", "body": "# Checkout\n\nRoll back the last deploy.\n\nThen page payments.", "selectors": ["service=checkout", "service=checkout"]});
    let r = app.call(Method::POST, "/api/v1/runbooks", Some(&t.key), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("rb_"));
    assert_eq!(r.body["selectors"], json!(["service=checkout"]), "a repeated selector is kept once");
    assert_eq!(r.body["summary"], json!(null));
    assert_eq!(r.body["effective_summary"], "Roll back the last deploy.");
    assert_eq!(r.body["version"], 1);

    let md = app.get(&format!("/api/v1/runbooks/{id}?format=markdown"), &t.key).await;
    assert_eq!(md.status, StatusCode::OK);
    assert!(md.headers[axum::http::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/markdown"));
    assert!(md.text.starts_with("# Checkout 5xx\n\n# Checkout"), "{}", md.text);

    let replace = json!({"title": "Checkout errors", "body": "Fail over.", "summary": "Fail over first.", "version": 1});
    let r = app.call(Method::PUT, &format!("/api/v1/runbooks/{id}"), Some(&t.key), Some(replace.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["version"].as_u64(), r.body["selectors"].clone(), r.body["effective_summary"].as_str()), (Some(2), json!([]), Some("Fail over first.")));
    let stale = app.call(Method::PUT, &format!("/api/v1/runbooks/{id}"), Some(&t.key), Some(replace)).await;
    assert_eq!((stale.status, stale.code()), (StatusCode::CONFLICT, "version_conflict"), "{}", stale.text);
    assert_eq!(app.store.get_runbook(&t.id, &id.as_str().into()).await.unwrap().unwrap().version, 2, "nothing written");

    let list = app.get("/api/v1/runbooks", &t.key).await;
    assert_eq!(list.body["runbooks"].as_array().unwrap().len(), 1);
    let r = app.call(Method::DELETE, &format!("/api/v1/runbooks/{id}"), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/api/v1/runbooks/{id}"), &t.key).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_invalid_runbook_is_refused_naming_its_field_and_nothing_is_stored() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let ok = json!({"title": "T", "body": "B"});
    let with = |field: &str, value: serde_json::Value| {
        let mut b = ok.clone();
        b[field] = value;
        b
    };
    for (bad, field) in [
        (with("title", json!("  ")), "title:"),
        (with("title", json!("x".repeat(201))), "title:"),
        (with("body", json!(" \n ")), "body:"),
        (with("body", json!("a\u{7}b")), "body:"),
        (with("body", json!("x".repeat(16_001))), "body:"),
        (with("selectors", json!(["service"])), "selectors[0]:"),
        (with("selectors", json!(["ok=1", "k=\u{1}"])), "selectors[1]:"),
        (with("selectors", json!((0..21).map(|i| format!("k{i}=v")).collect::<Vec<_>>())), "selectors:"),
        (with("summary", json!("")), "summary:"),
        (with("version", json!(1)), "version:"),
        (with("owner", json!("x")), "request body: unknown field `owner`"),
        (json!({"title": "T"}), "request body: missing field `body`"),
    ] {
        let r = app.call(Method::POST, "/api/v1/runbooks", Some(&t.key), Some(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {}", r.text);
        assert!(r.message().starts_with(field), "{field}: {}", r.message());
    }
    assert!(app.store.list_runbooks(&t.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_tenant_keeps_at_most_a_hundred_runbooks() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for i in 0..warroom_core::runbook::MAX_PER_TENANT {
        let r = app.call(Method::POST, "/api/v1/runbooks", Some(&t.key), Some(json!({"title": format!("R{i}"), "body": "b"}))).await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = app.call(Method::POST, "/api/v1/runbooks", Some(&t.key), Some(json!({"title": "one more", "body": "b"}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "too_many_runbooks"));
}
