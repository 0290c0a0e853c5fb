//! Errors as JSON with a stable machine code and a human message:
//! `{"error": {"code": "not_found", "message": "incident inc_1 not found"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use warroom_core::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound { .. } => ApiError::not_found(e.to_string()),
            StoreError::AlreadyExists { .. } => ApiError::conflict("already_exists", e.to_string()),
            StoreError::VersionConflict { .. } => ApiError::conflict("version_conflict", e.to_string()),
            StoreError::WarRoomTaken { .. } => ApiError::conflict("war_room_taken", e.to_string()),
            StoreError::Invalid(_) => ApiError::bad_request(e.to_string()),
            StoreError::Unavailable { .. } => {
                tracing::error!(error = %e, "store unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "storage is unavailable; try again")
            }
            StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "corrupt stored data");
                ApiError::internal("stored data could not be read")
            }
        }
    }
}

/// The answer of a route that exists but is not built yet.
pub async fn not_implemented(uri: axum::http::Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_IMPLEMENTED, "not_implemented", format!("{} is not implemented yet", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    #[tokio::test]
    async fn errors_render_as_json_with_a_stable_code() {
        let resp = ApiError::from(StoreError::WarRoomTaken { integration_id: "int_a".into() }).into_response();
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        let body = to_bytes(resp.into_body(), 1024).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "war_room_taken");
        assert!(v["error"]["message"].as_str().unwrap().contains("int_a"));
    }

    #[tokio::test]
    async fn backend_failures_do_not_leak_their_details() {
        let e = StoreError::Unavailable { message: "endpoint https://secret-host failed".into(), retryable: true };
        let resp = ApiError::from(e).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = to_bytes(resp.into_body(), 1024).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("secret-host"));
    }
}
