//! Tenants, API keys and members.

use super::codec::{entity_item, n, Expr};
use super::ops::{Tx, Written};
use super::{integrations, links, DynamoStore};
use crate::keys;
use serde::{Deserialize, Serialize};
use warroom_core::{ApiKeyRecord, Member, MemberId, StoreError, StoreResult, Tenant, TenantId};

/// The global pointer from a key hash to its tenant: API calls carry only the key.
#[derive(Serialize, Deserialize)]
struct ApiKeyPointer {
    tenant_id: TenantId,
    key_hash: String,
}

pub(super) async fn put_tenant(store: &DynamoStore, tenant: &Tenant) -> StoreResult<()> {
    store.put(entity_item(tenant, &keys::tenant(&tenant.id), "tenant")?).await
}

/// Optimistic concurrency, as for incidents. A record stored before tenants had a version
/// has no `version` attribute and counts as version 0.
pub(super) async fn update_tenant(store: &DynamoStore, tenant: &Tenant) -> StoreResult<Tenant> {
    let expected = tenant.version;
    let next = Tenant { version: expected.saturating_add(1), ..tenant.clone() };
    let same_version = if expected == 0 {
        Expr::when("attribute_exists(#pk) AND (attribute_not_exists(#v) OR #v = :expected)").name("#pk", keys::PK)
    } else {
        Expr::when("#v = :expected")
    }
    .name("#v", "version")
    .value(":expected", n(expected as i64));
    match store.put_item(entity_item(&next, &keys::tenant(&tenant.id), "tenant")?, Some(same_version)).await? {
        Written::Done(()) => Ok(next),
        Written::ConditionFailed(Some(_)) => Err(StoreError::VersionConflict { expected }),
        // Not every emulator returns the old item: read to tell "moved on" from "gone".
        Written::ConditionFailed(None) => match get_tenant(store, &tenant.id).await? {
            Some(_) => Err(StoreError::VersionConflict { expected }),
            None => Err(StoreError::not_found(format!("tenant {}", tenant.id))),
        },
    }
}

pub(super) async fn get_tenant(store: &DynamoStore, id: &TenantId) -> StoreResult<Option<Tenant>> {
    store.get(&keys::tenant(id), "tenant").await
}

/// The record and its pointer in one transaction, both only if new: a hash belongs to
/// the first tenant that stored it.
pub(super) async fn put_api_key(store: &DynamoStore, key: &ApiKeyRecord) -> StoreResult<()> {
    let pointer = ApiKeyPointer { tenant_id: key.tenant_id.clone(), key_hash: key.key_hash.clone() };
    let actions = vec![
        store.tx_put(entity_item(key, &keys::api_key(&key.tenant_id, &key.key_hash), "api_key")?, Some(Expr::absent()))?,
        store.tx_put(entity_item(&pointer, &keys::api_key_pointer(&key.key_hash), "api_key_pointer")?, Some(Expr::absent()))?,
    ];
    match store.transact(actions).await? {
        Tx::Committed => Ok(()),
        Tx::ConditionFailed(_) => Err(StoreError::AlreadyExists { what: format!("API key {}…", key.prefix) }),
    }
}

pub(super) async fn find_api_key(store: &DynamoStore, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
    let Some(pointer) = store.get::<ApiKeyPointer>(&keys::api_key_pointer(key_hash), "API key pointer").await? else {
        return Ok(None);
    };
    store.get(&keys::api_key(&pointer.tenant_id, &pointer.key_hash), "API key").await
}

pub(super) async fn list_api_keys(store: &DynamoStore, tenant: &TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
    store.query_all_as(keys::tenant_pk(tenant), keys::API_KEY_PREFIX, "API key").await
}

/// Only the tenant's own key: another tenant's hash finds no record here, so its
/// pointer is left alone.
pub(super) async fn delete_api_key(store: &DynamoStore, tenant: &TenantId, key_hash: &str) -> StoreResult<()> {
    if store.get::<ApiKeyRecord>(&keys::api_key(tenant, key_hash), "API key").await?.is_none() {
        return Ok(());
    }
    store.delete_all(vec![keys::api_key(tenant, key_hash), keys::api_key_pointer(key_hash)]).await
}

pub(super) async fn put_member(store: &DynamoStore, member: &Member) -> StoreResult<()> {
    store.put(entity_item(member, &keys::member(&member.tenant_id, &member.id), "member")?).await
}

pub(super) async fn get_member(store: &DynamoStore, tenant: &TenantId, id: &MemberId) -> StoreResult<Option<Member>> {
    store.get(&keys::member(tenant, id), "member").await
}

pub(super) async fn list_members(store: &DynamoStore, tenant: &TenantId) -> StoreResult<Vec<Member>> {
    let mut members: Vec<Member> = store.query_all_as(keys::tenant_pk(tenant), keys::MEMBER_PREFIX, "member").await?;
    // The sort key already orders by id; sorting again keeps the contract explicit.
    members.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(members)
}

/// Unlinks the member on every integration of the tenant, then deletes the member. In
/// that order so a failure part-way leaves a member to retry on, never orphaned links.
pub(super) async fn delete_member(store: &DynamoStore, tenant: &TenantId, id: &MemberId) -> StoreResult<()> {
    for integration in integrations::list(store, tenant).await? {
        links::delete(store, tenant, &integration.id, id).await?;
    }
    store.delete_all(vec![keys::member(tenant, id)]).await
}
