//! The JobQueue conformance suite against SQS FIFO: the emulator `infra/test.sh` starts
//! (moto), or any endpoint in `WARROOM_SQS_ENDPOINT`. Each test gets its own queue pair.

use std::sync::Arc;
use warroom_core::JobQueue;
use warroom_testkit::queue_suite::QueueSettings;
use warroom_testkit::{aws, queue_conformance};

async fn fresh(s: QueueSettings) -> Arc<dyn JobQueue> {
    let client = aws::sqs_client();
    let name = aws::unique_name("warroom-test");
    let queue = warroom_queue::create_fifo(&client, &name, s.visibility_timeout, s.max_receive_count).await.expect("create test queues");
    Arc::new(queue)
}

queue_conformance!(fresh, ignore = "needs the SQS emulator: run ./infra/test.sh");
