//! WeCom end to end against the WeCom sandbox, over real HTTP both ways: connected through
//! the management API (a fresh token, the reach probed) → incident → an app group with the
//! owner and the responders (found by phone or email; one WeCom does not know is reported,
//! not fatal) → the status in the group and a template card to each member → a click
//! (encrypted, signed app callback with a fresh ResponseCode) acknowledges it and every
//! member's card is replaced with that code → an @mention of the smart bot is answered →
//! resolve → the group is closed (WeCom cannot disband app groups). Redelivered and forged
//! callbacks change nothing; an untrusted egress IP is reported with the IP to add.

mod common;

use common::platform_app::PlatformApp;
use serde_json::{json, Value};
use warroom_core::*;
use warroom_platforms::PlatformsConfig;
use warroom_sandbox::wecom::{AppConfig, SandboxConfig, WeComSandbox};

const CORP: &str = "wwe2ecorp0001";
const AGENT: i64 = 1000002;
const SECRET: &str = "wecom-app-secret";
const OWNER: &str = "owner01";

struct World {
    sandbox: WeComSandbox,
    app: PlatformApp,
    config: AppConfig,
}

async fn start() -> World {
    let sandbox = WeComSandbox::new(SandboxConfig { enforce_rate_limits: true, ..SandboxConfig::default() });
    let base = sandbox.serve_local().await.unwrap();
    let app = PlatformApp::start(|public_url| PlatformsConfig::production(public_url).with_base_override(Platform::Wecom, base.clone())).await;
    let config = AppConfig::new(CORP, AGENT, SECRET);
    sandbox.add_app(config.clone());
    sandbox.add_user(OWNER, "Owner", Some("13900000000"), None);
    sandbox.add_user("ada", "Ada", Some("13900000001"), Some("ada@example.com"));
    sandbox.add_user("bob", "Bob", None, Some("bob@example.com"));
    for (id, name, phone) in [("m_ada", "Ada", Some("+86 139 0000 0001")), ("m_bob", "Bob", None), ("m_dee", "Dee", Some("+86 139 0000 0004"))] {
        let mut m = warroom_testkit::fixtures::member(&app.tenant, id, name);
        m.phone = phone.map(str::to_owned);
        app.store.put_member(&m).await.unwrap();
    }
    World { sandbox, app, config }
}

impl World {
    fn body(&self) -> Value {
        json!({
            "platform": "wecom", "corp_id": CORP, "agent_id": AGENT.to_string(), "secret": SECRET, "owner_userid": OWNER,
            "callback_token": self.config.callback_token, "callback_aes_key": self.config.callback_aes_key,
            "bot_token": self.config.bot_token, "bot_aes_key": self.config.bot_aes_key,
        })
    }

    async fn connected(&self) -> (IntegrationId, String) {
        let (code, body) = self.app.post("/api/v1/integrations", &self.app.admin_key, self.body()).await;
        assert_eq!(code, 201, "{body}");
        let id = IntegrationId::new(body["id"].as_str().unwrap());
        let url = format!("{}/im/{id}/events", self.app.url);
        self.sandbox.set_callback_urls(AGENT, Some(&url), Some(&url));
        (id, url)
    }
}

#[tokio::test]
async fn connecting_a_wecom_app_checks_its_secret_and_answers_the_urls_and_the_checklist() {
    let w = start().await;
    let mut wrong = w.body();
    wrong["secret"] = json!("not-the-secret");
    let (code, body) = w.app.post("/api/v1/integrations", &w.app.admin_key, wrong).await;
    assert!(code == 400 || code == 422, "a wrong secret is refused: {code} {body}");
    assert!(!body.to_string().contains("not-the-secret"), "the secret is not echoed: {body}");

    let (code, body) = w.app.post("/api/v1/integrations", &w.app.admin_key, w.body()).await;
    assert_eq!(code, 201, "{body}");
    let setup = &body["setup"];
    let id = body["id"].as_str().unwrap();
    assert_eq!(setup["app_callback_url"], json!(format!("{}/im/{id}/events", w.app.url)), "{body}");
    let items: Vec<&str> = setup["checklist"].as_array().unwrap().iter().filter_map(|i| i["item"].as_str()).collect();
    assert!(items.contains(&"trusted_ip") && items.contains(&"app_visibility_root_department"), "{setup}");
    assert!(!body.to_string().contains(SECRET) && !body.to_string().contains(&w.config.callback_aes_key), "no secret in the answer: {body}");

    // WeCom verifies the callback URL with a GET, answered with the plaintext alone.
    let url = format!("{}/im/{id}/events", w.app.url);
    let check = w.sandbox.verify_url(warroom_sandbox::wecom::Endpoint::App(AGENT), &url).await.unwrap();
    assert!(check.ok, "URL verification: {} {:?}", check.status, check.body);
    let bot = w.sandbox.verify_url(warroom_sandbox::wecom::Endpoint::Bot(AGENT), &url).await.unwrap();
    assert!(bot.ok, "the smart bot's URL verification on the same URL: {} {:?}", bot.status, bot.body);
}

#[tokio::test]
async fn a_wecom_war_room_opens_is_acknowledged_from_a_responders_card_and_is_closed_on_resolve() {
    let w = start().await;
    let (id, url) = w.connected().await;
    let (code, body) = w.app.post(&format!("/api/v1/integrations/{id}/war-room"), &w.app.admin_key, json!({})).await;
    assert!(code < 300, "enable: {code} {body}");
    let mut tenant = w.app.store.get_tenant(&w.app.tenant).await.unwrap().unwrap();
    tenant.settings.auto_dismiss_after_minutes = Some(0);
    w.app.store.put_tenant(&tenant).await.unwrap();

    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada", "Bob", "Dee"])).await;
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    assert_eq!(inc.war_room.state, WarRoomState::Open, "{:?}", inc.war_room);
    let chatid = inc.war_room.chat_id.clone().unwrap().to_string();
    let Some(chat) = w.sandbox.chat(&chatid) else {
        panic!("no app group in WeCom; timeline: {:#?}\ncalls: {:#?}", w.app.timeline(&inc).await, w.sandbox.calls());
    };
    for who in [OWNER, "ada", "bob"] {
        assert!(chat.members.contains(&who.to_string()), "{who} in {:?}", chat.members);
    }
    let timeline = w.app.timeline(&inc).await;
    assert!(
        timeline.iter().any(|e| e.action == TimelineAction::ResponderUnlinked && e.detail.contains("Dee")),
        "Dee, unknown to WeCom, is reported: {timeline:?}"
    );
    assert!(chat.messages.iter().any(|m| m.msgtype == "markdown" && m.text.contains("triggered")), "the status in the group: {:?}", chat.messages);
    let cards = w.sandbox.cards_of("ada");
    assert_eq!(cards.len(), 1, "one card to Ada: {cards:?}");
    let card = cards[0].clone();
    let ack_key = format!("ack|{}", inc.id);
    assert!(card.card["button_list"].as_array().unwrap().iter().any(|b| b["key"] == ack_key.as_str()), "{}", card.card);

    let click = w.sandbox.click_card(&url, AGENT, "ada", &card.task_id, &ack_key).await.unwrap();
    assert_eq!(click.passive.status, 200, "{:?}", click.passive);
    // WeCom retries a click it saw no answer to within 5 s: the copy changes nothing.
    let again = w.sandbox.redeliver(&click.delivery).await.unwrap();
    assert_eq!(again.status, 200);
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    assert_eq!(inc.status, Status::Acknowledged);
    let changes: Vec<_> = w.app.timeline(&inc).await.into_iter().filter(|e| e.action == TimelineAction::StatusChanged).collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].actor, Actor::Member { id: "m_ada".into(), name: "Ada".into() });
    assert_eq!(w.sandbox.response_code_used(&click.response_code), Some(true), "the click's code replaced the cards");
    let group = w.sandbox.chat(&chatid).unwrap();
    let status_posts: Vec<&str> = group.messages.iter().filter(|m| m.msgtype == "markdown").map(|m| m.text.as_str()).collect();
    assert!(
        status_posts.last().is_some_and(|t| t.contains("Changed") && t.contains("triggered → acknowledged")),
        "the status re-posted in the group with what changed: {status_posts:?}"
    );
    let bobs = w.sandbox.cards_of("bob");
    assert_eq!(bobs.len(), 1, "Bob's card was updated, not a second one sent: {bobs:?}");
    let updated = bobs[0].updates.last().cloned().unwrap_or(Value::Null);
    assert!(updated.to_string().contains("acknowledged"), "Bob's card shows the new status: {bobs:?}");

    let said = w.sandbox.mention_bot(&url, AGENT, &chatid, "bob", "resolve").await.unwrap();
    assert_eq!(said.passive.status, 200, "{:?}", said.passive);
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    assert_eq!(inc.status, Status::Resolved);
    assert_eq!(inc.war_room.state, WarRoomState::Dismissed, "{:?}", inc.war_room);
    let closed = w.sandbox.chat(&chatid).unwrap();
    assert!(closed.name.starts_with("[Closed] "), "renamed: {}", closed.name);
    assert!(!w.app.store.list_chat_messages(&w.app.tenant, &inc.id).await.unwrap().is_empty(), "the @mention was captured");
    let calls = w.sandbox.calls();
    eprintln!("WeCom calls for one incident's life (connect and enable included): {}", calls.len());
    assert_eq!(calls.iter().filter(|c| c.errcode == 45009).count(), 0, "never throttled");
}

#[tokio::test]
async fn forged_stale_and_wrong_key_wecom_callbacks_are_refused_and_change_nothing() {
    use warroom_sandbox::wecom::Tamper;
    let w = start().await;
    let (id, url) = w.connected().await;
    w.app.store.enable_war_room(&w.app.tenant, &id).await.unwrap();
    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    let card = w.sandbox.cards_of("ada")[0].clone();
    let before = w.app.embedded.dump().await.unwrap();
    for tamper in [Tamper::BadSignature, Tamper::WrongKey, Tamper::WrongReceiveId, Tamper::StaleTimestamp] {
        w.sandbox.tamper_next(tamper);
        let click = w.sandbox.click_card(&url, AGENT, "ada", &card.task_id, &format!("ack|{}", inc.id)).await.unwrap();
        assert!((400..500).contains(&click.passive.status), "{tamper:?}: {:?}", click.passive);
    }
    assert_eq!(w.app.embedded.dump().await.unwrap(), before, "nothing changed");
}

#[tokio::test]
async fn connecting_from_an_untrusted_egress_ip_is_refused_with_the_ip_to_add_then_accepted_once_trusted() {
    let w = start().await;
    w.sandbox.set_trusted_ips(AGENT, Some(&["198.51.100.7"]));
    w.sandbox.set_seen_ip(Some("203.0.113.9"));
    let (code, body) = w.app.post("/api/v1/integrations", &w.app.admin_key, w.body()).await;
    assert!((400..500).contains(&code), "refused: {code} {body}");
    let said = body["error"]["message"].as_str().unwrap_or_default();
    assert!(said.contains("203.0.113.9") && said.contains("trusted_ip"), "the refusal names the IP to add: {body}");
    assert!(w.app.store.list_integrations(&w.app.tenant).await.unwrap().is_empty(), "nothing stored");

    w.sandbox.set_trusted_ips(AGENT, Some(&["198.51.100.7", "203.0.113.9"]));
    let (code, body) = w.app.post("/api/v1/integrations", &w.app.admin_key, w.body()).await;
    assert_eq!(code, 201, "accepted once the IP is trusted: {body}");
    let id = body["id"].as_str().unwrap();
    let (code, body) = w.app.post(&format!("/api/v1/integrations/{id}/war-room"), &w.app.admin_key, json!({})).await;
    assert!(code < 300, "{code} {body}");

    // The egress IP changes later (a new NAT): the war room's calls say so on the timeline.
    w.sandbox.set_seen_ip(Some("203.0.113.10"));
    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.drain().await;
    let inc = w.app.incident("e1").await;
    let timeline = w.app.timeline(&inc).await;
    assert!(
        timeline.iter().any(|e| e.action == TimelineAction::PermissionMissing && e.detail.contains("203.0.113.10")),
        "the timeline names the IP to add: {timeline:?}"
    );
}

/// Tenant isolation: a WeCom callback is read in its integration's tenant only. A click on a
/// tenant A responder's card whose key names tenant B's incident and an @mention in A's
/// group change nothing in tenant B; a redelivered @mention has no second effect.
#[tokio::test]
async fn a_wecom_callback_of_one_tenant_never_touches_another_tenants_incident() {
    let w = start().await;
    let (id, url) = w.connected().await;
    w.app.store.enable_war_room(&w.app.tenant, &id).await.unwrap();
    let other = TenantId::new("ten_other");
    w.app.store.put_tenant(&warroom_testkit::fixtures::tenant(&other)).await.unwrap();
    let (other_intake, key) = warroom_http::auth::new_key(&other, "other monitoring", KeyScope::Intake, w.app.clock.now());
    w.app.store.put_api_key(&key).await.unwrap();
    w.app.post("/hooks/generic", &other_intake, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.drain().await;
    let theirs = common::incident_by_external(&*w.app.store, &other, "e1").await;
    let ours = w.app.incident("e1").await;
    let chatid = ours.war_room.chat_id.clone().unwrap().to_string();
    let card = w.sandbox.cards_of("ada")[0].clone();
    let their_timeline = common::timeline_of(&*w.app.store, &other, &theirs).await;

    let click = w.sandbox.click_card(&url, AGENT, "ada", &card.task_id, &format!("ack|{}", theirs.id)).await.unwrap();
    assert!(click.passive.status < 500, "answered, not crashed: {:?}", click.passive);
    let said = w.sandbox.mention_bot(&url, AGENT, &chatid, "ada", "resolve").await.unwrap();
    assert_eq!(w.sandbox.redeliver(&said.delivery).await.unwrap().status, 200);
    w.app.drain().await;

    assert_eq!(common::incident_by_external(&*w.app.store, &other, "e1").await.status, Status::Triggered, "tenant B's incident is untouched");
    assert_eq!(common::timeline_of(&*w.app.store, &other, &theirs).await, their_timeline, "nothing written to tenant B's timeline");
    let ours = w.app.incident("e1").await;
    assert_eq!(ours.status, Status::Resolved, "the mention acted in its own tenant");
    let resolutions = w.app.timeline(&ours).await.into_iter().filter(|e| e.action == TimelineAction::StatusChanged).count();
    assert_eq!(resolutions, 1, "the redelivered mention did not act twice");
    let captured = w.app.store.list_chat_messages(&w.app.tenant, &ours.id).await.unwrap();
    assert_eq!(captured.iter().filter(|m| m.text.contains("resolve")).count(), 1, "captured once: {captured:?}");
}

/// "@bot <question>" is answered by the smart bot itself, through the question's
/// `response_url`, with the team's model (here the LLM sandbox); a command stays a command.
#[tokio::test]
async fn a_question_to_the_smart_bot_is_answered_by_the_smart_bot_with_the_teams_model() {
    use warroom_sandbox::llm::{LlmConfig, LlmSandbox, DEFAULT_API_KEY};
    use warroom_sandbox::wecom::Sender;
    let mut w = start().await;
    let llm = LlmSandbox::new(LlmConfig::default());
    let llm_base = llm.serve_local().await.unwrap();
    let settings = ModelSettings {
        provider: ModelProvider::OpenAiCompatible {
            base_url: format!("{llm_base}/v1"),
            model: "sandbox-gpt".into(),
            api_key: Some(DEFAULT_API_KEY.into()),
            azure_api_version: None,
        },
        max_output_tokens: 300,
    };
    w.app.state = warroom_runtime::with_models(w.app.state.clone(), Some(&settings)).unwrap();
    let (id, url) = w.connected().await;
    w.app.store.enable_war_room(&w.app.tenant, &id).await.unwrap();
    w.app.post("/hooks/generic", &w.app.intake_key, common::event("e1", "triggered", 0, &["Ada"])).await;
    w.app.drain().await;
    let chatid = w.app.incident("e1").await.war_room.chat_id.unwrap().to_string();

    let said = w.sandbox.mention_bot(&url, AGENT, &chatid, "ada", "what is going on?").await.unwrap();
    assert_eq!(said.passive.status, 200);
    w.app.drain().await;
    // The answer streams: the smart bot shows it as WeCom's refreshes fetch it.
    assert!(w.sandbox.streams_settled(std::time::Duration::from_secs(15)).await, "{:?}", w.sandbox.view().streams);
    let chat = w.sandbox.chat(&chatid).unwrap();
    let answer = chat.messages.iter().find(|m| matches!(m.sender, Sender::Bot(_)) && m.text.contains("[llm-sandbox]"));
    let answer = answer.unwrap_or_else(|| panic!("the smart bot answered: {:?}", chat.messages.iter().map(|m| (&m.sender, &m.text)).collect::<Vec<_>>()));
    assert!(answer.text.contains("question=\"what is going on?\""), "the bot's name was taken off the question: {}", answer.text);
    assert!(answer.text.contains("Sources: "), "{}", answer.text);
    assert_eq!(llm.requests().len(), 1, "one model call");
    assert_eq!(w.app.incident("e1").await.status, Status::Triggered, "a question changes nothing");
}
