//! `SqsQueue`: the `JobQueue` port over an SQS FIFO queue (with a FIFO dead-letter queue
//! named in its redrive policy).

use async_trait::async_trait;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::time::Duration;
use warroom_core::ports::queue::MAX_DEFER;
use warroom_core::{Delivery, Job, JobQueue, QueueError, QueueResult};

/// SQS's longest long poll.
const MAX_WAIT_SECONDS: u64 = 20;
/// How long a redrive keeps the dead letters it is moving invisible.
const REDRIVE_VISIBILITY_SECONDS: i32 = 60;

pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dlq_url: Option<String>,
}

impl SqsQueue {
    /// `dlq_url`: the dead-letter queue of `queue_url`'s redrive policy, for
    /// `dead_letters` / `redrive_dead_letters` (without it they answer `Invalid`).
    pub fn new(client: Client, queue_url: String, dlq_url: Option<String>) -> Self {
        Self { client, queue_url, dlq_url }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    pub fn dlq_url(&self) -> Option<&str> {
        self.dlq_url.as_deref()
    }

    fn require_dlq(&self) -> QueueResult<&str> {
        self.dlq_url.as_deref().ok_or_else(|| QueueError::Invalid("this queue was set up without a dead-letter queue url".into()))
    }

    async fn send_raw(&self, group: &str, dedup_id: &str, body: String) -> QueueResult<()> {
        self.send_raw_to(&self.queue_url, group, dedup_id, body).await
    }

    async fn send_raw_to(&self, url: &str, group: &str, dedup_id: &str, body: String) -> QueueResult<()> {
        self.client
            .send_message()
            .queue_url(url)
            .message_group_id(sqs_id(group))
            .message_deduplication_id(sqs_id(dedup_id))
            .message_body(body)
            .send()
            .await
            .map_err(|e| map_sdk_error("SendMessage", e, false))?;
        Ok(())
    }

    #[allow(deprecated)] // AttributeNames too, for emulators that only know the old name.
    async fn receive_from(&self, url: &str, max: usize, wait_seconds: i32, visibility_timeout: Option<i32>) -> QueueResult<Vec<Delivery>> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max as i32)
            .wait_time_seconds(wait_seconds)
            .set_visibility_timeout(visibility_timeout)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .attribute_names(QueueAttributeName::from("ApproximateReceiveCount"))
            .attribute_names(QueueAttributeName::from("MessageGroupId"))
            .send()
            .await
            .map_err(|e| map_sdk_error("ReceiveMessage", e, false))?;
        Ok(out.messages().iter().filter_map(to_delivery).collect())
    }
}

/// `raw` if SQS accepts it as a MessageGroupId / MessageDeduplicationId (1 to 128 of
/// `[A-Za-z0-9]` and ASCII punctuation), else its SHA-256 in hex (64 characters).
pub fn sqs_id(raw: &str) -> String {
    let valid = !raw.is_empty() && raw.len() <= 128 && raw.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        raw.to_owned()
    } else {
        hex::encode(Sha256::digest(raw.as_bytes()))
    }
}

fn to_delivery(m: &Message) -> Option<Delivery> {
    let Some(receipt) = m.receipt_handle() else {
        tracing::warn!(message_id = ?m.message_id(), "SQS message without a receipt handle ignored");
        return None;
    };
    let attribute = |name: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&name)).cloned();
    Some(Delivery {
        message_id: m.message_id().unwrap_or_default().to_owned(),
        receipt: receipt.to_owned(),
        group: attribute(MessageSystemAttributeName::MessageGroupId).unwrap_or_default(),
        body: m.body().unwrap_or_default().to_owned(),
        receive_count: attribute(MessageSystemAttributeName::ApproximateReceiveCount).and_then(|c| c.parse().ok()).unwrap_or(1),
    })
}

/// Whole seconds, rounded up (a 300 ms wait or deferral is not "none").
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, job: &Job) -> QueueResult<()> {
        self.send_raw(&job.group(), &job.dedup_id(), job.to_json()).await
    }

    /// `wait` is rounded up to whole seconds and capped at 20 (SQS's `WaitTimeSeconds`).
    async fn receive(&self, max: usize, wait: Duration) -> QueueResult<Vec<Delivery>> {
        if !(1..=10).contains(&max) {
            return Err(QueueError::Invalid(format!("receive max must be 1..=10, got {max}")));
        }
        let wait_seconds = ceil_secs(wait).min(MAX_WAIT_SECONDS) as i32;
        self.receive_from(&self.queue_url, max, wait_seconds, None).await
    }

    async fn ack(&self, receipt: &str) -> QueueResult<()> {
        self.client.delete_message().queue_url(&self.queue_url).receipt_handle(receipt).send().await.map_err(|e| map_sdk_error("DeleteMessage", e, true))?;
        Ok(())
    }

    /// `ChangeMessageVisibility`, rounded up to whole seconds and capped at `MAX_DEFER`.
    /// SQS counts its 12-hour cap from the receive, so a long deferral of a message that was
    /// received long ago is refused (`Invalid`).
    async fn defer(&self, receipt: &str, delay: Duration) -> QueueResult<()> {
        let seconds = ceil_secs(delay.min(MAX_DEFER)) as i32;
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|e| map_sdk_error("ChangeMessageVisibility", e, true))?;
        Ok(())
    }

    /// Peeks the dead-letter queue by receiving with `VisibilityTimeout = 0`: the messages
    /// stay visible, but each peek counts as a receive of the dead letter (its
    /// `ApproximateReceiveCount` grows; the DLQ has no redrive policy, so nothing moves).
    /// As every peek sees the same head messages, at most the first 10 or so can be listed.
    /// Sends the body to the DLQ (same group; dedup id from the message id, so a retried
    /// give-up parks it once).
    async fn dead_letter(&self, delivery: &Delivery) -> QueueResult<()> {
        let dlq = self.require_dlq()?.to_owned();
        self.send_raw_to(&dlq, &delivery.group, &format!("dead.{}", delivery.message_id), delivery.body.clone()).await
    }

    async fn dead_letters(&self, max: usize) -> QueueResult<Vec<Delivery>> {
        let dlq = self.require_dlq()?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        while out.len() < max {
            let want = (max - out.len()).min(10);
            let batch = self.receive_from(dlq, want, 0, Some(0)).await?;
            let before = out.len();
            for d in batch {
                if seen.insert(d.message_id.clone()) {
                    out.push(d);
                }
            }
            if out.len() == before {
                break;
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// Receives every dead letter and sends its body back to the main queue, in its group,
    /// with the fresh deduplication id `redrive.<dead letter's message id>` (so a redrive
    /// repeated after a crash does not duplicate it); deletes it from the DLQ only after
    /// the send succeeded. Stops at the first error (what was not moved stays in the DLQ).
    async fn redrive_dead_letters(&self) -> QueueResult<usize> {
        let dlq = self.require_dlq()?.to_owned();
        let mut moved = 0;
        loop {
            let batch = self.receive_from(&dlq, 10, 0, Some(REDRIVE_VISIBILITY_SECONDS)).await?;
            if batch.is_empty() {
                return Ok(moved);
            }
            for d in batch {
                let group = if d.group.is_empty() {
                    // Not expected from a FIFO DLQ; keep the job's own group if it parses.
                    d.job().map(|j| j.group()).unwrap_or_else(|_| "redrive".to_owned())
                } else {
                    d.group.clone()
                };
                self.send_raw(&group, &format!("redrive.{}", d.message_id), d.body.clone()).await?;
                self.client
                    .delete_message()
                    .queue_url(&dlq)
                    .receipt_handle(&d.receipt)
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("DeleteMessage (dead-letter queue)", e, false))?;
                moved += 1;
            }
        }
    }
}

/// Creates `{name}-dlq.fifo` and `{name}.fifo` (explicit deduplication ids, a redrive
/// policy to the DLQ after `max_receive_count` receives) and returns the queue over them.
/// For tests and local setups; creating queues that exist with the same attributes is a no-op.
pub async fn create_fifo(client: &Client, name: &str, visibility_timeout: Duration, max_receive_count: u32) -> QueueResult<SqsQueue> {
    let valid_name = !name.is_empty() && name.len() <= 71 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_name {
        return Err(QueueError::Invalid(format!("queue name {name:?}: 1 to 71 of [A-Za-z0-9_-] (the suffix -dlq.fifo is added)")));
    }
    if !(1..=1000).contains(&max_receive_count) {
        return Err(QueueError::Invalid(format!("max_receive_count must be 1..=1000, got {max_receive_count}")));
    }
    let dlq_url = create_queue(client, &format!("{name}-dlq.fifo"), &[]).await?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| map_sdk_error("GetQueueAttributes", e, false))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| QueueError::Unavailable { message: "the DLQ has no QueueArn".into(), retryable: false })?;
    let redrive = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count });
    let queue_url = create_queue(
        client,
        &format!("{name}.fifo"),
        &[(QueueAttributeName::RedrivePolicy, redrive.to_string()), (QueueAttributeName::VisibilityTimeout, ceil_secs(visibility_timeout).to_string())],
    )
    .await?;
    Ok(SqsQueue::new(client.clone(), queue_url, Some(dlq_url)))
}

async fn create_queue(client: &Client, name: &str, extra: &[(QueueAttributeName, String)]) -> QueueResult<String> {
    let mut request = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "false");
    for (k, v) in extra {
        request = request.attributes(k.clone(), v);
    }
    let out = request.send().await.map_err(|e| map_sdk_error("CreateQueue", e, false))?;
    out.queue_url().map(str::to_owned).ok_or_else(|| QueueError::Unavailable { message: format!("CreateQueue {name}: no queue url"), retryable: false })
}

/// Throttling, 5xx, timeouts and dispatch failures → retryable; an invalid / expired /
/// not-in-flight receipt (when `receipt_op`) → `StaleReceipt`; other invalid parameters →
/// `Invalid`; anything else → not retryable.
fn map_sdk_error<E>(op: &str, err: SdkError<E>, receipt_op: bool) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{op}: {}", DisplayErrorContext(&err));
    let failure = match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Failure::Transport,
        SdkError::ServiceError(ctx) => Failure::Service {
            code: ctx.err().code().unwrap_or_default(),
            message: ctx.err().message().unwrap_or_default(),
            status: ctx.raw().status().as_u16(),
        },
        _ => Failure::Other,
    };
    classify(failure, receipt_op, message)
}

enum Failure<'a> {
    /// The request never got an answer (connection, timeout, unreadable response).
    Transport,
    Service {
        code: &'a str,
        message: &'a str,
        status: u16,
    },
    /// The request could not even be built.
    Other,
}

fn classify(failure: Failure<'_>, receipt_op: bool, message: String) -> QueueError {
    let retryable = match failure {
        Failure::Transport => true,
        Failure::Other => false,
        Failure::Service { code, message: text, status } => {
            // Query-compatible codes may carry the `AWS.SimpleQueueService.` prefix.
            let code = code.rsplit('.').next().unwrap_or(code);
            if receipt_op && is_stale_receipt(code, &text.to_ascii_lowercase()) {
                return QueueError::StaleReceipt;
            }
            if code == "InvalidParameterValue" {
                return QueueError::Invalid(message);
            }
            status >= 500 || is_throttling(code)
        }
    };
    QueueError::Unavailable { message, retryable }
}

fn is_stale_receipt(code: &str, lowercase_message: &str) -> bool {
    match code {
        "ReceiptHandleIsInvalid" | "MessageNotInflight" | "InvalidIdFormat" => true,
        "InvalidParameterValue" => lowercase_message.contains("receipt"),
        _ => false,
    }
}

fn is_throttling(code: &str) -> bool {
    code.contains("Throttl") || matches!(code, "ServiceUnavailable" | "InternalError" | "InternalFailure" | "RequestTimeout" | "OverLimit")
}

#[cfg(test)]
#[path = "sqs_tests.rs"]
mod tests;
