//! Against a real prometheus-alertmanager (0.25 from Debian): the one at
//! `WARROOM_ALERTMANAGER_URL` when set (infra/lib/alertmanager.sh `start_alertmanager`
//! exports it), else a private instance of the binary on PATH (./infra/test.sh installs it).

use crate::fixtures::*;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::*;
use warroom_sources::{AlertmanagerSettings, FixedSettings, SourceRouter, SyncSettings};
use warroom_testkit::alertmanager::Alertmanager;

#[tokio::test]
#[ignore = "needs prometheus-alertmanager: run ./infra/test.sh"]
async fn a_snooze_becomes_a_silence_listed_by_a_real_alertmanager() {
    // `_private` (not `_`) keeps a private instance alive until the test ends.
    let (url, _private) = match std::env::var("WARROOM_ALERTMANAGER_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            // A receiver without integrations: this test only needs the silences API.
            let private = Alertmanager::start("route:\n  receiver: none\nreceivers:\n  - name: none\n").await;
            (private.url.clone(), Some(private))
        }
    };
    let settings = SyncSettings { alertmanager: Some(AlertmanagerSettings { api_url: url.clone(), created_by: "warroom-it".into() }), ..Default::default() };
    // The wall clock: Alertmanager refuses silences that end in its past.
    let router = SourceRouter::with_policy(Arc::new(FixedSettings(settings)), secrets(), warroom_sources::OutboundPolicy::allowing_loopback()).unwrap();
    let tenant = tenant();
    let alertname = format!("WarroomSyncTest_{}", ids::random_suffix());
    let mut inc = incident(&tenant, "alertmanager", &format!("{{}}:{{alertname=\"{alertname}\"}}"), Status::Triggered);
    inc.labels = [("am.group.alertname", alertname.as_str()), ("am.group.team", "sre"), ("severity", "critical")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let until = SystemClock.now().plus(Duration::from_secs(3600));
    inc.snoozed_until = Some(until);

    let synced = router.push(&tenant, &inc, None).await.unwrap();
    let id = synced.detail.strip_prefix("silence ").and_then(|rest| rest.split(' ').next()).unwrap().to_owned();
    assert_eq!(synced.detail, format!("silence {id} until {until}"));

    let silences: Vec<Value> = reqwest::get(format!("{url}/api/v2/silences")).await.unwrap().error_for_status().unwrap().json().await.unwrap();
    let silence = silences.iter().find(|s| s["id"] == id.as_str()).unwrap_or_else(|| panic!("{id} not in {silences:#?}"));
    let mut matchers: Vec<(String, String, bool, bool)> = silence["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_owned();
            (s("name"), s("value"), m["isRegex"].as_bool().unwrap(), m["isEqual"].as_bool().unwrap_or(true))
        })
        .collect();
    matchers.sort();
    assert_eq!(matchers, [("alertname".into(), alertname.clone(), false, true), ("team".into(), "sre".into(), false, true)]);
    assert_eq!(Timestamp::parse_rfc3339(silence["endsAt"].as_str().unwrap()), Some(until), "{silence:#}");
    assert_eq!(silence["status"]["state"], "active", "{silence:#}");
    assert_eq!(silence["createdBy"], "warroom-it");
    assert_eq!(silence["comment"], format!("Snoozed from Warroom incident {}: Disk full on db-1", inc.id));

    // And it mutes the group: an alert of that group is suppressed by this very silence.
    let http = reqwest::Client::new();
    let alert = serde_json::json!([{"labels": {"alertname": alertname, "team": "sre", "instance": "db-1"}}]);
    http.post(format!("{url}/api/v2/alerts")).json(&alert).send().await.unwrap().error_for_status().unwrap();
    let filter = format!("alertname=\"{alertname}\"");
    let alerts_url = reqwest::Url::parse_with_params(&format!("{url}/api/v2/alerts"), [("filter", filter)]).unwrap();
    let alerts: Vec<Value> = http.get(alerts_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["status"]["state"], "suppressed", "{alerts:#?}");
    assert_eq!(alerts[0]["status"]["silencedBy"], serde_json::json!([id]), "{alerts:#?}");
}
