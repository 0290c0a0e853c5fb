//! The local queue, timed: remembers when each job was first sent (by its FIFO
//! de-duplication id) and, at its first delivery, records how long it waited
//! (`warroom_job_wait_seconds`), as the Lambda worker does from SQS's `SentTimestamp`. Jobs
//! restored from the journal at start have no send time here and are not measured.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use warroom_core::{Delivery, Job, JobQueue, QueueResult};
use warroom_queue::batch::kind_label;

/// Past this many remembered sends, those older than `FORGET_AFTER` are dropped (sends the
/// queue de-duplicated away are never delivered, so nothing else would remove them).
const PRUNE_AT: usize = 10_000;
const FORGET_AFTER: Duration = Duration::from_secs(3600);

pub struct QueueWait {
    inner: Arc<dyn JobQueue>,
    sent: Mutex<HashMap<String, Instant>>,
}

impl QueueWait {
    pub fn new(inner: Arc<dyn JobQueue>) -> Self {
        Self { inner, sent: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl JobQueue for QueueWait {
    async fn send(&self, job: &Job) -> QueueResult<()> {
        {
            let mut sent = self.lock();
            if sent.len() >= PRUNE_AT {
                sent.retain(|_, at| at.elapsed() < FORGET_AFTER);
            }
            // A duplicate send keeps the first time: the queue keeps the first message.
            sent.entry(job.dedup_id()).or_insert_with(Instant::now);
        }
        self.inner.send(job).await
    }

    async fn receive(&self, max: usize, wait: Duration) -> QueueResult<Vec<Delivery>> {
        let deliveries = self.inner.receive(max, wait).await?;
        for delivery in deliveries.iter().filter(|d| d.receive_count == 1) {
            let Ok(job) = delivery.job() else { continue };
            if let Some(at) = self.lock().remove(&job.dedup_id()) {
                warroom_metrics::job_wait(kind_label(&job.kind), at.elapsed());
            }
        }
        Ok(deliveries)
    }

    async fn ack(&self, receipt: &str) -> QueueResult<()> {
        self.inner.ack(receipt).await
    }
    async fn defer(&self, receipt: &str, delay: Duration) -> QueueResult<()> {
        self.inner.defer(receipt, delay).await
    }
    async fn dead_letter(&self, delivery: &Delivery) -> QueueResult<()> {
        self.inner.dead_letter(delivery).await
    }
    async fn dead_letters(&self, max: usize) -> QueueResult<Vec<Delivery>> {
        self.inner.dead_letters(max).await
    }
    async fn redrive_dead_letters(&self) -> QueueResult<usize> {
        self.inner.redrive_dead_letters().await
    }
}
