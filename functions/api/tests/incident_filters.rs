//! The incident list's filters: status, severity, source, war-room phase; every page full
//! and the pages together exactly the matching incidents, newest first; an unknown value is
//! a 400 naming it.

mod common;

use axum::http::StatusCode;
use common::App;
use serde_json::Value;
use warroom_core::{Severity, SourceRef, Status, Store, Timestamp, WarRoomState};
use warroom_testkit::fixtures;

/// 250 incidents (more than two store pages of the scan), every 7th resolved, every 3rd a
/// warning from Alertmanager, every 5th with an open war room.
async fn incidents(app: &App, tenant: &warroom_core::TenantId) -> Vec<warroom_core::Incident> {
    let mut all = Vec::new();
    for n in 0..250i64 {
        let mut i = fixtures::incident(tenant, &format!("ext-{n}"), Timestamp(fixtures::T0.0 + n * 1000));
        if n % 7 == 0 {
            i.status = Status::Resolved;
        }
        if n % 3 == 0 {
            i.severity = Severity::Warning;
            i.source = SourceRef { source: "alertmanager".into(), external_id: format!("am-{n}") };
        }
        if n % 5 == 0 {
            i.war_room.state = WarRoomState::Open;
            i.war_room.wanted = true;
        }
        all.push(app.store.create_incident(&i).await.unwrap());
    }
    all.reverse(); // newest first, as listed
    all
}

async fn follow(app: &App, key: &str, query: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/incidents?{query}&limit={limit}&cursor={c}"),
            None => format!("/api/v1/incidents?{query}&limit={limit}"),
        };
        let r = app.get(&path, key).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        let page = r.body["incidents"].as_array().unwrap();
        assert!(page.len() <= limit);
        ids.extend(page.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match r.body["next"].as_str() {
            Some(next) => {
                assert_eq!(page.len(), limit, "{path}: only the last page (or a bounded scan) is short");
                cursor = Some(next.to_owned());
            }
            None => return ids,
        }
    }
    panic!("paging did not end");
}

/// Which incidents a filter should answer.
type Wanted = Box<dyn Fn(&warroom_core::Incident) -> bool>;

#[tokio::test]
async fn filtered_pages_are_full_and_together_exactly_the_matching_incidents() {
    let app = App::new();
    let t = app.tenant("acme").await;
    let all = incidents(&app, &t.id).await;
    let cases: [(&str, Wanted); 6] = [
        ("status=resolved", Box::new(|i| i.status == Status::Resolved)),
        ("severity=warning", Box::new(|i| i.severity == Severity::Warning)),
        ("source=alertmanager", Box::new(|i| i.source.source == "alertmanager")),
        ("phase=open", Box::new(|i| i.war_room.state == WarRoomState::Open)),
        ("phase=none", Box::new(|i| i.war_room.state == WarRoomState::None)),
        (
            "severity=warning&phase=open&status=triggered",
            Box::new(|i| i.severity == Severity::Warning && i.war_room.state == WarRoomState::Open && i.status == Status::Triggered),
        ),
    ];
    for (query, wanted) in &cases {
        let expected: Vec<String> = all.iter().filter(|i| wanted(i)).map(|i| i.id.to_string()).collect();
        assert!(!expected.is_empty(), "{query}");
        for limit in [1, 7, 25, 100] {
            assert_eq!(follow(&app, &t.key, query, limit).await, expected, "{query} limit={limit}");
        }
    }
    let none = app.get("/api/v1/incidents?source=pagerduty", &t.key).await;
    assert_eq!((none.body["incidents"].as_array().unwrap().len(), &none.body["next"]), (0, &Value::Null));
}

#[tokio::test]
async fn an_unknown_filter_value_is_a_400_naming_it() {
    let app = App::new();
    let t = app.tenant("acme").await;
    for (query, named) in [
        ("status=open", "status: \"open\""),
        ("severity=P1", "severity: \"P1\""),
        ("source=grafana", "source: \"grafana\""),
        ("phase=closed", "phase: \"closed\""),
        ("status=Resolved", "status: \"Resolved\""),
    ] {
        let r = app.get(&format!("/api/v1/incidents?{query}"), &t.key).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(r.message().starts_with(named), "{query}: {}", r.message());
    }
}

#[test]
fn the_documents_filter_values_are_the_servers() {
    let doc: Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
    let params = doc["paths"]["/api/v1/incidents"]["get"]["parameters"].as_array().unwrap();
    let values = |name: &str| -> Vec<String> {
        let p = params.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name} undocumented"));
        p["schema"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    };
    use api::incident_filter::{PHASES, SEVERITIES, STATUSES};
    assert_eq!(values("status"), STATUSES);
    assert_eq!(values("severity"), SEVERITIES);
    assert_eq!(values("source"), warroom_intake_sources());
    assert_eq!(values("phase"), PHASES);
}

fn warroom_intake_sources() -> Vec<String> {
    api::incident_filter::SOURCES.iter().map(|s| s.to_string()).collect()
}
