//! Listing every tenant (admin tools: the re-seal after a key rotation). Tenant records
//! are the `TENANT` items of the `T#` partitions; partitions are contiguous in the file, so
//! one range walk over `T#…` finds them all, in tenant-id order.

use super::db::db_err;
use super::tx::View;
use crate::keys::Key;
use redb::ReadableTable;
use warroom_core::{StoreError, StoreResult, Tenant};

pub(super) fn list_tenants(v: &impl View) -> StoreResult<Vec<Tenant>> {
    let mut keys = Vec::new();
    for entry in v.items().range(("T#", "")..).map_err(db_err)? {
        let (key, _) = entry.map_err(db_err)?;
        let (pk, sk) = key.value();
        if !pk.starts_with("T#") {
            break;
        }
        if sk == "TENANT" {
            keys.push(Key { pk: pk.to_owned(), sk: sk.to_owned() });
        }
    }
    keys.iter()
        .map(|key| v.get::<Tenant>(key)?.ok_or_else(|| StoreError::Corrupt(format!("tenant item {} vanished inside one read transaction", key.pk))))
        .collect()
}
