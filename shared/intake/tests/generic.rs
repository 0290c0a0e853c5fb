//! The generic schema: what maps, and that every refusal names its field.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use warroom_core::{Responder, Severity, SourceRef, Status, Timestamp};
use warroom_intake::{generic, IntakeError, MAX_BODY};

const EXAMPLE: &[u8] = include_bytes!("fixtures/generic_example.json");

fn minimal() -> Value {
    json!({"id": "INC-1", "title": "Disk full", "status": "triggered", "time": "2025-11-21T09:00:00Z"})
}

/// `minimal()` with one field changed (or removed, with `Value::Null` meaning "remove").
fn with(key: &str, value: Value) -> Vec<u8> {
    let mut body = minimal();
    let obj = body.as_object_mut().expect("minimal() is an object");
    if value.is_null() {
        obj.remove(key);
    } else {
        obj.insert(key.to_owned(), value);
    }
    serde_json::to_vec(&body).expect("serialisable")
}

fn invalid(field: &str, reason: &str) -> IntakeError {
    IntakeError::Invalid { field: field.to_owned(), reason: reason.to_owned() }
}

fn err(body: &[u8]) -> IntakeError {
    generic::parse(body).expect_err("should be refused")
}

#[test]
fn the_documented_example_maps_to_one_event() {
    let events = generic::parse(EXAMPLE).expect("example parses");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.source, SourceRef { source: "generic".into(), external_id: "INC-4711".into() });
    assert_eq!(e.status, Status::Triggered);
    assert_eq!(e.title, "Checkout API error rate above 5%");
    assert_eq!(e.description, "5xx rate 7.2% over 10 minutes in eu-west-1");
    assert_eq!(e.severity, Severity::Critical);
    let ann = Responder { name: Some("Ann Lee".into()), email: Some("ann@example.com".into()), phone: None, member_id: None };
    let phone_only = Responder { name: None, email: None, phone: Some("+44 20 7946 0000".into()), member_id: None };
    assert_eq!(e.responders, Some(vec![ann, phone_only]));
    let labels: BTreeMap<_, _> = [("region", "eu-west-1"), ("service", "checkout")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
    assert_eq!(e.labels, labels);
    assert_eq!(e.url.as_deref(), Some("https://oncall.example.com/incidents/4711"));
    assert_eq!(e.at, Timestamp::parse_rfc3339("2025-11-21T09:00:00Z").expect("valid time"));
    assert!(e.war_room);
}

#[test]
fn a_minimal_event_gets_the_documented_defaults() {
    let e = &generic::parse(&with("x", json!(1))).expect("parses")[0];
    assert_eq!(e.severity, Severity::Warning);
    assert_eq!(e.description, "");
    assert_eq!(e.responders, None, "absent responders mean: keep the ones known");
    assert!(e.labels.is_empty());
    assert_eq!(e.url, None);
    assert!(!e.war_room);
}

#[test]
fn an_empty_responder_list_says_there_are_none() {
    let e = &generic::parse(&with("responders", json!([]))).expect("parses")[0];
    assert_eq!(e.responders, Some(vec![]));
}

#[test]
fn unknown_fields_and_nulls_are_ignored() {
    let mut body = minimal();
    body["extra"] = json!({"nested": [1, 2]});
    body["description"] = Value::Null;
    let e = &generic::parse(&serde_json::to_vec(&body).expect("json")).expect("parses")[0];
    assert_eq!(e.description, "");
}

#[test]
fn every_required_field_is_named_when_missing() {
    for field in ["id", "title", "status", "time"] {
        assert_eq!(err(&with(field, Value::Null)), invalid(field, "is required"), "{field}");
    }
}

#[test]
fn wrong_types_name_the_field_and_the_type() {
    let cases = [
        ("id", json!(42), "id", "must be a string, got a number"),
        ("title", json!(["x"]), "title", "must be a string, got an array"),
        ("war_room", json!("yes"), "war_room", "must be a boolean, got a string"),
        ("responders", json!({"name": "x"}), "responders", "must be an array, got an object"),
        ("labels", json!(["a"]), "labels", "must be an object, got an array"),
        ("labels", json!({"team": 7}), "labels.team", "must be a string, got a number"),
        ("labels", json!({"team": null}), "labels.team", "must be a string, got null"),
        ("responders", json!([{"name": "a"}, "bob"]), "responders[1]", "must be an object, got a string"),
        ("responders", json!([{"email": true}]), "responders[0].email", "must be a string, got a boolean"),
    ];
    for (key, value, field, reason) in cases {
        assert_eq!(err(&with(key, value)), invalid(field, reason), "{key}");
    }
}

#[test]
fn a_time_that_is_not_rfc3339_is_refused() {
    for bad in ["yesterday", "2025-11-21 09:00:00", "2025-11-21T09:00:00", "1763715600"] {
        assert_eq!(err(&with("time", json!(bad))), invalid("time", "not an RFC 3339 time"), "{bad}");
    }
}

#[test]
fn a_bad_email_names_the_responder() {
    let responders = json!([{"name": "a"}, {"email": "b@example.com"}, {"name": "c", "email": "c.example.com"}]);
    assert_eq!(err(&with("responders", responders)), invalid("responders[2].email", "not an email address"));
    let two_ats = json!([{"email": "a@b@example.com"}]);
    assert_eq!(err(&with("responders", two_ats)), invalid("responders[0].email", "not an email address"));
}

#[test]
fn a_responder_needs_a_name_an_email_or_a_phone() {
    let responders = json!([{"name": "a"}, {"name": "  ", "team": "x"}]);
    assert_eq!(err(&with("responders", responders)), invalid("responders[1]", "needs at least one of name, email, phone"));
}

#[test]
fn id_and_title_lengths_are_bounded() {
    assert!(generic::parse(&with("id", json!("i".repeat(200)))).is_ok());
    assert_eq!(err(&with("id", json!("i".repeat(201)))), invalid("id", "longer than 200 characters"));
    assert!(generic::parse(&with("title", json!("é".repeat(500)))).is_ok(), "counts characters, not bytes");
    assert_eq!(err(&with("title", json!("t".repeat(501)))), invalid("title", "longer than 500 characters"));
    assert_eq!(err(&with("id", json!("   "))), invalid("id", "must not be blank"));
}

#[test]
fn at_most_64_labels_are_accepted() {
    let labels = |n: usize| Value::Object((0..n).map(|i| (format!("k{i}"), json!("v"))).collect());
    assert!(generic::parse(&with("labels", labels(64))).is_ok());
    assert_eq!(err(&with("labels", labels(65))), invalid("labels", "more than 64 entries"));
}

#[test]
fn severity_is_read_leniently_and_unknown_ones_are_refused() {
    let severity = |s: &str| generic::parse(&with("severity", json!(s))).map(|e| e[0].severity);
    assert_eq!(severity("P1"), Ok(Severity::Critical));
    assert_eq!(severity("warn"), Ok(Severity::Warning));
    assert_eq!(severity("info"), Ok(Severity::Info));
    assert_eq!(severity("purple"), Err(invalid("severity", "unknown severity (use critical, warning or info)")));
}

#[test]
fn every_documented_status_maps_and_others_are_refused() {
    let status = |s: &str| generic::parse(&with("status", json!(s))).map(|e| e[0].status);
    assert_eq!(status("triggered"), Ok(Status::Triggered));
    assert_eq!(status("acknowledged"), Ok(Status::Acknowledged));
    assert_eq!(status("Resolved"), Ok(Status::Resolved));
    assert_eq!(status("closed"), Ok(Status::Closed));
    let reason = "must be one of triggered, acknowledged, resolved, closed";
    assert_eq!(status("firing"), Err(invalid("status", reason)));
}

#[test]
fn only_web_links_are_accepted_as_url() {
    let reason = "must be an http:// or https:// link";
    assert_eq!(err(&with("url", json!("javascript:alert(1)"))), invalid("url", reason));
    assert!(generic::parse(&with("url", json!("http://x.example.com"))).is_ok());
}

#[test]
fn a_body_over_the_limit_is_refused_before_parsing() {
    let body = vec![b' '; MAX_BODY + 1];
    assert_eq!(err(&body), IntakeError::TooLarge { limit: MAX_BODY });
}

#[test]
fn broken_json_is_malformed_with_line_and_column() {
    let IntakeError::Malformed { reason } = err(b"{\n  \"id\": \"x\",\n  oops\n}") else {
        panic!("expected Malformed");
    };
    assert!(reason.contains("line 3 column 3"), "{reason}");
}

#[test]
fn a_body_that_is_not_an_object_is_malformed() {
    assert_eq!(err(b"[1, 2]"), IntakeError::Malformed { reason: "expected a JSON object, got an array".into() });
    assert!(matches!(err(b""), IntakeError::Malformed { .. }));
    assert!(matches!(err(&[0xff, 0xfe]), IntakeError::Malformed { .. }));
}
