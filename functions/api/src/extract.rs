//! Extractors whose rejections are JSON [`Failure`]s: axum's own answer in plain text,
//! which must never reach an API client.

use crate::error::Failure;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use warroom_core::{KeyScope, TenantId};
use warroom_http::{auth, AppState};

/// The caller: an admin-scope API key, and so its tenant. Every lookup is scoped to it.
#[derive(Clone, Debug)]
pub struct Caller {
    pub tenant: TenantId,
    pub label: String,
    pub prefix: String,
    /// The admin member acting through a console session signed in through the IM (`label`
    /// is then their name); `None` for an API key.
    pub member: Option<warroom_core::MemberId>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        // The console's in-process calls (`console::dispatch`) arrive already authenticated by
        // its session. Only code in this process can put a `Caller` in the extensions: an HTTP
        // client controls headers and body, never extensions.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let key = auth::authenticate(state.store().as_ref(), &parts.headers, KeyScope::Admin).await?;
        Ok(Caller { tenant: key.tenant_id, label: key.label, prefix: key.prefix, member: None })
    }
}

/// A JSON object as the request body. A `Content-Type` other than JSON is refused (415); a
/// missing one is accepted (curl users forget it). Syntax and shape errors are 400
/// `bad_request`; so is any other JSON than an object (serde would read `[null]` as a struct).
pub struct Body<T>(pub T);

/// A JSON array as the request body (bulk writes), otherwise as [`Body`].
pub struct ListBody<T>(pub T);

/// Like [`Body`], but no body (zero bytes) means `T::default()`.
pub struct OptionalBody<T>(pub T);

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Failure> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        if !(ct.starts_with("application/json") || (ct.starts_with("application/") && ct.contains("+json"))) {
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("expected Content-Type: application/json, got {ct:?}"),
            ));
        }
    }
    Bytes::from_request(req, state).await.map_err(body_rejection)
}

fn body_rejection(r: BytesRejection) -> Failure {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Failure::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
    } else {
        Failure::bad_request(format!("the request body could not be read: {}", r.body_text()))
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(bytes).map_err(|e| Failure::bad_request(format!("request body: {e}")))
}

/// `T` from a JSON object, and only from one.
pub fn from_object<T: DeserializeOwned>(value: serde_json::Value, what: &str) -> Result<T, Failure> {
    if !value.is_object() {
        return Err(Failure::bad_request(format!("{what}: expected a JSON object")));
    }
    serde_json::from_value(value).map_err(|e| Failure::bad_request(format!("{what}: {e}")))
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        let bytes = read_body(req, state).await?;
        if is_blank(&bytes) {
            return Err(Failure::bad_request("request body: expected a JSON document, got an empty body"));
        }
        from_object(parse(&bytes)?, "request body").map(Body)
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ListBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        let bytes = read_body(req, state).await?;
        if is_blank(&bytes) {
            return Err(Failure::bad_request("request body: expected a JSON array, got an empty body"));
        }
        let value: serde_json::Value = parse(&bytes)?;
        if !value.is_array() {
            return Err(Failure::bad_request("request body: expected a JSON array"));
        }
        serde_json::from_value(value).map(ListBody).map_err(|e| Failure::bad_request(format!("request body: {e}")))
    }
}

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        let bytes = read_body(req, state).await?;
        // No body at all means the defaults; a body of spaces is no JSON document.
        if bytes.is_empty() {
            return Ok(OptionalBody(T::default()));
        }
        from_object(parse(&bytes)?, "request body").map(OptionalBody)
    }
}

/// Path parameters (all strings here).
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|r| Failure::bad_request(format!("path: {}", r.body_text())))
    }
}

/// The query string as name → value; handlers parse each field and name it in errors.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|q| QueryMap(q.0))
            .map_err(|r| Failure::bad_request(format!("query string: {}", r.body_text())))
    }
}

impl QueryMap {
    /// A non-empty value, trimmed.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    /// The value as sent (no trimming: what the document's pattern describes); empty → `None`.
    pub fn exact(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// `limit`-style numbers: absent → `default`; present, only ASCII digits from 1 to
    /// `max` (an empty `limit=` or a `+5` is no integer), else 400 naming the field.
    pub fn number(&self, name: &str, default: usize, max: usize) -> Result<usize, Failure> {
        let Some(raw) = self.0.get(name) else { return Ok(default) };
        match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
            _ => Err(Failure::bad_request(format!("{name}: must be a whole number from 1 to {max}, got {raw:?}"))),
        }
    }
}
