//! `/api/v1/incidents/{id}/postmortem`: ask for the AI post-mortem (the worker drafts it)
//! and read it, as JSON or Markdown, any version (regenerating keeps earlier ones).

use crate::error::{self, ApiResult, Failure};
use crate::extract::{Caller, PathParams, QueryMap};
use crate::lookup;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use warroom_core::{Actor, Postmortem};
use warroom_engine::assistant::postmortem_job::{postmortem_path, RequestError};
use warroom_http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/incidents/{id}/postmortem", get(show).post(request))
}

/// 202: queued. Refused at once when no model is configured (the job could only fail) or
/// the tenant's per-minute limit is reached (429 with `Retry-After`).
async fn request(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<(StatusCode, Json<Value>)> {
    let incident = lookup::incident(&state, &caller, &id).await?;
    let tenant = lookup::tenant(&state, &caller).await?;
    let configured = match &state.engine.models {
        Some(models) => {
            models.for_tenant(&tenant).map_err(|e| Failure::conflict("model_not_configured", format!("the assistant's model is not usable: {e}")))?.is_some()
        }
        None => false,
    };
    if !configured {
        return Err(Failure::conflict(
            "model_not_configured",
            "no model is configured for the assistant: set the tenant's own with PUT /api/v1/settings (model), or the deployment's: WARROOM_MODEL_BASE_URL, WARROOM_MODEL and WARROOM_MODEL_API_KEY (SAM parameters ModelBaseUrl, ModelName, ModelApiKey), or ModelProvider=bedrock with ModelName set to a Bedrock model id",
        ));
    }
    let actor = Actor::ApiKey { label: caller.label.clone() };
    let request = state.engine.request_postmortem(&incident, actor, None).await.map_err(|e| match e {
        RequestError::RateLimited { retry_after } => {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let mut f = Failure::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string());
            f.retry_after = Some(secs.max(1));
            f
        }
        RequestError::Engine(e) => error::engine(e),
    })?;
    let body = json!({
        "incident_id": incident.id,
        "request": request,
        "status": "queued",
        "message": format!("the post-mortem is being drafted; GET {} shows it when ready", postmortem_path(&incident.id)),
    });
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// The latest version (or `?version=N`), as JSON, or as Markdown with `?format=markdown`.
async fn show(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>, query: QueryMap) -> ApiResult<Response> {
    let incident = lookup::incident(&state, &caller, &id).await?;
    // Present but empty (`?format=`) is a wrong value, not an absent one.
    let markdown = match query.0.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("markdown") => true,
        Some(other) => return Err(Failure::bad_request(format!("format: must be json or markdown, got {other:?}"))),
    };
    let wanted = match query.0.contains_key("version") {
        false => None,
        true => Some(u32::try_from(query.number("version", 1, 1_000_000)?).unwrap_or(u32::MAX)),
    };
    let versions = state.store().list_postmortems(&caller.tenant, &incident.id).await?;
    let chosen = match wanted {
        Some(v) => {
            versions.iter().find(|p| p.version == v).ok_or_else(|| Failure::not_found(format!("post-mortem version {v} of incident {}", incident.id)))?
        }
        None => versions.last().ok_or_else(|| {
            Failure::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("incident {} has no post-mortem yet: POST {} drafts one", incident.id, postmortem_path(&incident.id)),
            )
        })?,
    };
    if markdown {
        let text = chosen.markdown(&incident.title);
        return Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], text).into_response());
    }
    Ok(Json(view(chosen, &versions)).into_response())
}

fn view(pm: &Postmortem, all: &[Postmortem]) -> Value {
    let versions: Vec<Value> = all.iter().map(|p| json!({ "version": p.version, "created_at": p.created_at.to_rfc3339(), "model": p.model })).collect();
    json!({
        "incident_id": pm.incident_id,
        "version": pm.version,
        "created_at": pm.created_at.to_rfc3339(),
        "requested_by": pm.requested_by,
        "model": pm.model,
        "prompt_version": pm.prompt_version,
        "usage": pm.usage,
        "latency_ms": pm.latency_ms,
        "material": pm.material,
        "review": pm.review,
        "corrections": pm.corrections,
        "versions": versions,
    })
}
