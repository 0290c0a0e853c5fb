//! A proxy from the environment is not used for status sync: it would resolve the tenant's
//! name itself, out of the outbound policy's sight. Its own test binary, because it sets
//! process-wide environment variables.

use axum::http::Uri;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use warroom_core::*;
use warroom_secrets::SecretBox;
use warroom_sources::{secret_context, FixedSettings, GenericSettings, OutboundPolicy, PolicyResolver, SourceRouter, SyncSettings};

#[tokio::test]
async fn a_proxy_set_in_the_environment_cannot_carry_a_push_past_the_policy() {
    // A "proxy" that accepts whatever it is sent.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        record.lock().unwrap().push(uri.to_string());
        async { "{}" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"] {
        // The only test of this binary, and before any client reads the environment.
        std::env::set_var(var, &proxy);
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");

    let secrets = SecretBox::from_key(&[7u8; 32]);
    let tenant = Tenant { id: TenantId::generate(), name: "Acme".into(), settings: TenantSettings::default(), created_at: Timestamp(0), version: 0 };
    let generic = GenericSettings {
        callback_url: "http://status.example.com/warroom/status".into(),
        signing_secret: secrets.seal("whsec_x", &secret_context(&tenant.id)),
    };
    let settings = SyncSettings { generic: Some(generic), ..Default::default() };
    // The name leads to loopback, which the default policy refuses.
    let resolver = PolicyResolver::new(OutboundPolicy::public_only()).with_lookup(|_| vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
    let router = SourceRouter::with_resolver(Arc::new(FixedSettings(settings)), secrets, resolver).unwrap();
    let incident: Incident = serde_json::from_value(serde_json::json!({
        "tenant_id": tenant.id.as_str(), "id": "inc_1", "source": {"source": "generic", "external_id": "E-1"},
        "title": "t", "description": "", "severity": "critical", "status": "acknowledged",
        "snoozed_until": null, "responders": [], "labels": {}, "url": null,
        "created_at": 0, "updated_at": 0, "source_updated_at": 0, "version": 1
    }))
    .unwrap();
    let e = router.push(&tenant, &incident, None).await.unwrap_err();
    assert!(!e.retryable && e.message.contains("127.0.0.1 is a loopback address"), "{e:?}");
    assert!(seen.lock().unwrap().is_empty(), "nothing went through the proxy: {:?}", seen.lock().unwrap());
}
