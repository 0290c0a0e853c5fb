//! PagerDuty v3: signatures (with PagerDuty's own test vector) and the incident mapping.

use serde_json::{json, Value};
use warroom_core::{IncidentEvent, Responder, Severity, SourceRef, Status, Timestamp};
use warroom_intake::{pagerduty, IntakeError, MAX_BODY};

/// Body, secret and signature of the official vector (go-pagerduty `webhookv3_test.go`).
const OFFICIAL_BODY: &[u8] = include_bytes!("fixtures/pagerduty_priority_updated.json");
const OFFICIAL_SECRET: &[u8] = b"lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK";
const OFFICIAL_SIGNATURE: &str = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd";
const RESOLVED: &[u8] = include_bytes!("fixtures/pagerduty_incident_resolved.json");
const SECRET: &[u8] = b"test-secret";

fn fixture(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("fixture is JSON")
}

/// Parses `body` signed with [`SECRET`], as PagerDuty would send it.
fn parse_signed(body: &Value) -> Result<Vec<IncidentEvent>, IntakeError> {
    let bytes = serde_json::to_vec(body).expect("serialisable");
    let signature = pagerduty::signature_for(&bytes, SECRET).expect("signs");
    pagerduty::parse(&bytes, Some(&signature), SECRET)
}

fn one(body: &Value) -> IncidentEvent {
    let mut events = parse_signed(body).expect("parses");
    assert_eq!(events.len(), 1);
    events.remove(0)
}

fn invalid(field: &str, reason: &str) -> IntakeError {
    IntakeError::Invalid { field: field.to_owned(), reason: reason.to_owned() }
}

#[test]
fn the_official_signed_sample_is_accepted_and_mapped() {
    let events = pagerduty::parse(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE), OFFICIAL_SECRET).expect("accepted");
    let e = &events[0];
    assert_eq!(e.source, SourceRef { source: "pagerduty".into(), external_id: "PGR0VU2".into() });
    assert_eq!(e.status, Status::Triggered);
    assert_eq!(e.title, "A little bump in the road");
    assert_eq!(e.severity, Severity::Critical);
    assert_eq!(e.at, Timestamp::parse_rfc3339("2021-04-26T17:36:27.458Z").expect("time"));
    assert_eq!(e.url.as_deref(), Some("https://acme.pagerduty.com/incidents/PGR0VU2"));
    let assignee = Responder { name: Some("User 123".into()), email: None, phone: None, member_id: None };
    assert_eq!(e.responders, Some(vec![assignee]));
    let labels: Vec<_> = e.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let expected = ["pagerduty.number=2", "pagerduty.priority=P1", "pagerduty.service=API Service", "pagerduty.urgency=high"];
    assert_eq!(labels, expected);
}

#[test]
fn our_signature_matches_the_official_vector() {
    assert_eq!(pagerduty::signature_for(OFFICIAL_BODY, OFFICIAL_SECRET), Ok(OFFICIAL_SIGNATURE.to_owned()));
}

#[test]
fn any_one_of_several_signatures_is_enough() {
    let other = pagerduty::signature_for(OFFICIAL_BODY, b"the-old-secret").expect("signs");
    for header in [
        format!("{other},{OFFICIAL_SIGNATURE}"),
        format!("{OFFICIAL_SIGNATURE},{other}"),
        format!("v2=abcdef, {OFFICIAL_SIGNATURE}"),
        format!("v1=not-hex,{OFFICIAL_SIGNATURE}"),
    ] {
        assert_eq!(pagerduty::verify_signature(OFFICIAL_BODY, Some(&header), OFFICIAL_SECRET), Ok(()), "{header}");
    }
}

#[test]
fn a_tampered_body_is_rejected() {
    let mut tampered = OFFICIAL_BODY.to_vec();
    let at = tampered.iter().position(|&b| b == b'P').expect("has a P");
    tampered[at] = b'Q';
    let got = pagerduty::parse(&tampered, Some(OFFICIAL_SIGNATURE), OFFICIAL_SECRET);
    assert_eq!(got, Err(IntakeError::BadSignature));
}

#[test]
fn the_wrong_secret_is_rejected() {
    let got = pagerduty::parse(OFFICIAL_BODY, Some(OFFICIAL_SIGNATURE), b"another-secret");
    assert_eq!(got, Err(IntakeError::BadSignature));
}

#[test]
fn a_missing_or_garbled_signature_is_rejected() {
    let hex = OFFICIAL_SIGNATURE.trim_start_matches("v1=");
    for header in [None, Some(""), Some(hex), Some("v1="), Some("v1=zz"), Some("sha256=abc"), Some(&hex[..10])] {
        let got = pagerduty::parse(OFFICIAL_BODY, header, OFFICIAL_SECRET);
        assert_eq!(got, Err(IntakeError::BadSignature), "{header:?}");
    }
}

#[test]
fn an_empty_secret_is_never_used() {
    let signature = pagerduty::signature_for(OFFICIAL_BODY, b"").expect("signs");
    let got = pagerduty::parse(OFFICIAL_BODY, Some(&signature), b"");
    assert!(matches!(got, Err(IntakeError::Unsupported { .. })), "{got:?}");
}

#[test]
fn a_resolved_incident_maps_to_resolved_and_keeps_its_responders() {
    let e = one(&fixture(RESOLVED));
    assert_eq!(e.status, Status::Resolved);
    assert_eq!(e.severity, Severity::Warning, "low urgency, no priority");
    assert_eq!(e.responders, None, "PagerDuty clears assignees on resolve: no news");
    assert_eq!(e.at, Timestamp::parse_rfc3339("2025-11-21T10:15:42.871Z").expect("time"));
    assert!(!e.labels.contains_key("pagerduty.priority"));
}

#[test]
fn an_open_incident_with_no_assignees_has_none() {
    let mut body = fixture(RESOLVED);
    body["event"]["data"]["status"] = json!("acknowledged");
    assert_eq!(one(&body).responders, Some(vec![]));
}

#[test]
fn urgency_sets_severity_unless_a_priority_names_one() {
    let mut body = fixture(RESOLVED);
    body["event"]["data"]["urgency"] = json!("high");
    assert_eq!(one(&body).severity, Severity::Critical);
    body["event"]["data"]["priority"] = json!({"id": "P1X", "summary": "P3", "type": "priority_reference"});
    assert_eq!(one(&body).severity, Severity::Warning);
    body["event"]["data"]["priority"]["summary"] = json!("Business hours");
    assert_eq!(one(&body).severity, Severity::Critical, "a priority that names no severity is ignored");
}

#[test]
fn events_about_other_resources_or_types_are_accepted_and_ignored() {
    let service = json!({"event": {"id": "x", "event_type": "service.updated", "resource_type": "service",
        "occurred_at": "2021-03-02T13:35:11.682Z", "data": {"id": "PF9KMXH", "type": "service"}}});
    assert_eq!(parse_signed(&service), Ok(vec![]));
    let note = json!({"event": {"id": "y", "event_type": "incident.annotated", "resource_type": "incident",
        "occurred_at": "2021-03-02T13:35:11.682Z", "data": {"id": "P2LA89X", "type": "incident_note"}}});
    assert_eq!(parse_signed(&note), Ok(vec![]));
}

#[test]
fn every_handled_event_type_yields_an_event() {
    for event_type in pagerduty::HANDLED_EVENT_TYPES {
        let mut body = fixture(RESOLVED);
        body["event"]["event_type"] = json!(event_type);
        assert_eq!(parse_signed(&body).expect("parses").len(), 1, "{event_type}");
    }
}

#[test]
fn a_signed_but_malformed_body_is_an_error() {
    let bytes = b"{\"event\": ";
    let signature = pagerduty::signature_for(bytes, SECRET).expect("signs");
    assert!(matches!(pagerduty::parse(bytes, Some(&signature), SECRET), Err(IntakeError::Malformed { .. })));
    assert_eq!(parse_signed(&json!({"hello": 1})), Err(invalid("event", "is required")));
}

#[test]
fn missing_and_bad_incident_fields_are_named() {
    let cases = [
        ("/event/event_type", Value::Null, "event.event_type", "is required"),
        ("/event/occurred_at", json!("last tuesday"), "event.occurred_at", "not an RFC 3339 time"),
        ("/event/data", Value::Null, "event.data", "is required"),
        ("/event/data/id", Value::Null, "event.data.id", "is required"),
        ("/event/data/title", json!(7), "event.data.title", "must be a string, got a number"),
        ("/event/data/status", json!("snoozed"), "event.data.status", "must be triggered, acknowledged or resolved"),
        ("/event/data/assignees", json!([1]), "event.data.assignees[0]", "must be an object, got a number"),
    ];
    for (pointer, value, field, reason) in cases {
        let mut body = fixture(RESOLVED);
        *body.pointer_mut(pointer).expect("pointer exists") = value;
        assert_eq!(parse_signed(&body), Err(invalid(field, reason)), "{pointer}");
    }
}

#[test]
fn an_oversized_body_is_refused_before_its_signature_is_checked() {
    let huge = vec![b' '; MAX_BODY + 1];
    assert_eq!(pagerduty::parse(&huge, None, SECRET), Err(IntakeError::TooLarge { limit: MAX_BODY }));
}
