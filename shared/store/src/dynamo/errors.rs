//! Turning SDK failures into `StoreError`s, in one place, so every call site classifies
//! throttling, outages and bad requests the same way.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use warroom_core::StoreError;

/// The error code DynamoDB returns when a single-item write's condition does not hold.
pub(super) const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// Service error codes that mean "try again later": throttling and server-side trouble.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
    "ReplicatedWriteConflictException",
];

/// True if the call failed only because its condition expression did not hold.
pub(super) fn is_condition_failure<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(err, SdkError::ServiceError(_)) && err.code() == Some(CONDITION_FAILED)
}

/// Classifies any failed SDK call. `op` names the operation for the message; the message
/// carries DynamoDB's code and text or the transport failure, never request data or
/// credentials (the SDK's errors hold neither).
pub(super) fn sdk_error<E>(op: &'static str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        // Built locally and never sent: a bug in how we build requests, not an outage.
        SdkError::ConstructionFailure(_) => unavailable(op, chain(&err), false),
        // The request may or may not have reached DynamoDB; callers retry idempotent work.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => unavailable(op, chain(&err), true),
        SdkError::ServiceError(service) => {
            let code = err.code().unwrap_or("Unknown");
            let text = format!("{code}: {}", err.message().unwrap_or("no message"));
            if code == "ValidationException" {
                // DynamoDB refused what we sent (an item too large, an empty key part).
                return StoreError::Invalid(format!("dynamodb {op}: {text}"));
            }
            let server_side = service.raw().status().is_server_error();
            unavailable(op, text, server_side || RETRYABLE_CODES.contains(&code))
        }
        // `SdkError` is non-exhaustive: treat anything new as transient.
        _ => unavailable(op, chain(&err), true),
    }
}

/// A request or type that could not be built: always our bug, never worth a retry.
pub(super) fn build_error(err: BuildError) -> StoreError {
    unavailable("build request", err.to_string(), false)
}

/// The error and its causes on one line ("dispatch failure: io error: ... refused"),
/// without the SDK's Debug dump.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn unavailable(op: &str, detail: String, retryable: bool) -> StoreError {
    StoreError::Unavailable { message: format!("dynamodb {op}: {detail}"), retryable }
}

/// Stored data that does not decode: a bug or manual tampering.
pub(super) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}
