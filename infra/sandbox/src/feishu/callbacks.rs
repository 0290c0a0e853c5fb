//! Callbacks to the bundle, sent as Feishu sends them: schema 2.0 envelope
//! `{"schema":"2.0","header":{event_id,event_type,create_time,token,app_id,tenant_key},"event":…}`,
//! encrypted into `{"encrypt": …}` when the app has an Encrypt Key, with headers
//! `X-Lark-Request-Timestamp` (real Unix seconds), `X-Lark-Request-Nonce` and `X-Lark-Signature`.
//! Payload shapes: im-v1 message/events/receive, group chat/events/disbanded, and
//! cardkit-v1 card-callback-communication (open.feishu.cn server docs, "事件示例"/"回调结构").

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::crypto::{encrypt, signature};
use super::state::{hex_id, nonce, App, Message, State};
use super::FeishuSandbox;

/// "需要在 3 秒内响应回调请求" (card callback page); later replies are not applied.
const CALLBACK_DEADLINE: Duration = Duration::from_secs(3);

/// One callback the sandbox sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub app_id: String,
    /// `header.event_id` (empty for url_verification).
    pub event_id: String,
    /// `header.event_type`, or `url_verification`.
    pub event_type: String,
    /// The envelope before encryption.
    pub plaintext: Value,
    /// The exact request body: `{"encrypt":"…"}`, or the plaintext when the app has no Encrypt Key.
    pub body: String,
    pub timestamp: String,
    pub nonce: String,
    /// `X-Lark-Signature` (only when the app has an Encrypt Key).
    pub signature: Option<String>,
}

/// The bundle's answer to a card callback.
#[derive(Clone, Debug)]
pub struct CardReply {
    pub status: u16,
    pub body: String,
    /// The body parsed, if it is JSON (`{"toast": …, "card": …}`).
    pub json: Option<Value>,
    pub elapsed: Duration,
    /// Whether the sandbox applied the answer's `card` (`type: raw`) to the message, as Feishu
    /// does for an HTTP 200 answered within 3 s.
    pub applied: bool,
}

fn seal(app: &App, event_id: &str, event_type: &str, plaintext: Value) -> Delivery {
    let raw = plaintext.to_string();
    // Real wall-clock seconds, not the sandbox clock: the header is about transport freshness,
    // and the bundle's clock does not move with `advance`.
    let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().to_string();
    let nonce = nonce();
    let (body, signature) = if app.encrypt_key.is_empty() {
        (raw, None)
    } else {
        let body = json!({"encrypt": encrypt(&app.encrypt_key, raw.as_bytes())}).to_string();
        let sig = signature(&timestamp, &nonce, &app.encrypt_key, body.as_bytes());
        (body, Some(sig))
    };
    Delivery { app_id: app.app_id.clone(), event_id: event_id.to_string(), event_type: event_type.to_string(), plaintext, body, timestamp, nonce, signature }
}

fn envelope(st: &State, app: &App, event_id: &str, event_type: &str, create_time: String, event: Value) -> Value {
    json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "event_type": event_type, "create_time": create_time,
                   "token": app.verification_token, "app_id": app.app_id, "tenant_key": st.tenant_key},
        "event": event,
    })
}

fn app<'a>(st: &'a State, app_id: &str) -> &'a App {
    st.apps.get(app_id).unwrap_or_else(|| panic!("feishu sandbox: unknown app {app_id}; call add_app first"))
}

/// `{"open_id","union_id","user_id"}` of a user (only `open_id` when the sandbox does not know them).
fn user_ids(st: &State, open_id: &str) -> Value {
    match st.user(open_id) {
        Some(u) => json!({"union_id": u.union_id, "user_id": u.user_id, "open_id": u.open_id}),
        None => json!({"open_id": open_id}),
    }
}

impl FeishuSandbox {
    fn record_delivery(&self, build: impl FnOnce(&mut State) -> Delivery) -> Delivery {
        let mut st = self.lock();
        let d = build(&mut st);
        st.deliveries.push(d.clone());
        d
    }

    async fn post(&self, url: &str, d: &Delivery) -> Result<reqwest::Response, reqwest::Error> {
        let mut rb = self
            .inner
            .http
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .header("x-lark-request-timestamp", &d.timestamp)
            .header("x-lark-request-nonce", &d.nonce);
        if let Some(sig) = &d.signature {
            rb = rb.header("x-lark-signature", sig);
        }
        rb.body(d.body.clone()).send().await
    }

    /// Every callback sent so far, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    pub fn last_delivery(&self) -> Option<Delivery> {
        self.lock().deliveries.last().cloned()
    }

    /// The URL handshake `{"challenge","token","type":"url_verification"}` (encrypted when the
    /// app has an Encrypt Key). Returns the response and the challenge to expect back.
    pub async fn url_verification(&self, url: &str, app_id: &str) -> Result<(reqwest::Response, String), reqwest::Error> {
        let challenge = format!("{}-{}-{}-{}-{}", hex_id(4), hex_id(2), hex_id(2), hex_id(2), hex_id(6));
        let d = self.record_delivery(|st| {
            let app = app(st, app_id);
            let plain = json!({"challenge": challenge, "token": app.verification_token, "type": "url_verification"});
            seal(app, "", "url_verification", plain)
        });
        Ok((self.post(url, &d).await?, challenge))
    }

    /// A user posts `text` in the chat (`im.message.receive_v1`); with `mention_bot` the text is
    /// `@_user_1 <text>` and `mentions` names the app's bot. The message is stored in the chat.
    pub async fn send_message_event(
        &self,
        url: &str,
        app_id: &str,
        chat_id: &str,
        sender_open_id: &str,
        text: &str,
        mention_bot: bool,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let d = self.record_delivery(|st| {
            let app = app(st, app_id).clone();
            let now = st.now();
            let content = if mention_bot { format!("@_user_1 {text}") } else { text.to_string() };
            let content = json!({"text": content}).to_string();
            let mentions: Vec<Value> = if mention_bot {
                vec![json!({"key": "@_user_1", "id": {"union_id": app.bot_union_id, "user_id": "", "open_id": app.bot_open_id},
                            "name": app.bot_name, "tenant_key": st.tenant_key})]
            } else {
                Vec::new()
            };
            let message_id = format!("om_{}", hex_id(16));
            let chat_type = match st.chat(chat_id) {
                Some(c) if c.chat_mode == "p2p" => "p2p",
                _ => "group",
            };
            let ms = st.wall_ms(now).to_string();
            let mut message = json!({"message_id": message_id, "create_time": ms, "update_time": ms,
                "chat_id": chat_id, "chat_type": chat_type, "message_type": "text", "content": content});
            if mention_bot {
                message["mentions"] = json!(mentions);
            }
            let event = json!({
                "sender": {"sender_id": user_ids(st, sender_open_id), "sender_type": "user", "tenant_key": st.tenant_key},
                "message": message,
            });
            let stored = Message {
                message_id: message_id.clone(),
                chat_id: chat_id.to_string(),
                sender_id: sender_open_id.to_string(),
                sender_type: "user",
                msg_type: "text".to_string(),
                content,
                mentions,
                created_at: now,
                updated_at: now,
                updated_count: 0,
                parent_id: None,
            };
            if st.chat(chat_id).is_some_and(|c| !c.disbanded) {
                st.message_index.insert(message_id, chat_id.to_string());
                if let Some(chat) = st.chat_mut(chat_id) {
                    chat.messages.push(stored);
                }
            }
            let event_id = hex_id(16);
            let plain = envelope(st, &app, &event_id, "im.message.receive_v1", ms_string(st), event);
            seal(&app, &event_id, "im.message.receive_v1", plain)
        });
        self.post(url, &d).await
    }

    /// A member disbands the chat from the client: the chat is disbanded (history gone) and
    /// `im.chat.disbanded_v1` is sent.
    pub async fn disband_from_inside(&self, url: &str, app_id: &str, chat_id: &str, operator_open_id: &str) -> Result<reqwest::Response, reqwest::Error> {
        let d = self.record_delivery(|st| {
            let app = app(st, app_id).clone();
            let name = st.chat(chat_id).map(|c| c.name.clone()).unwrap_or_default();
            st.disband(chat_id);
            let event = json!({"chat_id": chat_id, "operator_id": user_ids(st, operator_open_id), "external": false,
                               "operator_tenant_key": st.tenant_key, "name": name});
            let event_id = hex_id(16);
            let plain = envelope(st, &app, &event_id, "im.chat.disbanded_v1", ms_string(st), event);
            seal(&app, &event_id, "im.chat.disbanded_v1", plain)
        });
        self.post(url, &d).await
    }

    /// A user clicks a button carrying `value` on the card `message_id` (`card.action.trigger`,
    /// header `create_time` in microseconds as on the callback page). A `{"card":{"type":"raw",
    /// "data":…}}` answer given with HTTP 200 within 3 s replaces the card.
    ///
    /// # Panics
    /// If `app_id` was never added.
    pub async fn click_card(&self, url: &str, app_id: &str, operator_open_id: &str, message_id: &str, value: Value) -> Result<CardReply, reqwest::Error> {
        let d = self.record_delivery(|st| {
            let app = app(st, app_id).clone();
            let chat_id = st.message_index.get(message_id).cloned().unwrap_or_default();
            let mut operator = user_ids(st, operator_open_id);
            operator["tenant_key"] = json!(st.tenant_key);
            let event = json!({
                "operator": operator,
                "token": format!("c-{}", hex_id(20)),
                "action": {"value": value, "tag": "button"},
                "host": "im_message",
                "context": {"open_message_id": message_id, "open_chat_id": chat_id},
            });
            let micros = (st.wall_ms(st.now()) * 1000).to_string();
            let event_id = hex_id(16);
            let plain = envelope(st, &app, &event_id, "card.action.trigger", micros, event);
            seal(&app, &event_id, "card.action.trigger", plain)
        });
        let started = Instant::now();
        let resp = self.post(url, &d).await?;
        let status = resp.status().as_u16();
        let body = resp.text().await?;
        let elapsed = started.elapsed();
        let json: Option<Value> = serde_json::from_str(&body).ok();
        let new_card = json
            .as_ref()
            .filter(|_| status == 200 && elapsed <= CALLBACK_DEADLINE)
            .and_then(|j| (j["card"]["type"] == "raw" && j["card"]["data"].is_object()).then(|| j["card"]["data"].to_string()));
        let mut applied = false;
        if let Some(card) = new_card {
            let mut st = self.lock();
            let now = st.now();
            if let Some(m) = st.message_mut(message_id) {
                m.content = card;
                m.updated_at = now;
                m.updated_count += 1;
                applied = true;
            }
        }
        Ok(CardReply { status, body, json, elapsed, applied })
    }

    /// Re-delivers a previous callback as Feishu re-pushes one: the same envelope (same
    /// `event_id`), freshly encrypted and signed with a new timestamp and nonce.
    pub async fn resend(&self, url: &str, previous: &Delivery) -> Result<reqwest::Response, reqwest::Error> {
        let d = self.record_delivery(|st| {
            let app = app(st, &previous.app_id).clone();
            seal(&app, &previous.event_id, &previous.event_type, previous.plaintext.clone())
        });
        self.post(url, &d).await
    }
}

fn ms_string(st: &State) -> String {
    st.wall_ms(st.now()).to_string()
}
