//! The outbound policy end to end: a real HTTP receiver on loopback, reached (or not)
//! through names that an injected lookup resolves, as DNS would, to whatever the test says.

use crate::fixtures::*;
use crate::receiver::Receiver;
use std::net::IpAddr;
use std::sync::Arc;
use warroom_core::*;
use warroom_sources::{AlertmanagerSettings, FixedSettings, GenericSettings, OutboundPolicy, PagerDutySettings, PolicyResolver, SourceRouter, SyncSettings};

const SECRET: &str = "whsec_outbound_test_secret";
const TOKEN: &str = "u+pd_outbound_token";
/// A callback URL may carry a credential in its query: it must never be shown.
const QUERY_TOKEN: &str = "cb_tok_98765";

/// A router whose names resolve through `lookup` (public-looking names, any address).
fn resolving(settings: SyncSettings, policy: OutboundPolicy, lookup: fn(&str) -> Vec<IpAddr>) -> SourceRouter {
    let resolver = PolicyResolver::new(policy).with_lookup(lookup);
    SourceRouter::with_resolver(Arc::new(FixedSettings(settings)), secrets(), resolver).unwrap()
}

/// `status.example.com` is rebound to the receiver's loopback address, `meta.example.com`
/// to the instance metadata service.
fn rebinding(host: &str) -> Vec<IpAddr> {
    match host {
        "status.example.com" | "alertmanager.internal" => vec!["127.0.0.1".parse().unwrap()],
        "meta.example.com" => vec!["169.254.169.254".parse().unwrap()],
        _ => vec!["93.184.216.34".parse().unwrap()],
    }
}

fn callback(tenant: &Tenant, host: &str, port: u16) -> SyncSettings {
    let callback_url = format!("http://{host}:{port}/warroom/status?token={QUERY_TOKEN}");
    SyncSettings { generic: Some(GenericSettings { callback_url, signing_secret: seal(tenant, SECRET) }), ..Default::default() }
}

fn port(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_public_looking_name_that_resolves_to_loopback_or_the_metadata_service_is_refused_at_connect_time() {
    let rx = Receiver::start(&[]).await;
    let tenant = tenant();
    let inc = incident(&tenant, "generic", "E-REBIND", Status::Acknowledged);
    let strict = |host| resolving(callback(&tenant, host, port(&rx.url)), OutboundPolicy::public_only(), rebinding);

    let e = strict("status.example.com").push(&tenant, &inc, None).await.unwrap_err();
    assert!(!e.retryable, "the policy will not change by itself: {e:?}");
    assert!(e.message.contains("127.0.0.1 is a loopback address") && e.message.contains("WARROOM_OUTBOUND_ALLOW"), "{e:?}");
    let e = strict("meta.example.com").push(&tenant, &inc, None).await.unwrap_err();
    assert!(!e.retryable && e.message.contains("169.254.169.254 is a link-local address (the instance metadata service)"), "{e:?}");
    for secret in [QUERY_TOKEN, SECRET] {
        assert!(!e.message.contains(secret), "{e:?}");
    }
    assert!(rx.requests().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn a_host_name_or_a_cidr_the_operator_allows_reaches_the_private_receiver() {
    let rx = Receiver::start(&[]).await;
    let tenant = tenant();
    let inc = incident(&tenant, "generic", "E-ALLOWED", Status::Acknowledged);
    let settings = || callback(&tenant, "status.example.com", port(&rx.url));
    // The name is trusted whatever it resolves to.
    resolving(settings(), OutboundPolicy::parse("status.example.com").unwrap(), rebinding).push(&tenant, &inc, None).await.unwrap();
    assert_eq!(rx.requests().len(), 1);
    // The range is trusted whatever name leads there.
    resolving(settings(), OutboundPolicy::parse("10.0.0.0/8, 127.0.0.0/8").unwrap(), rebinding).push(&tenant, &inc, None).await.unwrap();
    assert_eq!(rx.requests().len(), 2);
    // Another name is not allowed by this one.
    let other = resolving(settings(), OutboundPolicy::parse("other.example.com").unwrap(), rebinding);
    assert!(other.push(&tenant, &inc, None).await.unwrap_err().message.contains("loopback"));
    assert_eq!(rx.requests().len(), 2);
}

#[tokio::test]
async fn a_private_alertmanager_is_reached_only_once_its_name_is_allowed() {
    let rx = Receiver::start(&[(200, r#"{"silenceID":"s-1"}"#), (200, r#"{"silenceID":"s-2"}"#)]).await;
    let tenant = tenant();
    let mut inc = incident(&tenant, "alertmanager", "{}:{}", Status::Acknowledged);
    inc.labels = [("am.group.alertname".to_owned(), "DiskFull".to_owned())].into();
    inc.snoozed_until = Some(Timestamp(SystemClock.now().0 + 3_600_000));
    let api_url = format!("http://alertmanager.internal:{}/", port(&rx.url));
    let settings = || SyncSettings { alertmanager: Some(AlertmanagerSettings { api_url: api_url.clone(), created_by: "t".into() }), ..Default::default() };
    let e = resolving(settings(), OutboundPolicy::public_only(), rebinding).push(&tenant, &inc, None).await.unwrap_err();
    assert!(!e.retryable && e.message.contains("loopback"), "{e:?}");
    assert!(rx.requests().is_empty());
    let allowed = resolving(settings(), OutboundPolicy::parse("alertmanager.internal").unwrap(), rebinding);
    assert!(allowed.push(&tenant, &inc, None).await.unwrap().detail.starts_with("silence s-1"));
    assert_eq!(rx.requests().len(), 1);
}

#[tokio::test]
async fn every_source_refuses_an_internal_ip_literal_before_any_request() {
    let tenant = tenant();
    let generic =
        |url: &str| SyncSettings { generic: Some(GenericSettings { callback_url: url.into(), signing_secret: seal(&tenant, SECRET) }), ..Default::default() };
    let am = |url: &str| SyncSettings { alertmanager: Some(AlertmanagerSettings { api_url: url.into(), created_by: "t".into() }), ..Default::default() };
    let pd = |url: &str| SyncSettings {
        pagerduty: Some(PagerDutySettings { api_token: seal(&tenant, TOKEN), from_email: "oncall@example.com".into(), api_url: url.into() }),
        ..Default::default()
    };
    let cases = [
        (
            "generic",
            generic(&format!("http://169.254.169.254/latest/meta-data/?token={QUERY_TOKEN}")),
            "169.254.169.254 is a link-local address (the instance metadata service)",
        ),
        ("generic", generic("http://[::ffff:127.0.0.1]:8080/cb"), "::ffff:127.0.0.1 is a loopback address"),
        ("generic", generic("http://0.0.0.0:8080/cb"), "0.0.0.0 is an address of this network"),
        ("generic", generic("http://[fe80::1]/cb"), "fe80::1 is a link-local address"),
        ("alertmanager", am("http://10.0.12.7:9093/"), "10.0.12.7 is a private address"),
        ("alertmanager", am("http://172.16.5.5:9093/"), "172.16.5.5 is a private address"),
        ("pagerduty", pd("https://192.168.1.10"), "192.168.1.10 is a private address"),
        ("pagerduty", pd("https://[fd12::1]"), "fd12::1 is a private (unique local) address"),
        ("pagerduty", pd("https://100.64.0.1"), "100.64.0.1 is a shared (carrier-grade NAT) address"),
    ];
    for (source, settings, reason) in cases {
        let mut inc = incident(&tenant, source, "E-LIT", Status::Acknowledged);
        inc.labels = [("am.group.alertname".to_owned(), "DiskFull".to_owned())].into();
        inc.snoozed_until = Some(Timestamp(T0.0 + 3_600_000));
        // Refused before connecting: a connection attempt would be a transport error
        // (retryable, and slow for these unroutable addresses), not this refusal.
        let e = router_with(settings, OutboundPolicy::public_only()).push(&tenant, &inc, None).await.unwrap_err();
        assert!(!e.retryable && e.message.contains(reason) && e.message.contains("WARROOM_OUTBOUND_ALLOW"), "{source}: {e:?}");
        for secret in [QUERY_TOKEN, TOKEN, SECRET] {
            assert!(!e.message.contains(secret), "{source}: {e:?}");
        }
    }
}
