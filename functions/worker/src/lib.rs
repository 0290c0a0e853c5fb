//! The worker's SQS batch handler: turns Lambda's SQS records into deliveries, runs
//! them through the shared batch logic, and answers with the failed ones so Lambda
//! deletes only what succeeded (`ReportBatchItemFailures`).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use warroom_core::{Delivery, JobQueue};
use warroom_queue::batch::{process_batch, JobHandler};

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
