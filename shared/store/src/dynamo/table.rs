//! Creating the table for tests and local setups (production tables come from
//! template.yaml, which must say the same).

use super::errors::{build_error, sdk_error};
use crate::keys::{EXPIRES_AT, GSI1, GSI1PK, GSI1SK, PK, SK};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;
use std::time::Duration;
use warroom_core::{StoreError, StoreResult};

/// How long a new table may take to become ACTIVE before we give up.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

pub(super) async fn create(client: &Client, table: &str) -> StoreResult<()> {
    let attributes = [PK, SK, GSI1PK, GSI1SK]
        .into_iter()
        .map(|name| AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(build_error)?;
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(GSI1)
        .set_key_schema(Some(key_schema(GSI1PK, GSI1SK)?))
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(build_error)?;
    let created = client
        .create_table()
        .table_name(table)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(PK, SK)?))
        .global_secondary_indexes(gsi)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Already there (a second test process, a rerun of local setup): use it.
        Err(e) if e.code() == Some("ResourceInUseException") => {}
        Err(e) => return Err(sdk_error("CreateTable", e)),
    }
    wait_until_active(client, table).await?;
    enable_ttl(client, table).await
}

fn key_schema(hash: &str, range: &str) -> StoreResult<Vec<KeySchemaElement>> {
    [(hash, KeyType::Hash), (range, KeyType::Range)]
        .into_iter()
        .map(|(name, kind)| KeySchemaElement::builder().attribute_name(name).key_type(kind).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(build_error)
}

async fn wait_until_active(client: &Client, table: &str) -> StoreResult<()> {
    let started = std::time::Instant::now();
    loop {
        let out = client.describe_table().table_name(table).send().await.map_err(|e| sdk_error("DescribeTable", e))?;
        let table_status = out.table().and_then(|t| t.table_status());
        let indexes_ready =
            out.table().map(|t| t.global_secondary_indexes().iter().all(|i| i.index_status().is_none_or(|s| s.as_str() == "ACTIVE"))).unwrap_or(false);
        if table_status == Some(&TableStatus::Active) && indexes_ready {
            return Ok(());
        }
        if started.elapsed() > ACTIVE_TIMEOUT {
            return Err(StoreError::Unavailable { message: format!("dynamodb table {table} not ACTIVE after {}s", ACTIVE_TIMEOUT.as_secs()), retryable: true });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Turns TTL on unless it already is (DynamoDB refuses to enable it twice).
async fn enable_ttl(client: &Client, table: &str) -> StoreResult<()> {
    let current = client.describe_time_to_live().table_name(table).send().await.map_err(|e| sdk_error("DescribeTimeToLive", e))?;
    let status = current.time_to_live_description().and_then(|d| d.time_to_live_status());
    if matches!(status, Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)) {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder().enabled(true).attribute_name(EXPIRES_AT).build().map_err(build_error)?;
    client.update_time_to_live().table_name(table).time_to_live_specification(spec).send().await.map_err(|e| sdk_error("UpdateTimeToLive", e))?;
    Ok(())
}
