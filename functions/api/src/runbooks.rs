//! `/api/v1/runbooks`: the tenant's runbooks (issue 13, item 6). Markdown with label
//! selectors; the one matching an incident's labels is posted in its war room when the room
//! opens, and the assistant cites those matching a question.
//!
//! A replace (`PUT`) is optimistic: a `version` in the body must still be the stored one
//! (`409 version_conflict` otherwise); without it the last write wins.

use crate::error::{ApiResult, Failure};
use crate::extract::{Body, Caller, PathParams, QueryMap};
use crate::validate;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use warroom_core::runbook::{self, Runbook, RunbookId, Selector};
use warroom_core::StoreError;
use warroom_http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/runbooks", get(list).post(create)).route("/api/v1/runbooks/{id}", get(show).put(replace).delete(remove))
}

/// Markdown text: tabs and line breaks allowed, other control characters not, something
/// visible somewhere. Python's `\s` and Rust's whitespace differ only on controls.
pub fn text_pattern() -> String {
    let allowed = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]";
    format!(r"^{allowed}*[^\s\x00-\x1f\x7f-\x9f]{allowed}*$")
}

/// Markdown as [`text_pattern`] says, at most `max` characters.
pub fn text(value: &str, max: usize) -> Result<String, String> {
    if value.chars().count() > max {
        return Err(format!("at most {max} characters"));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err("must not contain control characters other than tabs and line breaks".into());
    }
    if value.chars().all(validate::is_blank) {
        return Err("must not be empty or only spaces".into());
    }
    Ok(value.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunbookInput {
    title: String,
    body: String,
    #[serde(default)]
    selectors: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    /// `PUT` only: the version read, to refuse overwriting a newer one.
    #[serde(default)]
    version: Option<u64>,
}

/// The fields, validated; errors name their field.
struct Fields {
    title: String,
    body: String,
    selectors: Vec<Selector>,
    summary: Option<String>,
}

fn fields(input: &RunbookInput) -> ApiResult<Fields> {
    let bad = |field: &str, m: String| Failure::bad_request(format!("{field}: {m}"));
    let title = validate::label(&input.title, runbook::MAX_TITLE_CHARS).map_err(|m| bad("title", m))?;
    let body = text(&input.body, runbook::MAX_BODY_CHARS).map_err(|m| bad("body", m))?;
    if input.selectors.len() > runbook::MAX_SELECTORS {
        return Err(bad("selectors", format!("at most {} selectors, got {}", runbook::MAX_SELECTORS, input.selectors.len())));
    }
    let mut selectors = Vec::with_capacity(input.selectors.len());
    for (n, s) in input.selectors.iter().enumerate() {
        let selector = Selector::parse(s).map_err(|e| bad(&format!("selectors[{n}]"), e.to_string()))?;
        if !selectors.contains(&selector) {
            selectors.push(selector);
        }
    }
    let summary = match &input.summary {
        Some(s) => Some(text(s, runbook::MAX_SUMMARY_CHARS).map_err(|m| bad("summary", format!("{m} (null: the body's first paragraph)")))?),
        None => None,
    };
    Ok(Fields { title, body, selectors, summary })
}

pub fn view(r: &Runbook) -> Value {
    json!({
        "id": r.id,
        "title": r.title,
        "body": r.body,
        "selectors": r.selectors,
        "summary": r.summary,
        "effective_summary": r.effective_summary(),
        "created_at": r.created_at.to_rfc3339(),
        "updated_at": r.updated_at.to_rfc3339(),
        "version": r.version,
    })
}

async fn lookup(state: &AppState, caller: &Caller, id: &str) -> ApiResult<Runbook> {
    let id = RunbookId::from(id);
    state.store().get_runbook(&caller.tenant, &id).await?.ok_or_else(|| Failure::not_found(format!("runbook {id}")))
}

async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let runbooks = state.store().list_runbooks(&caller.tenant).await?;
    Ok(Json(json!({ "runbooks": runbooks.iter().map(view).collect::<Vec<_>>() })))
}

async fn create(State(state): State<AppState>, caller: Caller, Body(input): Body<RunbookInput>) -> ApiResult<(StatusCode, Json<Value>)> {
    if input.version.is_some() {
        return Err(Failure::bad_request("version: only a replace (PUT) takes the version it read"));
    }
    let f = fields(&input)?;
    // Every room opening and answer reads all of them: a bound keeps that cheap.
    if state.store().list_runbooks(&caller.tenant).await?.len() >= runbook::MAX_PER_TENANT {
        return Err(Failure::conflict("too_many_runbooks", format!("a tenant keeps at most {} runbooks: delete one first", runbook::MAX_PER_TENANT)));
    }
    let now = state.clock().now();
    let new = Runbook {
        tenant_id: caller.tenant.clone(),
        id: RunbookId::generate(),
        title: f.title,
        body: f.body,
        selectors: f.selectors,
        summary: f.summary,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    let stored = state.store().put_runbook(&new).await?;
    Ok((StatusCode::CREATED, Json(view(&stored))))
}

/// JSON, or the body as Markdown (headed by the title) with `?format=markdown`: what the
/// link posted in a war room opens.
async fn show(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>, query: QueryMap) -> ApiResult<Response> {
    let markdown = match query.0.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("markdown") => true,
        Some(other) => return Err(Failure::bad_request(format!("format: must be json or markdown, got {other:?}"))),
    };
    let found = lookup(&state, &caller, &id).await?;
    if markdown {
        let title = found.title.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = format!("# {title}\n\n{}\n", found.body.trim_end());
        return Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], text).into_response());
    }
    Ok(Json(view(&found)).into_response())
}

/// Replaces title, body, selectors and summary (all of them: left out is empty / none).
async fn replace(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>, Body(input): Body<RunbookInput>) -> ApiResult<Json<Value>> {
    let f = fields(&input)?;
    for _ in 0..8 {
        let current = lookup(&state, &caller, &id).await?;
        if let Some(v) = input.version.filter(|v| *v != current.version) {
            return Err(Failure::conflict("version_conflict", format!("runbook {id} is at version {}, not {v}: read it again", current.version))
                .with("current_version", current.version));
        }
        let next = Runbook {
            title: f.title.clone(),
            body: f.body.clone(),
            selectors: f.selectors.clone(),
            summary: f.summary.clone(),
            updated_at: state.clock().now(),
            ..current
        };
        match state.store().put_runbook(&next).await {
            Ok(stored) => return Ok(Json(view(&stored))),
            // Written meanwhile: with a version asked for, that is a conflict; without, read again.
            Err(StoreError::VersionConflict { .. }) if input.version.is_none() => continue,
            Err(StoreError::VersionConflict { .. }) => {
                return Err(Failure::conflict("version_conflict", format!("runbook {id} was changed meanwhile: read it again")));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Failure::conflict("version_conflict", format!("runbook {id} kept changing while this update was applied; try again")))
}

async fn remove(State(state): State<AppState>, caller: Caller, PathParams(id): PathParams<String>) -> ApiResult<StatusCode> {
    let found = lookup(&state, &caller, &id).await?;
    state.store().delete_runbook(&caller.tenant, &found.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_takes_line_breaks_and_refuses_other_controls_and_blank_text() {
        assert_eq!(text("# Title\n\n\tstep 1\r\n", 100).unwrap(), "# Title\n\n\tstep 1\r\n");
        assert!(text("a\u{7}b", 100).is_err());
        assert!(text(" \n\t", 100).is_err());
        assert!(text(&"x".repeat(101), 100).is_err());
    }
}
