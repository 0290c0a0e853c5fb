//! Bedrock's errors as [`ModelError`]s. The error types and what they mean are the SDK's
//! (aws-sdk-bedrockruntime 1.153.0, `ConverseStreamError` in `src/operation/converse_stream.rs`
//! and `ConverseStreamOutputError` in `src/types/error.rs`), with the HTTP statuses of the API
//! reference (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
//! and API_runtime_ConverseStreamOutput.html): ThrottlingException 429, ValidationException
//! 400, AccessDeniedException 403, ResourceNotFoundException 404, ModelTimeoutException 408,
//! ModelErrorException / ModelStreamErrorException 424, ModelNotReadyException 429,
//! InternalServerException 500, ServiceUnavailableException 503.
//!
//! Messages hold the service's message and the model id, never credentials: the SDK's errors
//! do not carry them, and the signing headers are not part of any error we format.

use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use std::time::{Duration, SystemTime};
use warroom_core::ModelError;

use crate::errors::excerpt;

/// The wait after a `ThrottlingException`, which carries no `Retry-After`: 20 s, the longest
/// back-off of the AWS SDKs' own standard retry mode (MAX_BACKOFF, "Retry behavior" in the
/// AWS SDKs and Tools reference guide, docs.aws.amazon.com/sdkref/latest/guide/
/// feature-retry-behavior.html). Bedrock's quotas are per minute, so a shorter wait mostly
/// earns another refusal, and a longer one leaves the war room without an answer for no reason.
pub const THROTTLED_RETRY_AFTER: Duration = Duration::from_secs(20);

/// Where the error happened: before the answer started, or inside its stream.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Start,
    Stream,
}

/// An error from `ConverseStream.send()`: HTTP errors (`x-amzn-ErrorType`), transport
/// failures, a request the SDK could not build or sign.
pub(crate) fn send_error(e: SdkError<ConverseStreamError, aws_smithy_runtime_api::http::Response>, model: &str) -> ModelError {
    match &e {
        SdkError::ServiceError(ctx) => {
            let raw = ctx.raw();
            let retry_after = raw.headers().get("retry-after").and_then(|v| {
                let mut h = reqwest::header::HeaderMap::new();
                h.insert("retry-after", reqwest::header::HeaderValue::from_str(v).ok()?);
                crate::errors::retry_after(&h, SystemTime::now())
            });
            let err = ctx.err();
            let message = excerpt(err.message().unwrap_or(""), None);
            by_type(err.code().unwrap_or(""), Some(raw.status().as_u16()), message, model, retry_after, Phase::Start)
        }
        // A request the SDK could not build: no region, no credentials, a bad endpoint. Not
        // fixed by waiting; the message names what is missing.
        SdkError::ConstructionFailure(_) => {
            let detail = excerpt(&DisplayErrorContext(&e).to_string(), None);
            if detail.contains("credential") {
                ModelError::Unauthorized(format!("Bedrock: no usable AWS credentials ({detail})"))
            } else {
                ModelError::BadRequest(format!("Bedrock: the request could not be made ({detail})"))
            }
        }
        // Timeouts, refused connections, an unreadable answer: try again later.
        _ => ModelError::Unavailable(format!("Bedrock: {}", excerpt(&DisplayErrorContext(&e).to_string(), None))),
    }
}

/// An error read from the answer's stream: a modelled exception frame, or the transport failing
/// (the connection dropped, a frame failed its checksum).
pub(crate) fn stream_error(e: SdkError<ConverseStreamOutputError, aws_smithy_types::event_stream::RawMessage>, model: &str) -> ModelError {
    match &e {
        SdkError::ServiceError(ctx) => {
            let err = ctx.err();
            // The frame's `:exception-type` chose the variant; its payload rarely names the type.
            let code = match err {
                ConverseStreamOutputError::ThrottlingException(_) => "ThrottlingException",
                ConverseStreamOutputError::ValidationException(_) => "ValidationException",
                ConverseStreamOutputError::ModelStreamErrorException(_) => "ModelStreamErrorException",
                ConverseStreamOutputError::InternalServerException(_) => "InternalServerException",
                ConverseStreamOutputError::ServiceUnavailableException(_) => "ServiceUnavailableException",
                other => other.code().unwrap_or(""),
            };
            let message = excerpt(err.message().unwrap_or(""), None);
            by_type(code, None, message, model, None, Phase::Stream)
        }
        _ => ModelError::StreamBroken(format!("Bedrock: {}", excerpt(&DisplayErrorContext(&e).to_string(), None))),
    }
}

/// The mapping proper: by error type, else by HTTP status (errors Bedrock's front door sends
/// that the model does not list, e.g. `UnrecognizedClientException`, `ExpiredTokenException`).
pub(crate) fn by_type(code: &str, status: Option<u16>, message: String, model: &str, retry_after: Option<Duration>, phase: Phase) -> ModelError {
    let detail = if message.is_empty() { code.to_string() } else { format!("{code}: {message}") };
    let detail = format!("Bedrock model {model:?}: {detail}");
    // Retryable failures of the service: before the answer, "unavailable"; inside it, the
    // answer broke off (the caller retries both, but says different things).
    let retryable = |detail: String| if phase == Phase::Start { ModelError::Unavailable(detail) } else { ModelError::StreamBroken(detail) };
    match code {
        "ThrottlingException" => ModelError::RateLimited { retry_after: Some(retry_after.unwrap_or(THROTTLED_RETRY_AFTER)) },
        "ServiceUnavailableException" | "InternalServerException" | "ModelTimeoutException" | "ModelStreamErrorException" => retryable(detail),
        // "The AWS SDK will automatically retry the operation up to 5 times" (the SDK's doc
        // of ModelNotReadyException): we defer instead, as for any outage.
        "ModelNotReadyException" => retryable(detail),
        // "An error while processing the model" (424): UNCERTAIN whether a retry helps; the
        // API reference lists no advice, so it is treated as a passing failure of the model.
        "ModelErrorException" => retryable(detail),
        "AccessDeniedException" => ModelError::Unauthorized(detail),
        "ResourceNotFoundException" => ModelError::ModelNotFound(detail),
        "ValidationException" => ModelError::BadRequest(detail),
        _ => match status {
            Some(401 | 403) => ModelError::Unauthorized(detail),
            Some(404) => ModelError::ModelNotFound(detail),
            Some(429) => ModelError::RateLimited { retry_after: Some(retry_after.unwrap_or(THROTTLED_RETRY_AFTER)) },
            Some(408) => retryable(detail),
            Some(s) if s >= 500 => retryable(detail),
            Some(_) => ModelError::BadRequest(detail),
            // An exception frame of a type this SDK does not know: the answer cannot go on.
            None => ModelError::StreamBroken(detail),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(code: &str, status: Option<u16>, phase: Phase) -> ModelError {
        by_type(code, status, "msg".into(), "m", None, phase)
    }

    #[test]
    fn each_bedrock_error_type_maps_to_what_the_caller_should_do() {
        assert_eq!(map("ThrottlingException", Some(429), Phase::Start), ModelError::RateLimited { retry_after: Some(THROTTLED_RETRY_AFTER) });
        assert_eq!(map("ThrottlingException", None, Phase::Stream).retry_after(), Some(THROTTLED_RETRY_AFTER));
        for code in ["ServiceUnavailableException", "InternalServerException", "ModelTimeoutException", "ModelStreamErrorException", "ModelNotReadyException"] {
            assert!(matches!(map(code, Some(503), Phase::Start), ModelError::Unavailable(_)), "{code}");
            assert!(matches!(map(code, None, Phase::Stream), ModelError::StreamBroken(_)), "{code}");
        }
        assert!(matches!(map("AccessDeniedException", Some(403), Phase::Start), ModelError::Unauthorized(_)));
        assert!(matches!(map("ResourceNotFoundException", Some(404), Phase::Start), ModelError::ModelNotFound(_)));
        assert!(matches!(map("ValidationException", Some(400), Phase::Start), ModelError::BadRequest(ref m) if m.contains("msg") && m.contains("\"m\"")));
        assert!(!map("ValidationException", None, Phase::Stream).is_retryable());
    }

    #[test]
    fn unknown_error_types_fall_back_on_the_http_status() {
        assert!(matches!(map("UnrecognizedClientException", Some(403), Phase::Start), ModelError::Unauthorized(_)));
        assert!(matches!(map("ExpiredTokenException", Some(403), Phase::Start), ModelError::Unauthorized(_)));
        assert!(matches!(map("SerializationException", Some(400), Phase::Start), ModelError::BadRequest(_)));
        assert!(matches!(map("", Some(502), Phase::Start), ModelError::Unavailable(_)));
        assert_eq!(map("", Some(429), Phase::Start).retry_after(), Some(THROTTLED_RETRY_AFTER));
        assert!(matches!(map("SomethingNew", None, Phase::Stream), ModelError::StreamBroken(_)));
        let wait = Duration::from_secs(3);
        assert_eq!(by_type("ThrottlingException", Some(429), String::new(), "m", Some(wait), Phase::Start).retry_after(), Some(wait));
    }
}
