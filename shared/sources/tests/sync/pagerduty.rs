use crate::fixtures::*;
use crate::receiver::{asking_to_wait, Receiver, Recorded};
use serde_json::json;
use warroom_core::*;
use warroom_sources::{PagerDutySettings, SyncSettings};

const TOKEN: &str = "u+pd_test_token_123";

fn settings(tenant: &Tenant, url: &str) -> SyncSettings {
    SyncSettings {
        pagerduty: Some(PagerDutySettings { api_token: seal(tenant, TOKEN), from_email: "oncall@example.com".into(), api_url: url.into() }),
        ..Default::default()
    }
}

fn assert_pd_headers(req: &Recorded) {
    assert_eq!(req.header("authorization"), format!("Token token={TOKEN}"));
    assert_eq!(req.header("from"), "oncall@example.com");
    assert_eq!(req.header("accept"), "application/vnd.pagerduty+json;version=2");
    assert_eq!(req.header("content-type"), "application/json");
}

fn status_body(status: &str) -> serde_json::Value {
    json!({"incident": {"type": "incident_reference", "status": status}})
}

#[tokio::test]
async fn acknowledging_puts_the_incident_status_with_pagerduty_headers() {
    let rx = Receiver::start(&[]).await;
    let tenant = tenant();
    let inc = incident(&tenant, "pagerduty", "PGR0VU2", Status::Acknowledged);
    let synced = router(settings(&tenant, &rx.url)).push(&tenant, &inc, Some(&state(Status::Triggered, None))).await.unwrap();
    assert_eq!(synced.detail, "acknowledged PagerDuty incident PGR0VU2");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!((reqs[0].method.as_str(), reqs[0].path.as_str()), ("PUT", "/incidents/PGR0VU2"));
    assert_pd_headers(&reqs[0]);
    assert_eq!(reqs[0].json(), status_body("acknowledged"));
}

#[tokio::test]
async fn resolving_puts_resolved_once_and_closing_afterwards_pushes_nothing() {
    let rx = Receiver::start(&[]).await;
    let tenant = tenant();
    let router = router(settings(&tenant, &rx.url));
    let resolved = incident(&tenant, "pagerduty", "PABC123", Status::Resolved);
    router.push(&tenant, &resolved, Some(&state(Status::Acknowledged, None))).await.unwrap();
    let closed = incident(&tenant, "pagerduty", "PABC123", Status::Closed);
    let detail = router.push(&tenant, &closed, Some(&state(Status::Resolved, None))).await.unwrap().detail;
    assert_eq!(detail, "nothing to push to PagerDuty (status closed)");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!((reqs[0].method.as_str(), reqs[0].path.as_str()), ("PUT", "/incidents/PABC123"));
    assert_eq!(reqs[0].json(), status_body("resolved"));
}

#[tokio::test]
async fn snoozing_a_triggered_incident_acknowledges_it_first_then_posts_the_duration() {
    let rx = Receiver::start(&[(200, "{}"), (201, r#"{"incident":{"id":"PXYZ"}}"#)]).await;
    let tenant = tenant();
    let mut inc = incident(&tenant, "pagerduty", "PXYZ", Status::Triggered);
    inc.snoozed_until = Some(Timestamp(T0.0 + 3_600_000 - 400)); // rounds up to whole seconds
    let synced = router(settings(&tenant, &rx.url)).push(&tenant, &inc, None).await.unwrap();
    assert_eq!(synced.detail, "acknowledged PagerDuty incident PXYZ; snoozed for 3600 s (until 2025-11-21T09:59:59.6Z)");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!((reqs[0].method.as_str(), reqs[0].path.as_str()), ("PUT", "/incidents/PXYZ"));
    assert_eq!(reqs[0].json(), status_body("acknowledged"));
    assert_eq!((reqs[1].method.as_str(), reqs[1].path.as_str()), ("POST", "/incidents/PXYZ/snooze"));
    assert_pd_headers(&reqs[1]);
    assert_eq!(reqs[1].json(), json!({"duration": 3600}));
}

#[tokio::test]
async fn a_snooze_longer_than_a_week_is_capped_and_a_repeated_snooze_is_not_resent() {
    let rx = Receiver::start(&[]).await;
    let tenant = tenant();
    let router = router(settings(&tenant, &rx.url));
    let mut inc = incident(&tenant, "pagerduty", "PXYZ", Status::Acknowledged);
    let until = Timestamp(T0.0 + 30 * 86_400_000);
    inc.snoozed_until = Some(until);
    let detail = router.push(&tenant, &inc, Some(&state(Status::Acknowledged, None))).await.unwrap().detail;
    assert!(detail.contains("snoozed for 604800 s (PagerDuty's maximum"), "{detail}");
    assert_eq!(rx.requests()[1].json(), json!({"duration": 604800}));
    let again = router.push(&tenant, &inc, Some(&state(Status::Acknowledged, Some(until)))).await.unwrap();
    assert_eq!(again.detail, "nothing to push to PagerDuty (status acknowledged)");
    assert_eq!(rx.requests().len(), 2);
}

#[tokio::test]
async fn pagerduty_429_and_500_are_retryable_and_401_403_404_are_permanent_without_the_token() {
    let echo = format!(r#"{{"error":{{"message":"bad header Token token={TOKEN}"}}}}"#);
    let replies = [(429, "{}"), (500, echo.as_str()), (401, echo.as_str()), (403, "{}"), (404, "{}"), (400, echo.as_str())];
    let rx = Receiver::start(&replies).await;
    let tenant = tenant();
    let router = router(settings(&tenant, &rx.url));
    let inc = incident(&tenant, "pagerduty", "PNOPE", Status::Acknowledged);
    let mut errors = Vec::new();
    for _ in &replies {
        errors.push(router.push(&tenant, &inc, None).await.unwrap_err());
    }
    let retryable: Vec<bool> = errors.iter().map(|e| e.retryable).collect();
    assert_eq!(retryable, [true, true, false, false, false, false]);
    assert!(errors[2].message.contains("401") && errors[2].message.contains("token was refused"), "{:?}", errors[2]);
    assert!(errors[4].message.contains("404") && errors[4].message.contains("PNOPE"), "{:?}", errors[4]);
    for e in &errors {
        assert!(!e.message.contains(TOKEN), "token leaked: {e:?}");
    }
    assert!(errors[5].message.contains("[redacted]"), "{:?}", errors[5]);
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_at_the_time_the_source_asks() {
    let tenant = tenant();
    let inc = incident(&tenant, "pagerduty", "PWAIT", Status::Acknowledged);
    let url = asking_to_wait(429, "7").await;
    let e = router(settings(&tenant, &url)).push(&tenant, &inc, None).await.unwrap_err();
    assert!(e.retryable, "{e:?}");
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(7)));
    // An HTTP-date in the past means "now"; a refusal that is no rate limit carries none.
    let url = asking_to_wait(503, "Sun, 06 Nov 1994 08:49:37 GMT").await;
    let e = router(settings(&tenant, &url)).push(&tenant, &inc, None).await.unwrap_err();
    assert_eq!(e.retry_after, Some(std::time::Duration::ZERO));
    let url = asking_to_wait(403, "7").await;
    let e = router(settings(&tenant, &url)).push(&tenant, &inc, None).await.unwrap_err();
    assert!(!e.retryable && e.retry_after.is_none(), "{e:?}");
}
