//! Tenants, API keys and members.

use super::links;
use super::records::Pointer;
use super::tx::{View, WriteTx};
use crate::keys;
use warroom_core::{ApiKeyRecord, Integration, Member, MemberId, StoreError, StoreResult, Tenant, TenantId};

pub(super) fn put_tenant(tx: &mut WriteTx, tenant: &Tenant) -> StoreResult<()> {
    tx.put(&keys::tenant(&tenant.id), tenant)
}

pub(super) fn update_tenant(tx: &mut WriteTx, tenant: &Tenant) -> StoreResult<Tenant> {
    let key = keys::tenant(&tenant.id);
    let Some(stored) = tx.get::<Tenant>(&key)? else {
        return Err(StoreError::not_found(format!("tenant {}", tenant.id)));
    };
    if stored.version != tenant.version {
        return Err(StoreError::VersionConflict { expected: tenant.version });
    }
    let next = Tenant { version: stored.version.saturating_add(1), ..tenant.clone() };
    tx.put(&key, &next)?;
    Ok(next)
}

pub(super) fn get_tenant(v: &impl View, id: &TenantId) -> StoreResult<Option<Tenant>> {
    v.get(&keys::tenant(id))
}

/// The record under its tenant plus a global pointer by hash, so a request carrying only
/// the key finds its tenant.
pub(super) fn put_api_key(tx: &mut WriteTx, key: &ApiKeyRecord) -> StoreResult<()> {
    let pointer = keys::api_key_pointer(&key.key_hash);
    if tx.get::<Pointer>(&pointer)?.is_some() {
        // No hash in the message: it identifies a credential.
        return Err(StoreError::AlreadyExists { what: format!("API key {}…", key.prefix) });
    }
    tx.put(&keys::api_key(&key.tenant_id, &key.key_hash), key)?;
    tx.put(&pointer, &Pointer::new(&key.tenant_id, key.key_hash.clone()))
}

pub(super) fn find_api_key(v: &impl View, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
    let Some(pointer) = v.get::<Pointer>(&keys::api_key_pointer(key_hash))? else {
        return Ok(None);
    };
    v.get(&keys::api_key(&pointer.tenant_id, &pointer.target))
}

pub(super) fn list_api_keys(v: &impl View, tenant: &TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
    v.scan(&keys::tenant_pk(tenant), keys::API_KEY_PREFIX)
}

/// Only the tenant's own key: the record is looked up under the tenant first.
pub(super) fn delete_api_key(tx: &mut WriteTx, tenant: &TenantId, key_hash: &str) -> StoreResult<()> {
    if tx.delete(&keys::api_key(tenant, key_hash))? {
        tx.delete(&keys::api_key_pointer(key_hash))?;
    }
    Ok(())
}

pub(super) fn put_member(tx: &mut WriteTx, member: &Member) -> StoreResult<()> {
    tx.put(&keys::member(&member.tenant_id, &member.id), member)
}

pub(super) fn get_member(v: &impl View, tenant: &TenantId, id: &MemberId) -> StoreResult<Option<Member>> {
    v.get(&keys::member(tenant, id))
}

/// Ordered by id: the sort key is `MEMBER#{id}` and ids compare as bytes.
pub(super) fn list_members(v: &impl View, tenant: &TenantId) -> StoreResult<Vec<Member>> {
    v.scan(&keys::tenant_pk(tenant), keys::MEMBER_PREFIX)
}

/// Deletes the member and, on every integration of the tenant, their link (both
/// directions). Deleting an unknown member is a no-op, like any delete.
pub(super) fn delete_member(tx: &mut WriteTx, tenant: &TenantId, id: &MemberId) -> StoreResult<()> {
    tx.delete(&keys::member(tenant, id))?;
    let integrations: Vec<Integration> = tx.scan(&keys::tenant_pk(tenant), keys::INTEGRATION_PREFIX)?;
    for integration in integrations {
        links::delete_link(tx, tenant, &integration.id, id)?;
    }
    Ok(())
}
