//! `POST /hooks/{source}`: incident lifecycle events from an on-call system.
//!
//! Authenticated per tenant by a bearer API key (an intake-scoped key is enough); PagerDuty
//! bodies must also carry a valid `X-PagerDuty-Signature` under the tenant's webhook
//! secret. Each event is normalised, applied by the engine, and a reconcile job queued;
//! the answer says what became of each event.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use warroom_core::{KeyScope, Tenant};
use warroom_engine::{EngineError, IngestOutcome};
use warroom_http::{auth, ApiError, AppState, RawBody};
use warroom_intake::IntakeError;
use warroom_metrics::IntakeOutcome;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/hooks/{source}", post(receive))
        // One byte over the parser's own limit, so the parser reports it with its own error.
        .layer(DefaultBodyLimit::max(warroom_intake::MAX_BODY + 1))
        .with_state(state)
}

async fn receive(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // The label is the known source's own static name: a made-up path never becomes one.
    let label = warroom_intake::SOURCES.iter().copied().find(|s| *s == source).unwrap_or("unknown");
    let answer = apply(&state, label, &source, &headers, body).await;
    if let Err(e) = &answer {
        // Events already applied were counted one by one; the request's end counts once.
        warroom_metrics::intake(label, if e.status.is_server_error() { IntakeOutcome::Failed } else { IntakeOutcome::Refused });
    }
    answer
}

async fn apply(
    state: &AppState,
    label: &'static str,
    source: &str,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !warroom_intake::SOURCES.contains(&source) {
        return Err(ApiError::not_found(format!("unknown source {source:?}; use one of {}", warroom_intake::SOURCES.join(", "))));
    }
    let key = auth::authenticate(state.store().as_ref(), headers, KeyScope::Intake).await?;
    let tenant = state.store().get_tenant(&key.tenant_id).await?.ok_or_else(|| ApiError::unauthorized("the key's tenant no longer exists"))?;
    let secret = if source == "pagerduty" { Some(pagerduty_secret(state, &tenant)?) } else { None };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let events = warroom_intake::parse(source, &body, &header, secret.as_ref().map(|s| s.expose().as_bytes())).map_err(intake_error)?;
    let mut results = Vec::with_capacity(events.len());
    for event in events {
        let external_id = event.source.external_id.clone();
        let outcome = state.engine.ingest(&tenant.id, event).await.map_err(engine_error)?;
        warroom_metrics::intake(
            label,
            match &outcome {
                IngestOutcome::Created(_) => IntakeOutcome::Created,
                IngestOutcome::Updated(_) => IntakeOutcome::Updated,
                IngestOutcome::Ignored { .. } => IntakeOutcome::Ignored,
            },
        );
        results.push(match outcome {
            IngestOutcome::Created(id) => json!({"source_id": external_id, "incident_id": id, "outcome": "created"}),
            IngestOutcome::Updated(id) => json!({"source_id": external_id, "incident_id": id, "outcome": "updated"}),
            IngestOutcome::Ignored { incident, reason } => json!({"source_id": external_id, "incident_id": incident, "outcome": "ignored", "reason": reason}),
        });
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "accepted": results.len(), "results": results }))))
}

/// The tenant's PagerDuty webhook secret, as set through the settings API (sealed).
fn pagerduty_secret(state: &AppState, tenant: &Tenant) -> Result<warroom_secrets::Secret, ApiError> {
    let sealed = tenant.settings.sources.as_ref().and_then(|s| s.pointer("/pagerduty/webhook_secret")).and_then(Value::as_str).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "no PagerDuty webhook secret is set for this tenant; set sources.pagerduty.webhook_secret in /api/v1/settings",
        )
    })?;
    let sealed = warroom_core::SealedCredentials(sealed.to_string());
    state
        .secrets
        .open(&sealed, &warroom_sources::secret_context(&tenant.id))
        .map_err(|_| ApiError::internal("the PagerDuty webhook secret could not be opened; set it again"))
}

fn intake_error(e: IntakeError) -> ApiError {
    let status = match e {
        IntakeError::BadSignature => StatusCode::UNAUTHORIZED,
        IntakeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        IntakeError::Unsupported { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, e.code(), e.to_string())
}

fn engine_error(e: EngineError) -> ApiError {
    match e {
        EngineError::Store(s) => s.into(),
        e if e.is_retryable() => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again shortly"),
        e => {
            tracing::error!(error = %e, "intake failed");
            ApiError::internal("the event could not be applied")
        }
    }
}
