//! What makes a [`MemoryQueue`] durable: opening it from its journal, writing each change
//! ahead, and compacting the journal (the file format and its replay are in `journal.rs`).

use super::journal::{self, Journal, JournalError, Record, Recovered};
use super::{MemoryQueue, MemoryQueueConfig, State, DEDUP_WINDOW};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use warroom_core::{Clock, QueueError, QueueResult};

/// Writes a change to the journal before it is applied (no-op without one). The record is
/// built only when there is a journal. (A free function, so the closure may borrow the
/// state's other fields.)
pub(super) fn log(journal: &mut Option<Journal>, record: impl FnOnce() -> Record) -> QueueResult<()> {
    let Some(journal) = journal.as_mut() else { return Ok(()) };
    journal
        .append(&record())
        .map_err(|e| QueueError::Unavailable { message: format!("cannot write the queue journal {}: {e}", journal.path.display()), retryable: true })
}

impl State {
    /// Rewrites the journal as a snapshot of the state.
    pub(super) fn compact(&mut self) -> Result<(), JournalError> {
        let Some(journal) = &self.journal else { return Ok(()) };
        let (path, min) = (journal.path.clone(), journal.compact_min());
        self.journal = Some(Journal::create(&path, &journal::snapshot(self), min)?);
        Ok(())
    }

    /// After a change: compacts the journal once it has grown enough. A failure leaves
    /// the old journal, still complete, in use.
    pub(super) fn settle(&mut self) {
        if self.journal.as_ref().is_some_and(Journal::needs_compaction) {
            if let Err(e) = self.compact() {
                tracing::warn!(error = %e, "queue journal not compacted; still appending to it");
            }
        }
    }
}

impl MemoryQueue {
    /// The queue kept in the journal file at `path` too: replays it (created if missing),
    /// compacts it, and writes every later change to it before applying it.
    pub fn durable(path: impl AsRef<Path>, config: MemoryQueueConfig, clock: Arc<dyn Clock>) -> Result<(Self, Recovered), JournalError> {
        Self::durable_with(path.as_ref(), config, clock, journal::COMPACT_MIN)
    }

    pub(super) fn durable_with(path: &Path, config: MemoryQueueConfig, clock: Arc<dyn Clock>, compact_min: u64) -> Result<(Self, Recovered), JournalError> {
        let (records, torn_tail) = journal::read(path)?;
        if torn_tail {
            tracing::warn!(journal = %path.display(), "the last queue journal record was cut short (the process died writing it): dropped");
        }
        let mut state = State::default();
        let mut recovered = journal::replay(&mut state, records);
        recovered.torn_tail = torn_tail;
        state.generation += 1;
        let now = clock.now();
        recovered.deferred = state.messages.iter().filter(|m| m.deferred && m.in_flight(now)).count();
        state.dedup.retain(|_, first| first.plus(DEDUP_WINDOW) > now);
        state.journal = Some(Journal::create(path, &journal::snapshot(&state), compact_min)?);
        Ok((Self { config, clock, state: Mutex::new(state), changed: Notify::new() }, recovered))
    }

    /// Rewrites the journal as a snapshot of the queue (at a clean shutdown: the next start
    /// reads only that). No-op for a queue without a journal.
    pub fn compact(&self) -> Result<(), JournalError> {
        let now = self.clock.now();
        let mut state = self.lock();
        state.dedup.retain(|_, first| first.plus(DEDUP_WINDOW) > now);
        state.compact()
    }
}
