//! Smoke tests of the adapter's own mechanics (the table, the item layout, error
//! mapping). The behaviour every adapter shares is checked by the conformance suite in
//! the workspace `tests/`. Emulator tests read `WARROOM_DYNAMODB_ENDPOINT`; each makes
//! its own table.

use super::codec::{key_item, n, s, Item};
use super::DynamoStore;
use crate::keys;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::TimeToLiveStatus;
use aws_sdk_dynamodb::Client;
use std::time::Duration;
use warroom_core::*;

const NEEDS_EMULATOR: &str = "needs the DynamoDB emulator: run infra/test.sh";

fn client(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

fn emulator() -> Client {
    let endpoint = std::env::var("WARROOM_DYNAMODB_ENDPOINT").unwrap_or_else(|_| panic!("WARROOM_DYNAMODB_ENDPOINT is not set: {NEEDS_EMULATOR}"));
    client(&endpoint)
}

async fn fresh() -> (Client, DynamoStore) {
    let client = emulator();
    let table = format!("warroom-smoke-{}", random_suffix());
    DynamoStore::create_table(&client, &table).await.expect("create table");
    (client.clone(), DynamoStore::new(client, table))
}

async fn raw(client: &Client, table: &str, key: &keys::Key) -> Item {
    let out = client.get_item().table_name(table).set_key(Some(key_item(key))).send().await.unwrap();
    out.item.expect("item present")
}

fn integration(tenant: &TenantId, platform: Platform) -> Integration {
    Integration {
        tenant_id: tenant.clone(),
        id: IntegrationId::generate(),
        platform,
        name: "ws".into(),
        external_id: Some(random_suffix()),
        credentials: SealedCredentials("c2VhbGVk".into()),
        granted_scopes: vec![],
        war_room_enabled: false,
        status: IntegrationStatus::Active,
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        version: 0,
    }
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator: run infra/test.sh"]
async fn create_table_is_idempotent_and_turns_on_ttl() {
    let (client, store) = fresh().await;
    DynamoStore::create_table(&client, store.table()).await.expect("a second create accepts the table");
    let ttl = client.describe_time_to_live().table_name(store.table()).send().await.unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(keys::EXPIRES_AT));
    assert!(matches!(ttl.time_to_live_status(), Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)));
    let described = client.describe_table().table_name(store.table()).send().await.unwrap();
    let indexes = described.table().unwrap().global_secondary_indexes();
    assert_eq!(indexes.iter().map(|i| i.index_name().unwrap_or_default()).collect::<Vec<_>>(), [keys::GSI1]);
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator: run infra/test.sh"]
async fn a_tenant_round_trips_with_the_table_attributes_on_top() {
    let (client, store) = fresh().await;
    let tenant = Tenant { id: TenantId::generate(), name: "Acme".into(), settings: TenantSettings::default(), created_at: Timestamp(7), version: 0 };
    store.put_tenant(&tenant).await.unwrap();
    assert_eq!(store.get_tenant(&tenant.id).await.unwrap(), Some(tenant.clone()));
    let item = raw(&client, store.table(), &keys::tenant(&tenant.id)).await;
    assert_eq!(item["PK"], s(format!("T#{}", tenant.id)));
    assert_eq!(item["SK"], s("TENANT"));
    assert_eq!(item["kind"], s("tenant"));
    assert_eq!(item["name"], s("Acme"), "entity fields are plain attributes");
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator: run infra/test.sh"]
async fn the_war_room_guard_admits_one_integration_and_names_it() {
    let (client, store) = fresh().await;
    let t = TenantId::generate();
    let (a, b) = (integration(&t, Platform::Slack), integration(&t, Platform::Feishu));
    store.create_integration(&a).await.unwrap();
    store.create_integration(&b).await.unwrap();
    store.enable_war_room(&t, &a.id).await.unwrap();
    assert!(matches!(store.enable_war_room(&t, &b.id).await, Err(StoreError::WarRoomTaken { integration_id }) if integration_id == a.id));
    let guard = raw(&client, store.table(), &keys::war_room_guard(&t)).await;
    assert_eq!(guard["integration_id"], s(a.id.as_str()));
    store.disable_war_room(&t, &a.id).await.unwrap();
    store.enable_war_room(&t, &b.id).await.unwrap();
    assert_eq!(store.war_room_integration(&t).await.unwrap(), Some(b.id.clone()));
    assert!(matches!(store.enable_war_room(&t, &IntegrationId::generate()).await, Err(StoreError::NotFound { .. })));
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator: run infra/test.sh"]
async fn an_item_that_does_not_decode_is_corrupt() {
    let (client, store) = fresh().await;
    let t = TenantId::generate();
    let mut item = key_item(&keys::tenant(&t));
    item.insert("name".into(), n(42));
    client.put_item().table_name(store.table()).set_item(Some(item)).send().await.unwrap();
    assert!(matches!(store.get_tenant(&t).await, Err(StoreError::Corrupt(_))));
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator: run infra/test.sh"]
async fn expiring_items_carry_ttl_seconds_rounded_up_and_exact_millis() {
    let (client, store) = fresh().await;
    store.put_ephemeral("k", "v", Duration::from_millis(1500), Timestamp(1000)).await.unwrap();
    let item = raw(&client, store.table(), &keys::ephemeral("k")).await;
    assert_eq!(item[keys::EXPIRES_AT], n(3), "2.5 s rounds up: TTL never deletes early");
    assert_eq!(item["expires_at_ms"], n(2500));
    assert_eq!(store.get_ephemeral("k", Timestamp(2499)).await.unwrap().as_deref(), Some("v"));
    assert_eq!(store.get_ephemeral("k", Timestamp(2500)).await.unwrap(), None, "expired to the millisecond");
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator: run infra/test.sh"]
async fn a_malformed_incident_cursor_is_invalid() {
    let (_, store) = fresh().await;
    let result = store.list_incidents(&TenantId::generate(), Some("not-a-cursor"), 10).await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
}

#[tokio::test]
#[ignore = "needs the DynamoDB emulator: run infra/test.sh"]
async fn a_missing_table_is_unavailable_and_not_retryable() {
    let store = DynamoStore::new(emulator(), format!("no-such-table-{}", random_suffix()));
    match store.get_tenant(&TenantId::generate()).await {
        Err(e @ StoreError::Unavailable { .. }) => assert!(!e.is_retryable(), "{e:?}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// Needs nothing listening: port 1 on loopback refuses at once.
#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable_and_retryable_without_credentials_in_the_message() {
    let store = DynamoStore::new(client("http://127.0.0.1:1"), "t");
    match store.get_tenant(&TenantId::from("acme")).await {
        Err(e @ StoreError::Unavailable { .. }) => {
            assert!(e.is_retryable(), "{e:?}");
            assert!(!e.to_string().contains("test"), "no credential in {e}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
