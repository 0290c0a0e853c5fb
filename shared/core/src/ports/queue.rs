//! The `JobQueue` port: SQS FIFO semantics. Adapters: SQS and in-process (crate
//! `warroom-queue`); one conformance suite checks both.

use crate::job::Job;

use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue unavailable: {message}")]
    Unavailable { message: String, retryable: bool },
    /// The receipt is stale (the message was re-delivered or deleted meanwhile).
    #[error("the receipt is no longer valid")]
    StaleReceipt,
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl QueueError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, QueueError::Unavailable { retryable: true, .. })
    }
}

pub type QueueResult<T> = Result<T, QueueError>;

/// A received message. `body` is kept raw: a malformed body must still be reported
/// (and end in the dead-letter queue), not crash the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    /// Handle for ack / defer; changes with every delivery.
    pub receipt: String,
    pub group: String,
    pub body: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

impl Delivery {
    pub fn job(&self) -> Result<Job, serde_json::Error> {
        Job::from_json(&self.body)
    }
}

/// The longest a message can be deferred (SQS caps visibility at 12 hours).
pub const MAX_DEFER: Duration = Duration::from_secs(12 * 60 * 60);

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues in the job's group. A second job with the same `dedup_id` within the
    /// deduplication window (5 minutes) is accepted and dropped.
    async fn send(&self, job: &Job) -> QueueResult<()>;
    /// Up to `max` (1..=10) visible messages, waiting up to `wait` for the first. A group
    /// with a message in flight delivers nothing more until that one is done.
    async fn receive(&self, max: usize, wait: Duration) -> QueueResult<Vec<Delivery>>;
    /// Done: delete the message.
    async fn ack(&self, receipt: &str) -> QueueResult<()>;
    /// Keep the message (and so its group) invisible for `delay`, then deliver it again.
    /// Zero makes it visible at once. Capped at `MAX_DEFER`.
    async fn defer(&self, receipt: &str, delay: Duration) -> QueueResult<()>;
    /// Puts a copy of the delivery in the dead-letter queue now: a job given up on, kept for
    /// a redrive. The caller then acknowledges the original.
    async fn dead_letter(&self, delivery: &Delivery) -> QueueResult<()>;
    /// Messages moved to the dead-letter queue after too many receives (peeked, not taken).
    async fn dead_letters(&self, max: usize) -> QueueResult<Vec<Delivery>>;
    /// Moves every dead letter back to the main queue; returns how many.
    async fn redrive_dead_letters(&self) -> QueueResult<usize>;
}

/// What a handler made of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the message is deleted.
    Done,
    /// Not yet (e.g. a rate limit or a snooze): deliver it again after this delay. Its
    /// group waits with it.
    Defer(Duration),
    /// Failed: leave it for the visibility timeout; after too many receives it reaches
    /// the dead-letter queue.
    Retry(String),
    /// Given up: the handler moved the job to the dead-letter queue, so it is deleted here
    /// like a done one but counted as given up, not as processed.
    GaveUp,
}

#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn handle(&self, job: &Job, delivery: &Delivery) -> Outcome;
}
