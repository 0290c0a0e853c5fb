//! Keeping the in-process queue across a clean restart, without touching `warroom-queue`.
//!
//! The queue runs on a [`QueueClock`]: the wall clock plus an offset that only moves at
//! shutdown. Once the workers have stopped, [`export`] moves that clock past every
//! visibility deadline and deferral (`MAX_DEFER`), so every live message, deferred ones
//! included, becomes receivable; it receives and acks them all in send order, and reads
//! the dead letters. [`restore`] sends them again on the next start, before any worker
//! runs: dead letters first, re-received until the queue moves them back to its
//! dead-letter list (so the API can still list and redrive them), then the live jobs.
//!
//! What is restored is what was queued, so every incident still reaches its desired state:
//! jobs are idempotent by design (they say what to look at, not what to do), deferred timers
//! re-defer themselves until due, and rate-limited jobs simply run. Not covered: a crash
//! or `kill -9` (nothing is written then; the next event about an incident reconciles it).

use crate::error::{LocalError, LocalResult};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use warroom_core::{Clock, Job, JobQueue, SystemClock, Timestamp};
use warroom_queue::{MemoryQueue, MAX_DEFER};

/// The wall clock, plus an offset moved only by [`export`].
#[derive(Debug, Default)]
pub struct QueueClock {
    offset_ms: AtomicI64,
}

impl QueueClock {
    pub fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

impl Clock for QueueClock {
    fn now(&self) -> Timestamp {
        Timestamp(SystemClock.now().0.saturating_add(self.offset_ms.load(Ordering::SeqCst)))
    }
}

/// `queue.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedQueue {
    pub version: u32,
    pub saved_at: String,
    /// Live jobs, in send order.
    pub jobs: Vec<Job>,
    /// Jobs the worker gave up on (what `GET /api/v1/dead-letters` lists).
    #[serde(default)]
    pub dead_letters: Vec<Job>,
}

impl SavedQueue {
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty() && self.dead_letters.is_empty()
    }
}

fn parse_bodies(bodies: impl IntoIterator<Item = String>) -> Vec<Job> {
    bodies
        .into_iter()
        .filter_map(|body| match Job::from_json(&body) {
            Ok(job) => Some(job),
            Err(e) => {
                tracing::warn!(error = %e, %body, "a malformed job is not kept");
                None
            }
        })
        .collect()
}

/// Empties the queue into a [`SavedQueue`]. Call only once no worker runs.
pub async fn export(queue: &MemoryQueue, clock: &QueueClock) -> SavedQueue {
    clock.advance(MAX_DEFER + queue.config().visibility_timeout + Duration::from_secs(3600));
    let mut bodies = Vec::new();
    // Each round takes at most 10; the bound only guards against a queue that never empties.
    for _ in 0..=queue.len() + 1 {
        let batch = queue.receive(10, Duration::ZERO).await.unwrap_or_default();
        if batch.is_empty() {
            break;
        }
        for delivery in batch {
            let _ = queue.ack(&delivery.receipt).await;
            bodies.push(delivery.body);
        }
    }
    let dead = queue.dead_letters(usize::MAX).await.unwrap_or_default();
    SavedQueue {
        version: 1,
        saved_at: SystemClock.now().to_rfc3339(),
        jobs: parse_bodies(bodies),
        dead_letters: parse_bodies(dead.into_iter().map(|d| d.body)),
    }
}

/// Puts saved jobs back. Call before any worker runs.
pub async fn restore(queue: &MemoryQueue, saved: &SavedQueue) -> LocalResult<()> {
    let fail = |e: warroom_core::QueueError| LocalError::new(format!("could not restore the saved queue: {e}"));
    if !saved.dead_letters.is_empty() {
        for job in &saved.dead_letters {
            queue.send(job).await.map_err(fail)?;
        }
        // Receive them until the queue retires them to its dead-letter list.
        let rounds = saved.dead_letters.len() * (queue.config().max_receive_count.max(1) as usize + 1) + 1;
        for _ in 0..rounds {
            let batch = queue.receive(10, Duration::ZERO).await.map_err(fail)?;
            if batch.is_empty() {
                break;
            }
            for delivery in batch {
                queue.defer(&delivery.receipt, Duration::ZERO).await.map_err(fail)?;
            }
        }
    }
    for job in &saved.jobs {
        queue.send(job).await.map_err(fail)?;
    }
    Ok(())
}

/// Reads `queue.json`; `None` if there is none.
pub fn load(path: &Path) -> LocalResult<Option<SavedQueue>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            LocalError::new(format!("{} is not a saved queue ({e}); move it aside to start without the jobs it holds", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LocalError::new(format!("cannot read {}: {e}", path.display()))),
    }
}

pub fn save(path: &Path, saved: &SavedQueue) -> LocalResult<()> {
    let text = serde_json::to_string_pretty(saved).expect("jobs serialize") + "\n";
    crate::data::write_private(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use warroom_core::JobKind;
    use warroom_queue::MemoryQueueConfig;

    fn queue() -> (Arc<QueueClock>, MemoryQueue) {
        let clock = Arc::new(QueueClock::default());
        let config = MemoryQueueConfig { max_receive_count: 5, ..MemoryQueueConfig::default() };
        (clock.clone(), MemoryQueue::new(config, clock))
    }

    fn job(incident: &str, version: u64) -> Job {
        Job::reconcile("ten_1".into(), incident.into(), version)
    }

    #[tokio::test]
    async fn every_message_deferred_or_dead_survives_an_export_and_a_restore() {
        let (clock, q) = queue();
        for (i, v) in [("inc_a", 1), ("inc_b", 1), ("inc_a", 2)] {
            q.send(&job(i, v)).await.unwrap();
        }
        let timer = Job::new("ten_1".into(), JobKind::Timer { incident_id: "inc_c".into(), due: Timestamp(i64::MAX / 2) }, "t1");
        q.send(&timer).await.unwrap();
        let doomed = job("inc_d", 9);
        q.send(&doomed).await.unwrap();
        // inc_b's job is deferred for hours (a timer would be); inc_d's dies.
        for d in q.receive(10, Duration::ZERO).await.unwrap() {
            match Job::from_json(&d.body).unwrap() {
                j if j == job("inc_b", 1) || j == timer => q.defer(&d.receipt, Duration::from_secs(6 * 3600)).await.unwrap(),
                j if j == doomed => q.defer(&d.receipt, Duration::ZERO).await.unwrap(),
                _ => {}
            }
        }
        for _ in 0..6 {
            clock.advance(Duration::from_secs(31));
            for d in q.receive(10, Duration::ZERO).await.unwrap() {
                q.defer(&d.receipt, if d.body.contains("inc_d") { Duration::ZERO } else { Duration::from_secs(6 * 3600) }).await.unwrap();
            }
        }
        assert_eq!(q.dead_letters(10).await.unwrap().len(), 1);

        let saved = export(&q, &clock).await;
        assert_eq!(saved.jobs, vec![job("inc_a", 1), job("inc_b", 1), job("inc_a", 2), timer.clone()]);
        assert_eq!(saved.dead_letters, vec![doomed.clone()]);
        assert!(q.is_empty());

        let path = std::env::temp_dir().join(format!("warroom-local-queue-{}.json", std::process::id()));
        save(&path, &saved).unwrap();
        let loaded = load(&path).unwrap().unwrap();
        assert_eq!(loaded, saved);
        let _ = std::fs::remove_file(&path);

        let (_, fresh) = queue();
        restore(&fresh, &loaded).await.unwrap();
        let dead = fresh.dead_letters(10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(Job::from_json(&dead[0].body).unwrap(), doomed);
        let live: Vec<Job> = fresh.receive(10, Duration::ZERO).await.unwrap().iter().map(|d| Job::from_json(&d.body).unwrap()).collect();
        assert_eq!(live, saved.jobs);
    }

    #[test]
    fn a_damaged_queue_file_is_named() {
        let path = std::env::temp_dir().join(format!("warroom-local-badqueue-{}.json", std::process::id()));
        std::fs::write(&path, "not json").unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.message.contains(&path.display().to_string()), "{err}");
        let _ = std::fs::remove_file(&path);
        assert_eq!(load(&path).unwrap(), None);
    }
}
