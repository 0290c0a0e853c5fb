//! The JobQueue conformance suite against the in-process queue.

use std::sync::Arc;
use warroom_core::{JobQueue, SystemClock};
use warroom_queue::{MemoryQueue, MemoryQueueConfig};
use warroom_testkit::queue_conformance;
use warroom_testkit::queue_suite::QueueSettings;

async fn fresh(s: QueueSettings) -> Arc<dyn JobQueue> {
    let config = MemoryQueueConfig { visibility_timeout: s.visibility_timeout, max_receive_count: s.max_receive_count };
    Arc::new(MemoryQueue::new(config, Arc::new(SystemClock)))
}

queue_conformance!(fresh);
