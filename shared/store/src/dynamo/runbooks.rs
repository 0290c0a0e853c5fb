//! A tenant's runbooks: one item each in the tenant's partition, written under a condition
//! on its version (absent for a new one).

use super::codec::{entity_item, n, Expr};
use super::ops::Written;
use super::DynamoStore;
use crate::keys;
use warroom_core::runbook::{Runbook, RunbookId};
use warroom_core::{StoreError, StoreResult, TenantId};

pub(super) async fn put(store: &DynamoStore, runbook: &Runbook) -> StoreResult<Runbook> {
    let key = keys::runbook(&runbook.tenant_id, &runbook.id);
    let expected = runbook.version;
    let next = Runbook { version: expected.saturating_add(1), ..runbook.clone() };
    let cond = if expected == 0 { Expr::absent() } else { Expr::when("#v = :expected").name("#v", "version").value(":expected", n(expected as i64)) };
    match store.put_item(entity_item(&next, &key, "runbook")?, Some(cond)).await? {
        Written::Done(()) => Ok(next),
        Written::ConditionFailed(_) if expected == 0 => Err(StoreError::AlreadyExists { what: format!("runbook {}", runbook.id) }),
        // Not every emulator returns the old item: read to tell "moved on" from "gone".
        Written::ConditionFailed(_) => match get(store, &runbook.tenant_id, &runbook.id).await? {
            Some(_) => Err(StoreError::VersionConflict { expected }),
            None => Err(StoreError::not_found(format!("runbook {}", runbook.id))),
        },
    }
}

pub(super) async fn get(store: &DynamoStore, tenant: &TenantId, id: &RunbookId) -> StoreResult<Option<Runbook>> {
    store.get(&keys::runbook(tenant, id), "runbook").await
}

pub(super) async fn list(store: &DynamoStore, tenant: &TenantId) -> StoreResult<Vec<Runbook>> {
    store.query_all_as(keys::tenant_pk(tenant), keys::RUNBOOK_PREFIX, "runbook").await
}

pub(super) async fn delete(store: &DynamoStore, tenant: &TenantId, id: &RunbookId) -> StoreResult<bool> {
    match store.delete_item(&keys::runbook(tenant, id), None).await? {
        Written::Done(old) => Ok(old.is_some()),
        Written::ConditionFailed(_) => Ok(false),
    }
}
