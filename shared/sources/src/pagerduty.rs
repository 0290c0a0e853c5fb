//! PagerDuty: acknowledge, resolve and snooze through REST API v2.
//!
//! Checked against PagerDuty's OpenAPI definition (github.com/PagerDuty/api-schema,
//! `reference/REST/openapiv3.json`, commit 91a06fb, 2026-08-14):
//! - `PUT /incidents/{id}` "Update an incident": body `{"incident": {"type":
//!   "incident_reference", "status": "acknowledged"|"resolved"}}`; headers `Accept:
//!   application/vnd.pagerduty+json;version=2`, `Content-Type: application/json` and `From`
//!   (email of a valid user) are all required; answers 200/401/403/404/429. The schema also
//!   says acknowledging a *resolved* incident reopens it, so a status is pushed only when it
//!   changed since the last push, and a snooze only while the incident is open.
//! - `POST /incidents/{id}/snooze` "Snooze an incident": body `{"duration": seconds}`,
//!   minimum 1, maximum 604800 (one week); answers 201/400/401/403/404/429.
//! - Auth: `Authorization: Token token=<key>` (go-pagerduty `client.go`, API-key clients).
//!
//! The official Go client does the same calls (github.com/PagerDuty/go-pagerduty
//! `incident.go`: `ManageIncidentsWithContext` PUTs status changes with `From`,
//! `SnoozeIncidentWithContext` POSTs `{"duration"}` to `/incidents/{id}/snooze`).
//!
//! Only acknowledged incidents can be snoozed (PagerDuty Knowledge Base, "Editing
//! Incidents" → "Snooze an Incident": "You're only able to snooze acknowledged
//! incidents"), so every snooze acknowledges first. That also covers an incident that
//! PagerDuty re-triggered on its own since our last push.

use crate::http::{excerpt, join, retry_after, status_error, transport_error};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use warroom_core::{Incident, SourceState, Status, SyncError, Synced, Timestamp};
use warroom_secrets::Secret;

pub const ACCEPT: &str = "application/vnd.pagerduty+json;version=2";
/// PagerDuty's longest snooze, in seconds (the schema's `maximum`).
pub const MAX_SNOOZE_SECS: u64 = 604_800;

/// The PagerDuty status a Warroom status maps to; `None` for triggered, which Warroom
/// never sets itself (a reopen comes *from* the source).
fn pd_status(status: Status) -> Option<&'static str> {
    match status {
        Status::Triggered => None,
        Status::Acknowledged => Some("acknowledged"),
        Status::Resolved | Status::Closed => Some("resolved"),
    }
}

pub(crate) struct Client<'a> {
    pub http: &'a reqwest::Client,
    pub api_url: &'a str,
    pub token: &'a Secret,
    pub from_email: &'a str,
}

pub(crate) async fn push(pd: &Client<'_>, incident: &Incident, previous: Option<&SourceState>, now: Timestamp) -> Result<Synced, SyncError> {
    let id = incident.source.external_id.as_str();
    let target = pd_status(incident.status);
    let status_changed = target.is_some() && target != previous.and_then(|p| pd_status(p.status));
    let snooze =
        incident.snoozed_until.filter(|until| incident.status.is_open() && *until > now).filter(|until| Some(*until) != previous.and_then(|p| p.snoozed_until));

    let mut done = Vec::new();
    if target == Some("resolved") {
        if status_changed {
            pd.set_status(id, "resolved").await?;
            done.push(format!("resolved PagerDuty incident {id}"));
        }
    } else if status_changed || snooze.is_some() {
        pd.set_status(id, "acknowledged").await?;
        done.push(format!("acknowledged PagerDuty incident {id}"));
    }
    if let Some(until) = snooze {
        let wanted = now.until(until).as_millis().div_ceil(1000) as u64;
        let duration = wanted.clamp(1, MAX_SNOOZE_SECS);
        pd.snooze(id, duration).await?;
        done.push(if duration < wanted {
            format!("snoozed for {duration} s (PagerDuty's maximum, one week; asked until {until})")
        } else {
            format!("snoozed for {duration} s (until {until})")
        });
    }
    if done.is_empty() {
        return Ok(Synced { detail: format!("nothing to push to PagerDuty (status {})", incident.status) });
    }
    Ok(Synced { detail: done.join("; ") })
}

impl Client<'_> {
    async fn set_status(&self, id: &str, status: &str) -> Result<(), SyncError> {
        let body = json!({ "incident": { "type": "incident_reference", "status": status } });
        self.call(Method::PUT, &["incidents", id], body, &format!("{status} of incident {id}")).await
    }

    async fn snooze(&self, id: &str, duration: u64) -> Result<(), SyncError> {
        self.call(Method::POST, &["incidents", id, "snooze"], json!({ "duration": duration }), &format!("snooze of incident {id}")).await
    }

    async fn call(&self, method: Method, path: &[&str], body: Value, what: &str) -> Result<(), SyncError> {
        let response = self
            .http
            .request(method, join(self.api_url, path)?)
            .header(reqwest::header::AUTHORIZATION, format!("Token token={}", self.token.expose()))
            .header(reqwest::header::FROM, self.from_email)
            .header(reqwest::header::ACCEPT, ACCEPT)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error("PagerDuty", e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let wait = retry_after(response.headers(), std::time::SystemTime::now());
        let text = response.text().await.unwrap_or_default();
        Err(self.error(status, &text, what).after(wait))
    }

    /// The error for a refused call: a plain explanation for the statuses a tenant can fix,
    /// PagerDuty's own `error.message`/`errors` otherwise. Never the token: it is only ever
    /// in a request header, and is blanked out should a proxy echo it back.
    fn error(&self, status: StatusCode, body: &str, what: &str) -> SyncError {
        let reason = match status {
            StatusCode::UNAUTHORIZED => "the API token was refused; re-enter it in the PagerDuty sync settings".to_owned(),
            StatusCode::FORBIDDEN => "the API token may not change this incident (read-only key, or missing permission)".to_owned(),
            StatusCode::NOT_FOUND => "no such incident for this API token".to_owned(),
            StatusCode::TOO_MANY_REQUESTS => "rate limited".to_owned(),
            _ => pd_message(body),
        };
        let what = format!("PagerDuty ({what})");
        status_error(&what, status, &excerpt(&reason, Some(self.token.expose())))
    }
}

/// `{"error": {"message": "...", "errors": ["..."]}}`, PagerDuty's error shape; else the body.
fn pd_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return body.to_owned();
    };
    let error = &value["error"];
    let mut parts: Vec<String> = error["message"].as_str().map(str::to_owned).into_iter().collect();
    if let Some(errors) = error["errors"].as_array() {
        parts.extend(errors.iter().filter_map(|e| e.as_str().map(str::to_owned)));
    }
    if parts.is_empty() {
        body.to_owned()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagerduty_error_bodies_read_as_their_message() {
        let body = r#"{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Incident is not acknowledged."]}}"#;
        assert_eq!(pd_message(body), "Invalid Input Provided: Incident is not acknowledged.");
        assert_eq!(pd_message("gateway down"), "gateway down");
    }

    #[test]
    fn warroom_statuses_map_to_what_pagerduty_accepts() {
        assert_eq!(pd_status(Status::Triggered), None);
        assert_eq!(pd_status(Status::Acknowledged), Some("acknowledged"));
        assert_eq!(pd_status(Status::Closed), pd_status(Status::Resolved));
    }
}
