//! The DingTalk sandbox's in-memory world: apps, users, scene groups, robot messages, cards,
//! tokens, usage counters, and the movable clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde_json::Value;

use super::callbacks::Delivery;
use super::ratelimit::Limiter;
use super::{CallRecord, Edition};

/// A self-built (企业内部) app, as registered in the developer console.
#[derive(Clone, Debug)]
pub(crate) struct App {
    pub client_id: String,
    pub client_secret: String,
    pub corp_id: String,
    /// The scene-group robot of this app's group templates (notes Q5/Q8: a robotCode of its own,
    /// not the AppKey). The app's own robot's code is the AppKey (reference §1).
    pub group_robot_code: String,
    pub template_ids: BTreeSet<String>,
    pub edition: Edition,
    pub permissions: BTreeSet<String>,
    /// HTTP event subscription (§2a): URL, 签名 Token, aes_key.
    pub event_url: Option<String>,
    pub event_token: String,
    pub event_aes_key: String,
    /// The robot's 消息接收地址 (§2b).
    pub robot_url: Option<String>,
}

impl App {
    /// Robot codes this app may send with: its own robot and its templates' group robot.
    pub fn owns_robot(&self, robot_code: &str) -> bool {
        robot_code == self.client_id || robot_code == self.group_robot_code
    }
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub user_id: String,
    pub union_id: String,
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub id: String,
    /// A `userid`, or the robot code for robot messages.
    pub sender: String,
    pub from_robot: bool,
    /// `sampleText`, `sampleMarkdown`, … for robot sends; `text` for users' messages.
    pub msg_key: String,
    /// `msgParam` parsed (robot), or `{"content": text}` (users).
    pub param: Value,
    pub at: Duration,
}

#[derive(Clone, Debug)]
pub(crate) struct Card {
    pub out_track_id: String,
    pub app: String,
    pub template_id: String,
    /// `openConversationId` of the group it was delivered to, once delivered.
    pub group: Option<String>,
    pub robot_code: Option<String>,
    pub card_data: BTreeMap<String, String>,
    /// The last `userPrivateData` / `privateData` set, per user where known.
    pub private_data: BTreeMap<String, BTreeMap<String, String>>,
    pub callback_route_key: Option<String>,
    pub updated_count: u32,
    pub created_at: Duration,
    /// `PUT /v1.0/card/streaming` calls it took, oldest first (`streaming`).
    pub streamed: Vec<StreamUpdate>,
    /// An `isFinalize` or `isError` stream ended it.
    pub finalized: bool,
}

/// One accepted streaming update of an AI card.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StreamUpdate {
    pub guid: String,
    pub key: String,
    pub content: String,
    pub is_full: bool,
    pub finalize: bool,
    pub error: bool,
    #[serde(skip)]
    pub at: Duration,
}

#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub open_conversation_id: String,
    pub chat_id: String,
    pub app: String,
    pub title: String,
    pub template_id: String,
    pub owner: String,
    pub robot_code: String,
    pub members: Vec<String>,
    pub disbanded: bool,
    pub messages: Vec<Message>,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub app: String,
    pub expires_at: Duration,
}

/// A card callback route registered with `POST /v1.0/card/callbacks/register`.
#[derive(Clone, Debug)]
pub(crate) struct CardRoute {
    pub url: String,
    pub api_secret: Option<String>,
}

/// Everything behind the sandbox's mutex.
pub(crate) struct State {
    start: Instant,
    epoch_at_start: Duration,
    offset: Duration,
    frozen: Option<Duration>,
    pub apps: BTreeMap<String, App>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// (app, uuid) → openConversationId: scene-group create idempotency.
    pub group_uuids: HashMap<(String, String), String>,
    pub cards: Vec<Card>,
    pub tokens: HashMap<String, Token>,
    pub latest_token: HashMap<String, String>,
    /// (app, callbackRouteKey) → route.
    pub card_routes: HashMap<(String, String), CardRoute>,
    /// sessionWebhook id → (group, expires_at).
    pub sessions: HashMap<String, (String, Duration)>,
    pub limiter: Limiter,
    /// (corp_id, month) → metered calls; (app, month) → metered calls.
    pub corp_usage: HashMap<(String, i32), u64>,
    pub app_usage: HashMap<(String, i32), u64>,
    pub calls: Vec<CallRecord>,
    pub deliveries: Vec<Delivery>,
    pub base_url: String,
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
            groups: Vec::new(),
            group_uuids: HashMap::new(),
            cards: Vec::new(),
            tokens: HashMap::new(),
            latest_token: HashMap::new(),
            card_routes: HashMap::new(),
            sessions: HashMap::new(),
            limiter: Limiter::default(),
            corp_usage: HashMap::new(),
            app_usage: HashMap::new(),
            calls: Vec::new(),
            deliveries: Vec::new(),
            base_url: String::new(),
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

    /// Wall-clock milliseconds since the Unix epoch at sandbox time `at`.
    pub fn wall_ms(&self, at: Duration) -> u128 {
        (self.epoch_at_start + at).as_millis()
    }

    /// The calendar month (China time, where the quota "resets on the 1st", reference §5) of
    /// sandbox time `at`, as `year * 12 + month`.
    pub fn month(&self, at: Duration) -> i32 {
        let secs = ((self.epoch_at_start + at).as_secs()) as i64;
        let china = time::UtcOffset::from_hms(8, 0, 0).expect("a valid offset");
        let t = time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH).to_offset(china);
        t.year() * 12 + i32::from(u8::from(t.month()))
    }

    pub fn user(&self, user_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.user_id == user_id)
    }

    pub fn group(&self, ocid: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.open_conversation_id == ocid)
    }

    pub fn group_mut(&mut self, ocid: &str) -> Option<&mut Group> {
        self.groups.iter_mut().find(|g| g.open_conversation_id == ocid)
    }

    pub fn card(&self, out_track_id: &str) -> Option<&Card> {
        self.cards.iter().find(|c| c.out_track_id == out_track_id)
    }

    pub fn card_mut(&mut self, out_track_id: &str) -> Option<&mut Card> {
        self.cards.iter_mut().find(|c| c.out_track_id == out_track_id)
    }
}

/// `n` random bytes as lowercase hex.
pub(crate) fn hex_id(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// A random alphanumeric string (nonces, request ids).
pub(crate) fn alnum(n: usize) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// The v1.0 `requestid` shape, `01A08FE7-CD6B-79BB-8B2E-35D8768AD457` (seen in live answers).
pub(crate) fn request_id() -> String {
    let h = hex_id(16).to_uppercase();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A `cid…==` openConversationId, as the SDK examples show them (`cidXXXXXXXXX==`).
pub(crate) fn conversation_id() -> String {
    use base64::Engine;
    let mut buf = [0u8; 16];
    rand::rng().fill(&mut buf);
    format!("cid{}", base64::engine::general_purpose::STANDARD.encode(buf))
}
