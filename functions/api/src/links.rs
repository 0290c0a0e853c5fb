//! `/api/v1/integrations/{id}/links`: which members are linked to which IM account on one
//! integration, one-click linking by email / phone, and manual links.

use crate::error::{self, ApiResult, Failure};
use crate::extract::{Body, Caller, OptionalBody, PathParams, QueryMap};
use crate::{lookup, views};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use warroom_core::links::{LinkFilter, LinkQuery, MAX_PAGE};
use warroom_core::{ImError, ImUserId, Job, JobKind, LinkMethod, MemberId, UserLink};
use warroom_engine::{EngineError, LinkReport};
use warroom_http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/integrations/{id}/links", get(list))
        .route("/api/v1/integrations/{id}/links/auto", post(auto_link))
        .route("/api/v1/integrations/{id}/links/runs/{run_id}", get(run))
        .route("/api/v1/integrations/{id}/links/{member_id}", put(link).delete(unlink))
}

/// Where the worker keeps a queued run's report (see the engine's job handler).
fn run_key(integration: &str, run_id: &str) -> String {
    format!("linkrun:{integration}:{run_id}")
}

async fn list(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>, query: QueryMap) -> ApiResult<Json<Value>> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    // Present means one of the three, exactly: `filter=` is no choice.
    let filter = match query.0.get("filter").map_or("all", String::as_str) {
        "all" => LinkFilter::All,
        "linked" => LinkFilter::Linked,
        "unlinked" => LinkFilter::Unlinked,
        other => return Err(Failure::bad_request(format!("filter: must be all, linked or unlinked, got {other:?}"))),
    };
    let q = LinkQuery {
        filter,
        search: query.text("search").map(str::to_owned),
        after: query.text("after").map(MemberId::from),
        limit: query.number("limit", 50, MAX_PAGE)?,
    };
    let page = state.store().list_links(&caller.tenant, &integration.id, &q).await?;
    let rows: Vec<Value> =
        page.rows.iter().map(|r| json!({ "member": views::member(&r.member), "linked": r.link.is_some(), "link": r.link.as_ref().map(views::link) })).collect();
    Ok(Json(json!({ "rows": rows, "next": page.next })))
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoLink {
    /// Only these members; all unlinked members when absent or empty.
    #[serde(default)]
    member_ids: Vec<MemberId>,
}

/// One-click link: runs now and answers 200 with the report; when the platform asks to
/// slow down (or a backend is briefly unavailable) the run is queued for the worker and
/// the answer is 202 with a `run_id` to poll.
async fn auto_link(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    OptionalBody(body): OptionalBody<AutoLink>,
) -> ApiResult<Response> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    if body.member_ids.len() > crate::members::MAX_BATCH {
        return Err(Failure::bad_request(format!("member_ids: at most {} per request", crate::members::MAX_BATCH)));
    }
    if !body.member_ids.is_empty() {
        let known: HashSet<MemberId> = state.store().list_members(&caller.tenant).await?.into_iter().map(|m| m.id).collect();
        let unknown: Vec<&str> = body.member_ids.iter().filter(|m| !known.contains(*m)).map(MemberId::as_str).collect();
        if !unknown.is_empty() {
            let message = format!("member_ids: no such member(s): {}", unknown.join(", "));
            return Err(Failure::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_members", message).with("unknown_member_ids", unknown));
        }
    }
    let run_id = format!("run_{}", warroom_core::ids::random_suffix());
    let status_url = format!("/api/v1/integrations/{}/links/runs/{run_id}", integration.id);
    let e = match state.engine.link_members(&caller.tenant, &integration.id, &body.member_ids).await {
        Ok(report) => {
            // Kept like a queued run's, so the report has an address to link to or read again.
            let value = serde_json::to_value(&report).unwrap_or_default();
            let ttl = std::time::Duration::from_secs(24 * 3600);
            state.store().put_ephemeral(&run_key(integration.id.as_str(), &run_id), &value.to_string(), ttl, state.clock().now()).await?;
            let mut answer = json!({ "run_id": run_id, "status_url": status_url });
            if let (Value::Object(out), Value::Object(r)) = (&mut answer, value) {
                out.extend(r);
            }
            return Ok(Json(answer).into_response());
        }
        Err(e) => e,
    };
    if !(matches!(e, EngineError::Platform(ImError::RateLimited { .. })) || e.is_retryable()) {
        return Err(error::engine(e));
    }
    tracing::info!(integration = %integration.id, run = %run_id, error = %e, "one-click link queued for the worker");
    let kind = JobKind::LinkUsers { integration_id: integration.id.clone(), member_ids: body.member_ids };
    state.queue().send(&Job::new(caller.tenant.clone(), kind, run_id.clone())).await.map_err(|e| error::engine(e.into()))?;
    let body = json!({
        "run_id": run_id,
        "status_url": status_url,
        "message": format!("the platform asked to slow down ({e}); the rest of the linking runs in the background"),
    });
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, status_url)], Json(body)).into_response())
}

/// The report of a queued run: `404` until the worker has finished it.
async fn run(State(state): State<AppState>, caller: Caller, PathParams((id, run_id)): PathParams<(String, String)>) -> ApiResult<Json<Value>> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    let stored = state.store().get_ephemeral(&run_key(integration.id.as_str(), &run_id), state.clock().now()).await?;
    let Some(stored) = stored else {
        return Err(Failure::not_found(format!("report of link run {run_id} (it is queued or running, or unknown)")));
    };
    let stored: Value = serde_json::from_str(&stored).map_err(|e| {
        tracing::error!(run = %run_id, error = %e, "stored link report unreadable");
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the stored report could not be read")
    })?;
    // A run that failed for good is stored as {"error": …}; a finished one as a LinkReport.
    if let Some(error) = stored.get("error").and_then(Value::as_str) {
        return Ok(Json(json!({ "run_id": run_id, "status": "failed", "error": error })));
    }
    let report: LinkReport = serde_json::from_value(stored).map_err(|e| {
        tracing::error!(run = %run_id, error = %e, "stored link report unreadable");
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the stored report could not be read")
    })?;
    let mut v = json!({ "run_id": run_id, "status": "done" });
    if let (Value::Object(out), Ok(Value::Object(r))) = (&mut v, serde_json::to_value(&report)) {
        out.extend(r);
    }
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualLink {
    im_user_id: String,
}

/// Links the member to an IM user by hand (replacing the member's earlier link). An IM
/// user already linked to someone else is refused: unlink them first.
async fn link(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, member_id)): PathParams<(String, String)>,
    Body(body): Body<ManualLink>,
) -> ApiResult<Json<Value>> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    let member = lookup::member(&state, &caller, &member_id).await?;
    // As documented: blanks (spaces, controls) around it are trimmed, none inside; at most
    // 128 characters as sent.
    let user = crate::validate::trimmed(&body.im_user_id).unwrap_or_default();
    if user.is_empty() || body.im_user_id.chars().count() > 128 || user.chars().any(crate::validate::is_blank) {
        return Err(Failure::bad_request("im_user_id: must be 1 to 128 characters without spaces"));
    }
    let user = ImUserId::from(user);
    if let Some(other) = state.store().link_by_im_user(&caller.tenant, &integration.id, &user).await? {
        if other.member_id != member.id {
            let message = format!("IM user {user} is already linked to member {}; unlink them first", other.member_id);
            return Err(Failure::conflict("already_linked", message).with("member_id", other.member_id.to_string()));
        }
    }
    let link = UserLink {
        tenant_id: caller.tenant.clone(),
        integration_id: integration.id,
        member_id: member.id.clone(),
        im_user_id: user,
        method: LinkMethod::Manual,
        linked_at: state.clock().now(),
    };
    state.store().put_link(&link).await?;
    state.engine.forget_lookup_misses(&link.integration_id, &member).await;
    Ok(Json(json!({ "member": views::member(&member), "linked": true, "link": views::link(&link) })))
}

async fn unlink(State(state): State<AppState>, caller: Caller, PathParams((id, member_id)): PathParams<(String, String)>) -> ApiResult<StatusCode> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    let member = lookup::member(&state, &caller, &member_id).await?;
    state.store().delete_link(&caller.tenant, &integration.id, &member.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
