//! `/api/v1/keys`: API keys of the caller's tenant. A new key is shown once, in the answer
//! that creates it; only its SHA-256 hash is stored.
//!
//! Not here yet: listing (`GET`) needs `Store::list_api_keys(tenant)` and revoking
//! (`DELETE /api/v1/keys/{prefix}`) needs a delete in the `Store` port; neither exists.
//! `GET` answers `501 not_implemented` until it does.

use crate::error::{ApiResult, Failure};
use crate::extract::{Body, Caller};
use crate::views;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use warroom_core::{ApiKeyRecord, KeyScope};
use warroom_http::{auth, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/keys", get(list).post(create))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    label: String,
    scope: KeyScope,
}

/// A key record as shown: never the hash.
pub fn view(record: &ApiKeyRecord) -> Value {
    json!({ "label": record.label, "prefix": record.prefix, "scope": record.scope, "created_at": views::time(record.created_at) })
}

async fn create(State(state): State<AppState>, caller: Caller, Body(body): Body<NewKey>) -> ApiResult<(StatusCode, Json<Value>)> {
    let label = body.label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        return Err(Failure::bad_request("label: must be 1 to 100 characters"));
    }
    let (key, record) = auth::new_key(&caller.tenant, label, body.scope, state.clock().now());
    state.store().put_api_key(&record).await?;
    tracing::info!(tenant = %caller.tenant, prefix = %record.prefix, scope = ?record.scope, by = %caller.prefix, "API key created");
    let mut v = view(&record);
    v["key"] = Value::String(key);
    v["note"] = "store the key now: it is shown only once".into();
    Ok((StatusCode::CREATED, Json(v)))
}

async fn list(_caller: Caller) -> ApiResult<Json<Value>> {
    Err(Failure::new(
        StatusCode::NOT_IMPLEMENTED,
        "not_implemented",
        "listing API keys needs a key listing in the storage port, which this build does not have yet",
    ))
}
