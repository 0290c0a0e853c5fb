//! Typed access to the two tables inside one transaction.
//!
//! - `items`: (PK, SK) → JSON `{"item": <entity>, "expires_at_ms": <ms>?}`, keys from
//!   [`crate::keys`], so the file is laid out like the DynamoDB table.
//! - `gsi1`: (GSI1PK, GSI1SK) → (PK, SK) of the item, kept in the same transaction as it.
//!
//! Tuple keys compare element by element, so one partition's items are contiguous and
//! ordered by sort key, as in DynamoDB.

use super::db::db_err;
use crate::keys::Key;
use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use warroom_core::{StoreError, StoreResult, Timestamp};

pub(super) type KeyPair = (&'static str, &'static str);
pub(super) const ITEMS: TableDefinition<KeyPair, &[u8]> = TableDefinition::new("items");
pub(super) const GSI1: TableDefinition<KeyPair, KeyPair> = TableDefinition::new("gsi1");

/// An item as stored: the entity plus bookkeeping.
#[derive(Debug, Deserialize)]
pub(super) struct Stored<T> {
    pub item: T,
    /// Epoch milliseconds after which the item is treated as absent.
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
}

impl<T> Stored<T> {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at_ms.is_none_or(|at| now.millis() < at)
    }
}

#[derive(Serialize)]
struct StoredRef<'a, T> {
    item: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<i64>,
}

fn decode<T: DeserializeOwned>(pk: &str, sk: &str, bytes: &[u8]) -> StoreResult<Stored<T>> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("item {pk} / {sk} cannot be read back: {e}")))
}

/// Reads shared by read and write transactions.
pub(super) trait View {
    type Items: ReadableTable<KeyPair, &'static [u8]>;
    type Gsi: ReadableTable<KeyPair, KeyPair>;
    fn items(&self) -> &Self::Items;
    fn gsi(&self) -> &Self::Gsi;

    /// The item with its bookkeeping, expired or not.
    fn get_stored<T: DeserializeOwned>(&self, key: &Key) -> StoreResult<Option<Stored<T>>> {
        let Some(guard) = self.items().get((key.pk.as_str(), key.sk.as_str())).map_err(db_err)? else {
            return Ok(None);
        };
        decode(&key.pk, &key.sk, guard.value()).map(Some)
    }

    /// An item that never expires (no TTL is ever set on it).
    fn get<T: DeserializeOwned>(&self, key: &Key) -> StoreResult<Option<T>> {
        Ok(self.get_stored(key)?.map(|s| s.item))
    }

    /// An item with a TTL, `None` once expired.
    fn get_live<T: DeserializeOwned>(&self, key: &Key, now: Timestamp) -> StoreResult<Option<T>> {
        Ok(self.get_stored(key)?.filter(|s| s.is_live(now)).map(|s| s.item))
    }

    /// Sort keys of partition `pk` that start with `prefix`, in order, without decoding.
    fn scan_keys(&self, pk: &str, prefix: &str) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for entry in self.items().range((pk, prefix)..).map_err(db_err)? {
            let (key, _) = entry.map_err(db_err)?;
            let (k_pk, k_sk) = key.value();
            if k_pk != pk || !k_sk.starts_with(prefix) {
                break; // past the contiguous run of matching keys
            }
            out.push(k_sk.to_owned());
        }
        Ok(out)
    }

    /// Items of partition `pk` whose sort key starts with `prefix`, in sort-key order.
    fn scan<T: DeserializeOwned>(&self, pk: &str, prefix: &str) -> StoreResult<Vec<T>> {
        let mut out = Vec::new();
        for entry in self.items().range((pk, prefix)..).map_err(db_err)? {
            let (key, value) = entry.map_err(db_err)?;
            let (k_pk, k_sk) = key.value();
            if k_pk != pk || !k_sk.starts_with(prefix) {
                break;
            }
            out.push(decode::<T>(k_pk, k_sk, value.value())?.item);
        }
        Ok(out)
    }

    /// The last `limit` items of partition `pk` under `prefix`, read backwards from the
    /// end of the run (so the cost is `limit`, not the run's length), newest last; and
    /// whether more precede them.
    fn scan_last<T: DeserializeOwned>(&self, pk: &str, prefix: &str, limit: usize) -> StoreResult<(Vec<T>, bool)> {
        let end = crate::keys::prefix_end(prefix);
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut older = false;
        for entry in self.items().range((pk, prefix)..(pk, end.as_str())).map_err(db_err)?.rev() {
            if out.len() == limit {
                older = true;
                break;
            }
            let (key, value) = entry.map_err(db_err)?;
            let (k_pk, k_sk) = key.value();
            out.push(decode::<T>(k_pk, k_sk, value.value())?.item);
        }
        out.reverse();
        Ok((out, older))
    }

    /// Keys of every item whose partition key starts with `pk_prefix` (global kinds such
    /// as `DEDUPE#`), with their expiry.
    fn scan_partitions(&self, pk_prefix: &str) -> StoreResult<Vec<(Key, Option<i64>)>> {
        let mut out = Vec::new();
        for entry in self.items().range((pk_prefix, "")..).map_err(db_err)? {
            let (key, value) = entry.map_err(db_err)?;
            let (k_pk, k_sk) = key.value();
            if !k_pk.starts_with(pk_prefix) {
                break;
            }
            let stored = decode::<serde::de::IgnoredAny>(k_pk, k_sk, value.value())?;
            out.push((Key { pk: k_pk.to_owned(), sk: k_sk.to_owned() }, stored.expires_at_ms));
        }
        Ok(out)
    }
}

pub(super) struct ReadTx {
    items: ReadOnlyTable<KeyPair, &'static [u8]>,
    gsi: ReadOnlyTable<KeyPair, KeyPair>,
}

impl ReadTx {
    pub fn open(txn: &ReadTransaction) -> StoreResult<Self> {
        Ok(Self { items: txn.open_table(ITEMS).map_err(db_err)?, gsi: txn.open_table(GSI1).map_err(db_err)? })
    }
}

impl View for ReadTx {
    type Items = ReadOnlyTable<KeyPair, &'static [u8]>;
    type Gsi = ReadOnlyTable<KeyPair, KeyPair>;
    fn items(&self) -> &Self::Items {
        &self.items
    }
    fn gsi(&self) -> &Self::Gsi {
        &self.gsi
    }
}

pub(super) struct WriteTx<'t> {
    items: Table<'t, KeyPair, &'static [u8]>,
    gsi: Table<'t, KeyPair, KeyPair>,
}

impl<'t> WriteTx<'t> {
    pub fn open(txn: &'t WriteTransaction) -> StoreResult<Self> {
        Ok(Self { items: txn.open_table(ITEMS).map_err(db_err)?, gsi: txn.open_table(GSI1).map_err(db_err)? })
    }

    /// Creates or replaces an item that never expires.
    pub fn put<T: Serialize>(&mut self, key: &Key, item: &T) -> StoreResult<()> {
        self.put_with(key, item, None)
    }

    /// Creates or replaces an item that reads as absent from `expires_at_ms` on.
    pub fn put_expiring<T: Serialize>(&mut self, key: &Key, item: &T, expires_at_ms: i64) -> StoreResult<()> {
        self.put_with(key, item, Some(expires_at_ms))
    }

    fn put_with<T: Serialize>(&mut self, key: &Key, item: &T, expires_at_ms: Option<i64>) -> StoreResult<()> {
        let bytes = serde_json::to_vec(&StoredRef { item, expires_at_ms })
            .map_err(|e| StoreError::Invalid(format!("item {} / {} cannot be encoded: {e}", key.pk, key.sk)))?;
        self.items.insert((key.pk.as_str(), key.sk.as_str()), bytes.as_slice()).map_err(db_err)?;
        Ok(())
    }

    /// Removes an item; true if it was there.
    pub fn delete(&mut self, key: &Key) -> StoreResult<bool> {
        Ok(self.items.remove((key.pk.as_str(), key.sk.as_str())).map_err(db_err)?.is_some())
    }

    /// Indexes `target` under the GSI key `gsi`.
    pub fn put_gsi(&mut self, gsi: &Key, target: &Key) -> StoreResult<()> {
        self.gsi.insert((gsi.pk.as_str(), gsi.sk.as_str()), (target.pk.as_str(), target.sk.as_str())).map_err(db_err)?;
        Ok(())
    }

    pub fn delete_gsi(&mut self, gsi: &Key) -> StoreResult<()> {
        self.gsi.remove((gsi.pk.as_str(), gsi.sk.as_str())).map_err(db_err)?;
        Ok(())
    }
}

impl<'t> View for WriteTx<'t> {
    type Items = Table<'t, KeyPair, &'static [u8]>;
    type Gsi = Table<'t, KeyPair, KeyPair>;
    fn items(&self) -> &Self::Items {
        &self.items
    }
    fn gsi(&self) -> &Self::Gsi {
        &self.gsi
    }
}
