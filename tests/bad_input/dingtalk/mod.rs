//! DingTalk: the real adapter against the DingTalk sandbox. Three kinds of callback reach two
//! routes: encrypted event pushes (`msg_signature`, `timeStamp`, `nonce` in the query and an
//! AES-sealed `{"encrypt"}` body) and robot @-messages (`timestamp` / `sign` headers) at
//! `/im/{integration}/events`; card clicks (`x-ddpaas-signature-timestamp` /
//! `x-ddpaas-signature` headers) at `/im/{integration}/cards`.
//!
//! Genuine requests are made with the sandbox's own crypto (written from the reference,
//! independently of the adapter), then broken one thing at a time. DingTalk signs only a
//! timestamp for robot messages and clicks, never their bodies (reference §2b, notes Q6):
//! there, a body that still parses as a well-formed message is DingTalk's own word, not bad
//! input, so the body cases break the body (it no longer parses, or lacks what identifies the
//! message) rather than rewrite it.

use crate::common::corpus::{self, break_structure, flip_byte, invalid_utf8, oversize, truncate, Case, Rng};
use crate::common::event;
use crate::common::platform_app::{routers, PlatformApp};
use crate::slack::{unknown_cards, unknown_events};
use crate::*;
use serde_json::{json, Value};
use std::time::Duration;
use warroom_core::*;
use warroom_platforms::PlatformsConfig;
use warroom_sandbox::dingtalk::crypto::{card_sign, robot_sign, EventCrypto};
use warroom_sandbox::dingtalk::{AppConfig, Delivery, DingTalkSandbox, SandboxConfig};

const APP: &str = "dingbadinput";
const SECRET: &str = "dingtalk-app-secret";
const TOKEN: &str = "event-token";
const AES_KEY: &str = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus";
const OWNER: &str = "owner01";
/// Event pushes and robot messages are refused more than an hour off; clicks five minutes.
const EVENT_WINDOW_S: i64 = 3600;
const CARD_WINDOW_S: i64 = 300;
const NONCE: &str = "n0nce123";
const JSON_CT: &str = "application/json";

struct World {
    sandbox: DingTalkSandbox,
    app: PlatformApp,
    id: IntegrationId,
}

/// The app connected through the API (its card callback registered), callbacks pointed at
/// the bundle, the war room on.
async fn world() -> World {
    let sandbox = DingTalkSandbox::new(SandboxConfig { enforce_rate_limits: false, ..SandboxConfig::default() });
    let base = sandbox.serve_local().await.unwrap();
    let app = PlatformApp::start(|public_url| PlatformsConfig::production(public_url).with_base_override(Platform::Dingtalk, base.clone())).await;
    let mut config = AppConfig::new(APP, SECRET);
    config.event_token = TOKEN.into();
    config.event_aes_key = AES_KEY.into();
    sandbox.add_app(config);
    sandbox.add_user(OWNER, "Owner", Some("13900000000"), None);
    sandbox.add_user("u_ada", "Ada", Some("13800000001"), None);
    sandbox.add_user("u_bob", "Bob", Some("13800000002"), None);
    sandbox.add_user("u_dee", "Dee", Some("13800000004"), None);
    for (id, name, phone) in [("m_ada", "Ada", "+8613800000001"), ("m_bob", "Bob", "+8613800000002")] {
        let mut m = warroom_testkit::fixtures::member(&app.tenant, id, name);
        m.phone = Some(phone.into());
        app.store.put_member(&m).await.unwrap();
    }
    let body = json!({
        "platform": "dingtalk", "client_id": APP, "client_secret": SECRET, "template_id": format!("tpl_{APP}"),
        "owner_user_id": OWNER, "event_token": TOKEN, "event_aes_key": AES_KEY, "robot_code": format!("grb_{APP}"),
    });
    let (code, body) = app.post("/api/v1/integrations", &app.admin_key, body).await;
    assert_eq!(code, 201, "{body}");
    let id = IntegrationId::new(body["id"].as_str().unwrap());
    let events = format!("{}/im/{id}/events", app.url);
    sandbox.set_callback_urls(APP, Some(&events), Some(&events));
    app.store.enable_war_room(&app.tenant, &id).await.unwrap();
    World { sandbox, app, id }
}

fn query(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect::<Vec<_>>().join("&")
}

fn json_ct() -> Vec<(String, String)> {
    vec![("content-type".to_string(), JSON_CT.to_string())]
}

fn envelope(encrypt: &str) -> Vec<u8> {
    json!({ "encrypt": encrypt }).to_string().into_bytes()
}

fn last(sandbox: &DingTalkSandbox, channel: &str) -> Delivery {
    sandbox.deliveries().into_iter().rev().find(|d| d.channel == channel).unwrap_or_else(|| panic!("no {channel} callback was sent"))
}

/// A wrongly typed JSON value in place of a string (or of the whole document).
fn wrong_value(rng: &mut Rng, of: &Value) -> Value {
    rng.pick(&[Value::Null, json!(42), json!(["a", 1]), json!({"a": 1}), json!(true), Value::Array(vec![of.clone()]), json!("event")]).clone()
}

mod headed;
mod pushes;

use headed::{Headed, Scheme};
use pushes::Pushes;

#[tokio::test]
pub(crate) async fn dingtalk_callbacks_refuse_the_bad_input_corpus_and_change_nothing() {
    let w = world().await;
    let (sandbox, app) = (&w.sandbox, &w.app);
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let ocid = inc.war_room.chat_id.clone().expect("a scene group").to_string();
    let card = sandbox.group(&ocid).unwrap().cards.first().expect("a status card").clone();

    // One genuine callback of each kind, applied, so replays have something to replay.
    let ack = sandbox.change_members_from_inside(&ocid, OWNER, &["u_dee"], true).await.unwrap().expect("an event URL");
    assert!(ack.acknowledged, "the genuine push is acknowledged: {ack:?}");
    let pushed = last(sandbox, "event");
    assert_eq!(sandbox.mention_robot(&ocid, "u_bob", "failover done").await.unwrap().status(), 200);
    let mentioned = last(sandbox, "robot");
    let click = sandbox.click_card(&card.out_track_id, "u_ada", &format!("ack|{}", inc.id), json!({})).await.unwrap();
    assert_eq!(click.status, 200, "{}", click.body);
    let clicked = last(sandbox, "card");
    app.drain().await;
    assert_eq!(app.incident("e1").await.status, Status::Acknowledged, "the good click applied");
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.drain().await;

    // A redelivered push is answered as DingTalk requires, or DingTalk would count it failed
    // and push again: the encrypted `success` (reference §2a).
    let again = reqwest::Client::new()
        .post(format!("{}?{}", pushed.url, Pushes::new(String::new(), &pushed, 0).sent_query))
        .header("content-type", JSON_CT)
        .body(pushed.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let answer: Value = again.json().await.unwrap();
    let crypto = EventCrypto::new(TOKEN, AES_KEY, APP).unwrap();
    let sealed = answer["encrypt"].as_str().unwrap_or_default();
    let field = |k: &str| answer[k].as_str().unwrap_or_default();
    assert!(crypto.verify(field("msg_signature"), field("timeStamp"), field("nonce"), sealed), "the answer is signed: {answer}");
    assert_eq!(crypto.decrypt(sealed).as_deref(), Ok("success"), "{answer}");

    let now = app.clock.now().millis();
    let events = Pushes::new(format!("/im/{}/events", w.id), &pushed, now);
    let robot = Headed {
        name: "dingtalk/robot",
        scheme: Scheme::Robot,
        path: format!("/im/{}/events", w.id),
        unknown_path: unknown_events,
        sent: mentioned,
        limit: EVENTS_LIMIT,
        window_s: EVENT_WINDOW_S,
        now,
    };
    let cards = Headed {
        name: "dingtalk/cards",
        scheme: Scheme::Card,
        path: format!("/im/{}/cards", w.id),
        unknown_path: unknown_cards,
        sent: clicked,
        limit: CARDS_LIMIT,
        window_s: CARD_WINDOW_S,
        now,
    };
    let mut rng = Rng::new(0x5eed_0004);
    let corpora = [("dingtalk/events", events.cases(&mut rng)), (robot.name, robot.cases(&mut rng)), (cards.name, cards.cases(&mut rng))];
    let router = routers(&app.state);
    let snapshot = || async { (app.embedded.dump().await.unwrap(), sandbox.groups(), sandbox.calls().len()) };
    let before = snapshot().await;
    for (name, cases) in &corpora {
        fail_with(name, corpus::run(&router, cases).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = snapshot().await;
    assert!(app.queue.is_empty(), "the corpus queued work");
    assert!(before.0 == after.0, "the store changed:\n{}", diff(&before.0, &after.0));
    assert!(before.1 == after.1, "the sandbox's groups changed");
    assert_eq!(before.2, after.2, "the sandbox was called");
}

/// A click carries no id of its own, so the adapter names a delivery by its signed timestamp
/// among others: the same click signed afresh (as a retry by DingTalk would be) is a new
/// delivery. Whatever it is taken for, it has no second effect.
#[tokio::test]
async fn a_dingtalk_click_sent_again_with_a_fresh_signature_has_no_second_effect() {
    let w = world().await;
    let (sandbox, app) = (&w.sandbox, &w.app);
    app.post("/hooks/generic", &app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob"])).await;
    app.drain().await;
    let inc = app.incident("e1").await;
    let ocid = inc.war_room.chat_id.clone().unwrap().to_string();
    let card = sandbox.group(&ocid).unwrap().cards.first().unwrap().clone();
    let click = sandbox.click_card(&card.out_track_id, "u_ada", &format!("ack|{}", inc.id), json!({})).await.unwrap();
    assert_eq!(click.status, 200, "{}", click.body);
    let sent = last(sandbox, "card");
    app.drain().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let inc = app.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    let before = (app.timeline(&inc).await, sandbox.group(&ocid).unwrap(), sandbox.calls().len());

    let ts = (app.clock.now().millis() + 1500).to_string();
    let mut rb = reqwest::Client::new().post(&sent.url).header("content-type", JSON_CT);
    rb = rb.header("x-ddpaas-signature-timestamp", ts.as_str()).header("x-ddpaas-signature", card_sign(SECRET, &ts));
    let resp = rb.body(sent.body.clone()).send().await.unwrap();
    let status = resp.status().as_u16();
    let answer = resp.text().await.unwrap();
    assert!(status == 200 || REFUSED.contains(&status), "{status} {answer}");
    app.drain().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = app.incident("e1").await;
    assert_eq!((again.status, again.version), (inc.status, inc.version), "the incident is as it was");
    assert_eq!(app.timeline(&again).await, before.0, "nothing new on the timeline");
    assert_eq!(sandbox.group(&ocid).unwrap(), before.1, "the room and its card are as they were");
    assert_eq!(sandbox.calls().len(), before.2, "DingTalk was not called");
}

const REFUSED: &[u16] = corpus::REFUSALS;

/// The registration handshake: DingTalk pushes `check_url` and accepts only the signed,
/// encrypted `success` for the app's AppKey (reference §2a). It changes nothing.
#[tokio::test]
async fn a_genuine_dingtalk_check_url_is_answered_with_an_encrypted_success_the_sandbox_accepts() {
    let w = world().await;
    let before = w.app.embedded.dump().await.unwrap();
    let ack = w.sandbox.check_url(APP).await.unwrap();
    assert_eq!(ack.status, 200, "{ack:?}");
    assert!(ack.acknowledged, "the sandbox accepts the answer: {:?} ({})", ack.problem, ack.body);
    // The answer decrypts, with the app's own key, to `success` for this AppKey.
    let answer: Value = serde_json::from_str(&ack.body).unwrap();
    let crypto = EventCrypto::new(TOKEN, AES_KEY, APP).unwrap();
    assert_eq!(crypto.decrypt(answer["encrypt"].as_str().unwrap()).unwrap(), "success");
    assert!(!ack.body.contains("success"), "the answer is encrypted: {}", ack.body);
    assert_eq!(w.app.embedded.dump().await.unwrap(), before, "a handshake changes nothing");
}
