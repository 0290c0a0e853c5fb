//! `/api/v1/members`: the people who respond to incidents, with the email / phone that
//! one-click linking looks them up by.

use crate::error::{ApiResult, Failure};
use crate::extract::{Caller, ListBody, PathParams};
use crate::{lookup, validate, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use warroom_core::{Member, MemberId, MemberRole};
use warroom_http::AppState;

/// The most members one upsert may carry.
pub const MAX_BATCH: usize = 1000;
/// The longest member name.
pub const NAME_MAX: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/members", get(list).put(upsert)).route("/api/v1/members/{id}", delete(remove))
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let members = state.store().list_members(&caller.tenant).await?;
    Ok(Json(json!({ "members": members.iter().map(views::member).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberInput {
    id: Option<String>,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    role: Option<String>,
}

/// `member` or `admin`, exactly (what the document's `enum` says).
fn role(raw: &str) -> Result<MemberRole, String> {
    MemberRole::parse(raw).ok_or_else(|| format!("{raw:?} is not a role: member or admin"))
}

/// Creates or replaces every member given (all are validated before any is written). An
/// id given twice in one request: the later entry wins, as if sent one after the other.
async fn upsert(State(state): State<AppState>, caller: Caller, ListBody(items): ListBody<Vec<Value>>) -> ApiResult<Json<Value>> {
    if items.len() > MAX_BATCH {
        return Err(Failure::bad_request(format!("body: at most {MAX_BATCH} members per request, got {}", items.len())));
    }
    let now = state.clock().now();
    // A role left out keeps the stored one (a re-imported staff list must not demote the
    // admins in it); a new member is a plain member.
    let stored = state.store().list_members(&caller.tenant).await?;
    let mut members: Vec<Member> = Vec::with_capacity(items.len());
    for (n, item) in items.into_iter().enumerate() {
        let at = |field: &str| format!("[{n}].{field}");
        let input: MemberInput = crate::extract::from_object(item, &format!("[{n}]"))?;
        let id = match input.id {
            Some(id) => MemberId::new(validate::id(&id).map_err(|m| Failure::bad_request(format!("{}: {m}", at("id"))))?),
            None => MemberId::generate(),
        };
        let name = validate::label(&input.name, NAME_MAX).map_err(|m| Failure::bad_request(format!("{}: {m}", at("name"))))?;
        let email = match input.email.as_deref().filter(|e| validate::trimmed(e).is_some()) {
            Some(e) => Some(validate::email(e).map_err(|m| Failure::bad_request(format!("{}: {m}", at("email"))))?),
            None => None,
        };
        let phone = match input.phone.as_deref() {
            Some(p) => validate::phone(p).map_err(|m| Failure::bad_request(format!("{}: {m}", at("phone"))))?,
            None => None,
        };
        let role = match input.role.as_deref() {
            Some(r) => role(r).map_err(|m| Failure::bad_request(format!("{}: {m}", at("role"))))?,
            None => stored.iter().find(|m| m.id == id).map_or(MemberRole::Member, |m| m.role),
        };
        members.retain(|m| m.id != id);
        members.push(Member { tenant_id: caller.tenant.clone(), id, name, email, phone, role, updated_at: now });
    }
    for member in &members {
        state.store().put_member(member).await?;
    }
    Ok(Json(json!({ "members": members.iter().map(views::member).collect::<Vec<_>>() })))
}

/// Deletes the member and their links on every integration.
async fn remove(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<StatusCode> {
    let member = lookup::member(&state, &caller, &id).await?;
    state.store().delete_member(&caller.tenant, &member.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
