//! WeCom (企业微信): the real adapter against the WeCom sandbox. Both of WeCom's callback
//! channels reach one route, `/im/{integration}/events`, signed the same way (wecom.md §2):
//! `msg_signature`, `timestamp` and `nonce` in the query, over the `Encrypt` of an XML body
//! (the app's "API接收": template-card clicks, ReceiveId = the CorpID) or the `encrypt` of a
//! JSON body (the smart bot: @mentions, ReceiveId = ""); a GET with an `echostr` is the
//! console's URL check.
//!
//! Genuine callbacks are the sandbox's own (its WXBizMsgCrypt is written from the reference,
//! independently of the adapter), then broken one thing at a time ([`sealed`]). Unlike
//! DingTalk's robot messages and clicks, every WeCom body is sealed and signed, so body cases
//! break the ciphertext or the envelope around it; the envelope's other fields (`ToUserName`,
//! `AgentID`) are not signed and are not read, so the cases leave them alone.
//!
//! What is answered 200 rather than refused, and why ([`genuine`]): a click that is WeCom's
//! own (signed, sealed, fresh) but whose button key names no incident, or another tenant's,
//! and a redelivered click. WeCom counts anything but a 200 within 5 s as a failed delivery
//! and sends it twice more (notes Q2), and a click answer shows the clicker nothing: so they
//! are acknowledged, and ignored. Only the bookkeeping that makes the retry a no-op is kept
//! (the delivery's replay claim, and the click's single-use ResponseCode); nothing else.

use crate::common::corpus::{self, Case, Rng};
use crate::common::event;
use crate::common::platform_app::{routers, PlatformApp};
use crate::*;
use axum::body::{to_bytes, Body};
use axum::http::Request;
use serde_json::json;
use std::time::Duration;
use tower::ServiceExt;
use warroom_core::*;
use warroom_platforms::PlatformsConfig;
use warroom_sandbox::wecom::crypto::MsgCrypt;
use warroom_sandbox::wecom::{AppConfig, Delivery, SandboxConfig, WeComSandbox};

const CORP: &str = "wwbadinput0001";
const AGENT: i64 = 1000003;
const SECRET: &str = "wecom-bad-input-app-secret";
const OWNER: &str = "owner01";
/// The adapter's window (`wecom::crypto::TIMESTAMP_WINDOW`): 15 minutes either way.
const WINDOW_S: i64 = 15 * 60;
const NONCE: &str = "1234567890";

struct World {
    sandbox: WeComSandbox,
    app: PlatformApp,
    config: AppConfig,
    id: IntegrationId,
    /// The callback URL WeCom is configured with (absolute).
    url: String,
}

/// The app connected through the API (its secret proven with WeCom), both channels' URLs
/// pointed at the bundle, the war room on.
async fn world() -> World {
    let sandbox = WeComSandbox::new(SandboxConfig { enforce_rate_limits: false, ..SandboxConfig::default() });
    let base = sandbox.serve_local().await.unwrap();
    let app = PlatformApp::start(|public_url| PlatformsConfig::production(public_url).with_base_override(Platform::Wecom, base.clone())).await;
    let config = AppConfig::new(CORP, AGENT, SECRET);
    sandbox.add_app(config.clone());
    sandbox.add_user(OWNER, "Owner", Some("13900000000"), None);
    sandbox.add_user("ada", "Ada", Some("13900000001"), None);
    sandbox.add_user("bob", "Bob", Some("13900000002"), None);
    for (id, name, phone) in [("m_ada", "Ada", "+86 139 0000 0001"), ("m_bob", "Bob", "+86 139 0000 0002")] {
        let mut m = warroom_testkit::fixtures::member(&app.tenant, id, name);
        m.phone = Some(phone.into());
        app.store.put_member(&m).await.unwrap();
    }
    let body = json!({
        "platform": "wecom", "corp_id": CORP, "agent_id": AGENT.to_string(), "secret": SECRET, "owner_userid": OWNER,
        "callback_token": config.callback_token, "callback_aes_key": config.callback_aes_key,
        "bot_token": config.bot_token, "bot_aes_key": config.bot_aes_key,
    });
    let (code, body) = app.post("/api/v1/integrations", &app.admin_key, body).await;
    assert_eq!(code, 201, "{body}");
    let id = IntegrationId::new(body["id"].as_str().unwrap());
    let url = format!("{}/im/{id}/events", app.url);
    sandbox.set_callback_urls(AGENT, Some(&url), Some(&url));
    app.store.enable_war_room(&app.tenant, &id).await.unwrap();
    World { sandbox, app, config, id, url }
}

impl World {
    /// Every secret of the integration: none may be echoed in any answer.
    fn secrets(&self) -> Vec<String> {
        let c = &self.config;
        vec![SECRET.into(), c.callback_token.clone(), c.callback_aes_key.clone(), c.bot_token.clone(), c.bot_aes_key.clone()]
    }

    fn app_crypt(&self) -> MsgCrypt {
        MsgCrypt::new(&self.config.callback_token, &self.config.callback_aes_key, CORP).unwrap()
    }

    fn bot_crypt(&self) -> MsgCrypt {
        MsgCrypt::new(&self.config.bot_token, &self.config.bot_aes_key, "").unwrap()
    }

    /// An incident with a room, Ada's card and the incident itself.
    async fn incident(&self) -> (Incident, String, warroom_sandbox::wecom::CardView) {
        self.app.post("/hooks/generic", &self.app.intake_key, event("e1", "triggered", 0, &["Ada", "Bob"])).await;
        self.app.drain().await;
        let inc = self.app.incident("e1").await;
        let chatid = inc.war_room.chat_id.clone().expect("an app group").to_string();
        let card = self.sandbox.cards_of("ada").first().expect("a card to Ada").clone();
        (inc, chatid, card)
    }

    /// The whole store, the sandbox's world and how many calls it answered.
    async fn snapshot(&self) -> (Vec<(String, String, String)>, String, usize) {
        let view = serde_json::to_string(&self.sandbox.view()).unwrap();
        (self.app.embedded.dump().await.unwrap(), view, self.sandbox.calls().len())
    }
}

/// The path and query of a delivery, for the in-process router.
fn relative(delivery: &Delivery) -> String {
    let at = delivery.url.find("/im/").expect("a callback URL of the bundle");
    delivery.url[at..].to_string()
}

/// The value of `name` in a delivery's query.
fn query_value(delivery: &Delivery, name: &str) -> String {
    let url = reqwest::Url::parse(&delivery.url).expect("an absolute callback URL");
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// Sends one request through the router: (status, body).
async fn send(router: &axum::Router, method: &str, uri: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let request = Request::builder().method(method).uri(uri).header("content-type", content_type).body(Body::from(body)).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = to_bytes(response.into_body(), 1 << 22).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Every case sent once more, its answer read whole: no secret of the integration in it.
async fn assert_no_secret_echoed(router: &axum::Router, cases: &[Case], secrets: &[String]) {
    for case in cases {
        let content_type = case.headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str()).unwrap_or("text/xml");
        let (status, answer) = send(router, "POST", &case.path, content_type, case.body.clone()).await;
        for secret in secrets {
            assert!(!answer.contains(secret.as_str()), "a secret echoed in the answer ({status}) to {case}");
        }
    }
}

mod genuine;
mod sealed;

use sealed::Sealed;

#[tokio::test]
pub(crate) async fn wecom_callbacks_refuse_the_bad_input_corpus_and_change_nothing() {
    let w = world().await;
    let (inc, chatid, card) = w.incident().await;

    // One genuine callback of each channel, applied, so replays have something to replay.
    let click = w.sandbox.click_card(&w.url, AGENT, "ada", &card.task_id, &format!("ack|{}", inc.id)).await.unwrap();
    assert_eq!(click.passive.status, 200, "{:?}", click.passive);
    let said = w.sandbox.mention_bot(&w.url, AGENT, &chatid, "bob", "looking at the database").await.unwrap();
    assert_eq!(said.passive.status, 200, "{:?}", said.passive);
    w.app.drain().await;
    assert_eq!(w.app.incident("e1").await.status, Status::Acknowledged, "the good click applied");
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.app.drain().await;

    let now = w.app.clock.now().secs();
    let app = Sealed::new(&w, "wecom/app", &click.delivery, w.app_crypt(), now);
    let bot = Sealed::new(&w, "wecom/bot", &said.delivery, w.bot_crypt(), now);
    let mut rng = Rng::new(0x5eed_0005);
    let corpora = [(app.name, app.cases(&mut rng)), (bot.name, bot.cases(&mut rng))];
    let router = routers(&w.app.state);
    let before = w.snapshot().await;
    for (name, cases) in &corpora {
        fail_with(name, corpus::run(&router, cases).await);
    }
    for (_, cases) in &corpora {
        assert_no_secret_echoed(&router, cases, &w.secrets()).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = w.snapshot().await;
    assert!(w.app.queue.is_empty(), "the corpus queued work");
    assert!(before.0 == after.0, "the store changed:\n{}", diff(&before.0, &after.0));
    assert!(before.1 == after.1, "the sandbox's world changed");
    assert_eq!(before.2, after.2, "WeCom was called");
}
