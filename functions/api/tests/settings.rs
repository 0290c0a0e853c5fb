//! Tenant settings: validated, secrets sealed at rest and never shown again.

mod common;

use axum::http::{Method, StatusCode};
use common::App;
use serde_json::json;
use warroom_core::{SealedCredentials, Store};

const SIGNING: &str = "generic-signing-secret-0001";
const TOKEN: &str = "pagerduty-api-token-0002";
const WEBHOOK: &str = "pagerduty-webhook-secret-0003";

fn full() -> serde_json::Value {
    json!({
        "auto_create_min_severity": "critical",
        "private_chats": false,
        "auto_dismiss_after_minutes": 30,
        "sources": {
            "generic": {"callback_url": "https://ops.example.com/warroom", "signing_secret": SIGNING},
            "alertmanager": {"api_url": "http://alertmanager:9093"},
            "pagerduty": {"api_token": TOKEN, "from_email": "oncall@example.com", "webhook_secret": WEBHOOK},
        }
    })
}

#[tokio::test]
async fn settings_secrets_are_sealed_in_the_store_and_never_returned() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let r = app.call(Method::PUT, "/api/v1/settings", Some(&t.key), Some(full())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = app.get("/api/v1/settings", &t.key).await;
    for reply in [&r, &got] {
        for secret in [SIGNING, TOKEN, WEBHOOK] {
            assert!(!reply.text.contains(secret), "secret returned: {}", reply.text);
        }
        assert_eq!(reply.body["sources"]["generic"]["signing_secret"], "set");
        assert_eq!(reply.body["sources"]["pagerduty"]["api_token"], "set");
        assert_eq!(reply.body["sources"]["pagerduty"]["webhook_secret"], "set");
        assert_eq!(reply.body["sources"]["generic"]["callback_url"], "https://ops.example.com/warroom");
        assert_eq!(reply.body["auto_create_min_severity"], "critical");
        assert_eq!(reply.body["auto_dismiss_after_minutes"], 30);
    }

    let stored = app.store.get_tenant(&t.id).await.unwrap().unwrap();
    let raw = serde_json::to_string(&stored).unwrap();
    for secret in [SIGNING, TOKEN, WEBHOOK] {
        assert!(!raw.contains(secret), "plaintext at rest: {raw}");
    }
    // Sealed under the context the sources and the intake open them with.
    let sources = stored.settings.sources.unwrap();
    let context = format!("tenant:{}:sync", t.id);
    for (pointer, plain) in [("/generic/signing_secret", SIGNING), ("/pagerduty/api_token", TOKEN), ("/pagerduty/webhook_secret", WEBHOOK)] {
        let sealed = SealedCredentials(sources.pointer(pointer).unwrap().as_str().unwrap().to_owned());
        assert_eq!(app.secrets.open(&sealed, &context).unwrap().expose(), plain);
    }
    // What warroom-sources reads parses.
    let parsed = warroom_sources::SyncSettings::from_sources(&sources).unwrap();
    assert_eq!(parsed.pagerduty.unwrap().from_email, "oncall@example.com");
}

#[tokio::test]
async fn a_partial_update_keeps_the_rest_and_set_keeps_a_stored_secret() {
    let app = App::new();
    let t = app.tenant("acme").await;
    app.call(Method::PUT, "/api/v1/settings", Some(&t.key), Some(full())).await;
    let before = app.store.get_tenant(&t.id).await.unwrap().unwrap().settings.sources.unwrap();
    // A client that sends back what it read.
    let echoed = app.get("/api/v1/settings", &t.key).await.body;
    let r = app.call(Method::PUT, "/api/v1/settings", Some(&t.key), Some(echoed)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.call(Method::PUT, "/api/v1/settings", Some(&t.key), Some(json!({"private_chats": true, "sources": {"alertmanager": null}}))).await;
    assert_eq!(r.body["private_chats"], true);
    assert_eq!(r.body["auto_dismiss_after_minutes"], 30);
    assert!(r.body["sources"].get("alertmanager").is_none());
    let after = app.store.get_tenant(&t.id).await.unwrap().unwrap().settings.sources.unwrap();
    assert_eq!(after["pagerduty"]["api_token"], before["pagerduty"]["api_token"], "the sealed token was kept as is");
}

#[tokio::test]
async fn invalid_settings_are_refused_naming_the_field() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for (patch, field) in [
        (json!({"sources": {"generic": {"callback_url": "ftp://ops.example.com", "signing_secret": SIGNING}}}), "sources.generic.callback_url"),
        (json!({"sources": {"alertmanager": {"api_url": "alertmanager:9093"}}}), "sources.alertmanager.api_url"),
        (json!({"sources": {"pagerduty": {"api_token": TOKEN, "from_email": "nobody"}}}), "sources.pagerduty.from_email"),
        (json!({"sources": {"generic": {"callback_url": "https://x.example.com", "signing_secret": "short"}}}), "sources.generic.signing_secret"),
        (json!({"auto_create_min_severity": "sev1"}), "auto_create_min_severity"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let r = app.call(Method::PUT, "/api/v1/settings", Some(&t.key), Some(patch)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}");
        assert!(r.message().starts_with(field), "{field}: {}", r.message());
    }
    assert_eq!(app.store.get_tenant(&t.id).await.unwrap().unwrap().settings, Default::default());
}
