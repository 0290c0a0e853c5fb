//! How late deferred jobs come back: a job deferred to its reserved slot is handled at
//! `slot + lateness` (the queue's polling, the batch it arrives in, other jobs before it),
//! and its call lands on DingTalk that much after the slot its bucket charged. Calls
//! charged to earlier slots then share a second with on-time ones, so a bucket granting `k`
//! calls in any second needs `20 × interval − 1000 ms` of slack over the worst lateness.
//!
//! [`LatenessQueue`] notes when each deferred message is due; [`LatenessHandler`] measures,
//! when the job is handed to the engine again, how far past that it is.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use warroom_core::*;

#[derive(Default)]
pub struct Lateness {
    inner: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// receipt → message id, for `defer` (which names the receipt only).
    receipts: HashMap<String, String>,
    /// message id → when it is due again.
    due: HashMap<String, Instant>,
    samples: Vec<Duration>,
}

impl Lateness {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sorted lateness samples, one per redelivered deferred job.
    pub fn samples(&self) -> Vec<Duration> {
        let mut s = self.lock().samples.clone();
        s.sort();
        s
    }
}

/// The queue, with each deferral's due time noted.
pub struct LatenessQueue {
    pub inner: Arc<dyn JobQueue>,
    pub lateness: Arc<Lateness>,
}

#[async_trait]
impl JobQueue for LatenessQueue {
    async fn send(&self, job: &Job) -> QueueResult<()> {
        self.inner.send(job).await
    }
    async fn receive(&self, max: usize, wait: Duration) -> QueueResult<Vec<Delivery>> {
        let got = self.inner.receive(max, wait).await?;
        let mut st = self.lateness.lock();
        for d in &got {
            st.receipts.insert(d.receipt.clone(), d.message_id.clone());
        }
        Ok(got)
    }
    async fn ack(&self, receipt: &str) -> QueueResult<()> {
        self.lateness.lock().receipts.remove(receipt);
        self.inner.ack(receipt).await
    }
    async fn defer(&self, receipt: &str, delay: Duration) -> QueueResult<()> {
        {
            let mut st = self.lateness.lock();
            if let Some(id) = st.receipts.remove(receipt) {
                st.due.insert(id, Instant::now() + delay);
            }
        }
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

/// The handler, measuring how late each redelivered deferred job starts.
///
/// `jitter: false` shows the engine every delivery as at most its third
/// (`receive_count` ≤ 3), which turns off `contention_jitter` — the random extra wait the
/// engine adds to rate-limit deferrals from the fourth receive on, reserved slots included
/// — to measure what an engine that does not jitter waits for its own reservations would
/// do. The true count still reaches `counters.max_receive_count`.
pub struct LatenessHandler {
    pub inner: Arc<dyn JobHandler>,
    pub lateness: Arc<Lateness>,
    pub jitter: bool,
    pub counters: Arc<crate::wrap::Counters>,
}

#[async_trait]
impl JobHandler for LatenessHandler {
    async fn handle(&self, job: &Job, delivery: &Delivery) -> Outcome {
        {
            let mut st = self.lateness.lock();
            if let Some(due) = st.due.remove(&delivery.message_id) {
                let late = Instant::now().saturating_duration_since(due);
                st.samples.push(late);
            }
        }
        self.counters.max_receive_count.fetch_max(u64::from(delivery.receive_count), std::sync::atomic::Ordering::Relaxed);
        if self.jitter || delivery.receive_count <= 3 {
            return self.inner.handle(job, delivery).await;
        }
        let shown = Delivery { receive_count: 3, ..delivery.clone() };
        self.inner.handle(job, &shown).await
    }
}

/// The `q`-quantile of sorted samples.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
