//! The WeCom sandbox's in-memory world: apps (with their smart bot), users, app chats and their
//! messages, per-user template cards, single-use response codes, bot streams, dropped
//! messages, the call log, and the movable clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde::Serialize;
use serde_json::Value;

use super::callbacks::{Delivery, Tamper};
use super::ratelimit::Limiter;
use super::CallRecord;

/// A self-built (自建) app and the smart bot the same customer configured next to it.
#[derive(Clone, Debug)]
pub(crate) struct App {
    pub corp_id: String,
    pub agent_id: i64,
    pub secret: String,
    pub callback_url: Option<String>,
    pub callback_token: String,
    pub callback_aes_key: String,
    pub bot_id: String,
    pub bot_name: String,
    pub bot_url: Option<String>,
    pub bot_token: String,
    pub bot_aes_key: String,
    /// 企业可信IP (§6); `None` = not configured, every address passes.
    pub trusted_ips: Option<BTreeSet<String>>,
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub userid: String,
    pub name: String,
    pub mobile: Option<String>,
    /// 企业邮箱 (`email_type` 1, the default, §4).
    pub biz_mail: Option<String>,
    /// 个人邮箱 (`email_type` 2).
    pub email: Option<String>,
    /// Inside the app's visibility range (§6: lookups need it; else 60011).
    pub visible: bool,
}

/// Who posted a chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Sender {
    /// The app, by `appchat/send` (its agent id).
    App(i64),
    /// The smart bot (its `aibotid`), by passive reply or `response_url`.
    Bot(String),
    /// A member (`userid`), e.g. an @-mention of the bot.
    User(String),
}

#[derive(Clone, Debug)]
pub(crate) struct ChatMessage {
    pub id: String,
    pub sender: Sender,
    pub msgtype: String,
    /// The message body as sent (`{"content": …}` for text / markdown, the card for cards,
    /// `{"id","content","finish"}` for a stream).
    pub content: Value,
    /// Per-user replacements of a bot card (`update_template_card` with `userids`).
    pub per_user: BTreeMap<String, Value>,
    pub updates: u32,
    pub at: Duration,
}

#[derive(Clone, Debug)]
pub(crate) struct Chat {
    pub chatid: String,
    /// The app that created it by `appchat/create`; `None` for a group the sandbox only knows
    /// from the smart bot (created by users, with the bot added by hand, notes Q1).
    pub app: Option<i64>,
    pub name: String,
    pub owner: String,
    pub members: Vec<String>,
    pub messages: Vec<ChatMessage>,
}

/// One user's copy of a template card sent by `message/send` (cards are per recipient, notes Q2).
#[derive(Clone, Debug)]
pub(crate) struct UserCard {
    pub msgid: String,
    pub agent_id: i64,
    pub userid: String,
    pub task_id: String,
    pub card_type: String,
    pub card: Value,
    /// `button.replace_name`, once set: the buttons are then a disabled label.
    pub replace_name: Option<String>,
    /// Every update applied, oldest first (`{"via", "response_code", …}`).
    pub updates: Vec<Value>,
    pub at: Duration,
}

/// What a response code may update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CodeScope {
    /// The send-time code of `message/send`: every recipient of `msgid`.
    Send,
    /// A click's `ResponseCode` (notes Q2: "each click's ResponseCode").
    Click { user: String },
}

#[derive(Clone, Debug)]
pub(crate) struct ResponseCode {
    pub agent_id: i64,
    pub msgid: String,
    pub scope: CodeScope,
    pub issued_at: Duration,
    pub used_at: Option<Duration>,
}

/// A smart bot's `response_url` code (notes Q1: once, 1 h).
#[derive(Clone, Debug)]
pub(crate) struct BotCode {
    pub agent_id: i64,
    pub chatid: String,
    pub user: String,
    pub issued_at: Duration,
    pub used_at: Option<Duration>,
}

#[derive(Clone, Debug)]
pub(crate) struct Stream {
    pub id: String,
    pub agent_id: i64,
    pub chatid: String,
    pub user: String,
    pub content: String,
    pub finish: bool,
    pub polls: u32,
    /// Every content the stream showed, in order (the reply to the question, then each
    /// refresh's).
    pub shown: Vec<String>,
    /// The user's message that started it: polling stops 6 min after (notes Q1).
    pub started_at: Duration,
    /// The chat message showing it.
    pub message_id: String,
}

/// A message WeCom accepted and silently did not deliver (§5: over 30/min to one member).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub userid: String,
    pub msgid: String,
    pub msgtype: String,
    pub reason: String,
    pub at_ms: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub agent_id: i64,
    pub expires_at: Duration,
}

/// Everything behind the sandbox's mutex.
pub(crate) struct State {
    start: Instant,
    epoch_at_start: Duration,
    offset: Duration,
    frozen: Option<Duration>,
    /// By agent id.
    pub apps: BTreeMap<i64, App>,
    pub users: Vec<User>,
    pub chats: Vec<Chat>,
    pub cards: Vec<UserCard>,
    /// Non-card app messages to users (`message/send` text, markdown, …): (userid, msgtype, body).
    pub direct: Vec<(String, String, Value)>,
    pub codes: HashMap<String, ResponseCode>,
    pub bot_codes: HashMap<String, BotCode>,
    pub streams: Vec<Stream>,
    /// How often the smart bot polls an unfinished stream by itself (`stream_poll`); `None`:
    /// only when a test calls `poll_stream`.
    pub stream_poll_every: Option<Duration>,
    pub dropped: Vec<Dropped>,
    pub tokens: HashMap<String, Token>,
    pub latest_token: HashMap<i64, String>,
    pub limiter: Limiter,
    /// (corp, China day) → chats created; (corp, hour) → chat changes (§3 caps).
    pub chat_creates: HashMap<(String, u64), u32>,
    pub chat_changes: HashMap<(String, u64), u32>,
    pub calls: Vec<CallRecord>,
    pub deliveries: Vec<Delivery>,
    pub base_url: String,
    /// The caller address the sandbox pretends to see (tests make a caller "untrusted").
    pub seen_ip: Option<String>,
    /// Applied to the next callback sent, then cleared.
    pub tamper_next: Option<Tamper>,
}

impl State {
    pub fn new() -> Self {
        State {
            start: Instant::now(),
            epoch_at_start: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(),
            offset: Duration::ZERO,
            frozen: None,
            apps: BTreeMap::new(),
            users: Vec::new(),
            chats: Vec::new(),
            cards: Vec::new(),
            direct: Vec::new(),
            codes: HashMap::new(),
            bot_codes: HashMap::new(),
            streams: Vec::new(),
            stream_poll_every: Some(super::stream_poll::DEFAULT_POLL_EVERY),
            dropped: Vec::new(),
            tokens: HashMap::new(),
            latest_token: HashMap::new(),
            limiter: Limiter::default(),
            chat_creates: HashMap::new(),
            chat_changes: HashMap::new(),
            calls: Vec::new(),
            deliveries: Vec::new(),
            base_url: String::new(),
            seen_ip: None,
            tamper_next: None,
        }
    }

    /// Sandbox time since creation: real time (stopped once frozen) plus `advance`.
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

    /// Wall-clock Unix time at sandbox time `at`.
    pub fn wall(&self, at: Duration) -> Duration {
        self.epoch_at_start + at
    }

    /// The China-time calendar day of `at` (§5: "per-day limits block for the natural day").
    pub fn china_day(&self, at: Duration) -> u64 {
        (self.wall(at).as_secs() + 8 * 3600) / 86_400
    }

    pub fn hour(&self, at: Duration) -> u64 {
        self.wall(at).as_secs() / 3600
    }

    pub fn user(&self, userid: &str) -> Option<&User> {
        self.users.iter().find(|u| u.userid == userid)
    }

    pub fn chat(&self, chatid: &str) -> Option<&Chat> {
        self.chats.iter().find(|c| c.chatid == chatid)
    }

    pub fn chat_mut(&mut self, chatid: &str) -> Option<&mut Chat> {
        self.chats.iter_mut().find(|c| c.chatid == chatid)
    }

    /// The chat a smart-bot callback names, created as a user-made group if unknown.
    pub fn bot_chat(&mut self, chatid: &str, user: &str) -> &mut Chat {
        if let Some(i) = self.chats.iter().position(|c| c.chatid == chatid) {
            return &mut self.chats[i];
        }
        self.chats.push(Chat {
            chatid: chatid.to_string(),
            app: None,
            name: String::new(),
            owner: user.to_string(),
            members: vec![user.to_string()],
            messages: Vec::new(),
        });
        self.chats.last_mut().expect("just pushed")
    }
}

/// `n` random bytes as lowercase hex.
pub(crate) fn hex_id(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// Random `[0-9a-zA-Z]` (chat ids, nonces, codes).
pub(crate) fn alnum(n: usize) -> String {
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..n).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// Digits only (nonces, as the official samples use).
pub(crate) fn digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|i| char::from(b'0' + if i == 0 { rng.random_range(1..10) } else { rng.random_range(0..10) })).collect()
}
