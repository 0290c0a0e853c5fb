//! The worker's SQS batch handler: turns Lambda's SQS records into deliveries, runs
//! them through the shared batch logic, and answers with the failed ones so Lambda
//! deletes only what succeeded (`ReportBatchItemFailures`).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use warroom_core::{Delivery, Job, JobQueue};
use warroom_queue::batch::{kind_label, process_batch, JobHandler};

/// How long a message waited in the queue before this, its first delivery: now minus SQS's
/// `SentTimestamp` (ms). Later deliveries are not a queue wait (they were deferred or
/// retried on purpose), so they are not measured.
pub fn first_wait(message: &SqsMessage, now: SystemTime) -> Option<Duration> {
    let attr = |k: &str| message.attributes.get(k).and_then(|v| v.parse::<u64>().ok());
    if attr("ApproximateReceiveCount")? != 1 {
        return None;
    }
    let sent = UNIX_EPOCH + Duration::from_millis(attr("SentTimestamp")?);
    Some(now.duration_since(sent).unwrap_or_default())
}

/// Lambda's view of an SQS message, as a queue delivery. Records without an id cannot
/// be reported back and are dropped from the batch (SQS always sets one).
pub fn delivery(message: SqsMessage) -> Option<Delivery> {
    let attr = |k: &str| message.attributes.get(k).cloned();
    Some(Delivery {
        message_id: message.message_id.clone()?,
        receipt: message.receipt_handle.clone().unwrap_or_default(),
        group: attr("MessageGroupId").unwrap_or_default(),
        receive_count: attr("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1),
        body: message.body.unwrap_or_default(),
    })
}

/// Handles one SQS event; never fails as a whole, so one bad job cannot sink the batch.
pub async fn handle_event(event: SqsEvent, queue: &dyn JobQueue, handler: &dyn JobHandler) -> SqsBatchResponse {
    let now = SystemTime::now();
    for message in &event.records {
        let kind = message.body.as_deref().and_then(|b| Job::from_json(b).ok()).map(|j| kind_label(&j.kind));
        if let (Some(kind), Some(wait)) = (kind, first_wait(message, now)) {
            warroom_metrics::job_wait(kind, wait);
        }
    }
    let deliveries: Vec<Delivery> = event.records.into_iter().filter_map(delivery).collect();
    let report = process_batch(queue, handler, deliveries, false).await;
    tracing::info!(done = report.done, deferred = report.deferred, retried = report.retried, skipped = report.skipped, "batch handled");
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = report
        .failed_message_ids
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod metric_tests {
    use super::*;
    use std::sync::Arc;
    use warroom_core::{Outcome, SystemClock};
    use warroom_queue::{MemoryQueue, MemoryQueueConfig};

    struct Done;

    #[async_trait::async_trait]
    impl JobHandler for Done {
        async fn handle(&self, _: &Job, _: &Delivery) -> Outcome {
            Outcome::Done
        }
    }

    fn message(id: &str, job: &Job, sent_ms: u64, receives: u32) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(job.to_json());
        m.attributes.insert("MessageGroupId".into(), job.group());
        m.attributes.insert("ApproximateReceiveCount".into(), receives.to_string());
        m.attributes.insert("SentTimestamp".into(), sent_ms.to_string());
        m
    }

    #[test]
    fn the_queue_wait_is_measured_on_the_first_delivery_only() {
        let m = message("m1", &Job::reconcile("t1".into(), "inc_a".into(), 1), 1_700_000_000_000, 1);
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_042_500);
        assert_eq!(first_wait(&m, now), Some(Duration::from_millis(42_500)));
        let again = message("m1", &Job::reconcile("t1".into(), "inc_a".into(), 1), 1_700_000_000_000, 2);
        assert_eq!(first_wait(&again, now), None);
    }

    /// What the worker's invocation leaves in its log: EMF lines with the batch's job counts,
    /// run times and queue waits, the tenant a property, no incident id anywhere.
    #[test]
    fn a_batch_writes_emf_lines_with_its_jobs() {
        let recorder = warroom_metrics::emf::EmfRecorder::new("Warroom");
        let queue = MemoryQueue::new(MemoryQueueConfig::default(), Arc::new(SystemClock));
        let sent = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64 - 3_000;
        let mut event = SqsEvent::default();
        event.records = vec![message("m1", &Job::reconcile("ten_1".into(), "inc_secret".into(), 1), sent, 1)];
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        metrics::with_local_recorder(&recorder, || runtime.block_on(handle_event(event, &queue, &Done)));
        let mut out = Vec::new();
        recorder.flush_to(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(!text.contains("inc_secret"), "{text}");
        let jobs = lines.iter().find(|l| l.get("warroom_jobs_total").is_some()).expect("the job count");
        assert_eq!((jobs["kind"].as_str(), jobs["outcome"].as_str(), jobs["tenant"].as_str()), (Some("reconcile"), Some("processed"), Some("ten_1")));
        let wait = lines.iter().find_map(|l| l.get("warroom_job_wait_seconds")).expect("the queue wait");
        assert!(wait[0].as_f64().unwrap() >= 3.0, "{wait}");
        for line in &lines {
            for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap() {
                assert!(line.get(m["Name"].as_str().unwrap()).is_some(), "{line}");
            }
        }
    }
}
