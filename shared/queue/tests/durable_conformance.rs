//! The JobQueue conformance suite against the durable in-process queue (journal in a
//! temporary file): the journal changes nothing a consumer can see.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use warroom_core::{JobQueue, SystemClock};
use warroom_queue::{MemoryQueue, MemoryQueueConfig};
use warroom_testkit::queue_conformance;
use warroom_testkit::queue_suite::QueueSettings;

async fn fresh(s: QueueSettings) -> Arc<dyn JobQueue> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("warroom-queue-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.journal", NEXT.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_file(&path);
    let config = MemoryQueueConfig { visibility_timeout: s.visibility_timeout, max_receive_count: s.max_receive_count };
    let (queue, recovered) = MemoryQueue::durable(&path, config, Arc::new(SystemClock)).unwrap();
    assert_eq!(recovered.live, 0);
    Arc::new(queue)
}

queue_conformance!(fresh);
