//! Platform-neutral batch processing: the Lambda worker (SQS event records) and the local
//! worker loop both hand their deliveries to `process_batch`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
pub use warroom_core::ports::queue::{JobHandler, Outcome};
use warroom_core::{Delivery, JobQueue};

/// What became of a batch. `failed_message_ids` lists every message that must not be
/// deleted (deferred, retried and skipped), in delivery order: the Lambda worker returns
/// them as `batchItemFailures`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub done: usize,
    pub deferred: usize,
    pub retried: usize,
    /// Not handled because an earlier message of the same group failed in this batch.
    pub skipped: usize,
    pub failed_message_ids: Vec<String>,
}

impl BatchReport {
    /// How many messages were not done (`failed_message_ids.len()`).
    pub fn failed(&self) -> usize {
        self.failed_message_ids.len()
    }

    /// Adds another report's counts and failures to this one.
    pub fn absorb(&mut self, other: BatchReport) {
        self.done += other.done;
        self.deferred += other.deferred;
        self.retried += other.retried;
        self.skipped += other.skipped;
        self.failed_message_ids.extend(other.failed_message_ids);
    }
}

/// Handles `deliveries` in order and reports which failed.
///
/// - A malformed body is a `Retry("malformed job: ...")`: logged, reported failed, and left
///   to reach the dead-letter queue through the redrive policy.
/// - `Defer(d)`: `queue.defer(receipt, d)`, reported failed (if `defer` itself fails, it is
///   logged and still reported failed).
/// - `Retry`: reported failed, left for the visibility timeout.
/// - FIFO order: once a message of a group fails, the later messages of that group in the
///   batch are not handled but reported failed (`skipped`); after a `Defer(d)` they are
///   deferred by the same `d`, after a `Retry` they are left like it, so the group unblocks
///   together. Other groups are handled normally.
///
/// `ack_done`: whether to delete successful messages through the queue (local loop: true;
/// Lambda: false — Lambda deletes the messages not listed as failures).
pub async fn process_batch(queue: &dyn JobQueue, handler: &dyn JobHandler, deliveries: Vec<Delivery>, ack_done: bool) -> BatchReport {
    let mut report = BatchReport::default();
    // Group → the delay its failure was deferred by (`None`: left for the visibility timeout).
    let mut failed_groups: HashMap<String, Option<Duration>> = HashMap::new();

    for delivery in deliveries {
        if let Some(delay) = failed_groups.get(&delivery.group).copied() {
            tracing::debug!(message_id = %delivery.message_id, group = %delivery.group, "skipped: an earlier message of its group failed");
            report.skipped += 1;
            report.failed_message_ids.push(delivery.message_id.clone());
            if let Some(delay) = delay {
                defer_logged(queue, &delivery, delay).await;
            }
            continue;
        }

        let outcome = match delivery.job() {
            Ok(job) => handler.handle(&job, &delivery).await,
            Err(err) => {
                tracing::error!(
                    message_id = %delivery.message_id,
                    group = %delivery.group,
                    receive_count = delivery.receive_count,
                    error = %err,
                    "malformed job body"
                );
                Outcome::Retry(format!("malformed job: {err}"))
            }
        };

        match outcome {
            Outcome::Done => {
                report.done += 1;
                if ack_done {
                    if let Err(err) = queue.ack(&delivery.receipt).await {
                        // The job is done; at worst it is delivered and handled once more.
                        tracing::warn!(message_id = %delivery.message_id, error = %err, "ack failed");
                    }
                }
            }
            Outcome::Defer(delay) => {
                report.deferred += 1;
                report.failed_message_ids.push(delivery.message_id.clone());
                defer_logged(queue, &delivery, delay).await;
                failed_groups.insert(delivery.group.clone(), Some(delay));
            }
            Outcome::Retry(reason) => {
                tracing::warn!(
                    message_id = %delivery.message_id,
                    group = %delivery.group,
                    receive_count = delivery.receive_count,
                    %reason,
                    "job failed, left for retry"
                );
                report.retried += 1;
                report.failed_message_ids.push(delivery.message_id.clone());
                failed_groups.insert(delivery.group.clone(), None);
            }
        }
    }
    report
}

async fn defer_logged(queue: &dyn JobQueue, delivery: &Delivery, delay: Duration) {
    if let Err(err) = queue.defer(&delivery.receipt, delay).await {
        tracing::warn!(message_id = %delivery.message_id, ?delay, error = %err, "defer failed");
    }
}

/// How long the loop waits for messages per receive: also how long a shutdown may wait
/// for an idle receive to end.
const RECEIVE_WAIT: Duration = Duration::from_secs(1);
/// Pause after a failed receive.
const ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// The local worker: receives (up to 10, waiting up to 1 s), processes with
/// `ack_done = true`, until `shutdown` becomes `true` (or its sender is dropped). A batch
/// in hand is always finished first, and a receive under way is never cancelled, so no
/// message is left invisible for nothing.
pub async fn run_worker_loop(queue: Arc<dyn JobQueue>, handler: Arc<dyn JobHandler>, mut shutdown: watch::Receiver<bool>) {
    tracing::info!("worker loop started");
    loop {
        if *shutdown.borrow_and_update() || shutdown.has_changed().is_err() {
            break;
        }
        match queue.receive(10, RECEIVE_WAIT).await {
            Ok(deliveries) if deliveries.is_empty() => {}
            Ok(deliveries) => {
                let report = process_batch(queue.as_ref(), handler.as_ref(), deliveries, true).await;
                tracing::info!(done = report.done, deferred = report.deferred, retried = report.retried, skipped = report.skipped, "batch processed");
            }
            Err(err) => {
                tracing::warn!(error = %err, retryable = err.is_retryable(), "receive failed");
                tokio::select! {
                    _ = tokio::time::sleep(ERROR_BACKOFF) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
    tracing::info!("worker loop stopped");
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
