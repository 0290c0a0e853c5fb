//! A read-only snapshot of every item (tests compare one before and after a run to prove
//! that nothing changed).

use super::db::{self, db_err};
use super::tx::View;
use super::EmbeddedStore;
use redb::ReadableTable;
use warroom_core::StoreResult;

impl EmbeddedStore {
    /// Every item of the `items` table as (PK, SK, JSON), in key order. Expired items
    /// included: the snapshot is of the file, not of what reads would return.
    pub async fn dump(&self) -> StoreResult<Vec<(String, String, String)>> {
        db::read(&self.db, |v| {
            let mut out = Vec::new();
            for entry in v.items().iter().map_err(db_err)? {
                let (key, value) = entry.map_err(db_err)?;
                let (pk, sk) = key.value();
                out.push((pk.to_owned(), sk.to_owned(), String::from_utf8_lossy(value.value()).into_owned()));
            }
            Ok(out)
        })
        .await
    }
}
