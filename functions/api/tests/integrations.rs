//! Integrations: permission checks, the one-war-room-integration rule, the bot's chats.

mod common;

use axum::http::{header, Method, StatusCode};
use common::{App, PUBLIC_URL};
use std::time::Duration;
use warroom_core::{CreateChat, ImError, ImPlatform, Platform, Store};
use warroom_testkit::fake_platform::FakeOp;

#[tokio::test]
async fn the_detail_lists_required_permissions_and_what_is_missing_but_never_credentials() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, _) = app.integration(&t.id, Platform::Slack, &["chat:write"]).await;
    let r = app.get(&format!("/api/v1/integrations/{}", i.id), &t.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["platform"], "slack");
    assert_eq!(r.body["war_room_enabled"], false);
    let perms = r.body["required_permissions"].as_array().unwrap();
    assert_eq!(perms.len(), 3);
    assert_eq!(perms[0]["scope"], "chat:write");
    assert_eq!(perms[0]["granted"], true);
    assert!(perms[1]["purpose"].as_str().unwrap().contains("war-room"));
    assert_eq!(r.body["missing_permissions"], serde_json::json!(["channels:manage", "users:read.email"]));
    assert_eq!(r.body["reauthorize_url"], format!("{PUBLIC_URL}/oauth/{}/authorize", i.id));
    assert!(!r.text.contains(&i.credentials.0), "credentials leaked: {}", r.text);
    assert!(r.body.get("credentials").is_none());

    let (full, _) = app.integration(&t.id, Platform::Feishu, &App::all_scopes()).await;
    let r = app.get(&format!("/api/v1/integrations/{}", full.id), &t.key).await;
    assert_eq!(r.body["missing_permissions"], serde_json::json!([]));
    assert_eq!(r.body["reauthorize_url"], serde_json::Value::Null);

    let r = app.get("/api/v1/integrations", &t.key).await;
    assert_eq!(r.body["integrations"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn enabling_war_room_with_missing_permissions_is_refused_listing_them() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, _) = app.integration(&t.id, Platform::Slack, &["chat:write"]).await;
    let r = app.call(Method::POST, &format!("/api/v1/integrations/{}/war-room", i.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(r.code(), "missing_permissions");
    assert_eq!(r.body["error"]["missing_permissions"], serde_json::json!(["channels:manage", "users:read.email"]));
    assert!(r.message().contains("channels:manage, users:read.email"), "{}", r.message());
    assert!(r.body["error"]["reauthorize_url"].as_str().unwrap().ends_with(&format!("/oauth/{}/authorize", i.id)));
    assert_eq!(app.store.war_room_integration(&t.id).await.unwrap(), None);
}

#[tokio::test]
async fn enabling_checks_the_scopes_the_platform_reports_now() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, fake) = app.integration(&t.id, Platform::Feishu, &["chat:write"]).await;
    // Granted in the platform's console since the install.
    fake.set_granted_scopes(App::all_scopes().iter().map(|s| s.to_string()).collect());
    let r = app.call(Method::POST, &format!("/api/v1/integrations/{}/war-room", i.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["war_room_enabled"], true);
    assert_eq!(r.body["missing_permissions"], serde_json::json!([]));
    let stored = app.store.get_integration(&i.id).await.unwrap().unwrap();
    assert_eq!(stored.granted_scopes.len(), 3, "the refreshed grant is stored");
}

#[tokio::test]
async fn a_second_integration_is_refused_war_room_naming_the_first() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (first, _) = app.integration(&t.id, Platform::Feishu, &App::all_scopes()).await;
    let (second, _) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    let r = app.call(Method::POST, &format!("/api/v1/integrations/{}/war-room", first.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let again = app.call(Method::POST, &format!("/api/v1/integrations/{}/war-room", first.id), Some(&t.key), None).await;
    assert_eq!(again.status, StatusCode::OK, "enabling is idempotent for the holder");

    let r = app.call(Method::POST, &format!("/api/v1/integrations/{}/war-room", second.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "war_room_taken");
    assert_eq!(r.body["error"]["integration_id"], first.id.as_str());
    assert!(r.message().contains(first.id.as_str()) && r.message().contains("feishu"), "{}", r.message());

    let r = app.call(Method::DELETE, &format!("/api/v1/integrations/{}/war-room", first.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["war_room_enabled"], false);
    let r = app.call(Method::POST, &format!("/api/v1/integrations/{}/war-room", second.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn deleting_an_integration_releases_its_war_room() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, _) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    app.call(Method::POST, &format!("/api/v1/integrations/{}/war-room", i.id), Some(&t.key), None).await;
    let r = app.call(Method::DELETE, &format!("/api/v1/integrations/{}", i.id), Some(&t.key), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.store.war_room_integration(&t.id).await.unwrap(), None);
    let r = app.get(&format!("/api/v1/integrations/{}", i.id), &t.key).await;
    assert_eq!(r.code(), "not_found");
}

#[tokio::test]
async fn the_chats_the_bot_is_in_are_listed() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, fake) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    let request = CreateChat { name: "inc-db".into(), topic: "".into(), private: true, idempotency_key: "k1".into() };
    let created = fake.create_chat(&request).await.unwrap();
    let r = app.get(&format!("/api/v1/integrations/{}/chats", i.id), &t.key).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["chats"][0]["chat_id"], created.chat_id.as_str());
    assert_eq!(r.body["chats"][0]["name"], "inc-db");
}

#[tokio::test]
async fn a_platform_rate_limit_on_chats_is_503_with_retry_after_and_other_failures_502() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, fake) = app.integration(&t.id, Platform::Slack, &App::all_scopes()).await;
    fake.fail_next(FakeOp::ListChats, ImError::RateLimited { retry_after: Duration::from_millis(2500) });
    let r = app.get(&format!("/api/v1/integrations/{}/chats", i.id), &t.key).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(r.headers[header::RETRY_AFTER], "3");

    fake.fail_next(FakeOp::ListChats, ImError::Rejected { code: "not_allowed_token_type".into(), message: "bad token type".into() });
    let r = app.get(&format!("/api/v1/integrations/{}/chats", i.id), &t.key).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert_eq!(r.code(), "platform_error");
    assert!(r.message().contains("not_allowed_token_type"), "{}", r.message());

    // DingTalk and WeCom have no API to list a bot's chats: said plainly, not a 502.
    fake.fail_next(FakeOp::ListChats, ImError::Rejected { code: "unsupported".into(), message: "WeCom has no API to list the groups an app is in".into() });
    let r = app.get(&format!("/api/v1/integrations/{}/chats", i.id), &t.key).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "not_supported"), "{}", r.text);
    assert!(r.message().contains("no API to list"), "{}", r.message());
}

#[tokio::test]
async fn the_detail_shows_when_the_integration_last_worked_and_its_last_failure() {
    use warroom_platforms::health::HealthLog;
    let app = App::new();
    let t = app.tenant("acme").await;
    let (i, _) = app.integration(&t.id, Platform::Feishu, &App::all_scopes()).await;
    let r = app.get(&format!("/api/v1/integrations/{}", i.id), &t.key).await;
    assert_eq!(r.body["health"], serde_json::json!({"token": "unknown", "last_ok_at": null, "last_error_at": null, "last_error": null}));

    let log = HealthLog::new(app.store.clone(), app.clock.clone());
    log.record(&i.id, Ok(())).await;
    let r = app.get("/api/v1/integrations", &t.key).await;
    let health = &r.body["integrations"][0]["health"];
    assert_eq!(health["token"], "valid", "{health}");
    assert_eq!(health["last_ok_at"], app.state.engine.clock.now().to_rfc3339());

    // Later, the platform refuses the credentials: revoked, with the platform's words.
    app.clock.advance(Duration::from_secs(61));
    log.record(&i.id, Err(&ImError::Unauthorized("app_access_token invalid".into()))).await;
    let r = app.get(&format!("/api/v1/integrations/{}", i.id), &t.key).await;
    assert_eq!(r.body["health"]["token"], "revoked", "{}", r.text);
    assert_eq!(r.body["health"]["last_error"]["code"], "unauthorized");
    assert!(r.body["health"]["last_error"]["message"].as_str().unwrap().contains("app_access_token invalid"), "{}", r.text);
}
