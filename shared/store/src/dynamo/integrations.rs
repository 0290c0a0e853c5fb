//! Integrations, their global pointers and the tenant's war-room guard.
//!
//! The guard (`T#{t}` / `WARROOM`) names the one integration whose `war_room_enabled`
//! flag is set; guard and flag only ever change together, in one transaction.

use super::codec::{entity_item, key_from_item, n, s, Expr};
use super::ops::{backoff, Tx};
use super::DynamoStore;
use crate::keys::{self, Key};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use warroom_core::{Integration, IntegrationId, Platform, StoreError, StoreResult, TenantId};

/// Rounds of read-decide-commit before reporting contention as a retryable failure.
const ATTEMPTS: u32 = 8;

const FLAG: &str = "war_room_enabled";
const ID_ATTR: &str = "integration_id";

/// A global pointer (by id, by external id) and the war-room guard: tenant and target.
#[derive(Serialize, Deserialize)]
struct Pointer {
    tenant_id: TenantId,
    integration_id: IntegrationId,
}

impl Pointer {
    fn to(integration: &Integration) -> Self {
        Self { tenant_id: integration.tenant_id.clone(), integration_id: integration.id.clone() }
    }
}

fn external_key(integration: &Integration) -> Option<Key> {
    integration.external_id.as_deref().map(|ext| keys::external_pointer(integration.platform, ext))
}

/// "Absent, or already pointing at this integration".
fn absent_or_mine(id: &IntegrationId) -> Expr {
    Expr::when("attribute_not_exists(#pk) OR #iid = :me").name("#pk", keys::PK).name("#iid", ID_ATTR).value(":me", s(id.as_str()))
}

fn is_mine(id: &IntegrationId) -> Expr {
    Expr::when("#iid = :me").name("#iid", ID_ATTR).value(":me", s(id.as_str()))
}

pub(super) async fn create(store: &DynamoStore, integration: &Integration) -> StoreResult<()> {
    if integration.war_room_enabled {
        return Err(StoreError::Invalid("create integrations with war_room_enabled = false, then enable_war_room".into()));
    }
    let pointer = Pointer::to(integration);
    let mut actions = vec![
        store.tx_put(entity_item(integration, &keys::integration(&integration.tenant_id, &integration.id), "integration")?, Some(Expr::absent()))?,
        store.tx_put(entity_item(&pointer, &keys::integration_pointer(&integration.id), "integration_pointer")?, Some(Expr::absent()))?,
    ];
    if let Some(key) = external_key(integration) {
        actions.push(store.tx_put(entity_item(&pointer, &key, "external_pointer")?, Some(Expr::absent()))?);
    }
    match store.transact(actions).await? {
        Tx::Committed => Ok(()),
        Tx::ConditionFailed(codes) if Tx::failed_at(&codes, 2) => {
            Err(StoreError::AlreadyExists { what: format!("{} installation {}", integration.platform, integration.external_id.as_deref().unwrap_or_default()) })
        }
        Tx::ConditionFailed(_) => Err(StoreError::AlreadyExists { what: format!("integration {}", integration.id) }),
    }
}

/// Replaces the integration but keeps the stored war-room flag, and moves the
/// external-id pointer if the installation id changed (e.g. set by a later OAuth).
pub(super) async fn update(store: &DynamoStore, integration: &Integration) -> StoreResult<()> {
    let key = keys::integration(&integration.tenant_id, &integration.id);
    for attempt in 1..=ATTEMPTS {
        let Some(stored) = store.get::<Integration>(&key, "integration").await? else {
            return Err(StoreError::not_found(format!("integration {}", integration.id)));
        };
        if stored.version != integration.version {
            return Err(StoreError::VersionConflict { expected: integration.version });
        }
        let next = Integration { war_room_enabled: stored.war_room_enabled, version: stored.version.saturating_add(1), ..integration.clone() };
        // Only if the flag is still what we copied (enable/disable may run concurrently) and
        // no other update came in between (a record from before versions has none: 0).
        let same_version = if stored.version == 0 { "(attribute_not_exists(#v) OR #v = :v)" } else { "#v = :v" };
        let unchanged = Expr::when(format!("attribute_exists(#pk) AND #flag = :flag AND {same_version}"))
            .name("#pk", keys::PK)
            .name("#flag", FLAG)
            .name("#v", "version")
            .value(":flag", AttributeValue::Bool(stored.war_room_enabled))
            .value(":v", n(stored.version as i64));
        let mut actions = vec![store.tx_put(entity_item(&next, &key, "integration")?, Some(unchanged))?];
        let (old_ext, new_ext) = (external_key(&stored), external_key(&next));
        let mut new_pointer_at = None;
        if old_ext != new_ext {
            if let Some(old) = &old_ext {
                actions.push(store.tx_delete(old, Some(absent_or_mine(&next.id)))?);
            }
            if let Some(new) = &new_ext {
                new_pointer_at = Some(actions.len());
                actions.push(store.tx_put(entity_item(&Pointer::to(&next), new, "external_pointer")?, Some(absent_or_mine(&next.id)))?);
            }
        }
        match store.transact(actions).await? {
            Tx::Committed => return Ok(()),
            Tx::ConditionFailed(codes) if new_pointer_at.is_some_and(|at| Tx::failed_at(&codes, at)) => {
                return Err(StoreError::AlreadyExists { what: format!("{} installation {}", next.platform, next.external_id.as_deref().unwrap_or_default()) });
            }
            Tx::ConditionFailed(_) => tokio::time::sleep(backoff(attempt)).await,
        }
    }
    Err(contended("update_integration"))
}

pub(super) async fn get(store: &DynamoStore, id: &IntegrationId) -> StoreResult<Option<Integration>> {
    follow(store, &keys::integration_pointer(id)).await
}

pub(super) async fn find_by_external(store: &DynamoStore, platform: Platform, external_id: &str) -> StoreResult<Option<Integration>> {
    follow(store, &keys::external_pointer(platform, external_id)).await
}

/// Reads a pointer, then the integration it names.
async fn follow(store: &DynamoStore, pointer: &Key) -> StoreResult<Option<Integration>> {
    let Some(p) = store.get::<Pointer>(pointer, "integration pointer").await? else {
        return Ok(None);
    };
    store.get(&keys::integration(&p.tenant_id, &p.integration_id), "integration").await
}

pub(super) async fn list(store: &DynamoStore, tenant: &TenantId) -> StoreResult<Vec<Integration>> {
    store.query_all_as(keys::tenant_pk(tenant), keys::INTEGRATION_PREFIX, "integration").await
}

/// Links first (the integration can still be found to retry on), then the integration,
/// its pointers and, if it holds it, the guard in one transaction.
pub(super) async fn delete(store: &DynamoStore, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
    let link_items = store.query_all(keys::links_pk(tenant, id), "LINK#").await?;
    store.delete_all(link_items.iter().filter_map(key_from_item).collect()).await?;
    let key = keys::integration(tenant, id);
    for attempt in 1..=ATTEMPTS {
        let Some(stored) = store.get::<Integration>(&key, "integration").await? else {
            return Ok(());
        };
        let holder = war_room_holder(store, tenant).await?;
        // If enable_war_room commits after our read, the flag moves and we go round again.
        let flag_as_read = Expr::when("#flag = :flag").name("#flag", FLAG).value(":flag", AttributeValue::Bool(stored.war_room_enabled));
        let mut actions = vec![store.tx_delete(&key, Some(flag_as_read))?, store.tx_delete(&keys::integration_pointer(id), None)?];
        if let Some(ext) = external_key(&stored) {
            actions.push(store.tx_delete(&ext, Some(absent_or_mine(id)))?);
        }
        if holder.as_ref() == Some(id) {
            actions.push(store.tx_delete(&keys::war_room_guard(tenant), Some(is_mine(id)))?);
        }
        if matches!(store.transact(actions).await?, Tx::Committed) {
            return Ok(());
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
    Err(contended("delete_integration"))
}

pub(super) async fn enable_war_room(store: &DynamoStore, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
    let guard = entity_item(&Pointer { tenant_id: tenant.clone(), integration_id: id.clone() }, &keys::war_room_guard(tenant), "war_room_guard")?;
    let set_flag = Expr::present().set("SET #flag = :on").name("#flag", FLAG).value(":on", AttributeValue::Bool(true));
    for attempt in 1..=ATTEMPTS {
        let actions = vec![store.tx_put(guard.clone(), Some(absent_or_mine(id)))?, store.tx_update(&keys::integration(tenant, id), set_flag.clone())?];
        let codes = match store.transact(actions).await? {
            Tx::Committed => return Ok(()),
            Tx::ConditionFailed(codes) => codes,
        };
        if Tx::failed_at(&codes, 1) {
            return Err(StoreError::not_found(format!("integration {id}")));
        }
        match war_room_holder(store, tenant).await? {
            Some(holder) if &holder != id => return Err(StoreError::WarRoomTaken { integration_id: holder }),
            // Released (or ours) since the transaction ran: decide again.
            _ => tokio::time::sleep(backoff(attempt)).await,
        }
    }
    Err(contended("enable_war_room"))
}

pub(super) async fn disable_war_room(store: &DynamoStore, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
    let guard = keys::war_room_guard(tenant);
    let clear_flag = Expr::present().set("SET #flag = :off").name("#flag", FLAG).value(":off", AttributeValue::Bool(false));
    let actions = vec![store.tx_delete(&guard, Some(is_mine(id)))?, store.tx_update(&keys::integration(tenant, id), clear_flag)?];
    match store.transact(actions).await? {
        Tx::Committed => Ok(()),
        // Not the holder: nothing to release.
        Tx::ConditionFailed(codes) if Tx::failed_at(&codes, 0) => Ok(()),
        // The holder's item is gone (it cannot be, delete_integration releases the
        // guard, but if so): still release the guard.
        Tx::ConditionFailed(_) => {
            store.delete_item(&guard, Some(is_mine(id))).await?;
            Ok(())
        }
    }
}

pub(super) async fn war_room_holder(store: &DynamoStore, tenant: &TenantId) -> StoreResult<Option<IntegrationId>> {
    Ok(store.get::<Pointer>(&keys::war_room_guard(tenant), "war-room guard").await?.map(|p| p.integration_id))
}

fn contended(op: &str) -> StoreError {
    StoreError::Unavailable { message: format!("{op}: the integration kept changing concurrently"), retryable: true }
}
