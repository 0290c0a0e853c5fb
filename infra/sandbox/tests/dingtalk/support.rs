//! The fixture: a sandbox on a loopback port with one app and three users, a client speaking
//! both API generations, and a small receiving server standing in for the bundle.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, Uri};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use warroom_sandbox::dingtalk::crypto::EventCrypto;
use warroom_sandbox::dingtalk::{AppConfig, DingTalkSandbox, Edition, SandboxConfig};

pub const APP: &str = "dingappkey01";
pub const SECRET: &str = "app-secret-01";
pub const TEMPLATE: &str = "tpl_dingappkey01";
pub const GROUP_ROBOT: &str = "grb_dingappkey01";
pub const EVENT_TOKEN: &str = "evt-token";
/// 43 characters: a 32-byte AES key.
pub const AES_KEY: &str = "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus";

pub struct Fx {
    pub sb: DingTalkSandbox,
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

pub fn app(client_id: &str, secret: &str, edition: Edition) -> AppConfig {
    let mut app = AppConfig::new(client_id, secret);
    app.edition = edition;
    app.event_token = EVENT_TOKEN.to_string();
    app.event_aes_key = AES_KEY.to_string();
    app
}

pub async fn start(enforce_rate_limits: bool) -> Fx {
    let sb = DingTalkSandbox::new(SandboxConfig { enforce_rate_limits, token_ttl: Duration::from_secs(7200) });
    sb.add_app(app(APP, SECRET, Edition::Standard));
    sb.add_user("u_ada", "Ada", Some("+86 130 1111 1111"), Some("ada@example.com"));
    sb.add_user("u_bob", "Bob", Some("13022222222"), None);
    sb.add_user("u_cy", "Cy", None, Some("cy@example.com"));
    let base = sb.serve_local().await.unwrap();
    Fx { sb, base, http: reqwest::Client::new() }
}

impl Fx {
    /// A v1.0 call: token in `x-acs-dingtalk-access-token`. Returns (status, body).
    pub async fn new_api(&self, method: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut rb = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            rb = rb.header("x-acs-dingtalk-access-token", t);
        }
        let resp = rb.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    /// An old (oapi) call: token in `?access_token=`.
    pub async fn old_api(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let url = match token {
            Some(t) => format!("{}{path}?access_token={t}", self.base),
            None => format!("{}{path}", self.base),
        };
        let resp = self.http.post(url).json(&body).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn token(&self) -> String {
        let (_, b) = self.new_api("POST", "/v1.0/oauth2/accessToken", None, json!({"appKey": APP, "appSecret": SECRET})).await;
        b["accessToken"].as_str().unwrap().to_string()
    }

    /// A scene group from the app's template, owned by Ada, with `users` (comma string).
    pub async fn group(&self, t: &str, uuid: &str, users: &str) -> String {
        let body = json!({"title": "INC-1 db down", "template_id": TEMPLATE, "owner_user_id": "u_ada", "user_ids": users, "uuid": uuid});
        let (status, b) = self.new_api("POST", "/v1.0/im/sceneGroup/create", Some(t), body).await;
        assert_eq!(status, 200, "{b}");
        b["open_conversation_id"].as_str().unwrap().to_string()
    }

    pub async fn card(&self, t: &str, ocid: &str, out_track_id: &str, route_key: &str) -> Value {
        let body = json!({
            "cardTemplateId": "589420e2-c1e2-46ef-a5ed-b8728e654da9.schema", "outTrackId": out_track_id,
            "cardData": {"cardParamMap": {"title": "DB down", "status": "triggered"}},
            "callbackType": "HTTP", "callbackRouteKey": route_key,
            "openSpaceId": format!("dtv1.card//IM_GROUP.{ocid}"),
            "imGroupOpenSpaceModel": {"supportForward": true}, "imGroupOpenDeliverModel": {"robotCode": GROUP_ROBOT},
        });
        let (status, b) = self.new_api("POST", "/v1.0/card/instances/createAndDeliver", Some(t), body).await;
        assert_eq!(status, 200, "{b}");
        b
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }

    pub fn query(&self, name: &str) -> String {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(self.uri.query().unwrap_or_default()).unwrap();
        pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

pub type Inbox = Arc<Mutex<Vec<Received>>>;

/// A bundle stand-in at `/hook`: records each request and answers `reply(request)`.
pub async fn receiver(reply: impl Fn(&Received) -> (u16, String) + Clone + Send + Sync + 'static) -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let seen = inbox.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |uri: Uri, headers: HeaderMap, body: String| {
            let (seen, reply) = (seen.clone(), reply.clone());
            async move {
                let got = Received { uri, headers, body };
                let (status, answer) = reply(&got);
                seen.lock().unwrap().push(got);
                (axum::http::StatusCode::from_u16(status).unwrap(), answer)
            }
        }),
    );
    (format!("{}/hook", serve(router).await), inbox)
}

/// The event-subscription signature computed here, apart from the sandbox's crypto module:
/// hex(sha1(sorted token, timeStamp, nonce, encrypt)) (reference §2a).
pub fn sha1_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

/// A bundle that verifies each event's signature and answers the encrypted `success`
/// (owner key = the AppKey); it answers 401 to a bad signature.
pub fn event_bundle(req: &Received) -> (u16, String) {
    let encrypt = req.json()["encrypt"].as_str().unwrap_or_default().to_string();
    let (ts, nonce) = (req.query("timeStamp"), req.query("nonce"));
    if sha1_signature(EVENT_TOKEN, &ts, &nonce, &encrypt) != req.query("msg_signature") {
        return (401, "bad signature".into());
    }
    let crypto = EventCrypto::new(EVENT_TOKEN, AES_KEY, APP).unwrap();
    let reply = crypto.encrypt("success");
    let sig = crypto.signature("1700000000000", "n0nce", &reply);
    (200, json!({"msg_signature": sig, "timeStamp": "1700000000000", "nonce": "n0nce", "encrypt": reply}).to_string())
}

/// The decrypted payload of a received event.
pub fn event_payload(req: &Received) -> Value {
    let crypto = EventCrypto::new(EVENT_TOKEN, AES_KEY, APP).unwrap();
    serde_json::from_str(&crypto.decrypt(req.json()["encrypt"].as_str().unwrap()).unwrap()).unwrap()
}
