use crate::fixtures::*;
use crate::receiver::{asking_to_wait, Receiver};
use serde_json::json;
use warroom_core::*;
use warroom_sources::{AlertmanagerSettings, SyncSettings};

fn settings(url: &str) -> SyncSettings {
    SyncSettings { alertmanager: Some(AlertmanagerSettings { api_url: format!("{url}/am/"), created_by: "warroom-test".into() }), ..Default::default() }
}

fn grouped(tenant: &Tenant) -> Incident {
    let mut inc = incident(tenant, "alertmanager", "{}:{alertname=\"HighLatency\"}", Status::Acknowledged);
    inc.labels = [("am.group.alertname", "HighLatency"), ("am.group.cluster", "eu-1"), ("severity", "critical")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    inc
}

#[tokio::test]
async fn a_snooze_posts_a_silence_matching_exactly_the_alert_group() {
    let rx = Receiver::start(&[(200, r#"{"silenceID":"7f1e-silence"}"#)]).await;
    let tenant = tenant();
    let mut inc = grouped(&tenant);
    inc.snoozed_until = Some(Timestamp(T0.0 + 2 * 3_600_000));
    let synced = router(settings(&rx.url)).push(&tenant, &inc, Some(&state(Status::Acknowledged, None))).await.unwrap();
    assert_eq!(synced.detail, "silence 7f1e-silence until 2025-11-21T11:00:00Z");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!((reqs[0].method.as_str(), reqs[0].path.as_str()), ("POST", "/am/api/v2/silences"));
    assert_eq!(reqs[0].header("content-type"), "application/json");
    assert_eq!(
        reqs[0].json(),
        json!({
            "matchers": [
                {"name": "alertname", "value": "HighLatency", "isRegex": false, "isEqual": true},
                {"name": "cluster", "value": "eu-1", "isRegex": false, "isEqual": true}
            ],
            "startsAt": "2025-11-21T09:00:00Z",
            "endsAt": "2025-11-21T11:00:00Z",
            "createdBy": "warroom-test",
            "comment": format!("Snoozed from Warroom incident {}: Disk full on db-1", inc.id)
        })
    );
}

#[tokio::test]
async fn acknowledge_resolve_and_an_unchanged_snooze_post_nothing_to_alertmanager() {
    let rx = Receiver::start(&[]).await;
    let tenant = tenant();
    let router = router(settings(&rx.url));
    let mut inc = grouped(&tenant);
    let detail = router.push(&tenant, &inc, Some(&state(Status::Triggered, None))).await.unwrap().detail;
    assert_eq!(detail, "alertmanager has no acknowledge/resolve; nothing to push");
    let until = Timestamp(T0.0 + 60_000);
    inc.snoozed_until = Some(until);
    inc.status = Status::Resolved;
    router.push(&tenant, &inc, Some(&state(Status::Acknowledged, Some(until)))).await.unwrap();
    assert!(rx.requests().is_empty());
}

#[tokio::test]
async fn a_group_without_group_labels_cannot_be_silenced_and_a_400_is_permanent() {
    let rx = Receiver::start(&[(400, "\"Failed to create silence: end time can't be in the past\"")]).await;
    let tenant = tenant();
    let router = router(settings(&rx.url));
    let mut bare = incident(&tenant, "alertmanager", "{}:{}", Status::Triggered);
    bare.snoozed_until = Some(Timestamp(T0.0 + 60_000));
    let err = router.push(&tenant, &bare, None).await.unwrap_err();
    assert_eq!(err, SyncError::permanent("no Alertmanager group labels to silence"));

    let mut inc = grouped(&tenant);
    inc.snoozed_until = Some(Timestamp(T0.0 + 60_000));
    let err = router.push(&tenant, &inc, None).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("400") && err.message.contains("in the past"), "{err:?}");
    // The receiver now answers `200 {}`: not Alertmanager's answer, so say what came back.
    let err = router.push(&tenant, &inc, None).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("without a silenceID"), "{err:?}");
}

#[tokio::test]
async fn an_alertmanager_answering_429_with_retry_after_carries_the_wait() {
    let tenant = tenant();
    let mut inc = grouped(&tenant);
    inc.snoozed_until = Some(Timestamp(T0.0 + 60_000));
    let e = router(settings(&asking_to_wait(429, "7").await)).push(&tenant, &inc, None).await.unwrap_err();
    assert!(e.retryable, "{e:?}");
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(7)));
}
