//! `MemoryQueue`: an in-process `JobQueue` with the semantics of an SQS FIFO queue with a
//! redrive policy, for the local worker loop and for tests. Time (visibility, the
//! deduplication window) comes from an injectable `Clock`, so tests can move it by hand.
//!
//! Semantics, as SQS FIFO:
//! - messages are delivered in send order within a group; one receive may return several
//!   messages of the same group (in order), as SQS does;
//! - a group with a message in flight (received or deferred, not acked, visibility not
//!   expired) delivers nothing else until that message is acked or visible again;
//! - a second send with the same `job.dedup_id()` within 5 minutes of the first accepted
//!   one is accepted and dropped (even if the first was acked meanwhile);
//! - a message already received `max_receive_count` times moves to the dead-letter list
//!   on the next receive that would deliver it;
//! - a receipt is valid only while it is the message's latest one and the message is in
//!   flight: after a re-delivery, an ack, a `defer(.., 0)` or the visibility timeout
//!   passing, `ack` / `defer` answer `StaleReceipt` (SQS FIFO rejects expired receipts too).
//!
//! [`MemoryQueue::durable`] keeps the same queue in a journal file as well, so it survives
//! the process being killed (see `journal.rs`); [`MemoryQueue::new`] keeps it in memory only.

use async_trait::async_trait;
use journal::{Journal, Record};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use warroom_core::ports::queue::MAX_DEFER;
use warroom_core::{Clock, Delivery, Job, JobQueue, QueueError, QueueResult, Timestamp};

/// How long a deduplication id is remembered (SQS FIFO: 5 minutes).
pub const DEDUP_WINDOW: Duration = Duration::from_secs(5 * 60);
/// The longest a receive waits (SQS: `WaitTimeSeconds` ≤ 20).
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// How often a waiting receive re-checks visibility deadlines (the clock may be a manual
/// one that no timer follows); sends, acks and defers wake it at once.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryQueueConfig {
    /// How long a received message stays invisible (and its group blocked) unless acked or deferred.
    pub visibility_timeout: Duration,
    /// Receives after which a message goes to the dead-letter list (values below 1 count as 1).
    pub max_receive_count: u32,
}

impl Default for MemoryQueueConfig {
    fn default() -> Self {
        // Every delivery counts, deferrals for rate limits included, so this is a safety net
        // for crashes and poison messages; the engine gives up on failing jobs itself (as
        // the SQS redrive policy in template.yaml).
        Self { visibility_timeout: Duration::from_secs(30), max_receive_count: 100 }
    }
}

#[derive(Clone, Debug)]
struct Stored {
    id: String,
    group: String,
    body: String,
    receive_count: u32,
    /// In flight while `visible_at > now` (only ever set by a receive or a defer).
    visible_at: Timestamp,
    /// The latest receipt; `None` before the first delivery.
    receipt: Option<String>,
    /// Invisible because of a `defer` (not a receive): the journal keeps that across restarts.
    deferred: bool,
}

impl Stored {
    fn in_flight(&self, now: Timestamp) -> bool {
        self.visible_at > now
    }

    fn delivery(&self) -> Delivery {
        Delivery {
            message_id: self.id.clone(),
            receipt: self.receipt.clone().unwrap_or_default(),
            group: self.group.clone(),
            body: self.body.clone(),
            receive_count: self.receive_count,
        }
    }
}

#[derive(Default)]
struct State {
    /// Live messages, in send order.
    messages: Vec<Stored>,
    /// Dead letters, in the order they died.
    dead: Vec<Stored>,
    /// Deduplication id → when it was first accepted.
    dedup: HashMap<String, Timestamp>,
    next_message: u64,
    next_receipt: u64,
    /// For a durable queue, how many times its journal was opened (0: not durable).
    generation: u64,
    /// Where every change is written first, for a durable queue.
    journal: Option<Journal>,
}

impl State {
    fn new_message(&mut self, group: String, body: String, now: Timestamp) -> Stored {
        self.next_message += 1;
        Stored { id: format!("mem-{:010}", self.next_message), group, body, receive_count: 0, visible_at: now, receipt: None, deferred: false }
    }

    /// The index of the in-flight message whose latest receipt is `receipt`.
    fn find_in_flight(&self, receipt: &str, now: Timestamp) -> QueueResult<usize> {
        self.messages.iter().position(|m| m.receipt.as_deref() == Some(receipt) && m.in_flight(now)).ok_or(QueueError::StaleReceipt)
    }
}

/// An in-process SQS-FIFO-like queue. Cheap to share behind an `Arc`.
pub struct MemoryQueue {
    config: MemoryQueueConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    changed: Notify,
}

impl MemoryQueue {
    pub fn new(config: MemoryQueueConfig, clock: Arc<dyn Clock>) -> Self {
        Self { config, clock, state: Mutex::new(State::default()), changed: Notify::new() }
    }

    /// Dead letters held.
    pub fn dead_len(&self) -> usize {
        self.lock().dead.len()
    }

    pub fn config(&self) -> &MemoryQueueConfig {
        &self.config
    }

    /// Live messages (visible or in flight), not counting dead letters.
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages currently in flight (received or deferred, not acked, not yet visible again).
    pub fn in_flight(&self) -> usize {
        let now = self.clock.now();
        self.lock().messages.iter().filter(|m| m.in_flight(now)).count()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way
        // that matters more than losing the queue: keep serving.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One non-waiting receive attempt.
    fn take_visible(&self, max: usize) -> QueueResult<Vec<Delivery>> {
        let now = self.clock.now();
        let max_receives = self.config.max_receive_count.max(1);
        let mut state = self.lock();
        let state = &mut *state;

        // Groups blocked by a message in flight from an earlier receive or a defer.
        let blocked: HashSet<String> = state.messages.iter().filter(|m| m.in_flight(now)).map(|m| m.group.clone()).collect();

        // Decided first, so the journal has it before anything changes.
        let (mut deliver, mut dead_idx) = (Vec::new(), Vec::new());
        for (i, m) in state.messages.iter().enumerate() {
            if deliver.len() >= max {
                break;
            }
            if blocked.contains(&m.group) {
                continue;
            }
            if m.receive_count >= max_receives {
                dead_idx.push(i);
                continue;
            }
            deliver.push(i);
        }
        if !deliver.is_empty() {
            log(&mut state.journal, || Record::Receive { ids: deliver.iter().map(|&i| state.messages[i].id.clone()).collect() })?;
        }
        let mut out = Vec::with_capacity(deliver.len());
        for i in deliver {
            state.next_receipt += 1;
            let m = &mut state.messages[i];
            m.receive_count += 1;
            m.receipt = Some(match state.generation {
                0 => format!("{}#{}", m.id, state.next_receipt),
                // Receipts from before a restart must never match again.
                g => format!("{}#{g}.{}", m.id, state.next_receipt),
            });
            m.visible_at = now.plus(self.config.visibility_timeout);
            m.deferred = false;
            out.push(m.delivery());
        }
        if !dead_idx.is_empty() {
            let ids = || Record::Die { ids: dead_idx.iter().map(|&i| state.messages[i].id.clone()).collect() };
            if let Err(e) = log(&mut state.journal, ids) {
                // They stay live; the next receive tries again.
                tracing::warn!(error = %e, "dead letters not moved");
                dead_idx.clear();
            }
        }
        for i in dead_idx.into_iter().rev() {
            let m = state.messages.remove(i);
            tracing::warn!(message_id = %m.id, group = %m.group, receives = m.receive_count, "message moved to the dead-letter list");
            state.dead.push(m);
        }
        state.settle();
        Ok(out)
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn send(&self, job: &Job) -> QueueResult<()> {
        let now = self.clock.now();
        let dedup_id = job.dedup_id();
        {
            let mut state = self.lock();
            state.dedup.retain(|_, first| first.plus(DEDUP_WINDOW) > now);
            if state.dedup.contains_key(&dedup_id) {
                tracing::debug!(%dedup_id, "duplicate job dropped");
                return Ok(());
            }
            let message = state.new_message(job.group(), job.to_json(), now);
            log(&mut state.journal, || Record::Send {
                id: message.id.clone(),
                group: message.group.clone(),
                body: message.body.clone(),
                dedup: Some(dedup_id.clone()),
                at: now.0,
            })?;
            state.dedup.insert(dedup_id, now);
            state.messages.push(message);
            state.settle();
        }
        self.changed.notify_waiters();
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> QueueResult<Vec<Delivery>> {
        if !(1..=10).contains(&max) {
            return Err(QueueError::Invalid(format!("receive max must be 1..=10, got {max}")));
        }
        let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
        loop {
            // Register for wake-ups before looking, so a send in between is not missed.
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let got = self.take_visible(max)?;
            if !got.is_empty() {
                return Ok(got);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(got);
            }
            let nap = (deadline - now).min(POLL_INTERVAL);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn ack(&self, receipt: &str) -> QueueResult<()> {
        let now = self.clock.now();
        {
            let mut guard = self.lock();
            let state = &mut *guard;
            let i = state.find_in_flight(receipt, now)?;
            log(&mut state.journal, || Record::Ack { id: state.messages[i].id.clone() })?;
            state.messages.remove(i);
            state.settle();
        }
        self.changed.notify_waiters();
        Ok(())
    }

    async fn defer(&self, receipt: &str, delay: Duration) -> QueueResult<()> {
        let now = self.clock.now();
        {
            let mut guard = self.lock();
            let state = &mut *guard;
            let i = state.find_in_flight(receipt, now)?;
            let until = now.plus(delay.min(MAX_DEFER));
            log(&mut state.journal, || Record::Defer { id: state.messages[i].id.clone(), until: until.0 })?;
            let m = &mut state.messages[i];
            (m.visible_at, m.deferred) = (until, true);
            state.settle();
        }
        self.changed.notify_waiters();
        Ok(())
    }

    /// The first `max` dead letters, oldest first; their `receipt` is the last one they
    /// had on the main queue (useless for `ack`).
    async fn dead_letters(&self, max: usize) -> QueueResult<Vec<Delivery>> {
        Ok(self.lock().dead.iter().take(max).map(Stored::delivery).collect())
    }

    async fn dead_letter(&self, delivery: &Delivery) -> QueueResult<()> {
        let now = self.clock.now();
        let mut state = self.lock();
        let mut copy = state.new_message(delivery.group.clone(), delivery.body.clone(), now);
        copy.receive_count = delivery.receive_count;
        log(&mut state.journal, || Record::GiveUp {
            id: copy.id.clone(),
            group: copy.group.clone(),
            body: copy.body.clone(),
            receive_count: copy.receive_count,
        })?;
        tracing::warn!(message_id = %delivery.message_id, group = %delivery.group, "message given up on: moved to the dead-letter list");
        state.dead.push(copy);
        state.settle();
        Ok(())
    }

    /// Appends every dead letter to the end of its group, as a new message (new id,
    /// receive count 0) that no deduplication id blocks.
    async fn redrive_dead_letters(&self) -> QueueResult<usize> {
        let now = self.clock.now();
        let moved = {
            let mut state = self.lock();
            if state.dead.is_empty() {
                return Ok(0);
            }
            let dead = std::mem::take(&mut state.dead);
            let fresh: Vec<Stored> = dead.iter().map(|m| state.new_message(m.group.clone(), m.body.clone(), now)).collect();
            if let Err(e) = log(&mut state.journal, || Record::Redrive { ids: fresh.iter().map(|m| m.id.clone()).collect() }) {
                state.dead = dead;
                return Err(e);
            }
            let moved = fresh.len();
            state.messages.extend(fresh);
            state.settle();
            moved
        };
        if moved > 0 {
            self.changed.notify_waiters();
        }
        Ok(moved)
    }
}

#[path = "durable.rs"]
mod durable;
#[path = "journal.rs"]
mod journal;
use durable::log;
pub use journal::{JournalError, Recovered};

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "durable_tests.rs"]
mod durable_tests;
