//! API keys are shown once and work at once; dead letters are per tenant to look at and
//! redriven only when they are all the caller's.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::json;
use std::time::Duration;
use warroom_core::{Job, JobQueue};
use warroom_queue::MemoryQueueConfig;

#[tokio::test]
async fn a_new_key_is_shown_once_with_its_scope_and_works() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.call(Method::POST, "/api/v1/keys", Some(&t.key), Some(json!({"label": "terraform", "scope": "admin"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let key = r.body["key"].as_str().unwrap();
    assert!(key.starts_with(r.body["prefix"].as_str().unwrap()));
    assert_eq!(r.body["scope"], "admin");
    assert!(r.body.get("key_hash").is_none() && !r.text.contains(&warroom_http::auth::hash_key(key)));
    assert_eq!(app.get("/api/v1/settings", key).await.status, StatusCode::OK);

    let r = app.call(Method::POST, "/api/v1/keys", Some(&t.key), Some(json!({"label": "grafana", "scope": "intake"}))).await;
    let intake = r.body["key"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/settings", intake).await.status, StatusCode::FORBIDDEN);

    let r = app.call(Method::POST, "/api/v1/keys", Some(&t.key), Some(json!({"label": " ", "scope": "admin"}))).await;
    assert!(r.message().starts_with("label:"), "{}", r.message());
}

#[tokio::test]
async fn keys_are_listed_without_hashes_and_revoked_except_the_last_admin_key() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.call(Method::POST, "/api/v1/keys", Some(&t.key), Some(json!({"label": "grafana", "scope": "intake"}))).await;
    let intake = r.body["key"].as_str().unwrap().to_string();
    let r = app.get("/api/v1/keys", &t.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let keys = r.body["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert!(!r.text.contains(&warroom_http::auth::hash_key(&intake)), "no hashes");
    let id_of = |label: &str| keys.iter().find(|k| k["label"] == label).unwrap()["id"].as_str().unwrap().to_string();
    let r = app.call(Method::DELETE, &format!("/api/v1/keys/{}", id_of("grafana")), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let hook = app.get("/api/v1/settings", &intake).await;
    assert_eq!(hook.status, StatusCode::UNAUTHORIZED, "a revoked key stops working");
    let admin_id = app.get("/api/v1/keys", &t.key).await.body["keys"][0]["id"].as_str().unwrap().to_string();
    let r = app.call(Method::DELETE, &format!("/api/v1/keys/{admin_id}"), Some(&t.key), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "last_admin_key"));
    let other = app.tenant("other").await;
    let r = app.call(Method::DELETE, &format!("/api/v1/keys/{admin_id}"), Some(&other.key), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another tenant's key is not found");
}

/// A queue that dead-letters after one failed delivery.
async fn dead_letter(app: &App, job: &Job) {
    app.queue.send(job).await.unwrap();
    let got = app.queue.receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    app.clock.advance(Duration::from_secs(60));
    assert!(app.queue.receive(10, Duration::ZERO).await.unwrap().is_empty(), "moved to the dead letters");
}

#[tokio::test]
async fn dead_letters_show_only_the_callers_jobs_and_redrive_is_refused_while_others_are_there() {
    let app = App::with_queue(MemoryQueueConfig { visibility_timeout: Duration::from_secs(30), max_receive_count: 1 });
    let a = app.tenant("a").await;
    let b = app.tenant("b").await;
    dead_letter(&app, &Job::reconcile(a.id.clone(), "inc_a".into(), 1)).await;
    dead_letter(&app, &Job::reconcile(b.id.clone(), "inc_b".into(), 1)).await;

    let r = app.get("/api/v1/dead-letters", &a.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["dead_letters"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["dead_letters"][0]["job"]["incident_id"], "inc_a");
    assert_eq!(r.body["other_tenants"], 1);
    assert!(!r.text.contains("inc_b") && !r.text.contains(b.id.as_str()), "{}", r.text);

    let r = app.call(Method::POST, "/api/v1/dead-letters/redrive", Some(&a.key), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "dead_letters_shared");
    assert_eq!(app.queue.dead_letters(10).await.unwrap().len(), 2, "nothing was moved");
}

#[tokio::test]
async fn redrive_moves_the_dead_letters_back_when_all_are_the_callers() {
    let app = App::with_queue(MemoryQueueConfig { visibility_timeout: Duration::from_secs(30), max_receive_count: 1 });
    let a = app.tenant("a").await;
    dead_letter(&app, &Job::reconcile(a.id.clone(), "inc_a".into(), 1)).await;
    dead_letter(&app, &Job::reconcile(a.id.clone(), "inc_b".into(), 1)).await;
    let r = app.call(Method::POST, "/api/v1/dead-letters/redrive", Some(&a.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["redriven"], 2);
    assert!(app.queue.dead_letters(10).await.unwrap().is_empty());
    assert_eq!(app.queue.len(), 2);
}
