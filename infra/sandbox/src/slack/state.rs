//! The sandbox's world: workspaces, users, channels with their messages, tokens, OAuth codes,
//! counters. Everything here is synchronous and lives behind one mutex (never held across an
//! `.await`). JSON renderers follow the object shapes of the docs examples scraped in
//! slack-ruby/slack-api-ref (`docs.slack.dev/methods/*.json`, `examples`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::distr::Alphanumeric;
use rand::Rng;
use serde_json::{json, Value};

use super::ratelimit::RateLimiter;
use super::{ChannelView, EphemeralView, MessageView, ReactionView, SandboxConfig};

pub(crate) struct Workspace {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub bot_user_id: String,
    pub bot_id: String,
    /// The primary owner, created with the workspace; the "user" who installs the app.
    pub owner_id: String,
}

pub(crate) struct User {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub email: Option<String>,
    pub bot_id: Option<String>,
}

#[derive(Clone, Default)]
pub(crate) struct Topic {
    pub value: String,
    pub creator: String,
    pub last_set: u64,
}

pub(crate) struct Channel {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub topic: Topic,
    pub is_private: bool,
    pub is_archived: bool,
    pub creator: String,
    pub created: u64,
    pub members: Vec<String>,
    /// Oldest first (the order they were posted in).
    pub messages: Vec<Message>,
}

#[derive(Clone)]
pub(crate) struct Message {
    pub ts: String,
    pub user: Option<String>,
    pub bot_id: Option<String>,
    pub text: String,
    pub blocks: Option<Value>,
    pub edited: Option<(String, String)>,
    pub thread_ts: Option<String>,
    pub reactions: Vec<(String, Vec<String>)>,
    /// A chat.startStream message not stopped yet.
    pub streaming: bool,
}

pub(crate) struct TokenInfo {
    pub team_id: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
}

pub(crate) struct OAuthCode {
    pub team_id: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub issued: Instant,
    pub used: bool,
}

/// A `response_url` handed out with a click; docs say it may be used up to 5 times within
/// 30 minutes (UNCERTAIN: the reference could not confirm it, see §2 "Interactivity").
pub(crate) struct ResponseUrl {
    pub channel_id: String,
    pub message_ts: String,
    pub uses: u32,
    pub issued: Instant,
}

pub(crate) struct State {
    pub cfg: SandboxConfig,
    pub app_id: String,
    pub verification_token: String,
    pub base_url: String,
    pub workspaces: Vec<Workspace>,
    pub users: BTreeMap<String, User>,
    pub channels: BTreeMap<String, Channel>,
    pub tokens: HashMap<String, TokenInfo>,
    pub codes: HashMap<String, OAuthCode>,
    pub limiter: RateLimiter,
    pub rate_limited: u64,
    pub calls: Vec<(String, bool)>,
    pub response_urls: HashMap<String, ResponseUrl>,
    pub response_posts: Vec<Value>,
    pub ephemerals: Vec<EphemeralView>,
    /// Envelopes sent, by event_id, with how many retries were sent since.
    pub events: HashMap<String, (Value, u32)>,
    pub event_order: Vec<String>,
    /// Channels where chat.startStream is refused (`refuse_streams_in`).
    pub no_streams: BTreeSet<String>,
    pub stream_log: Vec<super::stream::StreamAppend>,
    counter: u64,
    last_ts_micros: u128,
}

pub(crate) fn random_alnum(n: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}

pub(crate) fn random_digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A Slack `ts` ("1503435956.000247") as a sortable key; `"123"` and `"123.4"` are accepted.
pub(crate) fn ts_key(ts: &str) -> Option<(u64, u32)> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    if secs.is_empty() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().ok()? };
    Some((secs.parse().ok()?, micros))
}

impl State {
    pub fn new(cfg: SandboxConfig) -> Self {
        State {
            cfg,
            app_id: format!("A0{}", random_alnum(9).to_uppercase()),
            verification_token: random_alnum(24),
            base_url: "http://127.0.0.1".into(),
            workspaces: Vec::new(),
            users: BTreeMap::new(),
            channels: BTreeMap::new(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            limiter: RateLimiter::default(),
            rate_limited: 0,
            calls: Vec::new(),
            response_urls: HashMap::new(),
            response_posts: Vec::new(),
            ephemerals: Vec::new(),
            events: HashMap::new(),
            event_order: Vec::new(),
            no_streams: BTreeSet::new(),
            stream_log: Vec::new(),
            counter: 0,
            last_ts_micros: 0,
        }
    }

    /// A fresh Slack-looking ID: prefix + 10 uppercase alphanumerics, increasing.
    pub fn next_id(&mut self, prefix: char) -> String {
        self.counter += 1;
        format!("{prefix}0{:09X}", self.counter)
    }

    pub fn raise_counter(&mut self, floor: u64) {
        self.counter = self.counter.max(floor);
    }

    /// A fresh message `ts`, strictly increasing across the sandbox (so unique per channel).
    pub fn next_ts(&mut self) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
        let micros = now.max(self.last_ts_micros + 1);
        self.last_ts_micros = micros;
        format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
    }

    pub fn workspace(&self, team_id: &str) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| w.id == team_id)
    }

    pub fn add_workspace(&mut self, team_id: &str, name: &str) {
        if self.workspace(team_id).is_some() {
            return;
        }
        let domain: String = name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let domain = domain.trim_matches('-').to_string();
        let (bot_user_id, bot_id, owner_id) = (self.next_id('U'), self.next_id('B'), self.next_id('U'));
        let bot = User { id: bot_user_id.clone(), team_id: team_id.into(), name: "bot".into(), email: None, bot_id: Some(bot_id.clone()) };
        self.users.insert(bot_user_id.clone(), bot);
        let owner_email = format!("owner@{domain}.example.com");
        let owner = User { id: owner_id.clone(), team_id: team_id.into(), name: "owner".into(), email: Some(owner_email), bot_id: None };
        self.users.insert(owner_id.clone(), owner);
        self.workspaces.push(Workspace { id: team_id.into(), name: name.into(), domain, bot_user_id, bot_id, owner_id });
    }

    pub fn issue_token(&mut self, team_id: &str, scopes: Vec<String>) -> String {
        let token = format!("xoxb-{}-{}-{}", random_digits(11), random_digits(13), random_alnum(24));
        self.tokens.insert(token.clone(), TokenInfo { team_id: team_id.into(), scopes, revoked: false });
        token
    }

    pub fn user_in_team(&self, user_id: &str, team_id: &str) -> Option<&User> {
        self.users.get(user_id).filter(|u| u.team_id == team_id)
    }

    pub fn user_json(&self, u: &User) -> Value {
        let real_name = u.name.clone();
        let mut profile = json!({"real_name": real_name, "display_name": u.name, "real_name_normalized": real_name,
            "display_name_normalized": u.name, "team": u.team_id});
        if let Some(email) = &u.email {
            profile["email"] = json!(email);
        }
        if let Some(bot_id) = &u.bot_id {
            profile["bot_id"] = json!(bot_id);
        }
        json!({"id": u.id, "team_id": u.team_id, "name": u.name, "deleted": false, "real_name": real_name,
            "tz": "Etc/UTC", "tz_label": "Coordinated Universal Time", "tz_offset": 0, "profile": profile,
            "is_admin": false, "is_owner": false, "is_primary_owner": false, "is_restricted": false,
            "is_ultra_restricted": false, "is_bot": u.bot_id.is_some(), "is_app_user": false, "updated": 0})
    }

    /// A conversation object as conversations.info / create / setTopic return it. `viewer` adds
    /// `is_member` (omitted by users.conversations, per its docs example).
    pub fn channel_json(&self, c: &Channel, viewer: Option<&str>) -> Value {
        let mut v = json!({"id": c.id, "name": c.name, "is_channel": true, "is_group": false, "is_im": false,
            "is_mpim": false, "is_private": c.is_private, "created": c.created, "creator": c.creator,
            "is_archived": c.is_archived, "is_general": false, "unlinked": 0, "name_normalized": c.name,
            "is_shared": false, "is_ext_shared": false, "is_org_shared": false, "pending_shared": [],
            "is_pending_ext_shared": false, "context_team_id": c.team_id, "shared_team_ids": [c.team_id],
            "topic": {"value": c.topic.value, "creator": c.topic.creator, "last_set": c.topic.last_set},
            "purpose": {"value": "", "creator": "", "last_set": 0}, "previous_names": []});
        if let Some(viewer) = viewer {
            v["is_member"] = json!(c.members.iter().any(|m| m == viewer));
            v["num_members"] = json!(c.members.len());
        }
        v
    }

    pub fn message_json(&self, team_id: &str, m: &Message) -> Value {
        let mut v = json!({"type": "message", "text": m.text, "ts": m.ts, "team": team_id});
        if let Some(user) = &m.user {
            v["user"] = json!(user);
        }
        if let Some(bot_id) = &m.bot_id {
            v["bot_id"] = json!(bot_id);
            v["app_id"] = json!(self.app_id);
        }
        if let Some(blocks) = &m.blocks {
            v["blocks"] = blocks.clone();
        }
        if let Some((user, ts)) = &m.edited {
            v["edited"] = json!({"user": user, "ts": ts});
        }
        if let Some(thread_ts) = &m.thread_ts {
            v["thread_ts"] = json!(thread_ts);
        }
        if !m.reactions.is_empty() {
            let r: Vec<Value> = m.reactions.iter().map(|(n, us)| json!({"name": n, "users": us, "count": us.len()})).collect();
            v["reactions"] = json!(r);
        }
        v
    }

    pub fn channel_view(&self, c: &Channel) -> ChannelView {
        let messages = c
            .messages
            .iter()
            .map(|m| MessageView {
                ts: m.ts.clone(),
                user: m.user.clone(),
                bot_id: m.bot_id.clone(),
                text: m.text.clone(),
                blocks: m.blocks.clone(),
                edited: m.edited.is_some(),
                thread_ts: m.thread_ts.clone(),
                streaming: m.streaming,
                reactions: m.reactions.iter().map(|(n, u)| ReactionView { name: n.clone(), users: u.clone() }).collect(),
            })
            .collect();
        ChannelView {
            id: c.id.clone(),
            team_id: c.team_id.clone(),
            name: c.name.clone(),
            topic: c.topic.value.clone(),
            is_private: c.is_private,
            is_archived: c.is_archived,
            creator: c.creator.clone(),
            members: c.members.clone(),
            messages,
        }
    }

    pub fn new_channel(&mut self, team_id: &str, creator: &str, name: &str, is_private: bool) -> String {
        let id = self.next_id('C');
        let ch = Channel {
            id: id.clone(),
            team_id: team_id.into(),
            name: name.into(),
            topic: Topic::default(),
            is_private,
            is_archived: false,
            creator: creator.into(),
            created: unix_now(),
            members: vec![creator.to_string()],
            messages: Vec::new(),
        };
        self.channels.insert(id.clone(), ch);
        id
    }
}
