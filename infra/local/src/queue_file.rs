//! `queue.json`: the jobs still queued at a clean shutdown, as versions before the queue
//! journal (`data::JOURNAL_FILE`, see `warroom_queue::MemoryQueue::durable`) kept them. A
//! start that finds one puts its jobs back in the queue (so into the journal) and removes it.
//!
//! What is restored is what was queued, so every incident still reaches its desired state:
//! jobs are idempotent by design (they say what to look at, not what to do), deferred timers
//! re-defer themselves until due, and rate-limited jobs simply run.

use crate::error::{LocalError, LocalResult};
use serde::{Deserialize, Serialize};
use std::path::Path;
use warroom_core::{Delivery, Job, JobQueue};
use warroom_queue::MemoryQueue;

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

/// Puts saved jobs back: dead letters straight into the dead-letter list (so the API can
/// still list and redrive them), then the live jobs. Call before any worker runs.
pub async fn restore(queue: &MemoryQueue, saved: &SavedQueue) -> LocalResult<()> {
    let fail = |e: warroom_core::QueueError| LocalError::new(format!("could not restore the saved queue: {e}"));
    for job in &saved.dead_letters {
        let delivery = Delivery { message_id: String::new(), receipt: String::new(), group: job.group(), body: job.to_json(), receive_count: 0 };
        queue.dead_letter(&delivery).await.map_err(fail)?;
    }
    for job in &saved.jobs {
        queue.send(job).await.map_err(fail)?;
    }
    Ok(())
}

/// Reads `queue.json`; `None` if there is none.
pub fn load(path: &Path) -> LocalResult<Option<SavedQueue>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| LocalError::new(format!("{} is not a saved queue ({e}); move it aside to start without the jobs it holds", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LocalError::new(format!("cannot read {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;
    use warroom_core::{JobKind, SystemClock, Timestamp};
    use warroom_queue::MemoryQueueConfig;

    fn job(incident: &str, version: u64) -> Job {
        Job::reconcile("ten_1".into(), incident.into(), version)
    }

    #[tokio::test]
    async fn a_queue_file_left_by_an_older_version_is_put_back_dead_letters_included() {
        let timer = Job::new("ten_1".into(), JobKind::Timer { incident_id: "inc_c".into(), due: Timestamp(i64::MAX / 2) }, "t1");
        let saved = SavedQueue {
            version: 1,
            saved_at: "2026-01-01T00:00:00Z".into(),
            jobs: vec![job("inc_a", 1), job("inc_b", 1), job("inc_a", 2), timer],
            dead_letters: vec![job("inc_d", 9)],
        };
        let path = std::env::temp_dir().join(format!("warroom-local-queue-{}.json", std::process::id()));
        std::fs::write(&path, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
        let loaded = load(&path).unwrap().unwrap();
        assert_eq!(loaded, saved);
        let _ = std::fs::remove_file(&path);

        let config = MemoryQueueConfig { max_receive_count: 5, ..MemoryQueueConfig::default() };
        let queue = MemoryQueue::new(config, Arc::new(SystemClock));
        restore(&queue, &loaded).await.unwrap();
        let dead = queue.dead_letters(10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(Job::from_json(&dead[0].body).unwrap(), job("inc_d", 9));
        let live: Vec<Job> = queue.receive(10, Duration::ZERO).await.unwrap().iter().map(|d| Job::from_json(&d.body).unwrap()).collect();
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
