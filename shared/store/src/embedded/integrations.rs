//! Integrations, their global pointers, and the tenant's war-room guard.

use super::records::{Pointer, WarRoomGuard};
use super::tx::{View, WriteTx};
use crate::keys::{self, Key};
use warroom_core::{Integration, IntegrationId, Platform, StoreError, StoreResult, TenantId};

fn external_key(i: &Integration) -> Option<Key> {
    i.external_id.as_deref().map(|ext| keys::external_pointer(i.platform, ext))
}

fn not_found(id: &IntegrationId) -> StoreError {
    StoreError::not_found(format!("integration {id}"))
}

/// The item under its tenant, a pointer by id (callbacks carry no tenant) and, if it has
/// one, a pointer by (platform, external id). All or nothing: one transaction.
pub(super) fn create_integration(tx: &mut WriteTx, i: &Integration) -> StoreResult<()> {
    if i.war_room_enabled {
        return Err(StoreError::Invalid("a new integration cannot hold the war room; create it, then call enable_war_room".into()));
    }
    let pointer = keys::integration_pointer(&i.id);
    if tx.get::<Pointer>(&pointer)?.is_some() {
        return Err(StoreError::AlreadyExists { what: format!("integration {}", i.id) });
    }
    let external = external_key(i);
    if let Some(key) = &external {
        if tx.get::<Pointer>(key)?.is_some() {
            return Err(StoreError::AlreadyExists { what: external_what(i.platform, i.external_id.as_deref()) });
        }
    }
    tx.put(&keys::integration(&i.tenant_id, &i.id), i)?;
    tx.put(&pointer, &Pointer::new(&i.tenant_id, i.id.as_str()))?;
    if let Some(key) = &external {
        tx.put(key, &Pointer::new(&i.tenant_id, i.id.as_str()))?;
    }
    Ok(())
}

fn external_what(platform: Platform, external_id: Option<&str>) -> String {
    format!("{platform} integration for {}", external_id.unwrap_or_default())
}

/// Replaces the integration but keeps the stored war-room flag; moves the external-id
/// pointer if the external id changed (refusing one another integration holds).
pub(super) fn update_integration(tx: &mut WriteTx, i: &Integration) -> StoreResult<()> {
    let key = keys::integration(&i.tenant_id, &i.id);
    let Some(stored) = tx.get::<Integration>(&key)? else {
        return Err(not_found(&i.id));
    };
    if stored.version != i.version {
        return Err(StoreError::VersionConflict { expected: i.version });
    }
    let mut next = i.clone();
    next.war_room_enabled = stored.war_room_enabled;
    next.version = stored.version.saturating_add(1);

    let (old_ext, new_ext) = (external_key(&stored), external_key(&next));
    if old_ext != new_ext {
        if let Some(k) = &new_ext {
            if tx.get::<Pointer>(k)?.is_some_and(|p| p.target != i.id.as_str()) {
                return Err(StoreError::AlreadyExists { what: external_what(next.platform, next.external_id.as_deref()) });
            }
        }
        if let Some(k) = &old_ext {
            delete_pointer_to(tx, k, &i.id)?;
        }
        if let Some(k) = &new_ext {
            tx.put(k, &Pointer::new(&i.tenant_id, i.id.as_str()))?;
        }
    }
    tx.put(&key, &next)
}

/// Deletes a pointer only if it still points at `id` (never another integration's).
fn delete_pointer_to(tx: &mut WriteTx, key: &Key, id: &IntegrationId) -> StoreResult<()> {
    if tx.get::<Pointer>(key)?.is_some_and(|p| p.target == id.as_str()) {
        tx.delete(key)?;
    }
    Ok(())
}

pub(super) fn get_integration(v: &impl View, id: &IntegrationId) -> StoreResult<Option<Integration>> {
    let Some(pointer) = v.get::<Pointer>(&keys::integration_pointer(id))? else {
        return Ok(None);
    };
    v.get(&keys::integration(&pointer.tenant_id, id))
}

pub(super) fn find_integration_by_external(v: &impl View, platform: Platform, external_id: &str) -> StoreResult<Option<Integration>> {
    let Some(pointer) = v.get::<Pointer>(&keys::external_pointer(platform, external_id))? else {
        return Ok(None);
    };
    v.get(&keys::integration(&pointer.tenant_id, &IntegrationId::new(pointer.target)))
}

/// Ordered by id.
pub(super) fn list_integrations(v: &impl View, tenant: &TenantId) -> StoreResult<Vec<Integration>> {
    v.scan(&keys::tenant_pk(tenant), keys::INTEGRATION_PREFIX)
}

/// Deletes the integration, both pointers, every link on it and, if it held it, the
/// war-room guard. Deleting an unknown integration is a no-op, like any delete.
pub(super) fn delete_integration(tx: &mut WriteTx, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
    let key = keys::integration(tenant, id);
    let Some(stored) = tx.get::<Integration>(&key)? else {
        return Ok(());
    };
    tx.delete(&key)?;
    delete_pointer_to(tx, &keys::integration_pointer(id), id)?;
    if let Some(k) = external_key(&stored) {
        delete_pointer_to(tx, &k, id)?;
    }
    let links_pk = keys::links_pk(tenant, id);
    for sk in tx.scan_keys(&links_pk, "")? {
        tx.delete(&Key { pk: links_pk.clone(), sk })?;
    }
    let guard = keys::war_room_guard(tenant);
    if tx.get::<WarRoomGuard>(&guard)?.is_some_and(|g| g.integration_id == *id) {
        tx.delete(&guard)?;
    }
    Ok(())
}

/// Takes the tenant's guard and sets the flag, in one transaction: concurrent callers are
/// serialised by redb's single writer, so exactly one integration wins.
pub(super) fn enable_war_room(tx: &mut WriteTx, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
    let key = keys::integration(tenant, id);
    let Some(mut integration) = tx.get::<Integration>(&key)? else {
        return Err(not_found(id));
    };
    let guard = keys::war_room_guard(tenant);
    if let Some(holder) = tx.get::<WarRoomGuard>(&guard)? {
        if holder.integration_id != *id {
            return Err(StoreError::WarRoomTaken { integration_id: holder.integration_id });
        }
    }
    tx.put(&guard, &WarRoomGuard { integration_id: id.clone() })?;
    if !integration.war_room_enabled {
        integration.war_room_enabled = true;
        tx.put(&key, &integration)?;
    }
    Ok(())
}

/// Releases the guard and clears the flag; a no-op unless this integration holds it.
pub(super) fn disable_war_room(tx: &mut WriteTx, tenant: &TenantId, id: &IntegrationId) -> StoreResult<()> {
    let guard = keys::war_room_guard(tenant);
    let holds = tx.get::<WarRoomGuard>(&guard)?.is_some_and(|g| g.integration_id == *id);
    if !holds {
        return Ok(());
    }
    tx.delete(&guard)?;
    let key = keys::integration(tenant, id);
    if let Some(mut integration) = tx.get::<Integration>(&key)? {
        integration.war_room_enabled = false;
        tx.put(&key, &integration)?;
    }
    Ok(())
}

pub(super) fn war_room_integration(v: &impl View, tenant: &TenantId) -> StoreResult<Option<IntegrationId>> {
    Ok(v.get::<WarRoomGuard>(&keys::war_room_guard(tenant))?.map(|g| g.integration_id))
}
