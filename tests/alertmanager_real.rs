//! Against a real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, which the
//! test script installs): its webhook reaches `/hooks/alertmanager` over real HTTP, a war
//! room opens, and a snooze clicked in the chat becomes a silence Alertmanager then lists.

mod common;

use common::App;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use warroom_core::*;
use warroom_sources::AlertmanagerSettings;

/// The Alertmanager process; killed when the test ends, pass or fail.
struct Alertmanager {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_alertmanager(webhook: &str, token: &str) -> Alertmanager {
    let dir = std::env::temp_dir().join(format!("warroom-am-{}", ids::random_suffix()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let config = format!(
        "route:\n  receiver: warroom\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: warroom\n    webhook_configs:\n      - url: \"{webhook}\"\n        send_resolved: true\n\
         \x20       http_config:\n          authorization:\n            credentials: \"{token}\"\n"
    );
    std::fs::write(dir.join("am.yml"), config).unwrap();
    let port = free_port();
    let binary = std::env::var("WARROOM_ALERTMANAGER_BIN").unwrap_or_else(|_| "prometheus-alertmanager".into());
    let child = Command::new(&binary)
        .arg(format!("--config.file={}", dir.join("am.yml").display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {binary}: {e}; ./infra/test.sh installs prometheus-alertmanager"));
    let am = Alertmanager { child, url: format!("http://127.0.0.1:{port}"), _dir: TempDir(dir) };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{}/-/ready", am.url)).send().await {
            if r.status().is_success() {
                return am;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("alertmanager did not become ready within 20 s");
}

#[tokio::test]
#[ignore = "needs prometheus-alertmanager (Debian package): run ./infra/test.sh"]
async fn alertmanager_opens_a_war_room_and_a_snooze_becomes_a_silence_it_lists() {
    let app = App::new().await;
    let mut tenant = app.store.get_tenant(&app.tenant).await.unwrap().unwrap();
    tenant.settings.auto_create_min_severity = Some(Severity::Critical);
    app.store.put_tenant(&tenant).await.unwrap();
    let addr = app.serve().await;
    let am = start_alertmanager(&format!("http://{addr}/hooks/alertmanager"), &app.intake_key).await;
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
