use super::*;
use crate::memory::{MemoryQueue, MemoryQueueConfig};
use async_trait::async_trait;
use std::sync::Mutex;
use warroom_core::Job;
use warroom_core::{ManualClock, QueueError, QueueResult, Timestamp};

/// Records what process_batch asks of the queue.
#[derive(Default)]
struct RecordingQueue {
    calls: Mutex<Vec<String>>,
    fail_defer: bool,
}

impl RecordingQueue {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl JobQueue for RecordingQueue {
    async fn send(&self, _job: &Job) -> QueueResult<()> {
        unreachable!("process_batch never sends")
    }
    async fn receive(&self, _max: usize, _wait: Duration) -> QueueResult<Vec<Delivery>> {
        Ok(vec![])
    }
    async fn ack(&self, receipt: &str) -> QueueResult<()> {
        self.calls.lock().unwrap().push(format!("ack {receipt}"));
        Ok(())
    }
    async fn defer(&self, receipt: &str, delay: Duration) -> QueueResult<()> {
        self.calls.lock().unwrap().push(format!("defer {receipt} {}s", delay.as_secs()));
        if self.fail_defer {
            return Err(QueueError::Unavailable { message: "down".into(), retryable: true });
        }
        Ok(())
    }
    async fn dead_letter(&self, delivery: &Delivery) -> QueueResult<()> {
        self.calls.lock().unwrap().push(format!("dead {}", delivery.message_id));
        Ok(())
    }
    async fn dead_letters(&self, _max: usize) -> QueueResult<Vec<Delivery>> {
        Ok(vec![])
    }
    async fn redrive_dead_letters(&self) -> QueueResult<usize> {
        Ok(0)
    }
}

/// Answers by the job's dedup key: "retry…" → Retry, "defer…" → Defer(60 s), else Done.
#[derive(Default)]
struct ScriptedHandler {
    handled: Mutex<Vec<String>>,
}

#[async_trait]
impl JobHandler for ScriptedHandler {
    async fn handle(&self, job: &Job, _delivery: &Delivery) -> Outcome {
        self.handled.lock().unwrap().push(format!("{}/{}", job.group(), job.dedup_key));
        if job.dedup_key.starts_with("retry") {
            Outcome::Retry("boom".into())
        } else if job.dedup_key.starts_with("defer") {
            Outcome::Defer(Duration::from_secs(60))
        } else {
            Outcome::Done
        }
    }
}

fn delivery(incident: &str, key: &str) -> Delivery {
    let job = Job::new(
        "t1".into(),
        warroom_core::JobKind::PostMortem { incident_id: incident.into(), requested_by: None, chat_id: None, request: String::new() },
        key,
    );
    Delivery { message_id: format!("m-{incident}-{key}"), receipt: format!("r-{incident}-{key}"), group: job.group(), body: job.to_json(), receive_count: 1 }
}

#[tokio::test]
async fn a_failing_group_skips_only_its_own_later_messages() {
    let queue = RecordingQueue::default();
    let handler = ScriptedHandler::default();
    let batch = vec![delivery("a", "retry1"), delivery("b", "1"), delivery("a", "2"), delivery("b", "2")];
    let report = process_batch(&queue, &handler, batch, false).await;

    assert_eq!(*handler.handled.lock().unwrap(), vec!["t1.inc.a/retry1", "t1.inc.b/1", "t1.inc.b/2"]);
    assert_eq!((report.done, report.retried, report.skipped, report.deferred), (2, 1, 1, 0));
    assert_eq!(report.failed_message_ids, vec!["m-a-retry1", "m-a-2"]);
    // Retry and its skipped follower are left for the visibility timeout; Lambda acks the rest.
    assert!(queue.calls().is_empty(), "{:?}", queue.calls());
}

#[tokio::test]
async fn a_deferred_message_defers_the_rest_of_its_group_by_the_same_delay() {
    let queue = RecordingQueue::default();
    let handler = ScriptedHandler::default();
    let batch = vec![delivery("a", "defer1"), delivery("a", "2"), delivery("b", "1")];
    let report = process_batch(&queue, &handler, batch, true).await;

    assert_eq!((report.done, report.deferred, report.skipped), (1, 1, 1));
    assert_eq!(report.failed_message_ids, vec!["m-a-defer1", "m-a-2"]);
    assert_eq!(queue.calls(), vec!["defer r-a-defer1 60s", "defer r-a-2 60s", "ack r-b-1"]);
}

#[tokio::test]
async fn a_malformed_body_is_reported_failed_without_reaching_the_handler() {
    let queue = RecordingQueue::default();
    let handler = ScriptedHandler::default();
    let mut bad = delivery("a", "1");
    bad.body = r#"{"kind":"nuke"}"#.into();
    let report = process_batch(&queue, &handler, vec![bad, delivery("a", "2"), delivery("b", "1")], true).await;

    assert_eq!((report.retried, report.skipped, report.done), (1, 1, 1));
    assert_eq!(report.failed_message_ids, vec!["m-a-1", "m-a-2"]);
    assert_eq!(*handler.handled.lock().unwrap(), vec!["t1.inc.b/1"]);
    assert_eq!(queue.calls(), vec!["ack r-b-1"]);
}

#[tokio::test]
async fn done_messages_are_acked_only_when_asked() {
    let queue = RecordingQueue::default();
    let handler = ScriptedHandler::default();
    let report = process_batch(&queue, &handler, vec![delivery("a", "1"), delivery("a", "2")], true).await;
    assert_eq!(report, BatchReport { done: 2, ..BatchReport::default() });
    assert_eq!(queue.calls(), vec!["ack r-a-1", "ack r-a-2"]);

    let lambda_queue = RecordingQueue::default();
    process_batch(&lambda_queue, &handler, vec![delivery("a", "3")], false).await;
    assert!(lambda_queue.calls().is_empty());
}

#[tokio::test]
async fn a_failed_defer_is_still_reported_failed() {
    let queue = RecordingQueue { fail_defer: true, ..RecordingQueue::default() };
    let handler = ScriptedHandler::default();
    let report = process_batch(&queue, &handler, vec![delivery("a", "defer1"), delivery("a", "2")], true).await;
    assert_eq!(report.failed_message_ids, vec!["m-a-defer1", "m-a-2"]);
    assert_eq!(report.done, 0);
}

#[tokio::test]
async fn on_a_memory_queue_a_deferred_group_comes_back_together_after_the_delay() {
    let clock = Arc::new(ManualClock::at(Timestamp::from_secs(1_000)));
    let queue = MemoryQueue::new(MemoryQueueConfig::default(), clock.clone());
    for key in ["defer1", "2"] {
        let d = delivery("a", key);
        queue.send(&d.job().unwrap()).await.unwrap();
    }
    let handler = ScriptedHandler::default();
    let got = queue.receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 2);
    process_batch(&queue, &handler, got, true).await;

    clock.advance(Duration::from_secs(59));
    assert!(queue.receive(10, Duration::ZERO).await.unwrap().is_empty());
    clock.advance(Duration::from_secs(1));
    let again = queue.receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(again.iter().map(|d| d.receive_count).collect::<Vec<_>>(), vec![2, 2]);
}

#[tokio::test]
async fn the_worker_loop_drains_the_queue_and_stops_on_shutdown() {
    let clock = Arc::new(ManualClock::at(Timestamp::from_secs(1_000)));
    let queue = Arc::new(MemoryQueue::new(MemoryQueueConfig::default(), clock));
    for key in ["1", "2", "3"] {
        queue.send(&delivery("a", key).job().unwrap()).await.unwrap();
    }
    let handler = Arc::new(ScriptedHandler::default());
    let (stop, shutdown) = watch::channel(false);
    let worker = tokio::spawn(run_worker_loop(queue.clone(), handler.clone(), shutdown));

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !queue.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the loop did not drain the queue");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker).await.expect("the loop stops").unwrap();
    assert_eq!(handler.handled.lock().unwrap().len(), 3);
}
