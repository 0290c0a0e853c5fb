//! A tenant's runbooks: one item each in the tenant's partition, written under a version check.

use super::tx::{View, WriteTx};
use crate::keys;
use warroom_core::runbook::{Runbook, RunbookId};
use warroom_core::{StoreError, StoreResult, TenantId};

/// Version 0 creates; any other replaces only the stored item at that version.
pub(super) fn put_runbook(tx: &mut WriteTx, runbook: &Runbook) -> StoreResult<Runbook> {
    let key = keys::runbook(&runbook.tenant_id, &runbook.id);
    let stored = tx.get::<Runbook>(&key)?;
    match (&stored, runbook.version) {
        (Some(_), 0) => return Err(StoreError::AlreadyExists { what: format!("runbook {}", runbook.id) }),
        (None, 0) => {}
        (None, _) => return Err(StoreError::not_found(format!("runbook {}", runbook.id))),
        (Some(s), v) if s.version != v => return Err(StoreError::VersionConflict { expected: v }),
        (Some(_), _) => {}
    }
    let next = Runbook { version: runbook.version.saturating_add(1), ..runbook.clone() };
    tx.put(&key, &next)?;
    Ok(next)
}

pub(super) fn get_runbook(v: &impl View, tenant: &TenantId, id: &RunbookId) -> StoreResult<Option<Runbook>> {
    v.get(&keys::runbook(tenant, id))
}

pub(super) fn list_runbooks(v: &impl View, tenant: &TenantId) -> StoreResult<Vec<Runbook>> {
    v.scan(&keys::tenant_pk(tenant), keys::RUNBOOK_PREFIX)
}

pub(super) fn delete_runbook(tx: &mut WriteTx, tenant: &TenantId, id: &RunbookId) -> StoreResult<bool> {
    tx.delete(&keys::runbook(tenant, id))
}
