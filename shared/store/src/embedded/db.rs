//! Opening the redb file, mapping redb errors, and running transactions off the async
//! threads (redb is synchronous and a write transaction blocks until the previous one ends).

use super::tx::{ReadTx, WriteTx, GSI1, ITEMS};
use redb::{Database, DatabaseError, ReadableDatabase, StorageError};
use std::path::Path;
use std::sync::Arc;
use warroom_core::{StoreError, StoreResult};

/// Page cache limit. redb's default (1 GiB) is sized for servers; the local stack's data is small.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Creates or opens the database file, creating its directory if needed.
pub(super) fn open_file(path: &Path) -> StoreResult<Database> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Unavailable { message: format!("cannot create the data directory {}: {e}", parent.display()), retryable: false })?;
    }
    if path.is_dir() {
        return Err(StoreError::Invalid(format!("{} is a directory; the embedded store needs a file path inside it", path.display())));
    }
    // redb can panic (an `unreachable!`) on some damaged files instead of returning an
    // error; a damaged data file must be a clear error, not a crash of the process.
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let db = Database::builder().set_cache_size(CACHE_BYTES).create(path).map_err(|e| open_error(path, e))?;
        create_tables(&db).map_err(|e| match e {
            // The file opened but holds tables of another shape: not ours.
            StoreError::Corrupt(m) => StoreError::Corrupt(format!("{}: {m}", path.display())),
            other => other,
        })?;
        Ok(db)
    }));
    opened.unwrap_or_else(|_| {
        Err(StoreError::Corrupt(format!("{} is damaged: redb failed while opening it; move it aside to start with an empty store", path.display())))
    })
}

/// A database that lives only as long as the store (tests).
pub(super) fn open_in_memory() -> StoreResult<Database> {
    let db = Database::builder()
        .set_cache_size(CACHE_BYTES)
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .map_err(|e| open_error(Path::new(":memory:"), e))?;
    create_tables(&db)?;
    Ok(db)
}

/// Creating both tables up front lets read transactions open them unconditionally
/// (opening a missing table in a read transaction is an error).
fn create_tables(db: &Database) -> StoreResult<()> {
    let txn = db.begin_write().map_err(db_err)?;
    {
        txn.open_table(ITEMS).map_err(db_err)?;
        txn.open_table(GSI1).map_err(db_err)?;
    }
    txn.commit().map_err(db_err)
}

fn open_error(path: &Path, e: DatabaseError) -> StoreError {
    let shown = path.display();
    match e {
        DatabaseError::Storage(StorageError::Corrupted(m)) => {
            StoreError::Corrupt(format!("{shown} is not a readable redb database ({m}); move it aside to start with an empty store"))
        }
        // redb reports a wrong magic number as invalid I/O data; a file shorter than its
        // header fails with an early end of file.
        DatabaseError::Storage(StorageError::Io(io)) if matches!(io.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof) => {
            StoreError::Corrupt(format!("{shown} is not a redb database ({io}); move it aside to start with an empty store"))
        }
        DatabaseError::UpgradeRequired(v) => {
            StoreError::Corrupt(format!("{shown} uses redb file format {v}, which this build cannot read; upgrade the file with a matching redb"))
        }
        DatabaseError::DatabaseAlreadyOpen => {
            StoreError::Unavailable { message: format!("{shown} is already open (by another process, or another store in this one)"), retryable: false }
        }
        other => StoreError::Unavailable { message: format!("cannot open {shown}: {other}"), retryable: false },
    }
}

/// Maps a redb error met while running a transaction.
pub(super) fn db_err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(m) => StoreError::Corrupt(m),
        redb::Error::TableTypeMismatch { table, key, value } => {
            StoreError::Corrupt(format!("table {table} holds keys {} and values {}, not this store's layout", key.name(), value.name()))
        }
        redb::Error::ValueTooLarge(len) => StoreError::Invalid(format!("item of {len} bytes is too large to store")),
        other => StoreError::Unavailable { message: format!("embedded store: {other}"), retryable: false },
    }
}

/// Runs `f` in a read transaction: a consistent snapshot that never waits for writers.
pub(super) async fn read<R, F>(db: &Arc<Database>, f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: FnOnce(&ReadTx) -> StoreResult<R> + Send + 'static,
{
    let db = Arc::clone(db);
    blocking(move || {
        let txn = db.begin_read().map_err(db_err)?;
        let tx = ReadTx::open(&txn)?;
        f(&tx)
    })
    .await
}

/// Runs `f` in one write transaction, committed only if `f` succeeds. redb allows one
/// writer at a time, so every read-check-write inside `f` is atomic.
pub(super) async fn write<R, F>(db: &Arc<Database>, f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: for<'t> FnOnce(&mut WriteTx<'t>) -> StoreResult<R> + Send + 'static,
{
    write_with(db, redb::Durability::Immediate, f).await
}

/// As [`write`], without an fsync of its own: the commit is visible at once and becomes
/// durable with the next durable one. Only for what a crash may lose harmlessly, such as
/// a de-duplication claim (a lost claim lets one redelivery through, and applying an event
/// or click again changes nothing). Measured: at 100 callbacks/s about half the fsyncs
/// were claims, and the disk's fsync rate was the local stack's ceiling.
pub(super) async fn write_lazy<R, F>(db: &Arc<Database>, f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: for<'t> FnOnce(&mut WriteTx<'t>) -> StoreResult<R> + Send + 'static,
{
    write_with(db, redb::Durability::None, f).await
}

async fn write_with<R, F>(db: &Arc<Database>, durability: redb::Durability, f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: for<'t> FnOnce(&mut WriteTx<'t>) -> StoreResult<R> + Send + 'static,
{
    let db = Arc::clone(db);
    blocking(move || {
        let mut txn = db.begin_write().map_err(db_err)?;
        txn.set_durability(durability).map_err(|e| StoreError::Unavailable { message: format!("embedded store: {e}"), retryable: false })?;
        let result = {
            let mut tx = WriteTx::open(&txn)?;
            f(&mut tx)
        };
        match result {
            Ok(value) => {
                txn.commit().map_err(db_err)?;
                Ok(value)
            }
            Err(e) => {
                // The caller's error is the one that matters; a failed abort leaves
                // nothing behind (uncommitted pages are discarded either way).
                let _ = txn.abort();
                Err(e)
            }
        }
    })
    .await
}

async fn blocking<R, F>(f: F) -> StoreResult<R>
where
    R: Send + 'static,
    F: FnOnce() -> StoreResult<R> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        if e.is_panic() {
            // redb panics only on pages it cannot make sense of: a damaged file.
            StoreError::Corrupt("the embedded store failed reading its file (a redb panic; see the log)".into())
        } else {
            StoreError::Unavailable { message: format!("embedded store task failed: {e}"), retryable: false }
        }
    })?
}
