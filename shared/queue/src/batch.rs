//! Platform-neutral batch processing: the Lambda worker (SQS event records) and the local
//! worker loop both hand their deliveries to `process_batch`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
pub use warroom_core::ports::queue::{JobHandler, Outcome};
use warroom_core::{Delivery, Job, JobKind, JobQueue};
use warroom_metrics::JobOutcome;

/// The `kind` label of a job's metrics (its wire tag): a closed set, never an id.
pub fn kind_label(kind: &JobKind) -> &'static str {
    kind.label()
}

/// A body that does not parse: counted under this kind.
const MALFORMED: &str = "malformed";

fn count(job: Option<&Job>, outcome: JobOutcome) {
    let (kind, tenant) = job.map_or((MALFORMED, None), |j| (kind_label(&j.kind), Some(j.tenant_id.as_str())));
    warroom_metrics::job(kind, outcome, tenant);
}

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
///
/// Metrics: every delivery counts once in `warroom_jobs_total` (processed, deferred, retried,
/// skipped; `given_up` for a job the handler parked in the dead-letter queue and for a
/// malformed body, which can only end there), and
/// each handled job's run time in `warroom_job_run_seconds`. Queue wait needs the enqueue
/// time, which a `Delivery` does not carry: the Lambda worker reads it from SQS.
pub async fn process_batch(queue: &dyn JobQueue, handler: &dyn JobHandler, deliveries: Vec<Delivery>, ack_done: bool) -> BatchReport {
    let mut report = BatchReport::default();
    // Group → the delay its failure was deferred by (`None`: left for the visibility timeout).
    let mut failed_groups: HashMap<String, Option<Duration>> = HashMap::new();

    for delivery in deliveries {
        if let Some(delay) = failed_groups.get(&delivery.group).copied() {
            tracing::debug!(message_id = %delivery.message_id, group = %delivery.group, "skipped: an earlier message of its group failed");
            report.skipped += 1;
            count(delivery.job().ok().as_ref(), JobOutcome::Skipped);
            report.failed_message_ids.push(delivery.message_id.clone());
            if let Some(delay) = delay {
                defer_logged(queue, &delivery, delay).await;
            }
            continue;
        }

        let parsed = delivery.job();
        let outcome = match &parsed {
            Ok(job) => {
                let started = Instant::now();
                let outcome = handler.handle(job, &delivery).await;
                warroom_metrics::job_run(kind_label(&job.kind), started.elapsed());
                outcome
            }
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
        let job = parsed.as_ref().ok();
        count(
            job,
            match (&outcome, job) {
                (_, None) => JobOutcome::GivenUp,
                (Outcome::Done, _) => JobOutcome::Processed,
                (Outcome::GaveUp, _) => JobOutcome::GivenUp,
                (Outcome::Defer(_), _) => JobOutcome::Deferred,
                (Outcome::Retry(_), _) => JobOutcome::Retried,
            },
        );

        match outcome {
            Outcome::Done | Outcome::GaveUp => {
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

#[cfg(test)]
mod metric_tests {
    use super::*;
    use crate::memory::{MemoryQueue, MemoryQueueConfig};
    use warroom_core::{ManualClock, Timestamp};

    struct Answer;

    #[async_trait::async_trait]
    impl JobHandler for Answer {
        async fn handle(&self, job: &Job, _: &Delivery) -> Outcome {
            if job.dedup_key == "later" {
                Outcome::Defer(Duration::from_secs(5))
            } else if job.dedup_key == "dead" {
                Outcome::GaveUp
            } else {
                Outcome::Done
            }
        }
    }

    fn delivery(incident: &str, key: &str, body: Option<&str>) -> Delivery {
        let job = Job::reconcile("t1".into(), incident.into(), 1);
        let job = Job { dedup_key: key.into(), ..job };
        let body = body.map_or_else(|| job.to_json(), str::to_owned);
        Delivery { message_id: format!("m-{key}"), receipt: format!("r-{key}"), group: job.group(), body, receive_count: 1 }
    }

    #[test]
    fn every_delivery_counts_once_by_kind_and_outcome_and_a_job_given_up_is_not_also_processed() {
        let recorder = warroom_metrics::emf::EmfRecorder::new("Warroom");
        let queue = MemoryQueue::new(MemoryQueueConfig::default(), Arc::new(ManualClock::at(Timestamp(0))));
        let batch = vec![
            delivery("a", "now", None),
            delivery("b", "later", None),
            delivery("b", "after", None),
            delivery("c", "bad", Some("{}")),
            delivery("d", "dead", None),
        ];
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        metrics::with_local_recorder(&recorder, || runtime.block_on(process_batch(&queue, &Answer, batch, false)));
        let text = recorder.drain_lines(1_700_000_000_000).join("\n");
        let counts = [("reconcile", "processed"), ("reconcile", "deferred"), ("reconcile", "skipped"), ("reconcile", "given_up"), ("malformed", "given_up")];
        for (kind, outcome) in counts {
            let line = text.lines().find(|l| l.contains(&format!(r#""kind":"{kind}""#)) && l.contains(&format!(r#""outcome":"{outcome}""#)));
            assert!(line.is_some_and(|l| l.contains(r#""warroom_jobs_total":1"#)), "{kind}/{outcome} in {text}");
        }
        assert!(text.contains("warroom_job_run_seconds"), "{text}");
        assert!(text.contains(r#""tenant":"t1""#), "the tenant rides along as a property: {text}");
    }
}
