//! `/api/v1/keys`: API keys of the caller's tenant. A new key is shown once, in the answer
//! that creates it; only its SHA-256 hash is stored.
//!
//! A key is named by its `id`: the first 16 hex digits of its hash (public, and useless
//! for finding the key). The tenant's last admin key cannot be revoked, so nobody locks
//! themselves out.

use crate::error::{ApiResult, Failure};
use crate::extract::{Body, Caller};
use crate::views;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use warroom_core::{ApiKeyRecord, KeyScope};
use warroom_http::{auth, AppState};

/// The longest key label.
const LABEL_MAX: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/keys", get(list).post(create)).route("/api/v1/keys/{id}", delete(revoke))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    label: String,
    scope: KeyScope,
}

/// A key record as shown: never the hash.
pub fn view(record: &ApiKeyRecord) -> Value {
    json!({ "id": key_id(record), "label": record.label, "prefix": record.prefix, "scope": record.scope, "created_at": views::time(record.created_at) })
}

async fn create(State(state): State<AppState>, caller: Caller, Body(body): Body<NewKey>) -> ApiResult<(StatusCode, Json<Value>)> {
    let label = crate::validate::label(&body.label, LABEL_MAX).map_err(|m| Failure::bad_request(format!("label: {m}")))?;
    let (key, record) = auth::new_key(&caller.tenant, &label, body.scope, state.clock().now());
    state.store().put_api_key(&record).await?;
    tracing::info!(tenant = %caller.tenant, prefix = %record.prefix, scope = ?record.scope, by = %caller.prefix, "API key created");
    let mut v = view(&record);
    v["key"] = Value::String(key);
    v["note"] = "store the key now: it is shown only once".into();
    Ok((StatusCode::CREATED, Json(v)))
}

/// The public name of a key.
pub fn key_id(record: &ApiKeyRecord) -> &str {
    &record.key_hash[..16.min(record.key_hash.len())]
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let mut keys = state.store().list_api_keys(&caller.tenant).await?;
    keys.sort_by_key(|k| k.created_at);
    Ok(Json(json!({ "keys": keys.iter().map(view).collect::<Vec<_>>() })))
}

async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let keys = state.store().list_api_keys(&caller.tenant).await?;
    let record = keys.iter().find(|k| key_id(k) == id).ok_or_else(|| Failure::not_found(format!("API key {id}")))?;
    let admins = keys.iter().filter(|k| k.scope == KeyScope::Admin).count();
    if record.scope == KeyScope::Admin && admins == 1 {
        return Err(Failure::new(StatusCode::CONFLICT, "last_admin_key", "this is the tenant's last admin key; create another before revoking it"));
    }
    state.store().delete_api_key(&caller.tenant, &record.key_hash).await?;
    tracing::info!(tenant = %caller.tenant, key = %id, by = %caller.prefix, "API key revoked");
    Ok(StatusCode::NO_CONTENT)
}
