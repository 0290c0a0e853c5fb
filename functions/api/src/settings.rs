//! `/api/v1/settings`: the tenant's war-room rules and per-source status-sync settings.
//!
//! `PUT` is a partial update (JSON merge-patch style): fields left out are unchanged,
//! `null` removes a value (or a whole source section). Secrets arrive in plaintext, are
//! sealed under `tenant:{id}:sync` before they are stored, and are never shown again: `GET`
//! answers `"set"` for a stored secret, and sending `"set"` back keeps it.
//!
//! Saves never lose each other: `GET` and `PUT` answer an `ETag`; a `PUT` with `If-Match`
//! is applied only to that version (else `412 version_conflict`, nothing saved); a `PUT`
//! without it is merged into whatever is current at the time of the write.

use crate::error::{ApiResult, Failure};
use crate::extract::{Body, Caller};
use crate::{lookup, validate};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use warroom_core::{Severity, StoreError, Tenant, TenantSettings};
use warroom_http::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/settings", get(show).put(update))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Url,
    Email,
    Text,
    Secret,
}

/// The source sections and their fields, as `warroom-sources` and the intake read them.
const SECTIONS: [(&str, &[(&str, Kind)]); 3] = [
    ("generic", &[("callback_url", Kind::Url), ("signing_secret", Kind::Secret)]),
    ("alertmanager", &[("api_url", Kind::Url), ("created_by", Kind::Text)]),
    ("pagerduty", &[("api_token", Kind::Secret), ("from_email", Kind::Email), ("webhook_secret", Kind::Secret), ("api_url", Kind::Url)]),
];

/// What a secret is sealed for: status sync (`tenant:{id}:sync`) or the tenant's model
/// (`tenant:{id}:model`), so one cannot be opened as the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretUse {
    Sync,
    Model,
}

/// What `GET` shows for a stored secret (and what `PUT` takes as "keep it").
pub const SET: &str = "set";
/// Secrets' lengths, in characters.
pub const SECRET_MIN: usize = 8;
pub const SECRET_MAX: usize = 4096;
/// The longest plain text setting (Alertmanager's `created_by`).
pub const TEXT_MAX: usize = 100;

/// `422 incomplete_settings`: well-formed, but not complete together with what is stored
/// (a section without a field it needs, `"set"` for a secret never stored). Unlike a `400`,
/// the same request may succeed against other stored settings.
fn incomplete(message: String) -> Failure {
    Failure::new(StatusCode::UNPROCESSABLE_ENTITY, "incomplete_settings", message)
}
/// Longest "auto dismiss after" (30 days).
const MAX_DISMISS_MINUTES: u64 = 30 * 24 * 60;

async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<(HeaderMap, Json<Value>)> {
    let tenant = lookup::tenant(&state, &caller).await?;
    Ok((etag_header(&tenant), Json(render(&tenant.settings))))
}

/// How often a save without `If-Match` re-reads and re-applies its patch when another save
/// came first. A patch names only the fields it changes, so applying it to the newer record
/// keeps the other save's changes; with `If-Match` the caller asked to be told instead.
/// Each lost race means another save went through, so n savers at once need at most n.
const MERGE_ATTEMPTS: usize = 16;

async fn update(State(state): State<AppState>, caller: Caller, headers: HeaderMap, Body(patch): Body<Value>) -> ApiResult<(HeaderMap, Json<Value>)> {
    let if_match = if_match(&headers)?;
    for _ in 0..MERGE_ATTEMPTS {
        let mut tenant = lookup::tenant(&state, &caller).await?;
        let version = tenant.version;
        // A malformed patch is told as such (400/422) whatever the version it was based on.
        let (sync, model) = (warroom_sources::secret_context(&tenant.id), warroom_core::model_key_context(&tenant.id));
        let seal = |plain: &str, usage: SecretUse| state.secrets.seal(plain, if usage == SecretUse::Sync { &sync } else { &model }).0;
        apply(&mut tenant, patch.clone(), &seal)?;
        // `Some([])` is `*`: any current version.
        if let Some(wanted) = if_match.as_ref().filter(|w| !w.is_empty()) {
            if !wanted.contains(&version) {
                return Err(stale(&tenant));
            }
        }
        match state.store().update_tenant(&tenant).await {
            Ok(saved) => {
                tracing::info!(tenant = %saved.id, key = %caller.prefix, version = saved.version, "settings updated");
                return Ok((etag_header(&saved), Json(render(&saved.settings))));
            }
            Err(StoreError::VersionConflict { .. }) if if_match.is_none() => continue,
            Err(StoreError::VersionConflict { .. }) => {
                let now = lookup::tenant(&state, &caller).await?;
                return Err(stale(&now));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Failure::conflict("version_conflict", "the settings kept changing while this save was applied; try again"))
}

/// A strong validator of the tenant record: its version.
fn etag(tenant: &Tenant) -> String {
    format!("\"v{}\"", tenant.version)
}

fn etag_header(tenant: &Tenant) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag(tenant)) {
        headers.insert(header::ETAG, value);
    }
    headers
}

/// `If-Match` (RFC 9110 §13.1.1): `*` (`None`) or the versions of the tags listed. Only
/// our own strong tags can match; anything else is refused rather than never matching.
fn if_match(headers: &HeaderMap) -> ApiResult<Option<Vec<u64>>> {
    let values: Vec<&HeaderValue> = headers.get_all(header::IF_MATCH).iter().collect();
    if values.is_empty() {
        return Ok(None);
    }
    let mut versions = Vec::new();
    for value in values {
        let text = value.to_str().map_err(|_| Failure::bad_request("If-Match: must be ASCII entity tags, e.g. \"v3\", or *"))?;
        match validate::if_match(text).map_err(|m| Failure::bad_request(format!("If-Match: {m}")))? {
            None => return Ok(Some(Vec::new())),
            Some(tags) => versions.extend(tags),
        }
    }
    Ok(Some(versions))
}

/// 412: the caller's copy is out of date; nothing was changed. The current tag comes back
/// (header and body) so a client can re-read, merge and try again.
fn stale(current: &Tenant) -> Failure {
    let mut failure = Failure::new(
        StatusCode::PRECONDITION_FAILED,
        "version_conflict",
        "the settings changed since you read them (If-Match does not match); nothing was saved: read them again and re-apply your change",
    )
    .with("current_etag", etag(current));
    failure.etag = Some(etag(current));
    failure
}

/// The settings as shown: secrets only as `"set"`, unknown stored keys not at all.
pub fn render(settings: &TenantSettings) -> Value {
    let mut sources = Map::new();
    let stored = settings.sources.as_ref().and_then(Value::as_object);
    for (section, fields) in SECTIONS {
        let Some(values) = stored.and_then(|s| s.get(section)).and_then(Value::as_object) else { continue };
        let mut shown = Map::new();
        for (name, kind) in fields {
            match values.get(*name) {
                Some(Value::Null) | None => {}
                Some(_) if *kind == Kind::Secret => _ = shown.insert((*name).into(), SET.into()),
                Some(v) => _ = shown.insert((*name).into(), v.clone()),
            }
        }
        sources.insert(section.into(), Value::Object(shown));
    }
    json!({
        "auto_create_min_severity": settings.auto_create_min_severity,
        "private_chats": settings.private_chats,
        "auto_dismiss_after_minutes": settings.auto_dismiss_after_minutes,
        "postmortem_on_resolve": settings.postmortem_on_resolve,
        "model": crate::settings_model::render(&settings.model),
        "sources": sources,
    })
}

/// Applies a partial update; nothing changes unless all of it is valid.
pub fn apply(tenant: &mut Tenant, patch: Value, seal: &dyn Fn(&str, SecretUse) -> String) -> ApiResult<()> {
    let Value::Object(patch) = patch else { return Err(Failure::bad_request("body: expected a JSON object")) };
    let mut next = tenant.settings.clone();
    for (key, value) in patch {
        match key.as_str() {
            "auto_create_min_severity" => {
                next.auto_create_min_severity = match &value {
                    Value::Null => None,
                    Value::String(s) => Some(
                        severity(s)
                            .ok_or_else(|| Failure::bad_request(format!("auto_create_min_severity: must be info, warning, critical or null, got {s:?}")))?,
                    ),
                    _ => return Err(Failure::bad_request("auto_create_min_severity: must be info, warning, critical or null")),
                }
            }
            "private_chats" => next.private_chats = value.as_bool().ok_or_else(|| Failure::bad_request("private_chats: must be true or false"))?,
            "postmortem_on_resolve" => {
                next.postmortem_on_resolve = value.as_bool().ok_or_else(|| Failure::bad_request("postmortem_on_resolve: must be true or false"))?
            }
            "auto_dismiss_after_minutes" => {
                next.auto_dismiss_after_minutes = match &value {
                    Value::Null => None,
                    v => Some(v.as_u64().filter(|m| *m <= MAX_DISMISS_MINUTES).map(|m| m as u32).ok_or_else(|| {
                        Failure::bad_request(format!("auto_dismiss_after_minutes: must be a whole number from 0 to {MAX_DISMISS_MINUTES}, or null"))
                    })?),
                }
            }
            "sources" => next.sources = merge_sources(next.sources.take(), value, &|plain| seal(plain, SecretUse::Sync))?,
            "model" => next.model = crate::settings_model::merge(next.model.take(), value, seal)?,
            other => {
                return Err(Failure::bad_request(format!(
                "{other}: unknown field; expected auto_create_min_severity, private_chats, auto_dismiss_after_minutes, postmortem_on_resolve, model or sources"
            )))
            }
        }
    }
    if let Some(sources) = &next.sources {
        // What the status sync will read must parse (the checks above should ensure it).
        warroom_sources::SyncSettings::from_sources(sources).map_err(|e| Failure::bad_request(format!("sources: {e}")))?;
    }
    tenant.settings = next;
    Ok(())
}

fn severity(s: &str) -> Option<Severity> {
    match s {
        "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

fn merge_sources(stored: Option<Value>, patch: Value, seal: &dyn Fn(&str) -> String) -> ApiResult<Option<Value>> {
    let patch = match patch {
        Value::Null => return Ok(None),
        Value::Object(p) => p,
        _ => return Err(Failure::bad_request("sources: must be an object or null")),
    };
    let mut sources = match stored {
        Some(Value::Object(s)) => s,
        _ => Map::new(),
    };
    for (section, value) in patch {
        let Some((_, fields)) = SECTIONS.iter().find(|(name, _)| *name == section) else {
            return Err(Failure::bad_request(format!("sources.{section}: unknown source; expected generic, alertmanager or pagerduty")));
        };
        let merged = match value {
            Value::Null => None,
            Value::Object(p) => {
                let current = match sources.remove(&section) {
                    Some(Value::Object(c)) => c,
                    _ => Map::new(),
                };
                merge_section(&section, fields, current, p, seal)?
            }
            _ => return Err(Failure::bad_request(format!("sources.{section}: must be an object or null"))),
        };
        match merged {
            Some(m) => _ = sources.insert(section, Value::Object(m)),
            None => _ = sources.remove(&section),
        }
    }
    Ok((!sources.is_empty()).then_some(Value::Object(sources)))
}

fn merge_section(
    section: &str,
    fields: &[(&str, Kind)],
    mut current: Map<String, Value>,
    patch: Map<String, Value>,
    seal: &dyn Fn(&str) -> String,
) -> ApiResult<Option<Map<String, Value>>> {
    for (name, value) in patch {
        let path = format!("sources.{section}.{name}");
        let Some((_, kind)) = fields.iter().find(|(f, _)| *f == name) else {
            let known: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
            return Err(Failure::bad_request(format!("{path}: unknown field; expected {}", known.join(", "))));
        };
        let text = match value {
            Value::Null => {
                current.remove(&name);
                continue;
            }
            Value::String(s) => s,
            _ => return Err(Failure::bad_request(format!("{path}: must be a string or null"))),
        };
        let stored = match kind {
            Kind::Secret if text == SET => {
                if !current.get(&name).is_some_and(Value::is_string) {
                    return Err(incomplete(format!("{path}: no secret is stored yet; send the secret itself")));
                }
                continue;
            }
            Kind::Secret if (SECRET_MIN..=SECRET_MAX).contains(&text.chars().count()) => seal(&text),
            Kind::Secret => return Err(Failure::bad_request(format!("{path}: a secret must be {SECRET_MIN} to {SECRET_MAX} characters"))),
            Kind::Url => validate::url(&text).map_err(|m| Failure::bad_request(format!("{path}: {m}")))?,
            Kind::Email => validate::email(&text).map_err(|m| Failure::bad_request(format!("{path}: {m}")))?,
            Kind::Text => validate::label(&text, TEXT_MAX).map_err(|m| Failure::bad_request(format!("{path}: {m}")))?,
        };
        current.insert(name, Value::String(stored));
    }
    if current.is_empty() {
        return Ok(None);
    }
    let has = |f: &str| current.get(f).is_some_and(Value::is_string);
    let missing = |f: &str, why: &str| incomplete(format!("sources.{section}.{f}: required {why}"));
    match section {
        "generic" if !has("callback_url") => return Err(missing("callback_url", "for generic status sync")),
        "generic" if !has("signing_secret") => return Err(missing("signing_secret", "to sign the status callbacks")),
        "alertmanager" if !has("api_url") => return Err(missing("api_url", "for Alertmanager silences")),
        "pagerduty" if has("api_token") && !has("from_email") => return Err(missing("from_email", "with api_token: PagerDuty changes are made as this user")),
        _ => {}
    }
    Ok(Some(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant { id: "ten_1".into(), name: "t".into(), settings: TenantSettings::default(), created_at: warroom_core::Timestamp(0), version: 0 }
    }
    fn seal(s: &str, _: SecretUse) -> String {
        format!("sealed({})", s.len())
    }

    #[test]
    fn a_partial_update_keeps_what_it_leaves_out_and_set_keeps_a_secret() {
        let mut t = tenant();
        let first = json!({"sources": {"pagerduty": {"api_token": "pd-token-123", "from_email": "ops@example.com"}}});
        apply(&mut t, first, &seal).unwrap();
        apply(&mut t, json!({"private_chats": false, "sources": {"pagerduty": {"api_token": "set", "webhook_secret": "whsec-12345"}}}), &seal).unwrap();
        let pd = &t.settings.sources.as_ref().unwrap()["pagerduty"];
        assert_eq!(pd["api_token"], "sealed(12)");
        assert_eq!(pd["webhook_secret"], "sealed(11)");
        assert_eq!(pd["from_email"], "ops@example.com");
        assert!(!t.settings.private_chats);
        let shown = render(&t.settings);
        assert_eq!(shown["sources"]["pagerduty"]["api_token"], "set");
        apply(&mut t, json!({"sources": {"pagerduty": null}}), &seal).unwrap();
        assert_eq!(t.settings.sources, None);
    }

    #[test]
    fn invalid_updates_name_the_field_and_change_nothing() {
        let mut t = tenant();
        for (patch, field) in [
            (json!({"sources": {"generic": {"callback_url": "https://x.example.com"}}}), "sources.generic.signing_secret"),
            (json!({"sources": {"generic": {"callback_url": "gopher://x", "signing_secret": "0123456789"}}}), "sources.generic.callback_url"),
            (json!({"sources": {"pagerduty": {"api_token": "set"}}}), "sources.pagerduty.api_token"),
            (json!({"sources": {"pagerduty": {"api_token": "pd-token-123"}}}), "sources.pagerduty.from_email"),
            (json!({"sources": {"teams": {}}}), "sources.teams"),
            (json!({"auto_create_min_severity": "p1"}), "auto_create_min_severity"),
            (json!({"auto_dismiss_after_minutes": -1}), "auto_dismiss_after_minutes"),
            (json!({"private_chat": true}), "private_chat"),
        ] {
            let err = apply(&mut t, patch, &seal).unwrap_err();
            assert!(err.error.message.starts_with(field), "{field}: {}", err.error.message);
            assert_eq!(t.settings, TenantSettings::default());
        }
    }
}
