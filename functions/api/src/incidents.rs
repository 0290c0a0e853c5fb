//! `/api/v1/incidents`: incidents with their war room and timeline, and the manual
//! create / dismiss of a war room (the worker does the IM work).

use crate::error::{self, ApiResult, Failure};
use crate::extract::{Caller, PathParams, QueryMap};
use crate::{lookup, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use warroom_core::{Actor, IncidentId, WarRoomState};
use warroom_http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/incidents", get(list))
        .route("/api/v1/incidents/{id}", get(show))
        .route("/api/v1/incidents/{id}/timeline", get(timeline))
        .route("/api/v1/incidents/{id}/war-room", get(war_room).post(create_war_room).delete(dismiss_war_room))
}

async fn list(State(state): State<AppState>, caller: Caller, query: QueryMap) -> ApiResult<Json<Value>> {
    let limit = query.number("limit", 25, 100)?;
    let filter = crate::incident_filter::Filter::parse(&query)?;
    let page = crate::incident_filter::page(&state, &caller.tenant, &filter, query.exact("cursor"), limit).await?;
    let items: Vec<Value> = page.incidents.iter().map(views::incident_summary).collect();
    Ok(Json(json!({ "incidents": items, "next": page.next })))
}

async fn show(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<Json<Value>> {
    let incident = lookup::incident(&state, &caller, &id).await?;
    Ok(Json(views::incident(&incident, state.clock().now())))
}

async fn timeline(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<Json<Value>> {
    let incident = lookup::incident(&state, &caller, &id).await?;
    let entries = state.store().list_timeline(&caller.tenant, &incident.id).await?;
    Ok(Json(json!({ "incident_id": incident.id, "entries": entries.iter().map(views::timeline_entry).collect::<Vec<_>>() })))
}

async fn war_room(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<Json<Value>> {
    let incident = lookup::incident(&state, &caller, &id).await?;
    Ok(Json(views::war_room(&incident, state.clock().now())))
}

/// Who the timeline names: the key's label, or the admin member signed in to the console.
fn actor(caller: &Caller) -> Actor {
    match &caller.member {
        Some(id) => Actor::Member { id: id.clone(), name: caller.label.clone() },
        None => Actor::ApiKey { label: caller.label.clone() },
    }
}

/// Asks for a war room: 202 while the worker creates it, 200 if it is already open.
async fn create_war_room(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<(StatusCode, Json<Value>)> {
    let incident = lookup::incident(&state, &caller, &id).await?;
    if incident.war_room.state == WarRoomState::None && state.store().war_room_integration(&caller.tenant).await?.is_none() {
        return Err(Failure::conflict(
            "war_room_not_enabled",
            "no IM integration has war room enabled: enable it first with POST /api/v1/integrations/{id}/war-room",
        ));
    }
    let saved = state.engine.request_war_room(&caller.tenant, &IncidentId::from(id.as_str()), actor(&caller)).await.map_err(error::engine)?;
    let status = if saved.war_room.state == WarRoomState::Open { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, Json(views::war_room(&saved, state.clock().now()))))
}

/// Dismisses the open war room (the transcript is captured first): 202, the worker does it.
async fn dismiss_war_room(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<(StatusCode, Json<Value>)> {
    let incident = lookup::incident(&state, &caller, &id).await?;
    let saved = state.engine.request_dismiss(&caller.tenant, &incident.id, actor(&caller)).await.map_err(error::engine)?;
    Ok((StatusCode::ACCEPTED, Json(views::war_room(&saved, state.clock().now()))))
}
