//! The raw request body, with refusals as JSON errors like every other refusal (axum's own
//! rejection of a body over the route's limit is plain text).

use crate::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;

/// The body's bytes, within the route's `DefaultBodyLimit`.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(RawBody(bytes)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is larger than this route accepts"))
            }
            Err(e) => Err(ApiError::new(e.status(), "bad_body", format!("the request body could not be read: {}", e.body_text()))),
        }
    }
}
