//! `/api/v1/dead-letters`: jobs the worker gave up on, and putting them back.
//!
//! The dead-letter queue is shared by every tenant of the deployment. Bodies are shown
//! only for the caller's own jobs; the others are only counted. Redrive moves *every*
//! dead letter (the queue port has no per-tenant redrive), so it is allowed only when all
//! of them belong to the caller's tenant, which is always so in a single-tenant deployment.

use crate::error::{self, ApiResult, Failure};
use crate::extract::{Caller, QueryMap};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use warroom_core::{Delivery, Job, TenantId};
use warroom_http::AppState;

/// How many dead letters a redrive looks at to check they are all the caller's.
const REDRIVE_CHECK: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/dead-letters", get(list)).route("/api/v1/dead-letters/redrive", post(redrive))
}

fn own_job(delivery: &Delivery, tenant: &TenantId) -> Option<Job> {
    delivery.job().ok().filter(|job| &job.tenant_id == tenant)
}

async fn peek(state: &AppState, max: usize) -> ApiResult<Vec<Delivery>> {
    state.queue().dead_letters(max).await.map_err(|e| error::engine(e.into()))
}

async fn list(State(state): State<AppState>, caller: Caller, query: QueryMap) -> ApiResult<Json<Value>> {
    let limit = query.number("limit", 50, 200)?;
    let letters = peek(&state, limit).await?;
    let mut own = Vec::new();
    let mut others = 0;
    for d in &letters {
        match own_job(d, &caller.tenant) {
            Some(job) => own.push(json!({
                "message_id": d.message_id,
                "group": d.group,
                "receive_count": d.receive_count,
                "job": serde_json::to_value(&job).unwrap_or(Value::Null),
            })),
            None => others += 1,
        }
    }
    Ok(Json(json!({ "dead_letters": own, "other_tenants": others })))
}

async fn redrive(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let letters = peek(&state, REDRIVE_CHECK).await?;
    let foreign = letters.iter().filter(|d| own_job(d, &caller.tenant).is_none()).count();
    if foreign > 0 {
        let message = format!(
            "{foreign} of the {} dead letters belong to other tenants (or cannot be read); redrive moves every dead letter, so it is refused. Redrive from the queue's console, or ask the deployment's operator",
            letters.len()
        );
        return Err(Failure::conflict("dead_letters_shared", message).with("other_tenants", foreign));
    }
    let redriven = state.queue().redrive_dead_letters().await.map_err(|e| error::engine(e.into()))?;
    tracing::info!(tenant = %caller.tenant, key = %caller.prefix, redriven, "dead letters redriven");
    Ok(Json(json!({ "redriven": redriven })))
}
