//! DingTalk end to end against the DingTalk sandbox, over real HTTP both ways: connected
//! through the management API (a fresh token, the card callback registered) → enable →
//! incident → a scene group from the template with the responders found by phone (one
//! reachable only by email reported, not fatal) and the status card → a signed card click
//! acknowledges (card updated in place, actor on the timeline) → an @mention is answered →
//! resolve → the group is disbanded after its transcript is captured. Encrypted, signed
//! callbacks; a redelivered message has no second effect; forged ones change nothing.

mod common;

use common::platform_app::PlatformApp;
use serde_json::{json, Value};
use warroom_core::*;
use warroom_platforms::PlatformsConfig;
use warroom_sandbox::dingtalk::{AppConfig, DingTalkSandbox, SandboxConfig};

const APP: &str = "dingwarroome2e";
const SECRET: &str = "dingtalk-app-secret";
const TOKEN: &str = "event-token";
const AES_KEY: &str = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus";
const OWNER: &str = "owner01";

struct World {
    sandbox: DingTalkSandbox,
    app: PlatformApp,
}

async fn start(permissions: Option<&[&str]>) -> World {
    let sandbox = DingTalkSandbox::new(SandboxConfig { enforce_rate_limits: true, ..SandboxConfig::default() });
    let base = sandbox.serve_local().await.unwrap();
    let app = PlatformApp::start(|public_url| PlatformsConfig::production(public_url).with_base_override(Platform::Dingtalk, base.clone())).await;
    let mut config = AppConfig::new(APP, SECRET);
    config.event_token = TOKEN.into();
    config.event_aes_key = AES_KEY.into();
    if let Some(p) = permissions {
        config.permissions = p.iter().map(|s| s.to_string()).collect();
    }
    sandbox.add_app(config);
    sandbox.add_user(OWNER, "Owner", Some("13800000000"), None);
    sandbox.add_user("u_ada", "Ada", Some("13800000001"), Some("ada@example.com"));
    sandbox.add_user("u_bob", "Bob", Some("13800000002"), Some("bob@example.com"));
    // Dee has no phone in Warroom: DingTalk cannot look her up by email.
    sandbox.add_user("u_dee", "Dee", Some("13800000004"), Some("dee@example.com"));
    for (id, name, phone) in [("m_ada", "Ada", Some("+86 138 0000 0001")), ("m_bob", "Bob", Some("+8613800000002")), ("m_dee", "Dee", None)] {
        let mut m = warroom_testkit::fixtures::member(&app.tenant, id, name);
        m.phone = phone.map(str::to_owned);
        app.store.put_member(&m).await.unwrap();
    }
    World { sandbox, app }
}

impl World {
    async fn connect(&self) -> (u16, Value) {
        let body = json!({
            "platform": "dingtalk", "client_id": APP, "client_secret": SECRET, "template_id": format!("tpl_{APP}"),
            "owner_user_id": OWNER, "event_token": TOKEN, "event_aes_key": AES_KEY, "robot_code": format!("grb_{APP}"),
        });
        self.app.post("/api/v1/integrations", &self.app.admin_key, body).await
    }

    async fn connected(&self) -> IntegrationId {
        let (code, body) = self.connect().await;
        assert_eq!(code, 201, "{body}");
        let id = IntegrationId::new(body["id"].as_str().unwrap());
        let events = format!("{}/im/{id}/events", self.app.url);
        self.sandbox.set_callback_urls(APP, Some(&events), Some(&events));
        id
    }

    async fn enable(&self, id: &IntegrationId) -> (u16, Value) {
        self.app.post(&format!("/api/v1/integrations/{id}/war-room"), &self.app.admin_key, json!({})).await
    }
}

fn is_notice(card: &warroom_sandbox::dingtalk::CardView) -> bool {
    card.card_data.get("kind").is_some_and(|k| k == "notice")
}

#[tokio::test]
async fn connecting_by_app_credentials_checks_them_and_answers_what_to_paste_into_the_console() {
    let w = start(None).await;
    let (code, body) = w.connect().await;
    assert_eq!(code, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    assert_eq!(body["setup"]["event_request_url"], format!("{}/im/{id}/events", w.app.url), "{body}");
    assert_eq!(body["setup"]["card_callback_url"], format!("{}/im/{id}/cards", w.app.url), "{body}");
    let required: Vec<&str> = body["required_permissions"].as_array().unwrap().iter().filter_map(|p| p["scope"].as_str()).collect();
    assert!(required.contains(&"qyapi_chat_manage") && required.contains(&"qyapi_get_member_by_mobile"), "{body}");
    assert!(!body.to_string().contains(SECRET), "the secret is never shown");

    let (code, body) = w
        .app
        .post(
            "/api/v1/integrations",
            &w.app.admin_key,
            json!({"platform": "dingtalk", "client_id": "other", "client_secret": "wrong",
        "template_id": "t", "owner_user_id": OWNER, "event_token": TOKEN, "event_aes_key": AES_KEY}),
        )
        .await;
    assert_eq!((code, body["error"]["code"].as_str()), (422, Some("invalid_credentials")), "{body}");
    assert!(!body.to_string().contains("wrong"), "{body}");
}

#[tokio::test]
async fn a_dingtalk_war_room_opens_is_acknowledged_from_its_card_answers_a_mention_and_is_disbanded_on_resolve() {
    let w = start(None).await;
    let id = w.connected().await;
    let (code, body) = w.enable(&id).await;
    assert!(code < 300, "enable: {code} {body}");
    let mut tenant = w.app.store.get_tenant(&w.app.tenant).await.unwrap().unwrap();
    // Dismissed as soon as it is resolved (the transcript captured first).
    tenant.settings.auto_dismiss_after_minutes = Some(0);
    w.app.store.put_tenant(&tenant).await.unwrap();

    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada", "Bob", "Dee"])).await;
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    let ocid = inc.war_room.chat_id.clone().expect("a scene group").to_string();
    let group = w.sandbox.group(&ocid).expect("the group exists in DingTalk");
    assert_eq!(group.template_id, format!("tpl_{APP}"));
    assert!(group.members.contains(&"u_ada".to_string()) && group.members.contains(&"u_bob".to_string()), "{:?}", group.members);
    assert!(!group.members.contains(&"u_dee".to_string()));
    let timeline = w.app.timeline(&inc).await;
    assert!(
        timeline.iter().any(|e| e.action == TimelineAction::ResponderUnlinked && format!("{e:?}").contains("Dee: dingtalk finds people by phone only")),
        "Dee, reachable only by email, is reported: {timeline:?}"
    );
    // What the robot said: its messages, and its notices (cards without buttons, see the
    // adapter's notice.rs).
    let said = |w: &World| -> Vec<String> {
        let group = w.sandbox.group(&ocid).unwrap();
        let notices = group.cards.iter().filter(|c| is_notice(c)).filter_map(|c| c.card_data.get("markdown").cloned());
        group.messages.iter().filter(|m| m.from_robot).map(|m| m.text.clone()).chain(notices).collect()
    };
    assert!(said(&w).iter().any(|t| t.contains("Dee could not be invited") && t.contains("phone")), "told in the room: {:?}", said(&w));
    let card = group.cards.iter().find(|c| !is_notice(c)).expect("a status card").clone();

    let click = w.sandbox.click_card(&card.out_track_id, "u_ada", &format!("ack|{}", inc.id), json!({})).await.unwrap();
    assert_eq!(click.status, 200, "{}", click.body);
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    let change = w.app.timeline(&inc).await.into_iter().find(|e| e.action == TimelineAction::StatusChanged).unwrap();
    assert_eq!(change.actor, Actor::Member { id: "m_ada".into(), name: "Ada".into() });
    // DingTalk redelivers a click it saw no answer to: the copy has no second effect.
    let copy = w.sandbox.last_delivery().unwrap();
    assert_eq!(copy.channel, "card");
    let mut again = reqwest::Client::new().post(&copy.url).header("content-type", "application/json");
    for (name, value) in &copy.signing {
        again = again.header(name.as_str(), value.as_str());
    }
    assert_eq!(again.body(copy.body.clone()).send().await.unwrap().status(), 200);
    w.app.drain().await;
    let changes = w.app.timeline(&inc).await.into_iter().filter(|e| e.action == TimelineAction::StatusChanged).count();
    assert_eq!(changes, 1, "one acknowledgement, however often the click arrives");
    let updated = w.sandbox.card(&card.out_track_id).unwrap();
    assert!(updated.updated_count >= 1, "the card is updated in place: {updated:?}");
    assert_eq!(w.sandbox.group(&ocid).unwrap().cards.iter().filter(|c| !is_notice(c)).count(), 1, "no second status card");

    let mentioned = w.sandbox.mention_robot(&ocid, "u_bob", "failover done").await.unwrap();
    assert_eq!(mentioned.status(), 200);
    let delivery = w.sandbox.last_delivery().unwrap();
    let mut again = reqwest::Client::new().post(&delivery.url).header("content-type", "application/json");
    for (name, value) in &delivery.signing {
        again = again.header(name.as_str(), value.as_str());
    }
    assert_eq!(again.body(delivery.body.clone()).send().await.unwrap().status(), 200);
    w.app.drain().await;
    let captured = w.app.store.list_chat_messages(&w.app.tenant, &inc.id).await.unwrap();
    assert_eq!(captured.iter().filter(|m| m.text.contains("failover done")).count(), 1, "a redelivery is not captured twice: {captured:?}");

    let answers = |w: &World| said(w).iter().filter(|t| t.contains("assistant")).count();
    assert_eq!(answers(&w), 1, "a question is answered once, the redelivery not again: {:?}", said(&w));

    // A command by @mention: Bob resolves the incident from the room.
    w.sandbox.mention_robot(&ocid, "u_bob", "resolve").await.unwrap();
    w.app.drain().await;
    assert_eq!(w.app.incident("e1").await.status, Status::Resolved);
    let resolved = w.app.timeline(&inc).await.into_iter().rfind(|e| e.action == TimelineAction::StatusChanged).unwrap();
    assert_eq!(resolved.actor, Actor::Member { id: "m_bob".into(), name: "Bob".into() });
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    assert_eq!(inc.status, Status::Resolved);
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed, "{:?}", inc.war_room);
    assert!(w.sandbox.group(&ocid).unwrap().disbanded, "disbanded in DingTalk");
    assert!(!w.app.store.list_chat_messages(&w.app.tenant, &inc.id).await.unwrap().is_empty(), "the transcript was kept");

    // What one incident's life costs on the free edition's 10,000 metered calls a month.
    let calls = w.sandbox.calls();
    let mut by_path: std::collections::BTreeMap<String, usize> = Default::default();
    for c in &calls {
        *by_path.entry(format!("{} {}", c.method, c.path)).or_default() += 1;
    }
    eprintln!("DingTalk calls for one incident's life (connect and enable included): {} {by_path:#?}", calls.len());
    assert_eq!(w.sandbox.rate_limited_count(), 0);
    // The integration shows the month's metered calls, counted as DingTalk counts them.
    let resp = reqwest::Client::new().get(format!("{}/api/v1/integrations/{id}", w.app.url)).bearer_auth(&w.app.admin_key).send().await.unwrap();
    let detail: Value = resp.json().await.unwrap();
    assert_eq!(detail["usage"]["calls_this_month"], json!(w.sandbox.calls_this_month(APP)), "{detail}");
    assert_eq!(detail["usage"]["monthly_quota"], json!(10_000));
    assert_eq!(detail["usage"]["warning"], Value::Null);
    assert!(!w.app.timeline(&inc).await.iter().any(|e| e.action == TimelineAction::QuotaWarning), "no warning with the quota barely used");
}

#[tokio::test]
async fn forged_and_stale_dingtalk_callbacks_are_refused_and_change_nothing() {
    let w = start(None).await;
    let id = w.connected().await;
    w.app.store.enable_war_room(&w.app.tenant, &id).await.unwrap();
    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    let ocid = inc.war_room.chat_id.clone().unwrap().to_string();
    w.sandbox.mention_robot(&ocid, "u_ada", "checking").await.unwrap();
    let genuine = w.sandbox.last_delivery().unwrap();
    let before = w.app.embedded.dump().await.unwrap();

    let post = |headers: Vec<(String, String)>, body: String| {
        let mut rb = reqwest::Client::new().post(&genuine.url).header("content-type", "application/json");
        for (n, v) in headers {
            rb = rb.header(n, v);
        }
        async move { rb.body(body).send().await.unwrap().status().as_u16() }
    };
    // DingTalk's robot signature covers the timestamp only (ref §2b), not the body: what a
    // forger cannot make is a fresh, correctly signed timestamp.
    let unsigned: Vec<(String, String)> = Vec::new();
    assert!(post(unsigned, genuine.body.clone()).await >= 400, "no signature");
    let bad_sign: Vec<(String, String)> =
        genuine.signing.iter().map(|(n, v)| if n == "sign" { (n.clone(), "AAAA".into()) } else { (n.clone(), v.clone()) }).collect();
    assert!(post(bad_sign, genuine.body.clone()).await >= 400, "a wrong signature");
    let stale: Vec<(String, String)> =
        genuine.signing.iter().map(|(n, v)| if n == "timestamp" { (n.clone(), "1000".into()) } else { (n.clone(), v.clone()) }).collect();
    assert!(post(stale, genuine.body.clone()).await >= 400, "an old timestamp");
    assert_eq!(w.app.embedded.dump().await.unwrap(), before, "nothing changed");
}

#[tokio::test]
async fn enabling_war_rooms_is_refused_while_a_permission_point_is_missing_and_allowed_once_granted() {
    let all: Vec<&str> = warroom_sandbox::dingtalk::WAR_ROOM_PERMISSIONS.to_vec();
    let without: Vec<&str> = all.iter().copied().filter(|p| *p != "qyapi_get_member_by_mobile").collect();
    let w = start(Some(&without)).await;
    let id = w.connected().await;
    let (code, body) = w.enable(&id).await;
    assert_eq!((code, body["error"]["code"].as_str()), (409, Some("missing_permissions")), "{body}");
    assert_eq!(body["error"]["missing_permissions"], json!(["qyapi_get_member_by_mobile"]), "{body}");
    assert!(!w.app.store.get_integration(&id).await.unwrap().unwrap().war_room_enabled);

    w.sandbox.set_permissions(APP, &all);
    let (code, body) = w.enable(&id).await;
    assert!(code < 300, "granted in the console, enabling probes again and succeeds: {code} {body}");
}

#[tokio::test]
async fn a_group_disbanded_inside_dingtalk_is_recorded_once_and_never_recreated() {
    let w = start(None).await;
    let id = w.connected().await;
    w.app.store.enable_war_room(&w.app.tenant, &id).await.unwrap();
    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.drain().await;
    let ocid = w.app.incident("e1").await.war_room.chat_id.clone().unwrap().to_string();

    let ack = w.sandbox.disband_from_inside(&ocid, "u_ada").await.unwrap().expect("an event URL is set");
    assert!(ack.acknowledged, "answered with the encrypted success: {ack:?}");
    let again = w.sandbox.last_delivery().unwrap();
    // Event pushes carry their signature in the query (ref §2a).
    let url = reqwest::Url::parse_with_params(&again.url, &again.signing).unwrap();
    let redelivered = reqwest::Client::new().post(url).header("content-type", "application/json").body(again.body.clone());
    assert_eq!(redelivered.send().await.unwrap().status(), 200, "a redelivery is answered");
    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 30, &["Ada", "Bob"])).await;
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::DisbandedExternally);
    assert_eq!(w.sandbox.groups().len(), 1, "never recreated");
    assert_eq!(w.app.timeline(&inc).await.iter().filter(|e| e.action == TimelineAction::DisbandedExternally).count(), 1);
}

#[tokio::test]
async fn a_war_room_opened_when_most_of_the_monthly_calls_are_spent_says_so_in_its_timeline() {
    let w = start(None).await;
    let id = w.connected().await;
    w.app.store.enable_war_room(&w.app.tenant, &id).await.unwrap();
    let now = w.app.clock.now();
    let key = warroom_platforms::dingtalk::calls_counter_key(APP, now);
    w.app.store.add_to_counter(&key, 8_000, std::time::Duration::from_secs(3600), now).await.unwrap();

    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::Open, "a warning, not a refusal");
    let warnings: Vec<_> = w.app.timeline(&inc).await.into_iter().filter(|e| e.action == TimelineAction::QuotaWarning).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].detail.contains("of the standard edition's 10000 metered API calls"), "{:?}", warnings[0]);
}

/// Tenant isolation: a DingTalk callback is read in its integration's tenant only. A click
/// on tenant A's card whose button names tenant B's incident (what only someone holding A's
/// app secret could send) and an @mention in A's group change nothing in tenant B.
#[tokio::test]
async fn a_dingtalk_callback_of_one_tenant_never_touches_another_tenants_incident() {
    let w = start(None).await;
    let id = w.connected().await;
    w.app.store.enable_war_room(&w.app.tenant, &id).await.unwrap();
    let other = TenantId::new("ten_other");
    w.app.store.put_tenant(&warroom_testkit::fixtures::tenant(&other)).await.unwrap();
    let now = w.app.clock.now();
    let (other_intake, key) = warroom_http::auth::new_key(&other, "other monitoring", KeyScope::Intake, now);
    w.app.store.put_api_key(&key).await.unwrap();
    w.app.post("/hooks/generic", &other_intake, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.drain().await;
    let theirs = common::incident_by_external(&*w.app.store, &other, "e1").await;
    let ours = w.app.incident("e1").await;
    let ocid = ours.war_room.chat_id.clone().unwrap().to_string();
    let card = w.sandbox.group(&ocid).unwrap().cards.iter().find(|c| !is_notice(c)).unwrap().clone();
    let their_timeline = common::timeline_of(&*w.app.store, &other, &theirs).await;

    let click = w.sandbox.click_card(&card.out_track_id, "u_ada", &format!("ack|{}", theirs.id), json!({})).await.unwrap();
    assert!(click.status < 500, "answered, not crashed: {} {}", click.status, click.body);
    w.sandbox.mention_robot(&ocid, "u_ada", "resolve").await.unwrap();
    w.app.drain().await;

    let theirs_after = common::incident_by_external(&*w.app.store, &other, "e1").await;
    assert_eq!(theirs_after.status, Status::Triggered, "tenant B's incident is untouched");
    assert_eq!(common::timeline_of(&*w.app.store, &other, &theirs).await, their_timeline, "nothing written to tenant B's timeline");
    assert_eq!(w.app.incident("e1").await.status, Status::Resolved, "the mention acted in its own tenant");
}
