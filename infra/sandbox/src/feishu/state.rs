//! The sandbox's in-memory world: apps, users, chats, messages, tokens, and the movable clock.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde_json::{json, Value};

use super::callbacks::Delivery;
use super::cardkit::{CardEntity, CardUpdate};
use super::ratelimit::Limiter;
use super::{CallRecord, ChatView, MessageView};

/// A registered (custom) app with its bot.
#[derive(Clone, Debug)]
pub(crate) struct App {
    pub app_id: String,
    pub secret: String,
    pub verification_token: String,
    pub encrypt_key: String,
    pub scopes: BTreeSet<String>,
    pub bot_open_id: String,
    pub bot_union_id: String,
    pub bot_name: String,
}

impl App {
    pub fn has_any(&self, scopes: &[&str]) -> bool {
        scopes.iter().any(|s| self.scopes.contains(*s))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub open_id: String,
    pub union_id: String,
    pub user_id: String,
    pub name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub message_id: String,
    pub chat_id: String,
    /// `app_id` for bots (as Feishu reports `sender.id` with `id_type: app_id`), `open_id` for users.
    pub sender_id: String,
    /// `app` or `user`.
    pub sender_type: &'static str,
    pub msg_type: String,
    /// The raw JSON string, exactly as sent.
    pub content: String,
    pub mentions: Vec<Value>,
    pub created_at: Duration,
    pub updated_at: Duration,
    pub updated_count: u32,
    /// The message this one replies to (`im/v1/messages/:message_id/reply`).
    pub parent_id: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Chat {
    pub chat_id: String,
    pub name: String,
    pub description: String,
    /// `private` / `public` (for p2p chats: `p2p`).
    pub chat_type: String,
    /// `group` / `p2p`.
    pub chat_mode: &'static str,
    /// An `open_id`, or the creating bot's `app_id` when the bot owns the chat.
    pub owner_id: String,
    pub creator_app: String,
    pub members: Vec<String>,
    pub bots: Vec<String>,
    pub bot_managers: Vec<String>,
    pub disbanded: bool,
    pub messages: Vec<Message>,
}

#[derive(Clone, Debug)]
pub(crate) struct TenantToken {
    pub app_id: String,
    pub expires_at: Duration,
}

#[derive(Clone, Debug)]
pub(crate) struct UserToken {
    pub app_id: String,
    pub open_id: String,
    pub expires_at: Duration,
}

#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub app_id: String,
    pub open_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub issued_at: Duration,
    pub used: bool,
}

/// Everything behind the sandbox's mutex.
pub(crate) struct State {
    start: Instant,
    epoch_at_start: Duration,
    offset: Duration,
    frozen: Option<Duration>,
    pub tenant_key: String,
    pub apps: HashMap<String, App>,
    pub users: Vec<User>,
    pub chats: Vec<Chat>,
    /// message_id → chat_id, kept after a disband so later calls can answer "chat dissolved".
    pub message_index: HashMap<String, String>,
    pub tenant_tokens: HashMap<String, TenantToken>,
    pub latest_token: HashMap<String, String>,
    pub user_tokens: HashMap<String, UserToken>,
    pub auth_codes: HashMap<String, AuthCode>,
    pub chat_uuids: HashMap<(String, String, String), (String, Duration)>,
    pub message_uuids: HashMap<(String, String), (String, Duration)>,
    pub limiter: Limiter,
    /// CardKit card entities by `card_id`, and the accepted streamed content updates.
    pub cards: HashMap<String, CardEntity>,
    pub card_log: Vec<CardUpdate>,
    pub calls: Vec<CallRecord>,
    pub deliveries: Vec<Delivery>,
}

impl State {
    pub fn new() -> Self {
        let epoch_at_start = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        State {
            start: Instant::now(),
            epoch_at_start,
            offset: Duration::ZERO,
            frozen: None,
            tenant_key: hex_id(8),
            apps: HashMap::new(),
            users: Vec::new(),
            chats: Vec::new(),
            message_index: HashMap::new(),
            tenant_tokens: HashMap::new(),
            latest_token: HashMap::new(),
            user_tokens: HashMap::new(),
            auth_codes: HashMap::new(),
            chat_uuids: HashMap::new(),
            message_uuids: HashMap::new(),
            limiter: Limiter::default(),
            cards: HashMap::new(),
            card_log: Vec::new(),
            calls: Vec::new(),
            deliveries: Vec::new(),
        }
    }

    /// Sandbox time since creation: real monotonic time (stopped once frozen) plus everything
    /// `advance` added.
    pub fn now(&self) -> Duration {
        self.frozen.unwrap_or_else(|| self.start.elapsed()) + self.offset
    }

    pub fn freeze(&mut self) {
        if self.frozen.is_none() {
            self.frozen = Some(self.start.elapsed());
        }
    }

    pub fn advance(&mut self, by: Duration) {
        self.offset += by;
    }

    /// Wall-clock milliseconds since the Unix epoch at sandbox time `at`.
    pub fn wall_ms(&self, at: Duration) -> u128 {
        (self.epoch_at_start + at).as_millis()
    }

    pub fn user(&self, open_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.open_id == open_id)
    }

    /// Resolves a user by the given Feishu ID type (`open_id`, `union_id`, `user_id`, `email`).
    pub fn user_by(&self, id_type: &str, id: &str) -> Option<&User> {
        self.users.iter().find(|u| match id_type {
            "union_id" => u.union_id == id,
            "user_id" => u.user_id == id,
            "email" => u.email.as_deref() == Some(id),
            _ => u.open_id == id,
        })
    }

    pub fn chat(&self, chat_id: &str) -> Option<&Chat> {
        self.chats.iter().find(|c| c.chat_id == chat_id)
    }

    pub fn chat_mut(&mut self, chat_id: &str) -> Option<&mut Chat> {
        self.chats.iter_mut().find(|c| c.chat_id == chat_id)
    }

    pub fn message_mut(&mut self, message_id: &str) -> Option<&mut Message> {
        let chat_id = self.message_index.get(message_id)?.clone();
        let chat = self.chat_mut(&chat_id)?;
        chat.messages.iter_mut().find(|m| m.message_id == message_id)
    }

    /// Disbands a chat: Feishu deletes the history of a chat disbanded through the API.
    pub fn disband(&mut self, chat_id: &str) {
        if let Some(chat) = self.chat_mut(chat_id) {
            chat.disbanded = true;
            chat.messages.clear();
        }
    }

    pub fn chat_view(&self, chat: &Chat) -> ChatView {
        ChatView {
            chat_id: chat.chat_id.clone(),
            name: chat.name.clone(),
            description: chat.description.clone(),
            chat_type: chat.chat_type.clone(),
            owner_id: chat.owner_id.clone(),
            members: chat.members.clone(),
            bots: chat.bots.clone(),
            disbanded: chat.disbanded,
            messages: chat.messages.iter().map(|m| self.message_view(m)).collect(),
        }
    }

    /// The message object of `im/v1/messages` (send, list) responses.
    pub fn message_json(&self, m: &Message) -> Value {
        let (id_type, sender_type) = if m.sender_type == "app" { ("app_id", "app") } else { ("open_id", "user") };
        let mut v = json!({
            "message_id": m.message_id,
            "msg_type": m.msg_type,
            "create_time": self.wall_ms(m.created_at).to_string(),
            "update_time": self.wall_ms(m.updated_at).to_string(),
            "deleted": false,
            "updated": m.updated_count > 0,
            "chat_id": m.chat_id,
            "sender": {"id": m.sender_id, "id_type": id_type, "sender_type": sender_type,
                       "tenant_key": self.tenant_key},
            "body": {"content": m.content},
        });
        if !m.mentions.is_empty() {
            let mentions: Vec<Value> = m
                .mentions
                .iter()
                .map(|x| {
                    json!({"key": x["key"], "id": x["id"]["open_id"], "id_type": "open_id",
                           "name": x["name"], "tenant_key": self.tenant_key})
                })
                .collect();
            v["mentions"] = Value::Array(mentions);
        }
        v
    }
}

impl State {
    /// A message as the chat shows it: a card sent by `card_id` shows the card entity as it is
    /// now (its streamed text included).
    pub fn message_view(&self, m: &Message) -> MessageView {
        let mut content = serde_json::from_str(&m.content).unwrap_or_else(|_| Value::String(m.content.clone()));
        let mut card_streaming = None;
        let entity = content["data"]["card_id"].as_str().filter(|_| content["type"] == json!("card")).and_then(|id| self.cards.get(id));
        if let Some(entity) = entity {
            card_streaming = Some(entity.streaming());
            content = entity.card.clone();
        }
        MessageView {
            message_id: m.message_id.clone(),
            sender: m.sender_id.clone(),
            sender_type: m.sender_type.to_string(),
            msg_type: m.msg_type.clone(),
            content,
            updated_count: m.updated_count,
            parent_id: m.parent_id.clone(),
            card_streaming,
        }
    }
}

/// `n` random bytes as lowercase hex (2n characters).
pub(crate) fn hex_id(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// A random decimal string, the shape of Feishu's `X-Lark-Request-Nonce`.
pub(crate) fn nonce() -> String {
    rand::rng().random::<u32>().to_string()
}
