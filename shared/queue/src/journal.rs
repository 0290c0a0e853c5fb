//! The durable side of [`MemoryQueue`](super::MemoryQueue): an append-only journal of every change (JSON
//! lines), replayed at start, so a `kill -9` loses no job `send` accepted.
//!
//! Why a journal rather than the embedded store (redb): a redb commit is an fsync'd write
//! transaction (milliseconds), and the store file is held by the store adapter. Appending
//! one line per change is one `write(2)` (microseconds): in the kernel before the call
//! returns, so it survives the process being killed. Records are not fsync'd one by one, so
//! an OS crash or power cut may lose the last ones: the local stack's trade-off (SQS itself
//! is replicated). Compaction writes a snapshot to a temporary file, fsyncs it and renames
//! it over the journal, so a kill during compaction leaves the old journal or the new one.
//!
//! Every change is written before it is applied in memory (a failed write changes nothing
//! and is a retryable `QueueError::Unavailable`; the partial line is cut off again).
//!
//! Replay keeps SQS's semantics for a consumer that died: a message received and not acked
//! is visible again at once with its receive count kept (SQS would wait out the visibility
//! timeout; here the consumer is known to be gone); a deferred message stays invisible until
//! its deferral ends (a `ChangeMessageVisibility` outlives its consumer); dead letters,
//! deduplication ids still in their window and the message-id counter are kept. A torn last
//! line (killed mid-write: no newline yet) is dropped; an unreadable complete line is an
//! error naming the file and line.

use super::{State, Stored};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use warroom_core::Timestamp;

/// The journal is compacted once it is bigger than this and than `COMPACT_FACTOR` times
/// its size right after the last compaction (so a big backlog is not rewritten every time).
pub(crate) const COMPACT_MIN: u64 = 16 * 1024 * 1024;
const COMPACT_FACTOR: u64 = 4;

/// One change, or (in a snapshot) one piece of state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Record {
    /// A new message; `dedup` (first accepted `at`) when it counts for deduplication.
    Send {
        id: String,
        group: String,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dedup: Option<String>,
        at: i64,
    },
    /// Delivered once more each (in flight until acked, deferred or the consumer is gone).
    Receive {
        ids: Vec<String>,
    },
    /// Invisible until `until` (ms).
    Defer {
        id: String,
        until: i64,
    },
    Ack {
        id: String,
    },
    /// Moved to the dead letters after too many receives.
    Die {
        ids: Vec<String>,
    },
    /// A copy put straight into the dead letters (`dead_letter`).
    GiveUp {
        id: String,
        group: String,
        body: String,
        receive_count: u32,
    },
    /// Every dead letter back on the queue as a fresh message, with these new ids in order.
    Redrive {
        ids: Vec<String>,
    },
    /// Snapshot: a live message; `until` when it is deferred.
    Live {
        id: String,
        group: String,
        body: String,
        receive_count: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
    },
    /// Snapshot: a deduplication id and when it was first accepted.
    Dedup {
        key: String,
        at: i64,
    },
    /// Snapshot: the last message number handed out, and how many times the journal was
    /// opened (receipts carry it, so none of a dead process's is ever valid again).
    Counter {
        last: u64,
        #[serde(default)]
        generation: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot {action} the queue journal {}: {source}", .path.display())]
    Io { action: &'static str, path: PathBuf, source: io::Error },
    #[error("the queue journal {} is damaged at line {line} ({reason}); move it aside to start without the jobs it holds", .path.display())]
    Corrupt { path: PathBuf, line: usize, reason: String },
}

impl JournalError {
    /// An I/O failure may pass (a full disk freed); a damaged file stays damaged.
    pub fn is_retryable(&self) -> bool {
        matches!(self, JournalError::Io { .. })
    }
}

/// What a durable queue found in its journal when it opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Live messages (visible, deferred or formerly in flight).
    pub live: usize,
    /// Of those, received and not acked when the last process stopped: visible again.
    pub were_in_flight: usize,
    /// Of those, still deferred.
    pub deferred: usize,
    pub dead: usize,
    /// The last record was cut short (the process died while writing it) and was dropped.
    pub torn_tail: bool,
}

/// The open journal file, appended to.
pub(crate) struct Journal {
    pub path: PathBuf,
    file: File,
    /// Bytes in the file: a failed append is cut back to this.
    len: u64,
    /// Size right after the last compaction.
    base: u64,
    compact_min: u64,
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> JournalError {
    let path = path.to_path_buf();
    move |source| JournalError::Io { action, path, source }
}

impl Journal {
    /// Writes `records` as the whole journal (temporary file, fsync, rename) and opens it
    /// for appending.
    pub fn create(path: &Path, records: &[Record], compact_min: u64) -> Result<Journal, JournalError> {
        let mut bytes = Vec::new();
        for record in records {
            serde_json::to_writer(&mut bytes, record).expect("journal records serialize");
            bytes.push(b'\n');
        }
        let tmp = path.with_extension("journal-tmp");
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        {
            let mut file = options.open(&tmp).map_err(io_error("write", &tmp))?;
            file.write_all(&bytes).map_err(io_error("write", &tmp))?;
            file.sync_all().map_err(io_error("write", &tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io_error("replace", path))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename itself survives a power cut once the directory is synced; best effort.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        let file = OpenOptions::new().append(true).open(path).map_err(io_error("open", path))?;
        let len = bytes.len() as u64;
        Ok(Journal { path: path.to_path_buf(), file, len, base: len, compact_min })
    }

    /// One record, one `write(2)`.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).expect("journal records serialize");
        line.push(b'\n');
        if let Err(e) = self.file.write_all(&line) {
            // Cut the partial line off, so the next record starts a line of its own.
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        self.len += line.len() as u64;
        Ok(())
    }

    pub fn needs_compaction(&self) -> bool {
        self.len > self.compact_min.max(self.base.saturating_mul(COMPACT_FACTOR))
    }

    pub fn compact_min(&self) -> u64 {
        self.compact_min
    }

    /// Swaps the append handle for a read-only one: every later write fails.
    #[cfg(test)]
    pub fn break_for_tests(&mut self) {
        self.file = File::open(&self.path).expect("the journal exists");
    }
}

/// The records of the journal at `path` (none if there is no file), and whether a torn
/// last line was dropped.
pub(crate) fn read(path: &Path) -> Result<(Vec<Record>, bool), JournalError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), false)),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // After the last newline: empty, or a record whose write never finished.
    let torn = !lines.pop().unwrap_or_default().is_empty();
    let mut records = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = serde_json::from_slice(line).map_err(|e| JournalError::Corrupt { path: path.to_path_buf(), line: i + 1, reason: e.to_string() })?;
        records.push(record);
    }
    Ok((records, torn))
}

/// `mem-0000000042` → 42.
fn number(id: &str) -> Option<u64> {
    id.strip_prefix("mem-")?.parse().ok()
}

fn fresh(id: String, group: String, body: String, receive_count: u32) -> Stored {
    Stored { id, group, body, receive_count, visible_at: Timestamp(0), receipt: None, deferred: false }
}

/// The number of a message id, raising the counter past it.
fn seen(state: &mut State, id: &str) -> Option<u64> {
    let n = number(id)?;
    state.next_message = state.next_message.max(n);
    Some(n)
}

/// Rebuilds the queue's state from its records. Live messages are kept by number: they
/// are created in number order and appended, so that is their send order.
pub(crate) fn replay(state: &mut State, records: Vec<Record>) -> Recovered {
    let mut live: BTreeMap<u64, Stored> = BTreeMap::new();
    let mut in_flight = std::collections::HashSet::new();
    for record in records {
        match record {
            Record::Send { id, group, body, dedup, at } => {
                if let Some(key) = dedup {
                    state.dedup.insert(key, Timestamp(at));
                }
                if let Some(n) = seen(state, &id) {
                    live.insert(n, fresh(id, group, body, 0));
                }
            }
            Record::Live { id, group, body, receive_count, until } => {
                if let Some(n) = seen(state, &id) {
                    let mut m = fresh(id, group, body, receive_count);
                    if let Some(until) = until {
                        (m.visible_at, m.deferred) = (Timestamp(until), true);
                    }
                    live.insert(n, m);
                }
            }
            Record::Receive { ids } => {
                for n in ids.iter().filter_map(|id| number(id)) {
                    if let Some(m) = live.get_mut(&n) {
                        // The consumer is gone: visible again at once.
                        (m.receive_count, m.visible_at, m.deferred) = (m.receive_count + 1, Timestamp(0), false);
                        in_flight.insert(n);
                    }
                }
            }
            Record::Defer { id, until } => {
                if let Some(m) = number(&id).and_then(|n| live.get_mut(&n)) {
                    (m.visible_at, m.deferred) = (Timestamp(until), true);
                }
            }
            Record::Ack { id } => {
                if let Some(n) = number(&id) {
                    live.remove(&n);
                }
            }
            Record::Die { ids } => {
                for n in ids.iter().filter_map(|id| number(id)) {
                    if let Some(m) = live.remove(&n) {
                        state.dead.push(m);
                    }
                }
            }
            Record::GiveUp { id, group, body, receive_count } => {
                seen(state, &id);
                state.dead.push(fresh(id, group, body, receive_count));
            }
            Record::Redrive { ids } => {
                let dead = std::mem::take(&mut state.dead);
                for (m, id) in dead.into_iter().zip(ids) {
                    if let Some(n) = seen(state, &id) {
                        live.insert(n, fresh(id, m.group, m.body, 0));
                    }
                }
            }
            Record::Dedup { key, at } => {
                state.dedup.insert(key, Timestamp(at));
            }
            Record::Counter { last, generation } => {
                state.next_message = state.next_message.max(last);
                state.generation = state.generation.max(generation);
            }
        }
    }
    let recovered = Recovered {
        live: live.len(),
        were_in_flight: live.iter().filter(|(n, m)| in_flight.contains(*n) && !m.deferred).count(),
        // Counted by the caller, which knows what time it is.
        deferred: 0,
        dead: state.dead.len(),
        torn_tail: false,
    };
    state.messages = live.into_values().collect();
    recovered
}

/// The state as records that [`replay`] turns back into it (in-flight messages are written
/// as visible: whoever holds them is gone once this snapshot is read back).
pub(crate) fn snapshot(state: &State) -> Vec<Record> {
    let mut records = vec![Record::Counter { last: state.next_message, generation: state.generation }];
    let mut dedup: Vec<(&String, &Timestamp)> = state.dedup.iter().collect();
    dedup.sort_by_key(|(_, at)| **at);
    records.extend(dedup.into_iter().map(|(key, at)| Record::Dedup { key: key.clone(), at: at.0 }));
    records.extend(state.messages.iter().map(|m| Record::Live {
        id: m.id.clone(),
        group: m.group.clone(),
        body: m.body.clone(),
        receive_count: m.receive_count,
        until: m.deferred.then_some(m.visible_at.0),
    }));
    records.extend(state.dead.iter().map(|m| Record::GiveUp {
        id: m.id.clone(),
        group: m.group.clone(),
        body: m.body.clone(),
        receive_count: m.receive_count,
    }));
    records
}
