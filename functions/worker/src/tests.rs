use super::*;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsMessage;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::{Job, Outcome};
use warroom_core::{JobKind, SystemClock};
use warroom_queue::{MemoryQueue, MemoryQueueConfig};

/// Defers every job of incident `inc_slow`, completes the rest.
struct DeferSlow;

#[async_trait]
impl JobHandler for DeferSlow {
    async fn handle(&self, job: &Job, _d: &Delivery) -> Outcome {
        match &job.kind {
            JobKind::Reconcile { incident_id } if incident_id.as_str() == "inc_slow" => Outcome::Defer(Duration::from_secs(5)),
            _ => Outcome::Done,
        }
    }
}

fn record(id: &str, job: &Job) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.receipt_handle = Some(format!("rh-{id}"));
    m.body = Some(job.to_json());
    m.attributes.insert("MessageGroupId".into(), job.group());
    m.attributes.insert("ApproximateReceiveCount".into(), "1".into());
    m
}

fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

fn failed_ids(r: &SqsBatchResponse) -> Vec<&str> {
    r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
}

#[tokio::test]
async fn a_deferred_job_and_the_rest_of_its_group_are_reported_failed_while_other_groups_succeed() {
    let queue = MemoryQueue::new(MemoryQueueConfig::default(), Arc::new(SystemClock));
    let slow1 = Job::reconcile("t".into(), "inc_slow".into(), 1);
    let slow2 = Job::reconcile("t".into(), "inc_slow".into(), 2);
    let fast = Job::reconcile("t".into(), "inc_fast".into(), 1);
    let ev = event(vec![record("m1", &slow1), record("m2", &fast), record("m3", &slow2)]);
    let response = handle_event(ev, &queue, &DeferSlow).await;
    assert_eq!(failed_ids(&response), ["m1", "m3"]);
}

#[tokio::test]
async fn a_malformed_record_fails_alone() {
    let queue = MemoryQueue::new(MemoryQueueConfig::default(), Arc::new(SystemClock));
    let ok = Job::reconcile("t".into(), "inc_fast".into(), 1);
    let mut bad = record("m1", &ok);
    bad.body = Some("{not json".into());
    bad.attributes.insert("MessageGroupId".into(), "t.inc.other".into());
    let response = handle_event(event(vec![bad, record("m2", &ok)]), &queue, &DeferSlow).await;
    assert_eq!(failed_ids(&response), ["m1"]);
}

#[tokio::test]
async fn the_response_serializes_as_lambda_expects() {
    let queue = MemoryQueue::new(MemoryQueueConfig::default(), Arc::new(SystemClock));
    let job = Job::reconcile("t".into(), "inc_any".into(), 1);
    let mut bad = record("m9", &job);
    bad.body = Some("[]".into());
    let response = handle_event(event(vec![bad]), &queue, &DeferSlow).await;
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "m9");
}
