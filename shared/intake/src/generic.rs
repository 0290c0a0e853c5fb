//! Warroom's own incident schema, for any on-call tool that can post JSON
//! (`POST /hooks/generic`, authenticated by the route's bearer token).
//!
//! One JSON object is one incident event. The same schema is documented for users in
//! `docs/intake-generic.md`; keep the two in step.
//!
//! | field | type | rules |
//! |---|---|---|
//! | `id` | string, **required** | the source's own incident id, 1..=200 characters; every event about one incident carries the same id |
//! | `title` | string, **required** | 1..=500 characters |
//! | `description` | string | free text, default empty |
//! | `severity` | string | `critical`, `warning` or `info`, read leniently (`P1`, `sev2`, `warn`, `high`, ... are understood); default `warning` |
//! | `status` | string, **required** | `triggered`, `acknowledged`, `resolved` or `closed` |
//! | `responders` | array of objects | each `{name, email, phone}` with at least one of the three; `email` must contain exactly one `@`. Absent: keep the responders known; `[]`: there are none |
//! | `labels` | object of string to string | at most 64 entries |
//! | `url` | string | an `http://` or `https://` link back to the incident in the source |
//! | `time` | string, **required** | RFC 3339; the source's time of this state. An event older than one already applied is ignored, so this is what orders events |
//! | `war_room` | boolean | `true` asks for a war room now, whatever the tenant's automatic rule says; default `false` |
//!
//! Unknown fields are ignored, so senders may post richer objects. Strings are trimmed and
//! `null` counts as absent. Every validation failure names the field, e.g.
//! `IntakeError::Invalid { field: "responders[2].email", reason: "not an email address" }`.
//!
//! ```json
//! {
//!   "id": "INC-4711",
//!   "title": "Checkout API error rate above 5%",
//!   "description": "5xx rate 7.2% over 10 minutes in eu-west-1",
//!   "severity": "critical",
//!   "status": "triggered",
//!   "responders": [
//!     {"name": "Ann Lee", "email": "ann@example.com"},
//!     {"phone": "+44 20 7946 0000"}
//!   ],
//!   "labels": {"service": "checkout", "region": "eu-west-1"},
//!   "url": "https://oncall.example.com/incidents/4711",
//!   "time": "2025-11-21T09:00:00Z",
//!   "war_room": true
//! }
//! ```

use crate::json::{parse_body, Obj};
use crate::{check_size, is_web_url, looks_like_email, IntakeError};
use std::collections::BTreeMap;
use warroom_core::{IncidentEvent, Responder, Severity, SourceRef, Status};

/// The source name, in `POST /hooks/generic` and in [`SourceRef::source`].
pub const SOURCE: &str = "generic";
pub const MAX_ID_CHARS: usize = 200;
pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_LABELS: usize = 64;

/// Parses one generic incident event.
pub fn parse(body: &[u8]) -> Result<Vec<IncidentEvent>, IntakeError> {
    check_size(body)?;
    let value = parse_body(body)?;
    let root = Obj::root(&value)?;
    Ok(vec![event(&root)?])
}

/// Fields are read in the documented order, so the first error reported is predictable.
fn event(root: &Obj) -> Result<IncidentEvent, IntakeError> {
    let id = bounded_text(root, "id", MAX_ID_CHARS)?;
    let title = bounded_text(root, "title", MAX_TITLE_CHARS)?;
    let description = root.text_opt("description")?.unwrap_or_default().to_owned();
    let severity = severity(root)?;
    let status = status(root)?;
    let responders = responders(root)?;
    let labels = labels(root)?;
    let url = url(root)?;
    let at = root.time_req("time")?;
    let war_room = root.bool_opt("war_room")?.unwrap_or(false);
    Ok(IncidentEvent {
        source: SourceRef { source: SOURCE.to_owned(), external_id: id.to_owned() },
        status,
        title: title.to_owned(),
        description,
        severity,
        responders,
        labels,
        url,
        at,
        war_room,
    })
}

/// A required, non-blank string of at most `max` characters.
fn bounded_text<'a>(root: &Obj<'a>, key: &str, max: usize) -> Result<&'a str, IntakeError> {
    let s = root.text_req(key)?;
    if s.chars().count() > max {
        return Err(IntakeError::invalid(root.path(key), format!("longer than {max} characters")));
    }
    Ok(s)
}

fn severity(root: &Obj) -> Result<Severity, IntakeError> {
    let Some(raw) = root.text_opt("severity")? else {
        return Ok(Severity::Warning);
    };
    Severity::parse_lenient(raw).ok_or_else(|| IntakeError::invalid(root.path("severity"), "unknown severity (use critical, warning or info)"))
}

fn status(root: &Obj) -> Result<Status, IntakeError> {
    let raw = root.text_req("status")?;
    match raw.to_ascii_lowercase().as_str() {
        "triggered" => Ok(Status::Triggered),
        "acknowledged" => Ok(Status::Acknowledged),
        "resolved" => Ok(Status::Resolved),
        "closed" => Ok(Status::Closed),
        _ => Err(IntakeError::invalid(root.path("status"), "must be one of triggered, acknowledged, resolved, closed")),
    }
}

/// Absent stays `None` (the sender says nothing about responders); `[]` is `Some(vec![])`.
fn responders(root: &Obj) -> Result<Option<Vec<Responder>>, IntakeError> {
    let Some(items) = root.arr_opt("responders")? else {
        return Ok(None);
    };
    let parsed = items.objects()?.iter().map(responder).collect::<Result<_, _>>()?;
    Ok(Some(parsed))
}

fn responder(item: &Obj) -> Result<Responder, IntakeError> {
    let name = item.text_opt("name")?;
    let email = item.text_opt("email")?;
    let phone = item.text_opt("phone")?;
    if let Some(email) = email {
        if !looks_like_email(email) {
            return Err(IntakeError::invalid(item.path("email"), "not an email address"));
        }
    }
    if name.is_none() && email.is_none() && phone.is_none() {
        return Err(IntakeError::invalid(item.own_path(), "needs at least one of name, email, phone"));
    }
    Ok(Responder { name: name.map(str::to_owned), email: email.map(str::to_owned), phone: phone.map(str::to_owned), member_id: None })
}

fn labels(root: &Obj) -> Result<BTreeMap<String, String>, IntakeError> {
    let labels = root.string_map("labels")?;
    if labels.len() > MAX_LABELS {
        return Err(IntakeError::invalid(root.path("labels"), format!("more than {MAX_LABELS} entries")));
    }
    Ok(labels)
}

fn url(root: &Obj) -> Result<Option<String>, IntakeError> {
    match root.text_opt("url")? {
        None => Ok(None),
        Some(u) if is_web_url(u) => Ok(Some(u.to_owned())),
        Some(_) => Err(IntakeError::invalid(root.path("url"), "must be an http:// or https:// link")),
    }
}
