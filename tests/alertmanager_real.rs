//! Against a real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, which the
//! test script installs): its webhook reaches `/hooks/alertmanager` over real HTTP, a war
//! room opens, and a snooze clicked in the chat becomes a silence Alertmanager then lists.

mod common;

use common::App;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use warroom_core::*;
use warroom_sources::AlertmanagerSettings;
use warroom_testkit::alertmanager::{webhook_config, Alertmanager};

#[tokio::test]
#[ignore = "needs prometheus-alertmanager (Debian package): run ./infra/test.sh"]
async fn alertmanager_opens_a_war_room_and_a_snooze_becomes_a_silence_it_lists() {
    let app = App::new().await;
    let mut tenant = app.store.get_tenant(&app.tenant).await.unwrap().unwrap();
    tenant.settings.auto_create_min_severity = Some(Severity::Critical);
    app.store.put_tenant(&tenant).await.unwrap();
    let addr = app.serve().await;
    let am = Alertmanager::start(&webhook_config(&format!("http://{addr}/hooks/alertmanager"), &app.intake_key)).await;
    app.sync_settings.0.lock().unwrap().alertmanager = Some(AlertmanagerSettings { api_url: am.url.clone(), created_by: "warroom-test".into() });

    let alertname = format!("DiskFull{}", ids::random_suffix());
    let alert = json!([{"labels": {"alertname": alertname, "severity": "critical", "instance": "db-1"},
                        "annotations": {"summary": "Disk full on db-1", "responders": "ada@example.com"}}]);
    let http = reqwest::Client::new();
    let posted = http.post(format!("{}/api/v2/alerts", am.url)).json(&alert).send().await.unwrap();
    assert!(posted.status().is_success(), "alert post: {}", posted.status());

    // Alertmanager groups for group_wait (1 s), then calls our webhook.
    let deadline = Instant::now() + Duration::from_secs(30);
    let incident = loop {
        let page = app.store.list_incidents(&app.tenant, None, 10).await.unwrap();
        if let Some(i) = page.incidents.into_iter().find(|i| i.source.source == "alertmanager") {
            break i;
        }
        assert!(Instant::now() < deadline, "Alertmanager's webhook never arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(incident.title, "Disk full on db-1");
    assert_eq!(incident.severity, Severity::Critical);
    // The webhook's handler enqueues the reconcile just after storing the incident: keep
    // draining until the room is open (bounded).
    let deadline = Instant::now() + Duration::from_secs(20);
    let incident = loop {
        app.drain().await;
        let current = app.store.get_incident(&app.tenant, &incident.id).await.unwrap().unwrap();
        if current.war_room.state == WarRoomState::Open || Instant::now() > deadline {
            break current;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(incident.war_room.state, WarRoomState::Open, "the tenant's rule opens rooms for critical incidents: {:?}", incident.war_room);

    let (code, _) = app.click("U_ADA", &incident.id, CardAction::Snooze { minutes: 120 }, "snooze-1").await;
    assert_eq!(code, axum::http::StatusCode::OK);
    app.drain().await;

    let silences: Vec<Value> = http.get(format!("{}/api/v2/silences", am.url)).send().await.unwrap().json().await.unwrap();
    let ours: Vec<&Value> = silences.iter().filter(|s| s["matchers"].as_array().unwrap().iter().any(|m| m["value"] == alertname.as_str())).collect();
    assert_eq!(ours.len(), 1, "{silences:#?}");
    assert_eq!(ours[0]["status"]["state"], "active");
    assert_eq!(ours[0]["createdBy"], "warroom-test");
    let ends = Timestamp::parse_rfc3339(ours[0]["endsAt"].as_str().unwrap()).unwrap();
    let want = app.store.get_incident(&app.tenant, &incident.id).await.unwrap().unwrap().snoozed_until.unwrap();
    assert!((ends.millis() - want.millis()).abs() < 2000, "silence ends {ends}, snooze ends {want}");
    let timeline = app.timeline(&incident).await;
    assert!(timeline.iter().any(|e| e.action == TimelineAction::SyncedToSource && e.detail.contains("silence")), "{timeline:#?}");
}
