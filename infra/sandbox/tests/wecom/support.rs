//! The fixture: a sandbox on a loopback port with one app (and its smart bot) and four users,
//! a client for WeCom's `?access_token=` calls, and a small receiving server standing in for
//! the bundle, which checks signatures and decrypts like the bundle must.

use std::sync::{Arc, Mutex};

use axum::http::{Method, Uri};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};
use warroom_sandbox::wecom::crypto::MsgCrypt;
use warroom_sandbox::wecom::{AppConfig, SandboxConfig, WeComSandbox};

pub const CORP: &str = "ww1436e0e65a779aee";
pub const AGENT: i64 = 1_000_002;
pub const SECRET: &str = "app-secret-01";
pub const APP_TOKEN: &str = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
pub const APP_AES: &str = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
pub const BOT_TOKEN: &str = "QDG6eK";
pub const BOT_AES: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
pub const BOT_NAME: &str = "WarRoomBot";

pub struct Fx {
    pub sb: WeComSandbox,
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

pub fn app() -> AppConfig {
    let mut app = AppConfig::new(CORP, AGENT, SECRET);
    app.callback_token = APP_TOKEN.into();
    app.callback_aes_key = APP_AES.into();
    app.bot_id = "aibot-01".into();
    app.bot_name = BOT_NAME.into();
    app.bot_token = BOT_TOKEN.into();
    app.bot_aes_key = BOT_AES.into();
    app
}

pub async fn start_with(config: SandboxConfig) -> Fx {
    let sb = WeComSandbox::new(config);
    // These tests poll streams by hand; the one about the bot polling by itself turns it on.
    sb.set_stream_polling(None);
    sb.add_app(app());
    sb.add_user("u_ada", "Ada", Some("13800000001"), Some("ada@corp.example"));
    sb.add_user("u_bob", "Bob", Some("13800000002"), None);
    sb.add_user("u_cy", "Cy", None, Some("cy@corp.example"));
    sb.add_user("u_dee", "Dee", Some("13800000004"), None);
    let base = sb.serve_local().await.unwrap();
    Fx { sb, base, http: reqwest::Client::new() }
}

pub async fn start() -> Fx {
    start_with(SandboxConfig::default()).await
}

impl Fx {
    pub async fn get(&self, path_and_query: &str) -> Value {
        self.http.get(format!("{}{path_and_query}", self.base)).send().await.unwrap().json().await.unwrap()
    }

    /// `POST path?access_token=t` with a JSON body; asserts WeCom's HTTP 200.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let resp = self.http.post(format!("{}{path}?access_token={token}", self.base)).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 200, "WeCom answers HTTP 200 even for errors");
        resp.json().await.unwrap()
    }

    pub async fn token(&self) -> String {
        let b = self.get(&format!("/cgi-bin/gettoken?corpid={CORP}&corpsecret={SECRET}")).await;
        b["access_token"].as_str().unwrap().to_string()
    }

    pub async fn chat(&self, t: &str, chatid: &str, users: &[&str]) -> Value {
        self.post("/cgi-bin/appchat/create", t, json!({"name": "INC-1 db down", "owner": users[0], "userlist": users, "chatid": chatid})).await
    }

    /// A button card to `touser` ("a|b"); returns the answer.
    pub async fn card(&self, t: &str, touser: &str, task_id: &str) -> Value {
        let card = json!({
            "card_type": "button_interaction", "task_id": task_id,
            "main_title": {"title": "INC-1 db down"},
            "button_list": [{"text": "Acknowledge", "style": 1, "key": "ack"}, {"text": "Resolve", "style": 2, "key": "resolve"}],
        });
        self.post("/cgi-bin/message/send", t, json!({"touser": touser, "msgtype": "template_card", "agentid": AGENT, "template_card": card})).await
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: Method,
    pub uri: Uri,
    pub body: String,
}

impl Received {
    pub fn query(&self, name: &str) -> String {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(self.uri.query().unwrap_or_default()).unwrap();
        pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v).unwrap_or_default()
    }
}

pub type Inbox = Arc<Mutex<Vec<Received>>>;

/// A bundle stand-in at `/hook` (GET and POST): records each request, answers `reply(request)`.
pub async fn receiver(reply: impl Fn(&Received) -> (u16, String) + Clone + Send + Sync + 'static) -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let seen = inbox.clone();
    let handler = move |method: Method, uri: Uri, body: String| {
        let (seen, reply) = (seen.clone(), reply.clone());
        async move {
            let got = Received { method, uri, body };
            let (status, answer) = reply(&got);
            seen.lock().unwrap().push(got);
            (axum::http::StatusCode::from_u16(status).unwrap(), answer)
        }
    };
    let router = axum::Router::new().route("/hook", axum::routing::get(handler.clone()).post(handler));
    (format!("{}/hook", serve(router).await), inbox)
}

/// The signature computed here, apart from the sandbox: hex(sha1(sorted token, timestamp, nonce, encrypt)).
pub fn signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

pub fn app_crypt() -> MsgCrypt {
    MsgCrypt::new(APP_TOKEN, APP_AES, CORP).unwrap()
}

pub fn bot_crypt() -> MsgCrypt {
    MsgCrypt::new(BOT_TOKEN, BOT_AES, "").unwrap()
}

/// The `<Encrypt>` of an app callback body.
pub fn xml_field(xml: &str, name: &str) -> String {
    let start = xml.find(&format!("<{name}>")).unwrap() + name.len() + 2;
    let end = xml.find(&format!("</{name}>")).unwrap();
    let v = &xml[start..end];
    v.strip_prefix("<![CDATA[").and_then(|v| v.strip_suffix("]]>")).unwrap_or(v).to_string()
}

/// Checks an app callback as the bundle must; `Err(status)` when it must be refused.
pub fn open_app(req: &Received) -> Result<String, u16> {
    let encrypt = xml_field(&req.body, "Encrypt");
    if signature(APP_TOKEN, &req.query("timestamp"), &req.query("nonce"), &encrypt) != req.query("msg_signature") {
        return Err(401);
    }
    app_crypt().decrypt(&encrypt).map_err(|_| 400)
}

/// Checks a bot callback as the bundle must: body `{"encrypt"}` only, ReceiveId "".
pub fn open_bot(req: &Received) -> Result<Value, u16> {
    let body: Value = serde_json::from_str(&req.body).map_err(|_| 400u16)?;
    if body.as_object().map(|o| o.len()) != Some(1) {
        return Err(400);
    }
    let encrypt = body["encrypt"].as_str().ok_or(400u16)?;
    if signature(BOT_TOKEN, &req.query("timestamp"), &req.query("nonce"), encrypt) != req.query("msg_signature") {
        return Err(401);
    }
    let plain = bot_crypt().decrypt(encrypt).map_err(|_| 400u16)?;
    serde_json::from_str(&plain).map_err(|_| 400)
}

/// The encrypted XML passive reply (§2 template).
pub fn app_reply(plaintext: &str, nonce: &str) -> String {
    let c = app_crypt();
    let encrypt = c.encrypt(plaintext);
    let ts = "1700000000";
    let sig = c.signature(ts, nonce, &encrypt);
    format!("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature><TimeStamp>{ts}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")
}

/// The encrypted JSON passive reply (notes Q1: lowercase `msgsignature`, the callback's nonce).
pub fn bot_reply(reply: &Value, nonce: &str) -> String {
    let c = bot_crypt();
    let encrypt = c.encrypt(&reply.to_string());
    let ts = "1700000000";
    json!({"encrypt": encrypt, "msgsignature": c.signature(ts, nonce, &encrypt), "timestamp": ts, "nonce": nonce}).to_string()
}
