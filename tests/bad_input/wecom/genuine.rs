//! What the POST corpus cannot say: URL checks (GET), other HTTP methods, and callbacks
//! that are WeCom's own (signed, sealed, fresh) yet name nothing Warroom should act on.

use super::*;
use crate::common::{incident_by_external, timeline_of};
use warroom_sandbox::wecom::Endpoint;

/// The store's items other than the bookkeeping a genuine, acknowledged callback leaves:
/// its replay claim (`DEDUPE#…`) and a click's single-use ResponseCode (`EPH#wecom-code:…`).
fn without_bookkeeping(dump: &[(String, String, String)]) -> Vec<(String, String, String)> {
    dump.iter().filter(|(pk, _, _)| !pk.starts_with("DEDUPE#") && !pk.starts_with("EPH#wecom-code:")).cloned().collect()
}

/// The console's URL check, on both channels, is answered with the echo plaintext alone; a
/// GET that is not a well-formed, signed, fresh check is refused, and none changes anything.
#[tokio::test]
async fn a_wecom_url_check_is_answered_with_the_echo_alone_and_a_broken_one_is_refused() {
    let w = world().await;
    let router = routers(&w.app.state);
    let before = w.snapshot().await;
    let app = w.sandbox.verify_url(Endpoint::App(AGENT), &w.url).await.unwrap();
    assert!(app.ok, "the app's URL check: {} {:?}", app.status, app.body);
    let bot = w.sandbox.verify_url(Endpoint::Bot(AGENT), &w.url).await.unwrap();
    assert!(bot.ok, "the smart bot's URL check: {} {:?}", bot.status, bot.body);

    let path = relative(&app.delivery);
    let echostr = query_value(&app.delivery, "echostr");
    let (sig, ts, nonce) = (query_value(&app.delivery, "msg_signature"), query_value(&app.delivery, "timestamp"), query_value(&app.delivery, "nonce"));
    let base = path.split_once('?').unwrap().0.to_string();
    let q = |pairs: &[(&str, &str)]| format!("{base}?{}", pairs.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect::<Vec<_>>().join("&"));
    let crypt = w.app_crypt();
    let stale = (w.app.clock.now().secs() - 2 * WINDOW_S).to_string();
    let stale_sig = crypt.signature(&stale, &nonce, &echostr);
    let other_corp = MsgCrypt::new(&w.config.callback_token, &w.config.callback_aes_key, "wwsomeoneelse").unwrap();
    let foreign = other_corp.encrypt("1234567890123456789");
    let foreign_sig = other_corp.signature(&ts, &nonce, &foreign);
    let no_echo_sig = crypt.signature(&ts, &nonce, "");
    let cases: Vec<(String, u16, &str)> = vec![
        (q(&[("msg_signature", &sig), ("timestamp", &ts), ("nonce", &nonce)]), 400, "signed, without echostr"),
        (
            q(&[("msg_signature", &no_echo_sig), ("timestamp", &ts), ("nonce", &nonce), ("echostr", "")]),
            401,
            "an empty echostr, signed (no ciphertext to open)",
        ),
        (q(&[("timestamp", &ts), ("nonce", &nonce), ("echostr", &echostr)]), 401, "without msg_signature"),
        (q(&[("msg_signature", &sig), ("nonce", &nonce), ("echostr", &echostr)]), 401, "without timestamp"),
        (q(&[("msg_signature", &sig), ("timestamp", &ts), ("echostr", &echostr)]), 401, "without nonce"),
        (q(&[("msg_signature", &"0".repeat(40)), ("timestamp", &ts), ("nonce", &nonce), ("echostr", &echostr)]), 401, "a forged signature"),
        (q(&[("msg_signature", &stale_sig), ("timestamp", &stale), ("nonce", &nonce), ("echostr", &echostr)]), 401, "signed half an hour ago"),
        (q(&[("msg_signature", &foreign_sig), ("timestamp", &ts), ("nonce", &nonce), ("echostr", &foreign)]), 401, "another CorpID's echostr"),
        (format!("{base}?msg_signature={sig}&timestamp={ts}&nonce={nonce}&echostr=%ZZ"), 400, "echostr not URL-encoded"),
        (base.clone(), 401, "no query at all"),
    ];
    for (uri, want, what) in &cases {
        let (status, answer) = send(&router, "GET", uri, "text/plain", Vec::new()).await;
        assert_eq!(status, *want, "{what}: {answer}");
        let error: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        assert!(error["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "{what}: a JSON error: {answer}");
        assert!(!answer.contains(&app.expected), "{what}: the echo is not given away: {answer}");
        for secret in w.secrets() {
            assert!(!answer.contains(&secret), "{what}: a secret echoed");
        }
    }
    assert_eq!(w.snapshot().await, before, "URL checks change nothing");
}

/// The route takes GET (URL checks) and POST (callbacks) only: another method is refused
/// with 405 before anything is read, even carrying a genuine signed callback.
#[tokio::test]
async fn other_http_methods_on_the_wecom_callback_route_are_refused_and_change_nothing() {
    let w = world().await;
    let (inc, _, card) = w.incident().await;
    w.sandbox.tamper_next(warroom_sandbox::wecom::Tamper::BadSignature);
    let spoiled = w.sandbox.click_card(&w.url, AGENT, "ada", &card.task_id, &format!("ack|{}", inc.id)).await.unwrap();
    assert_eq!(spoiled.passive.status, 401, "{:?}", spoiled.passive);
    // The same click, signed right, sent with other methods.
    let crypt = w.app_crypt();
    let sealed = crypt.encrypt(&spoiled.delivery.plaintext);
    let ts = w.app.clock.now().secs().to_string();
    let sig = crypt.signature(&ts, NONCE, &sealed);
    let uri = format!("/im/{}/events?msg_signature={sig}&timestamp={ts}&nonce={NONCE}", w.id);
    let body = format!("<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>");
    let router = routers(&w.app.state);
    let before = w.snapshot().await;
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "FROBNICATE", "HEAD"] {
        let (status, answer) = send(&router, method, &uri, "text/xml", body.clone().into_bytes()).await;
        // HEAD is GET without a body (axum routes it to the GET handler): a URL check
        // without an echostr, refused as malformed.
        let want = if method == "HEAD" { 400 } else { 405 };
        assert_eq!(status, want, "{method}: {answer}");
        for secret in w.secrets() {
            assert!(!answer.contains(&secret), "{method}: a secret echoed");
        }
    }
    assert_eq!(w.snapshot().await, before, "nothing changed");
    assert_eq!(w.app.incident("e1").await.status, Status::Triggered);
}

/// Clicks that are WeCom's own but whose button key names no incident, another tenant's
/// incident, an unknown action, or nothing: acknowledged with an empty 200 (WeCom retries
/// anything else twice more, and shows the clicker nothing from the answer), and ignored.
/// Only the replay claim and the click's ResponseCode are kept; redelivered, not even those.
#[tokio::test]
async fn genuine_wecom_clicks_naming_no_incident_of_this_tenant_are_acknowledged_and_change_nothing() {
    let w = world().await;
    let (ours, _, card) = w.incident().await;
    let other = TenantId::new("ten_other");
    w.app.store.put_tenant(&warroom_testkit::fixtures::tenant(&other)).await.unwrap();
    let (other_intake, key) = warroom_http::auth::new_key(&other, "other monitoring", KeyScope::Intake, w.app.clock.now());
    w.app.store.put_api_key(&key).await.unwrap();
    w.app.post("/hooks/generic", &other_intake, event("e1", "triggered", 0, &["Ada"])).await;
    w.app.drain().await;
    let theirs = incident_by_external(&*w.app.store, &other, "e1").await;
    let their_timeline = timeline_of(&*w.app.store, &other, &theirs).await;
    let our_timeline = w.app.timeline(&ours).await;

    let keys = [
        format!("ack|{}", theirs.id),
        format!("resolve|{}", theirs.id),
        "ack|inc_00000000000000000000000000".to_string(),
        format!("frobnicate|{}", ours.id),
        format!("ack|{}|extra", ours.id),
        "ack".to_string(),
        String::new(),
        format!("ack|{}", "x".repeat(4000)),
    ];
    let before = w.snapshot().await;
    let mut deliveries = Vec::new();
    for key in &keys {
        let click = w.sandbox.click_card(&w.url, AGENT, "ada", &card.task_id, key).await.unwrap();
        assert_eq!(click.passive.status, 200, "{key:?}: {:?}", click.passive);
        assert!(click.passive.body.is_empty(), "{key:?}: an empty answer: {:?}", click.passive.body);
        for secret in w.secrets() {
            assert!(!click.passive.body.contains(&secret), "{key:?}: a secret echoed");
        }
        deliveries.push(click.delivery);
    }
    w.app.drain().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.app.drain().await;
    let after = w.snapshot().await;
    assert!(w.app.queue.is_empty(), "the clicks queued work");
    let (kept_before, kept_after) = (without_bookkeeping(&before.0), without_bookkeeping(&after.0));
    assert!(kept_before == kept_after, "the store changed:\n{}", diff(&kept_before, &kept_after));
    assert_eq!((after.1, after.2), (before.1, before.2), "WeCom was not called and its world is as it was");
    assert_eq!(timeline_of(&*w.app.store, &other, &theirs).await, their_timeline, "tenant B's timeline is untouched");
    assert_eq!(incident_by_external(&*w.app.store, &other, "e1").await.status, Status::Triggered, "tenant B's incident is untouched");
    assert_eq!(w.app.timeline(&ours).await, our_timeline, "our incident's timeline is untouched");

    // WeCom's retries of the same deliveries: acknowledged again, and nothing at all changes.
    let settled = w.snapshot().await;
    for d in &deliveries {
        let again = w.sandbox.redeliver(d).await.unwrap();
        assert_eq!((again.status, again.body.as_str()), (200, ""), "{}", d.plaintext);
    }
    w.app.drain().await;
    assert_eq!(w.snapshot().await, settled, "redelivered, they change nothing");
}

/// A click WeCom sends again (byte for byte, as its retry after 5 s does) or that someone
/// with the keys seals and signs afresh is the same delivery: it has no second effect.
#[tokio::test]
async fn a_replayed_wecom_click_is_acknowledged_and_has_no_second_effect() {
    let w = world().await;
    let (inc, _, card) = w.incident().await;
    let click = w.sandbox.click_card(&w.url, AGENT, "ada", &card.task_id, &format!("ack|{}", inc.id)).await.unwrap();
    assert_eq!(click.passive.status, 200, "{:?}", click.passive);
    w.app.drain().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    let before = (w.snapshot().await, w.app.timeline(&inc).await);

    let again = w.sandbox.redeliver(&click.delivery).await.unwrap();
    assert_eq!((again.status, again.body.as_str()), (200, ""), "the retry is acknowledged");
    let crypt = w.app_crypt();
    let sealed = crypt.encrypt(&click.delivery.plaintext);
    let ts = (w.app.clock.now().secs() + 3).to_string();
    let uri = format!("/im/{}/events?msg_signature={}&timestamp={ts}&nonce=987654", w.id, crypt.signature(&ts, "987654", &sealed));
    let body = format!("<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>");
    let (status, answer) = send(&routers(&w.app.state), "POST", &uri, "text/xml", body.into_bytes()).await;
    assert_eq!((status, answer.as_str()), (200, ""), "re-sealed, it is the same delivery");
    w.app.drain().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.app.drain().await;
    let now = w.app.incident("e1").await;
    assert_eq!((now.status, now.version), (inc.status, inc.version), "the incident is as it was");
    assert_eq!(w.app.timeline(&now).await, before.1, "nothing new on the timeline");
    assert_eq!(w.snapshot().await, before.0, "nothing changed: store, WeCom's world, its calls");
}
