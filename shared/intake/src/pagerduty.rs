//! PagerDuty v3 webhooks (`POST /hooks/pagerduty`), verified by their signature.
//!
//! Checked against PagerDuty's developer docs (github.com/PagerDuty/developer-docs,
//! `docs/webhooks/01-Overview.md` "Webhook Payload" / "Event Types" / "Event Data Types",
//! and `docs/webhooks/04-Signatures.md` "Verifying Signatures") and the official Go client
//! (github.com/PagerDuty/go-pagerduty, `webhookv3/webhookv3.go` `VerifySignature`,
//! `webhookv3/webhook_event.go` `WebhookPayload`/`OutboundEvent`). The signature test
//! vector and the fixture `tests/fixtures/pagerduty_priority_updated.json` come from
//! go-pagerduty's `webhookv3/webhookv3_test.go`.
//!
//! # Signature
//!
//! `X-PagerDuty-Signature` holds one or more comma-separated `v1=<hex>` values, where hex is
//! HMAC-SHA256(secret, raw body); several appear while a secret is being rotated. Any match
//! passes (compared in constant time); a missing header, one with no readable `v1=` value,
//! or no match is [`IntakeError::BadSignature`]. Entries of other versions are skipped, as
//! the docs say, so a future `v2=` does not break delivery.
//!
//! # Mapping
//!
//! Only `resource_type: "incident"` events whose `data` is the incident itself are read
//! (see [`HANDLED_EVENT_TYPES`]); notes, status updates, responder requests, services and
//! event types added later are accepted and ignored (`Ok(vec![])`), so PagerDuty does not
//! retry them. A body that is not a v3 event at all is an error.
//!
//! - `external_id` = `data.id` (the incident id, e.g. `PGR0VU2`); `url` = `data.html_url`.
//! - `status` = `data.status` (`triggered`, `acknowledged`, `resolved`): the incident's state
//!   after the event, so `incident.unacknowledged` reads as triggered.
//! - `severity`: `urgency` high → critical, low → warning; a priority whose name reads as a
//!   severity (`P1`, `P3`, `SEV2`, ... via `Severity::parse_lenient`) overrides it.
//! - `at` = `event.occurred_at`.
//! - `responders`: `data.assignees`, named by their `summary`. PagerDuty sends no email or
//!   phone here and Warroom does not link members by name, so these responders stay
//!   unlinked (the engine reports them so) unless an email arrives another way. PagerDuty
//!   clears assignments on resolve: an empty list on a resolved incident says nothing about
//!   who responded and reads as "no news" (`None`).
//! - `labels`: `pagerduty.number`, `pagerduty.service`, `pagerduty.urgency`,
//!   `pagerduty.priority` where present.

use crate::json::{parse_body, Obj};
use crate::{check_size, is_web_url, truncate, IntakeError};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;
use subtle::{Choice, ConstantTimeEq};
use warroom_core::{IncidentEvent, Responder, Severity, SourceRef, Status};

/// The source name, in `POST /hooks/pagerduty` and in [`SourceRef::source`].
pub const SOURCE: &str = "pagerduty";
/// The signature header, lower case as HTTP libraries normalise it.
pub const SIGNATURE_HEADER: &str = "x-pagerduty-signature";
/// The event types whose `data.type` is `incident` (PagerDuty's "Event Types" list).
pub const HANDLED_EVENT_TYPES: &[&str] = &[
    "incident.triggered",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.resolved",
    "incident.reopened",
    "incident.reassigned",
    "incident.escalated",
    "incident.delegated",
    "incident.priority_updated",
];
const SIGNATURE_PREFIX: &str = "v1=";
const MAX_TITLE_CHARS: usize = 500;

/// Verifies the signature, then parses the event. An empty secret is refused: HMAC with an
/// empty key would let anyone sign.
pub fn parse(body: &[u8], signature_header: Option<&str>, secret: &[u8]) -> Result<Vec<IncidentEvent>, IntakeError> {
    check_size(body)?;
    if secret.is_empty() {
        return Err(no_secret());
    }
    verify_signature(body, signature_header, secret)?;
    let value = parse_body(body)?;
    let root = Obj::root(&value)?;
    let event = root.obj_req("event")?;
    let event_type = event.text_req("event_type")?;
    let resource_type = event.text_req("resource_type")?;
    if resource_type != "incident" || !HANDLED_EVENT_TYPES.contains(&event_type) {
        return Ok(vec![]);
    }
    Ok(vec![incident_event(&event)?])
}

/// Checks `X-PagerDuty-Signature` against HMAC-SHA256(secret, body).
pub fn verify_signature(body: &[u8], signature_header: Option<&str>, secret: &[u8]) -> Result<(), IntakeError> {
    let expected = sign(body, secret)?;
    let candidates = signature_header.map(v1_signatures).unwrap_or_default();
    // Every candidate is compared, so timing says nothing about which one matched.
    let matched = candidates.iter().fold(Choice::from(0), |acc, sig| acc | expected.as_slice().ct_eq(sig));
    if bool::from(matched) {
        Ok(())
    } else {
        Err(IntakeError::BadSignature)
    }
}

/// The header value PagerDuty would send for `body` under `secret` (`v1=<hex>`); for tests
/// and for the local sandbox that plays PagerDuty.
pub fn signature_for(body: &[u8], secret: &[u8]) -> Result<String, IntakeError> {
    Ok(format!("{SIGNATURE_PREFIX}{}", hex::encode(sign(body, secret)?)))
}

/// What [`crate::parse`] and [`parse`] answer when no signing secret is configured.
pub(crate) fn no_secret() -> IntakeError {
    IntakeError::unsupported("no PagerDuty webhook signing secret is configured for this hook")
}

fn sign(body: &[u8], secret: &[u8]) -> Result<Vec<u8>, IntakeError> {
    // HMAC takes keys of any length, so this cannot fail; mapped rather than unwrapped.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).map_err(|_| IntakeError::BadSignature)?;
    mac.update(body);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// The decoded `v1=` values; entries of other versions or with bad hex are skipped.
fn v1_signatures(header: &str) -> Vec<Vec<u8>> {
    header.split(',').filter_map(|entry| entry.trim().strip_prefix(SIGNATURE_PREFIX)).filter_map(|hex_sig| hex::decode(hex_sig).ok()).collect()
}

fn incident_event(event: &Obj) -> Result<IncidentEvent, IntakeError> {
    let at = event.time_req("occurred_at")?;
    let data = event.obj_req("data")?;
    let id = data.text_req("id")?;
    let status = status(&data)?;
    Ok(IncidentEvent {
        source: SourceRef { source: SOURCE.to_owned(), external_id: id.to_owned() },
        status,
        title: truncate(data.text_req("title")?, MAX_TITLE_CHARS),
        description: data.text_opt("description")?.unwrap_or_default().to_owned(),
        severity: severity(&data)?,
        responders: responders(&data, status)?,
        labels: labels(&data)?,
        url: data.text_opt("html_url")?.filter(|u| is_web_url(u)).map(str::to_owned),
        at,
        war_room: false,
    })
}

fn status(data: &Obj) -> Result<Status, IntakeError> {
    match data.text_req("status")? {
        "triggered" => Ok(Status::Triggered),
        "acknowledged" => Ok(Status::Acknowledged),
        "resolved" => Ok(Status::Resolved),
        _ => Err(IntakeError::invalid(data.path("status"), "must be triggered, acknowledged or resolved")),
    }
}

/// Urgency first, then a priority named like a severity overrides it: teams that set up
/// priorities mean them.
fn severity(data: &Obj) -> Result<Severity, IntakeError> {
    let by_priority = priority_name(data)?.and_then(Severity::parse_lenient);
    let by_urgency = match data.text_opt("urgency")? {
        Some("high") => Severity::Critical,
        _ => Severity::Warning,
    };
    Ok(by_priority.unwrap_or(by_urgency))
}

fn priority_name<'a>(data: &Obj<'a>) -> Result<Option<&'a str>, IntakeError> {
    match data.obj_opt("priority")? {
        Some(priority) => priority.text_opt("summary"),
        None => Ok(None),
    }
}

fn responders(data: &Obj, status: Status) -> Result<Option<Vec<Responder>>, IntakeError> {
    let Some(assignees) = data.arr_opt("assignees")? else {
        return Ok(None);
    };
    let mut named = Vec::new();
    for assignee in assignees.objects()? {
        if let Some(name) = assignee.text_opt("summary")? {
            named.push(Responder { name: Some(name.to_owned()), email: None, phone: None, member_id: None });
        }
    }
    if named.is_empty() && status == Status::Resolved {
        return Ok(None);
    }
    Ok(Some(named))
}

fn labels(data: &Obj) -> Result<BTreeMap<String, String>, IntakeError> {
    let mut labels = BTreeMap::new();
    if let Some(number) = data.u64_opt("number")? {
        labels.insert("pagerduty.number".to_owned(), number.to_string());
    }
    if let Some(service) = data.obj_opt("service")? {
        insert_text(&mut labels, "pagerduty.service", service.text_opt("summary")?);
    }
    insert_text(&mut labels, "pagerduty.urgency", data.text_opt("urgency")?);
    insert_text(&mut labels, "pagerduty.priority", priority_name(data)?);
    Ok(labels)
}

fn insert_text(labels: &mut BTreeMap<String, String>, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        labels.insert(key.to_owned(), value.to_owned());
    }
}
