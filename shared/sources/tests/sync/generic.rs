use crate::fixtures::*;
use crate::receiver::{asking_to_wait, dead_url, Receiver};
use std::time::Duration;
use warroom_core::*;
use warroom_sources::{verify, GenericSettings, OutboundPolicy, SyncSettings, SIGNATURE_HEADER, TIMESTAMP_HEADER};

const SECRET: &str = "whsec_generic_test_secret";

fn settings(tenant: &Tenant, url: &str) -> SyncSettings {
    SyncSettings {
        generic: Some(GenericSettings { callback_url: format!("{url}/warroom/status"), signing_secret: seal(tenant, SECRET) }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_generic_callback_is_signed_and_its_signature_verifies_but_a_tampered_one_does_not() {
    let rx = Receiver::start(&[]).await;
    let tenant = tenant();
    let mut inc = incident(&tenant, "generic", "ext-42", Status::Acknowledged);
    inc.snoozed_until = Some(Timestamp(T0.0 + 3_600_000));
    let synced = router(settings(&tenant, &rx.url)).push(&tenant, &inc, None).await.unwrap();
    assert!(synced.detail.contains("acknowledged"), "{}", synced.detail);

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/warroom/status"));
    assert_eq!(req.header("content-type"), "application/json");
    let body = req.json();
    assert_eq!(
        body,
        serde_json::json!({
            "incident_id": inc.id.as_str(), "source_id": "ext-42", "status": "acknowledged",
            "snoozed_until": "2025-11-21T10:00:00Z", "title": "Disk full on db-1",
            "url": "https://monitoring.example.com/i/1", "sent_at": "2025-11-21T09:00:00Z"
        })
    );

    let ts: i64 = req.header(TIMESTAMP_HEADER).parse().unwrap();
    assert_eq!(ts, T0.secs());
    let sig = req.header(SIGNATURE_HEADER);
    let tolerance = Duration::from_secs(300);
    assert!(verify(SECRET.as_bytes(), ts, &req.body, sig, ts + 10, tolerance));

    let mut tampered_body = req.body.to_vec();
    tampered_body[2] ^= 0x01;
    assert!(!verify(SECRET.as_bytes(), ts, &tampered_body, sig, ts, tolerance));
    let mut tampered_sig = sig.to_owned();
    let last = if tampered_sig.ends_with('0') { "1" } else { "0" };
    tampered_sig.replace_range(tampered_sig.len() - 1.., last);
    assert!(!verify(SECRET.as_bytes(), ts, &req.body, &tampered_sig, ts, tolerance));
    assert!(!verify(SECRET.as_bytes(), ts + 1, &req.body, sig, ts, tolerance), "the timestamp is signed too");
    assert!(!verify(b"another secret", ts, &req.body, sig, ts, tolerance));
}

#[tokio::test]
async fn a_callback_answering_500_or_429_is_retryable_and_404_is_permanent() {
    let rx = Receiver::start(&[(500, "oops"), (429, "slow down"), (404, "no such route"), (408, "")]).await;
    let tenant = tenant();
    let inc = incident(&tenant, "generic", "ext-1", Status::Resolved);
    let router = router(settings(&tenant, &rx.url));
    let e500 = router.push(&tenant, &inc, None).await.unwrap_err();
    let e429 = router.push(&tenant, &inc, None).await.unwrap_err();
    let e404 = router.push(&tenant, &inc, None).await.unwrap_err();
    let e408 = router.push(&tenant, &inc, None).await.unwrap_err();
    assert!(e500.retryable && e500.message.contains("500") && e500.message.contains("oops"), "{e500:?}");
    assert!(e429.retryable && e429.message.contains("429"), "{e429:?}");
    assert!(!e404.retryable && e404.message.contains("404"), "{e404:?}");
    assert!(e408.retryable, "{e408:?}");
}

#[tokio::test]
async fn an_unreachable_callback_is_retryable_and_a_redirect_is_not_followed() {
    let tenant = tenant();
    let inc = incident(&tenant, "generic", "ext-1", Status::Acknowledged);
    let err = router(settings(&tenant, &dead_url().await)).push(&tenant, &inc, None).await.unwrap_err();
    assert!(err.retryable, "{err:?}");

    let rx = Receiver::start(&[(307, "")]).await;
    let err = router(settings(&tenant, &rx.url)).push(&tenant, &inc, None).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("307"), "{err:?}");
    assert_eq!(rx.requests().len(), 1);
}

#[tokio::test]
async fn a_secret_sealed_for_another_tenant_is_a_permanent_error_that_never_shows_it() {
    let rx = Receiver::start(&[]).await;
    let (tenant, other) = (tenant(), tenant());
    let inc = incident(&tenant, "generic", "ext-1", Status::Acknowledged);
    let err = router(settings(&other, &rx.url)).push(&tenant, &inc, None).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("could not be opened"), "{err:?}");
    assert!(!err.message.contains(SECRET));
    assert!(rx.requests().is_empty(), "nothing is sent unsigned");
}

#[tokio::test]
async fn unknown_and_unconfigured_sources_are_reported_as_synced_without_a_call() {
    let tenant = tenant();
    let router = router(SyncSettings::default());
    let other = incident(&tenant, "zabbix", "z-1", Status::Acknowledged);
    assert_eq!(router.push(&tenant, &other, None).await.unwrap().detail, "source zabbix has no status sync");
    for source in ["generic", "alertmanager", "pagerduty"] {
        let inc = incident(&tenant, source, "x", Status::Acknowledged);
        let detail = router.push(&tenant, &inc, None).await.unwrap().detail;
        assert_eq!(detail, format!("{source} status sync is not configured for this tenant"));
    }
}

#[tokio::test]
async fn the_default_outbound_policy_refuses_a_loopback_callback_that_an_allowed_one_reaches() {
    let rx = Receiver::start(&[(200, "{}")]).await;
    let tenant = tenant();
    let inc = incident(&tenant, "generic", "E-OUT", Status::Acknowledged);
    let settings =
        || SyncSettings { generic: Some(GenericSettings { callback_url: rx.url.clone(), signing_secret: seal(&tenant, SECRET) }), ..Default::default() };
    // The receiver's URL is an IP literal (127.0.0.1): refused before any request.
    let e = router_with(settings(), OutboundPolicy::public_only()).push(&tenant, &inc, None).await.unwrap_err();
    assert!(!e.retryable && e.message.contains("127.0.0.1 is a loopback address") && e.message.contains("WARROOM_OUTBOUND_ALLOW"), "{e:?}");
    assert!(rx.requests().is_empty(), "nothing reached the receiver");
    // By name: `localhost` resolves to loopback, refused at connect time.
    let by_name = rx.url.replace("127.0.0.1", "localhost");
    let named = SyncSettings { generic: Some(GenericSettings { callback_url: by_name, signing_secret: seal(&tenant, SECRET) }), ..Default::default() };
    let e = router_with(named, OutboundPolicy::public_only()).push(&tenant, &inc, None).await.unwrap_err();
    assert!(!e.retryable && e.message.contains("loopback address"), "{e:?}");
    assert!(rx.requests().is_empty());
    // Allowed by the operator: delivered.
    router_with(settings(), OutboundPolicy::parse("127.0.0.0/8").unwrap()).push(&tenant, &inc, None).await.unwrap();
    assert_eq!(rx.requests().len(), 1);
}

#[tokio::test]
async fn a_callback_asking_to_retry_after_seconds_or_a_date_carries_that_wait() {
    let tenant = tenant();
    let inc = incident(&tenant, "generic", "E-WAIT", Status::Acknowledged);
    let push = |url: String| {
        let router = router(settings(&tenant, &url));
        let (tenant, inc) = (tenant.clone(), inc.clone());
        async move { router.push(&tenant, &inc, None).await.unwrap_err() }
    };
    let e = push(asking_to_wait(429, "7").await).await;
    assert!(e.retryable && e.message.contains("429"), "{e:?}");
    assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
    // An HTTP-date two minutes ahead: about two minutes (the date has whole seconds).
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
    let wait = push(asking_to_wait(503, date).await).await.retry_after.expect("a wait");
    assert!(wait > Duration::from_secs(110) && wait <= Duration::from_secs(120), "{wait:?}");
    // Longer than the cap: the cap (15 minutes), so a bogus header cannot park the job.
    assert_eq!(push(asking_to_wait(429, "86400").await).await.retry_after, Some(Duration::from_secs(15 * 60)));
    // Garbage: no wait (the worker's own backoff applies).
    assert_eq!(push(asking_to_wait(429, "later, please").await).await.retry_after, None);
}
