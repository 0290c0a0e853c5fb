//! The worker: `--workers` loops of `run_worker_loop` over the in-process queue, with the
//! engine as handler (what the Lambda worker runs per SQS batch), and a drain for shutdown.

use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use warroom_core::{Delivery, Job, JobHandler, JobQueue, Outcome};
use warroom_engine::Engine;
use warroom_queue::{run_worker_loop, MemoryQueue};

// Declared here (lib.rs lists the public modules): the loops receive through it.
#[path = "queue_wait.rs"]
mod queue_wait;
pub use queue_wait::QueueWait;

/// The engine, counting the jobs it is handling right now (to tell a quiet queue from a
/// busy one at shutdown: deferred messages and messages being handled both look in flight).
struct Tracked {
    engine: Engine,
    active: Arc<AtomicUsize>,
}

struct ActiveGuard<'a>(&'a AtomicUsize);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl JobHandler for Tracked {
    async fn handle(&self, job: &Job, delivery: &Delivery) -> Outcome {
        self.active.fetch_add(1, Ordering::SeqCst);
        let _guard = ActiveGuard(&self.active);
        self.engine.handle(job, delivery).await
    }
}

pub struct Workers {
    queue: Arc<MemoryQueue>,
    active: Arc<AtomicUsize>,
    shutdown: watch::Sender<bool>,
    loops: Vec<JoinHandle<()>>,
}

impl Workers {
    /// `receive_from`: the queue the loops take jobs from (`queue` itself, or `QueueWait`
    /// over it so queue waits are measured); `queue` is read for the drain's idle check.
    pub fn start(count: usize, queue: Arc<MemoryQueue>, receive_from: Arc<dyn JobQueue>, engine: Engine) -> Self {
        let active = Arc::new(AtomicUsize::new(0));
        let handler: Arc<dyn JobHandler> = Arc::new(Tracked { engine, active: active.clone() });
        let (shutdown, _) = watch::channel(false);
        let loops = (0..count).map(|_| tokio::spawn(run_worker_loop(receive_from.clone(), handler.clone(), shutdown.subscribe()))).collect();
        Self { queue, active, shutdown, loops }
    }

    /// Nothing visible in the queue and no job being handled.
    fn idle(&self) -> bool {
        let visible = self.queue.len().saturating_sub(self.queue.in_flight());
        visible == 0 && self.active.load(Ordering::SeqCst) == 0
    }

    /// Waits (at most `limit`) until the loops have taken and handled everything visible;
    /// deferred jobs are not waited for. Returns whether the queue went quiet in time.
    pub async fn drain(&self, limit: Duration) -> bool {
        if self.loops.is_empty() {
            return self.idle();
        }
        let deadline = Instant::now() + limit;
        let mut quiet_checks = 0;
        while Instant::now() < deadline {
            // Twice in a row, so a loop between its receive and its handler is not missed.
            quiet_checks = if self.idle() { quiet_checks + 1 } else { 0 };
            if quiet_checks >= 2 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Stops the loops: each finishes the batch in hand (at most `limit` in all; a loop
    /// still busy then is cut off, its messages stay in the queue and are saved).
    pub async fn stop(self, limit: Duration) {
        let _ = self.shutdown.send(true);
        let deadline = Instant::now() + limit;
        for handle in self.loops {
            let abort = handle.abort_handle();
            if tokio::time::timeout_at(deadline, handle).await.is_err() {
                tracing::warn!("a worker loop did not finish its batch in time; its jobs are kept for the next start");
                abort.abort();
            }
        }
    }
}
