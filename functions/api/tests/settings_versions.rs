//! Two admins saving settings at once never lose a change: `ETag` / `If-Match` for those
//! who want to be told, a merge at write time for those who send a patch without it.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::json;
use std::sync::Arc;

fn etag(reply: &common::Reply) -> String {
    reply.headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn settings_answer_an_etag_that_changes_with_every_save() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let first = app.get("/api/v1/settings", &t.key).await;
    assert_eq!(etag(&first), "\"v0\"");
    let saved = app.call(Method::PUT, "/api/v1/settings", Some(&t.key), Some(json!({"private_chats": false}))).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    assert_eq!(etag(&saved), "\"v1\"");
    assert_eq!(etag(&app.get("/api/v1/settings", &t.key).await), "\"v1\"");
}

#[tokio::test]
async fn a_save_from_an_out_of_date_read_is_refused_with_412_and_changes_nothing() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let alice_read = etag(&app.get("/api/v1/settings", &t.key).await);
    let bob_read = etag(&app.get("/api/v1/settings", &t.key).await);
    let alice = app.call_with(Method::PUT, "/api/v1/settings", &t.key, Some(json!({"auto_dismiss_after_minutes": 30})), &[("if-match", &alice_read)]).await;
    assert_eq!(alice.status, StatusCode::OK, "{}", alice.text);
    let bob = app.call_with(Method::PUT, "/api/v1/settings", &t.key, Some(json!({"auto_dismiss_after_minutes": 5})), &[("if-match", &bob_read)]).await;
    assert_eq!(bob.status, StatusCode::PRECONDITION_FAILED, "{}", bob.text);
    assert_eq!(bob.code(), "version_conflict");
    assert_eq!(bob.body["error"]["current_etag"], etag(&alice));
    assert_eq!(etag(&bob), etag(&alice), "the 412 names the current version");
    let now = app.get("/api/v1/settings", &t.key).await;
    assert_eq!(now.body["auto_dismiss_after_minutes"], 30, "Bob's stale save changed nothing");
    // Re-read, re-apply: goes through.
    let again = app.call_with(Method::PUT, "/api/v1/settings", &t.key, Some(json!({"auto_dismiss_after_minutes": 5})), &[("if-match", &etag(&now))]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    // `*` matches any current version; a malformed tag is a 400, not a silent overwrite.
    let star = app.call_with(Method::PUT, "/api/v1/settings", &t.key, Some(json!({"private_chats": true})), &[("if-match", "*")]).await;
    assert_eq!(star.status, StatusCode::OK, "{}", star.text);
    let bad = app.call_with(Method::PUT, "/api/v1/settings", &t.key, Some(json!({"private_chats": false})), &[("if-match", "v3")]).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "bad_request"), "{}", bad.text);
    assert_eq!(app.get("/api/v1/settings", &t.key).await.body["private_chats"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_saves_of_different_fields_without_if_match_all_stick() {
    let app = Arc::new(App::new());
    let t = app.tenant("acme").await;
    // Each round, six admins change six different things at the same moment.
    for round in 0..15u64 {
        let patches = [
            json!({"auto_dismiss_after_minutes": 10 + round}),
            json!({"auto_create_min_severity": if round % 2 == 0 { "warning" } else { "critical" }}),
            json!({"private_chats": round % 2 == 0}),
            json!({"sources": {"alertmanager": {"api_url": format!("http://am-{round}.example:9093")}}}),
            json!({"sources": {"generic": {"callback_url": format!("https://ops.example.com/{round}"), "signing_secret": "s3cret-value-0001"}}}),
            json!({"sources": {"pagerduty": {"api_token": "pd-token-0002", "from_email": format!("r{round}@example.com")}}}),
        ];
        let saves: Vec<_> = patches
            .into_iter()
            .map(|patch| {
                let (app, key) = (app.clone(), t.key.clone());
                tokio::spawn(async move { app.call(Method::PUT, "/api/v1/settings", Some(&key), Some(patch)).await })
            })
            .collect();
        for save in saves {
            let reply = save.await.unwrap();
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        }
        let now = app.get("/api/v1/settings", &t.key).await.body;
        assert_eq!(now["auto_dismiss_after_minutes"], 10 + round, "round {round}: {now}");
        assert_eq!(now["auto_create_min_severity"], if round % 2 == 0 { "warning" } else { "critical" }, "round {round}: {now}");
        assert_eq!(now["private_chats"], round % 2 == 0, "round {round}: {now}");
        assert_eq!(now["sources"]["alertmanager"]["api_url"], format!("http://am-{round}.example:9093"), "round {round}: {now}");
        assert_eq!(now["sources"]["generic"]["callback_url"], format!("https://ops.example.com/{round}"), "round {round}: {now}");
        assert_eq!(now["sources"]["pagerduty"]["from_email"], format!("r{round}@example.com"), "round {round}: {now}");
    }
}
