//! Alertmanager v4: one incident per alert group, the `am.group.` silence contract, times.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use warroom_core::{IncidentEvent, Responder, Severity, SourceRef, Status, Timestamp};
use warroom_intake::{alertmanager, IntakeError, MAX_BODY};

const FIRING: &[u8] = include_bytes!("fixtures/alertmanager_firing.json");
const RESOLVED: &[u8] = include_bytes!("fixtures/alertmanager_resolved.json");

fn fixture(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("fixture is JSON")
}

fn parse(body: &Value) -> Result<IncidentEvent, IntakeError> {
    let bytes = serde_json::to_vec(body).expect("serialisable");
    let mut events = alertmanager::parse(&bytes)?;
    assert_eq!(events.len(), 1, "one incident per group");
    Ok(events.remove(0))
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("valid time")
}

fn invalid(field: &str, reason: &str) -> IntakeError {
    IntakeError::Invalid { field: field.to_owned(), reason: reason.to_owned() }
}

fn email(e: &str) -> Responder {
    Responder { name: None, email: Some(e.to_owned()), phone: None, member_id: None }
}

#[test]
fn a_firing_group_maps_to_one_triggered_incident() {
    let e = parse(&fixture(FIRING)).expect("parses");
    let key = r#"{}/{severity="critical"}:{alertname="HighLatency", cluster="prod-eu"}"#;
    assert_eq!(e.source, SourceRef { source: "alertmanager".into(), external_id: key.into() });
    assert_eq!(e.status, Status::Triggered);
    assert_eq!(e.title, "API latency above 2s");
    assert_eq!(e.severity, Severity::Critical);
    assert_eq!(e.at, at("2025-11-21T09:02:30.500Z"), "the latest startsAt");
    assert_eq!(e.url.as_deref(), Some("http://alertmanager.example.com:9093"));
    assert_eq!(e.responders, Some(vec![email("ann@example.com"), email("bob@example.com")]));
    assert!(!e.war_room);
}

#[test]
fn labels_are_the_common_labels_plus_the_group_labels_under_am_group() {
    let e = parse(&fixture(FIRING)).expect("parses");
    let expected: BTreeMap<String, String> = [
        ("alertname", "HighLatency"),
        ("cluster", "prod-eu"),
        ("job", "api"),
        ("severity", "critical"),
        ("am.group.alertname", "HighLatency"),
        ("am.group.cluster", "prod-eu"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    assert_eq!(e.labels, expected);
    assert!(alertmanager::GROUP_LABEL_PREFIX == "am.group.");
}

#[test]
fn a_resolved_group_maps_to_resolved_at_its_latest_end() {
    let e = parse(&fixture(RESOLVED)).expect("parses");
    assert_eq!(e.status, Status::Resolved);
    assert_eq!(e.at, at("2025-11-21T08:50:00.250Z"), "the latest endsAt");
    assert_eq!(e.title, "DiskFull (2 alerts)", "no summary: alertname and count");
    assert_eq!(e.severity, Severity::Warning);
    assert_eq!(e.responders, None, "no responders annotation or label: no news");
    assert_eq!(e.description, "");
}

#[test]
fn a_resolved_group_without_end_times_falls_back_to_the_latest_start() {
    let mut body = fixture(RESOLVED);
    body["alerts"][0]["endsAt"] = json!("0001-01-01T00:00:00Z");
    body["alerts"][1].as_object_mut().expect("alert").remove("endsAt");
    assert_eq!(parse(&body).expect("parses").at, at("2025-11-21T08:10:00Z"));
}

#[test]
fn titles_fall_back_from_summary_to_alertname_to_a_default() {
    let mut body = fixture(RESOLVED);
    body["alerts"].as_array_mut().expect("alerts").truncate(1);
    assert_eq!(parse(&body).expect("parses").title, "DiskFull", "one alert: no count");
    body["truncatedAlerts"] = json!(4);
    assert_eq!(parse(&body).expect("parses").title, "DiskFull (5 alerts)", "truncated alerts count");
    body["commonLabels"] = json!({});
    assert_eq!(parse(&body).expect("parses").title, "Alertmanager alert group");
}

#[test]
fn severity_is_lenient_and_defaults_to_warning() {
    let mut body = fixture(RESOLVED);
    body["commonLabels"]["severity"] = json!("P1");
    assert_eq!(parse(&body).expect("parses").severity, Severity::Critical);
    body["commonLabels"]["severity"] = json!("whatever");
    assert_eq!(parse(&body).expect("parses").severity, Severity::Warning);
    body["commonLabels"].as_object_mut().expect("labels").remove("severity");
    assert_eq!(parse(&body).expect("parses").severity, Severity::Warning);
}

#[test]
fn responders_come_from_the_annotation_else_the_label() {
    let mut body = fixture(RESOLVED);
    body["commonLabels"]["responders"] = json!("carol@example.com");
    assert_eq!(parse(&body).expect("parses").responders, Some(vec![email("carol@example.com")]));
    body["commonAnnotations"]["responders"] = json!("dan@example.com,, erin@example.com ");
    let both = Some(vec![email("dan@example.com"), email("erin@example.com")]);
    assert_eq!(parse(&body).expect("parses").responders, both);
}

#[test]
fn a_responder_that_is_not_an_email_rejects_the_group() {
    let mut body = fixture(FIRING);
    body["commonAnnotations"]["responders"] = json!("ann@example.com, bob");
    let reason = "`bob` is not an email address";
    assert_eq!(parse(&body), Err(invalid("commonAnnotations.responders", reason)));
}

#[test]
fn versions_other_than_4_are_unsupported() {
    let mut body = fixture(FIRING);
    body["version"] = json!("3");
    let reason = "Alertmanager webhook version `3`; only version 4 is supported";
    assert_eq!(parse(&body), Err(IntakeError::Unsupported { reason: reason.into() }));
    body.as_object_mut().expect("object").remove("version");
    assert_eq!(parse(&body), Err(invalid("version", "is required")));
    body["version"] = json!(4);
    assert_eq!(parse(&body), Err(invalid("version", "must be a string, got a number")));
}

#[test]
fn required_fields_are_named_when_missing() {
    for field in ["groupKey", "status", "alerts"] {
        let mut body = fixture(FIRING);
        body.as_object_mut().expect("object").remove(field);
        assert_eq!(parse(&body), Err(invalid(field, "is required")), "{field}");
    }
    let mut body = fixture(FIRING);
    body["alerts"][1].as_object_mut().expect("alert").remove("startsAt");
    assert_eq!(parse(&body), Err(invalid("alerts[1].startsAt", "is required")));
}

#[test]
fn bad_values_name_their_field() {
    let cases = [
        ("/status", json!("pending"), "status", "must be firing or resolved"),
        ("/alerts", json!([]), "alerts", "must list at least one alert"),
        ("/alerts/1/startsAt", json!("soon"), "alerts[1].startsAt", "not an RFC 3339 time"),
        ("/alerts/0/endsAt", json!("2025-13-01T00:00:00Z"), "alerts[0].endsAt", "not an RFC 3339 time"),
        ("/alerts/0", json!("alert"), "alerts[0]", "must be an object, got a string"),
        ("/commonLabels/severity", json!(1), "commonLabels.severity", "must be a string, got a number"),
        ("/groupLabels", json!([]), "groupLabels", "must be an object, got an array"),
        ("/truncatedAlerts", json!(-1), "truncatedAlerts", "must be a whole number, got a number"),
    ];
    for (pointer, value, field, reason) in cases {
        let mut body = fixture(FIRING);
        *body.pointer_mut(pointer).expect("pointer exists") = value;
        assert_eq!(parse(&body), Err(invalid(field, reason)), "{pointer}");
    }
}

#[test]
fn oversized_and_broken_bodies_are_refused() {
    let huge = vec![b' '; MAX_BODY + 1];
    assert_eq!(alertmanager::parse(&huge), Err(IntakeError::TooLarge { limit: MAX_BODY }));
    assert!(matches!(alertmanager::parse(b"{\"version\": \"4\""), Err(IntakeError::Malformed { .. })));
}
