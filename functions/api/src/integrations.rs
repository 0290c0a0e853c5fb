//! `/api/v1/integrations`: the tenant's IM integrations, their permissions, the war-room
//! switch (one integration per tenant) and the chats their bot is in.

use crate::error::{self, ApiResult, Failure};
use crate::extract::{Caller, PathParams};
use crate::{lookup, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use warroom_core::{Integration, IntegrationStatus, StoreError};
use warroom_http::AppState;
use warroom_platforms::health;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/integrations", get(list))
        .route("/api/v1/integrations/{id}", get(show).delete(remove))
        .route("/api/v1/integrations/{id}/war-room", post(enable_war_room).delete(disable_war_room))
        .route("/api/v1/integrations/{id}/chats", get(chats))
}

/// The integration's detail with its `health`: when its IM calls last succeeded, their last
/// failure, and whether its token works (`warroom_platforms::health`).
async fn view(state: &AppState, i: &Integration) -> ApiResult<Value> {
    let mut detail = views::integration_detail(state, i);
    let now = state.engine.clock.now();
    let recorded = health::read(state.store().as_ref(), &i.id, now).await?;
    let missing = detail.get("missing_permissions").and_then(Value::as_array).is_some_and(|m| !m.is_empty());
    let last_error = recorded.last_error.as_ref().map(|e| json!({ "at": e.at.to_rfc3339(), "code": e.code, "message": e.message }));
    if let Value::Object(fields) = &mut detail {
        fields.insert(
            "health".into(),
            json!({
                "token": recorded.token(i, missing).as_str(),
                "last_ok_at": recorded.last_ok_at.map(|t| t.to_rfc3339()),
                "last_error_at": recorded.last_error.as_ref().map(|e| e.at.to_rfc3339()),
                "last_error": last_error,
            }),
        );
    }
    Ok(detail)
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let integrations = state.store().list_integrations(&caller.tenant).await?;
    let mut items = Vec::with_capacity(integrations.len());
    for i in &integrations {
        items.push(view(&state, i).await?);
    }
    Ok(Json(json!({ "integrations": items })))
}

/// The detail, with the platform quota used where the platform has one (DingTalk).
async fn show(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<Json<Value>> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    let mut detail = view(&state, &integration).await?;
    if let (Some(platforms), Value::Object(fields)) = (state.platforms.as_deref(), &mut detail) {
        if let Some(usage) = match platforms.module(integration.platform) {
            Some(module) => module.usage(platforms, &integration).await,
            None => None,
        } {
            fields.insert("usage".into(), usage);
        }
    }
    Ok(Json(detail))
}

async fn remove(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<StatusCode> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    state.store().delete_integration(&caller.tenant, &integration.id).await?;
    tracing::info!(tenant = %caller.tenant, integration = %integration.id, key = %caller.prefix, "integration deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The scopes the platform reports now, stored when they changed since the OAuth grant
/// (self-managed apps gain permissions in the platform's console). When the platform
/// cannot be asked, the stored grant is used.
async fn refresh_scopes(state: &AppState, integration: Integration) -> ApiResult<Integration> {
    let live = match state.engine.platforms.for_integration(&integration) {
        Ok(platform) => platform.granted_scopes().await,
        Err(e) => Err(e),
    };
    match live {
        Ok(mut scopes) => {
            scopes.sort();
            scopes.dedup();
            let mut stored = integration.granted_scopes.clone();
            stored.sort();
            if scopes == stored {
                return Ok(integration);
            }
            let updated = Integration { granted_scopes: scopes, updated_at: state.clock().now(), ..integration };
            match state.store().update_integration(&updated).await {
                Ok(()) => Ok(Integration { version: updated.version + 1, ..updated }),
                // Another update came first (a rotation, a revocation): it stands; the grant
                // is refreshed again on the next read.
                Err(warroom_core::StoreError::VersionConflict { .. }) => {
                    state.store().get_integration(&updated.id).await?.ok_or_else(|| crate::error::Failure::not_found(format!("integration {}", updated.id)))
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => {
            tracing::warn!(integration = %integration.id, error = %e, "granted scopes could not be read from the platform; using the stored grant");
            Ok(integration)
        }
    }
}

async fn enable_war_room(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<Json<Value>> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    let reauthorize = views::reauthorize_url(&state.settings.public_url, &integration);
    if integration.status == IntegrationStatus::Revoked {
        return Err(Failure::conflict(
            "integration_revoked",
            format!("integration {} was uninstalled or its credentials revoked; re-authorize it at {reauthorize}", integration.id),
        )
        .with("reauthorize_url", reauthorize));
    }
    let integration = refresh_scopes(&state, integration).await?;
    let required: Vec<&str> = state.engine.platforms.required_scopes(integration.platform).into_iter().map(|(s, _)| s).collect();
    let missing = integration.missing_scopes(&required);
    if !missing.is_empty() {
        let message = format!("the {} app lacks permissions war rooms need: {}; re-authorize it at {reauthorize}", integration.platform, missing.join(", "));
        return Err(Failure::conflict("missing_permissions", message).with("missing_permissions", missing).with("reauthorize_url", reauthorize));
    }
    match state.store().enable_war_room(&caller.tenant, &integration.id).await {
        Ok(()) => {}
        Err(StoreError::WarRoomTaken { integration_id }) => {
            let holder = state.store().get_integration(&integration_id).await?.filter(|i| i.tenant_id == caller.tenant);
            let named = holder.map_or(integration_id.to_string(), |h| format!("{} ({}, \"{}\")", h.id, h.platform, h.name));
            let message = format!("war room is already enabled on integration {named}; only one integration per tenant may have it: disable it there first");
            return Err(Failure::conflict("war_room_taken", message).with("integration_id", integration_id.to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(tenant = %caller.tenant, integration = %integration.id, key = %caller.prefix, "war room enabled");
    let saved = lookup::integration(&state, &caller, &id).await?;
    Ok(Json(view(&state, &saved).await?))
}

async fn disable_war_room(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<Json<Value>> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    state.store().disable_war_room(&caller.tenant, &integration.id).await?;
    tracing::info!(tenant = %caller.tenant, integration = %integration.id, key = %caller.prefix, "war room disabled");
    let saved = lookup::integration(&state, &caller, &id).await?;
    Ok(Json(view(&state, &saved).await?))
}

async fn chats(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<Json<Value>> {
    let integration = lookup::integration(&state, &caller, &id).await?;
    let platform = state.engine.platforms.for_integration(&integration).map_err(error::platform)?;
    let chats = platform.list_bot_chats().await.map_err(error::platform)?;
    let items: Vec<Value> = chats.iter().map(|c| json!({ "chat_id": c.chat_id, "name": c.name })).collect();
    Ok(Json(json!({ "chats": items })))
}
