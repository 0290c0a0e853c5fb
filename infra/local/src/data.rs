//! The data directory: what survives a restart.
//!
//! - `warroom.redb`: the embedded store (tenants, integrations, incidents, timelines, ...).
//! - `secret.key`: the key sealing credentials at rest (mode 0600, made on first start).
//! - `queue.journal`: the job queue, every change appended as it happens (so a killed
//!   process loses no job), compacted at start and at a clean shutdown.
//! - `queue.json`: jobs kept at a clean shutdown by older versions (read back once, then removed).
//! - `demo-keys.json`: the demo tenant and its API keys (mode 0600), for `infra/demo.sh`.
//!
//! Anything unreadable is one error naming the file and what to do about it.

use crate::error::{LocalError, LocalResult};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use warroom_core::{StoreError, SystemClock, TenantId};
use warroom_queue::{MemoryQueue, MemoryQueueConfig, Recovered};
use warroom_secrets::{SecretBox, SecretError};
use warroom_store::embedded::EmbeddedStore;

pub const STORE_FILE: &str = "warroom.redb";
pub const KEY_FILE: &str = "secret.key";
pub const JOURNAL_FILE: &str = "queue.journal";
pub const QUEUE_FILE: &str = "queue.json";
pub const KEYS_FILE: &str = "demo-keys.json";

/// The demo tenant and its keys, as written to `demo-keys.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoKeys {
    pub tenant_id: TenantId,
    pub tenant_name: String,
    /// Management API (`/api/v1`).
    pub admin_key: String,
    /// Only `POST /hooks/{source}`.
    pub intake_key: String,
}

#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The durable job queue kept in `queue.journal` (see `warroom_queue::MemoryQueue::durable`).
    pub fn open_queue(&self, config: MemoryQueueConfig) -> LocalResult<(MemoryQueue, Recovered)> {
        MemoryQueue::durable(self.file(JOURNAL_FILE), config, Arc::new(SystemClock)).map_err(|e| LocalError::new(e.to_string()))
    }

    /// Creates the directory if needed; a file in its place is an error.
    pub fn prepare(root: &Path) -> LocalResult<Self> {
        if root.exists() && !root.is_dir() {
            return Err(LocalError::new(format!("the data directory {} is a file; pass --data-dir with a directory", root.display())));
        }
        std::fs::create_dir_all(root).map_err(|e| LocalError::new(format!("cannot create the data directory {}: {e}", root.display())))?;
        Ok(Self { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn open_store(&self) -> LocalResult<EmbeddedStore> {
        let path = self.file(STORE_FILE);
        EmbeddedStore::open(&path).map_err(|e| match e {
            // The store's own message names the file and says what to do.
            StoreError::Corrupt(message) => LocalError::new(message),
            StoreError::Unavailable { message, .. } if message.contains("already open") => {
                LocalError::new(format!("{} is in use by another process: is another warroom-local running on this data directory?", path.display()))
            }
            other => LocalError::new(format!("cannot open the store {}: {other}", path.display())),
        })
    }

    pub fn secrets(&self) -> LocalResult<SecretBox> {
        let path = self.file(KEY_FILE);
        SecretBox::load_or_create_key_file(&path).map_err(|e| match e {
            SecretError::KeyFile { path, reason } => {
                LocalError::new(format!("the key file {path} is not usable ({reason}); restore it, or move the whole data directory aside"))
            }
            other => LocalError::new(format!("the key file {}: {other}", path.display())),
        })
    }

    /// `None` when there is no `demo-keys.json` yet.
    pub fn demo_keys(&self) -> LocalResult<Option<DemoKeys>> {
        let path = self.file(KEYS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| LocalError::new(format!("{} is not readable ({e}); delete it to seed a new demo tenant", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LocalError::new(format!("cannot read {}: {e}", path.display()))),
        }
    }

    pub fn write_demo_keys(&self, keys: &DemoKeys) -> LocalResult<()> {
        let text = serde_json::to_string_pretty(keys).expect("keys serialize") + "\n";
        write_private(&self.file(KEYS_FILE), &text)
    }
}

/// Writes `contents` readable by the owner only (0600), replacing the file atomically.
pub fn write_private(path: &Path, contents: &str) -> LocalResult<()> {
    let tmp = path.with_extension("tmp");
    let fail = |e: std::io::Error| LocalError::new(format!("cannot write {}: {e}", path.display()));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    {
        use std::io::Write;
        let mut file = options.open(&tmp).map_err(fail)?;
        file.write_all(contents.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("warroom-local-data-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn demo_keys_are_written_for_the_owner_only_and_read_back() {
        let data = DataDir::prepare(&temp_dir("keys")).unwrap();
        assert_eq!(data.demo_keys().unwrap(), None);
        let keys = DemoKeys { tenant_id: "ten_1".into(), tenant_name: "Demo".into(), admin_key: "wr_a".into(), intake_key: "wr_i".into() };
        data.write_demo_keys(&keys).unwrap();
        assert_eq!(data.demo_keys().unwrap(), Some(keys));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.file(KEYS_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(data.file(KEYS_FILE), "{").unwrap();
        assert!(data.demo_keys().unwrap_err().message.contains(KEYS_FILE));
        let _ = std::fs::remove_dir_all(data.root());
    }

    #[test]
    fn a_file_where_the_directory_should_be_is_named() {
        let path = temp_dir("file");
        std::fs::write(&path, "x").unwrap();
        let err = DataDir::prepare(&path).unwrap_err();
        assert!(err.message.contains("is a file"), "{err}");
        let _ = std::fs::remove_file(&path);
    }
}
