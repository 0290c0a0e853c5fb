//! `/api/v1/members`: the people who respond to incidents, with the email / phone that
//! one-click linking looks them up by.

use crate::error::{ApiResult, Failure};
use crate::extract::{Body, Caller, PathParams};
use crate::{lookup, views};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use warroom_core::{Member, MemberId};
use warroom_http::AppState;

/// The most members one upsert may carry.
pub const MAX_BATCH: usize = 1000;

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
}

/// Creates or replaces every member given (all are validated before any is written).
async fn upsert(State(state): State<AppState>, caller: Caller, Body(items): Body<Vec<Value>>) -> ApiResult<Json<Value>> {
    if items.len() > MAX_BATCH {
        return Err(Failure::bad_request(format!("body: at most {MAX_BATCH} members per request, got {}", items.len())));
    }
    let now = state.clock().now();
    let mut seen = HashSet::new();
    let mut members = Vec::with_capacity(items.len());
    for (n, item) in items.into_iter().enumerate() {
        let at = |field: &str| format!("[{n}].{field}");
        let input: MemberInput = serde_json::from_value(item).map_err(|e| Failure::bad_request(format!("[{n}]: {e}")))?;
        let id = match input.id {
            Some(id) => MemberId::new(valid_id(&id).map_err(|m| Failure::bad_request(format!("{}: {m}", at("id"))))?),
            None => MemberId::generate(),
        };
        if !seen.insert(id.clone()) {
            return Err(Failure::bad_request(format!("{}: member {id} appears more than once", at("id"))));
        }
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Failure::bad_request(format!("{}: must be 1 to 200 characters", at("name"))));
        }
        let email = blank_to_none(input.email).map(|e| valid_email(&e).map_err(|m| Failure::bad_request(format!("{}: {m}", at("email"))))).transpose()?;
        let phone = blank_to_none(input.phone).map(|p| valid_phone(&p).map_err(|m| Failure::bad_request(format!("{}: {m}", at("phone"))))).transpose()?;
        members.push(Member { tenant_id: caller.tenant.clone(), id, name: name.to_owned(), email, phone, updated_at: now });
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

fn blank_to_none(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Caller-chosen ids (an HR system's) are kept: 1 to 64 of `A-Z a-z 0-9 . _ -`. `auto` is
/// reserved: `/links/auto` is the one-click link route.
pub fn valid_id(id: &str) -> Result<&str, String> {
    let ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok {
        return Err("must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'".into());
    }
    if id == "auto" {
        return Err("\"auto\" is reserved".into());
    }
    Ok(id)
}

pub fn valid_email(email: &str) -> Result<String, String> {
    let bad = || format!("{email:?} is not an email address");
    if email.len() > 254 || email.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty() || domain.contains('@') || !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(bad());
    }
    Ok(email.to_owned())
}

/// Digits with an optional leading `+`; spaces, dashes, dots and brackets are dropped
/// (`+86 138-0000-0000` is stored as `+8613800000000`).
pub fn valid_phone(phone: &str) -> Result<String, String> {
    let bad = || format!("{phone:?} is not a phone number: use digits with an optional leading +, e.g. +8613800000000");
    let compact: String = phone.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if !(5..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    Ok(compact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones_are_checked_and_phones_compacted() {
        assert!(valid_email("ada@example.com").is_ok());
        for bad in ["ada", "@example.com", "ada@example", "a b@example.com", "ada@@example.com", "ada@.com"] {
            assert!(valid_email(bad).is_err(), "{bad}");
        }
        assert_eq!(valid_phone("+86 138-0000-0000").unwrap(), "+8613800000000");
        assert_eq!(valid_phone("(555) 0100 123").unwrap(), "5550100123");
        for bad in ["12", "+86abc", "1+234567", "++123456"] {
            assert!(valid_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn caller_chosen_ids_are_plain_and_auto_is_reserved() {
        assert!(valid_id("hr-1042").is_ok());
        assert!(valid_id("").is_err());
        assert!(valid_id("a/b").is_err());
        assert!(valid_id("auto").is_err());
        assert!(valid_id(&"x".repeat(65)).is_err());
    }
}
