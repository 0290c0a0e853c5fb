//! `warroom-admin reseal`: after a rotation (current key B, previous key A), every sealed
//! value in the store ends up under B, so B alone opens everything; a second run writes
//! nothing; values no key opens are reported by place and left alone. Runs against the
//! embedded store, and against DynamoDB on moto (ignored unless the emulator runs).

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use warroom_core::{Integration, ManualClock, Platform, SealedCredentials, Store, Tenant, TenantId, TenantSettings};
use warroom_platforms::{Platforms, PlatformsConfig};
use warroom_secrets::{SecretBox, SecretError};
use warroom_sources::{secret_context, SyncSettings};
use warroom_store::dynamo::DynamoStore;
use warroom_store::embedded::EmbeddedStore;
use warroom_testkit::fixtures;

/// The key tests/common seals with (the "old" key A of these tests).
const KEY_A: [u8; 32] = [7; 32];
const KEY_B: [u8; 32] = [0xB; 32];

fn old_only() -> SecretBox {
    SecretBox::from_key(&KEY_A)
}
fn new_only() -> SecretBox {
    SecretBox::from_key(&KEY_B)
}
fn rotating() -> SecretBox {
    SecretBox::from_key(&KEY_B).with_previous_key(&KEY_A)
}

fn platforms(secrets: SecretBox, store: Arc<dyn Store>) -> Platforms {
    Platforms::new(PlatformsConfig::production("https://warroom.example.com"), secrets, store, Arc::new(ManualClock::at(fixtures::T0))).unwrap()
}

/// Two tenants, sealed under A the way the deployment seals: credentials through
/// `Platforms::seal`, settings secrets under `secret_context` (as the settings API does).
async fn seed_under_key_a(store: Arc<dyn Store>) -> (Vec<TenantId>, Vec<Integration>) {
    let sealer = platforms(old_only(), store.clone());
    let (mut tenants, mut integrations) = (Vec::new(), Vec::new());
    for (n, platform) in [(1, Platform::Slack), (2, Platform::Feishu)] {
        let id = TenantId::generate();
        let context = secret_context(&id);
        let sources = json!({
            "generic": {"callback_url": "https://ops.example.com/cb", "signing_secret": old_only().seal(&format!("signing-{n}"), &context).0},
            "pagerduty": {"api_token": old_only().seal(&format!("pd-token-{n}"), &context).0, "from_email": "oncall@example.com",
                          "webhook_secret": old_only().seal(&format!("pd-webhook-{n}"), &context).0},
            "alertmanager": {"api_url": "http://alertmanager:9093", "created_by": "warroom"},
        });
        let settings = TenantSettings { sources: Some(sources), ..TenantSettings::default() };
        store.put_tenant(&Tenant { id: id.clone(), name: format!("t{n}"), settings, created_at: fixtures::T0, version: 0 }).await.unwrap();
        let mut integration = fixtures::integration(&id, platform);
        integration.credentials = sealer.seal(&integration.id, &json!({"bot_token": format!("xoxb-{n}"), "signing_secret": format!("sig-{n}")}));
        store.create_integration(&integration).await.unwrap();
        tenants.push(id);
        integrations.push(integration);
    }
    (tenants, integrations)
}

/// Every sealed value opens with B alone, to what was sealed, and the rest is untouched.
async fn assert_all_open_with_b_alone(store: Arc<dyn Store>, tenants: &[TenantId], integrations: &[Integration]) {
    let reader = platforms(new_only(), store.clone());
    for (n, integration) in integrations.iter().enumerate() {
        let stored = store.get_integration(&integration.id).await.unwrap().unwrap();
        let opened: Value = reader.open(&stored).unwrap();
        assert_eq!(opened["bot_token"], format!("xoxb-{}", n + 1));
        assert_eq!(stored.granted_scopes, integration.granted_scopes);
    }
    for (n, id) in tenants.iter().enumerate() {
        let tenant = store.get_tenant(id).await.unwrap().unwrap();
        let sources = tenant.settings.sources.unwrap();
        let sync = SyncSettings::from_sources(&sources).unwrap();
        let open = |sealed: &SealedCredentials| new_only().open(sealed, &secret_context(id)).unwrap().expose().to_owned();
        assert_eq!(open(&sync.generic.unwrap().signing_secret), format!("signing-{}", n + 1));
        assert_eq!(open(&sync.pagerduty.unwrap().api_token), format!("pd-token-{}", n + 1));
        let webhook = SealedCredentials(sources["pagerduty"]["webhook_secret"].as_str().unwrap().to_owned());
        assert_eq!(open(&webhook), format!("pd-webhook-{}", n + 1));
        assert_eq!(sources["generic"]["callback_url"], "https://ops.example.com/cb");
        assert_eq!(sources["alertmanager"], json!({"api_url": "http://alertmanager:9093", "created_by": "warroom"}));
    }
}

async fn reseal_moves_everything_to_b_and_a_second_run_writes_nothing(store: Arc<dyn Store>) {
    let (tenants, integrations) = seed_under_key_a(store.clone()).await;
    // Before: B alone opens nothing.
    let before = store.get_integration(&integrations[0].id).await.unwrap().unwrap();
    assert!(platforms(new_only(), store.clone()).open::<Value>(&before).is_err());

    let report = api::cli::reseal(store.as_ref(), &rotating()).await.unwrap();
    assert_eq!(report.tenants, 2);
    assert_eq!((report.credentials.resealed, report.credentials.current), (2, 0));
    assert_eq!((report.settings.resealed, report.settings.current), (6, 0));
    assert!(report.all_current(), "{report:?}");
    assert_all_open_with_b_alone(store.clone(), &tenants, &integrations).await;

    let versions = |store: Arc<dyn Store>| {
        let (tenants, integrations) = (tenants.clone(), integrations.clone());
        async move {
            let mut v = Vec::new();
            for id in &tenants {
                v.push(store.get_tenant(id).await.unwrap().unwrap().version);
            }
            for i in &integrations {
                v.push(store.get_integration(&i.id).await.unwrap().unwrap().version);
            }
            v
        }
    };
    let after_first = versions(store.clone()).await;
    let again = api::cli::reseal(store.as_ref(), &rotating()).await.unwrap();
    assert_eq!((again.credentials.resealed, again.credentials.current), (0, 2));
    assert_eq!((again.settings.resealed, again.settings.current), (0, 6));
    assert_eq!(versions(store.clone()).await, after_first, "a second run must write nothing");
    // With the previous key gone, it is a check that passes.
    assert!(api::cli::reseal(store.as_ref(), &new_only()).await.unwrap().all_current());
    assert_all_open_with_b_alone(store, &tenants, &integrations).await;
}

#[tokio::test]
async fn reseal_on_the_embedded_store_moves_every_value_to_the_new_key_once() {
    reseal_moves_everything_to_b_and_a_second_run_writes_nothing(Arc::new(EmbeddedStore::open_temporary().unwrap())).await;
}

#[tokio::test]
#[ignore = "needs the DynamoDB/SQS emulator (moto)"]
async fn reseal_on_dynamodb_moves_every_value_to_the_new_key_once() {
    let client = warroom_testkit::aws::dynamodb_client();
    let table = warroom_testkit::aws::unique_name("reseal");
    DynamoStore::create_table(&client, &table).await.unwrap();
    reseal_moves_everything_to_b_and_a_second_run_writes_nothing(Arc::new(DynamoStore::new(client, table))).await;
}

#[tokio::test]
async fn settings_saved_through_the_api_are_found_and_resealed() {
    let (app, _) = common::App::with_platforms(PlatformsConfig::production(common::PUBLIC_URL));
    assert_eq!(old_only().open(&app.secrets.seal("x", "c"), "c").unwrap().expose(), "x", "tests/common must seal with KEY_A");
    let t = app.tenant("acme").await;
    let body = json!({"sources": {"generic": {"callback_url": "https://ops.example.com/cb", "signing_secret": "generic-signing-0001"},
                                  "pagerduty": {"api_token": "pd-token-0002", "from_email": "oncall@example.com", "webhook_secret": "pd-webhook-0003"}}});
    let r = app.call(Method::PUT, "/api/v1/settings", Some(&t.key), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let report = api::cli::reseal(app.store.as_ref(), &rotating()).await.unwrap();
    assert_eq!(report.settings.resealed, 3, "{report:?}");
    let sources = app.store.get_tenant(&t.id).await.unwrap().unwrap().settings.sources.unwrap();
    let webhook = SealedCredentials(sources["pagerduty"]["webhook_secret"].as_str().unwrap().to_owned());
    assert_eq!(new_only().open(&webhook, &secret_context(&t.id)).unwrap().expose(), "pd-webhook-0003");
}

#[tokio::test]
async fn values_no_key_opens_are_reported_by_place_without_their_content_and_left_alone() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_temporary().unwrap());
    let (_, integrations) = seed_under_key_a(store.clone()).await;
    let mut lost = store.get_integration(&integrations[1].id).await.unwrap().unwrap();
    lost.credentials = platforms(SecretBox::from_key(&[0xC; 32]), store.clone()).seal(&lost.id, &json!({"bot_token": "xoxb-lost"}));
    store.update_integration(&lost).await.unwrap();
    let stored_before = store.get_integration(&lost.id).await.unwrap().unwrap();

    let report = api::cli::reseal(store.as_ref(), &rotating()).await.unwrap();
    assert!(!report.all_current());
    assert_eq!(report.credentials.resealed, 1);
    assert_eq!(report.credentials.unopenable.len(), 1);
    let place = &report.credentials.unopenable[0];
    assert!(place.contains(lost.id.as_str()) && !place.contains("xoxb"), "{place}");
    assert_eq!(store.get_integration(&lost.id).await.unwrap().unwrap(), stored_before);
    let sealed = stored_before.credentials;
    assert_eq!(rotating().open(&sealed, &format!("integration:{}", lost.id)), Err(SecretError::Unopenable));
}

#[test]
fn reseal_parses_and_takes_no_arguments() {
    let args = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    assert_eq!(api::cli::parse(&args(&["reseal"])), Ok(api::cli::Command::Reseal));
    assert!(api::cli::parse(&args(&["reseal", "--force", "x"])).unwrap_err().contains("does not take --force"));
    assert!(api::cli::parse(&args(&["reseal", "now"])).unwrap_err().contains("unexpected argument"));
}
