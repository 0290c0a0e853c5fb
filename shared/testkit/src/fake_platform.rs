//! An in-memory IM platform for tests. It keeps the rules real platforms enforce (name
//! uniqueness, per-user invite failures, idempotent create, gone chats refuse everything),
//! so a test passing against it says something about the engine, not about a yes-machine.
//! Failures can be injected per operation, once or always, before the call or after it took
//! effect (a lost answer). Ids are readable and sequential (`C0001`, `M0001`) so assertions
//! can name them. The port itself is in `fake_platform_port.rs`.

use crate::fixtures::T0;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use warroom_core::ratelimit::BucketSpec;
use warroom_core::*;

/// The author of everything the app itself posts.
pub const BOT: &str = "bot";

/// What `FakeFactory::required_scopes` answers, and what a fresh fake reports as granted.
pub const REQUIRED_SCOPES: [(&str, &str); 3] =
    [("chat:write", "post the status card"), ("channels:manage", "create war-room channels"), ("users:read.email", "link members by email")];

/// The operations failures can be injected into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[rustfmt::skip]
pub enum FakeOp {
    CreateChat, AddMembers, PostCard, UpdateCard, SendText, DismissChat,
    LookupEmail, LookupPhone, History, GrantedScopes, ListChats, SetTopic, FindCard, FindNotice,
}

/// How a retried card post avoids a second card, as the real platforms allow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CardDedupe {
    /// Like Slack: every post is a new message, and `find_card` finds the bot's card of the
    /// incident in the chat's history.
    #[default]
    Lookup,
    /// Like Feishu's `uuid`: a post for the same incident in the same chat answers the card
    /// already there, unchanged; `find_card` finds nothing.
    IdempotencyKey,
    /// Neither: a lost answer leaves two cards (what the engine cannot help).
    Neither,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FakeMessageKind {
    Text(String),
    Card(Card),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeMessage {
    pub id: MessageId,
    pub at: Timestamp,
    /// `BOT` for the app's own messages, else the human's user id (see `say`).
    pub author: ImUserId,
    pub kind: FakeMessageKind,
    /// How many times `update_card` rewrote it.
    pub edits: u32,
}

/// A chat as a test sees it (a copy: mutating it changes nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeChat {
    pub id: ChatId,
    pub name: String,
    pub topic: String,
    pub private: bool,
    /// Human members; the bot is implicit.
    pub members: BTreeSet<ImUserId>,
    /// Disbanded / archived, by the app or from inside the IM.
    pub disbanded: bool,
    /// The bot left instead of disbanding (platforms without `dismiss`): the chat lives on
    /// for humans but the bot can no longer act in it.
    pub bot_left: bool,
    pub messages: Vec<FakeMessage>,
}

struct FakeUser {
    id: ImUserId,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Default)]
struct Failures {
    once: HashMap<FakeOp, VecDeque<ImError>>,
    always: HashMap<FakeOp, ImError>,
    invite: HashMap<ImUserId, ImError>,
    /// The next call of these takes effect, then answers `Transient`.
    lose_answer: HashSet<FakeOp>,
    /// How many answers were lost so.
    lost: usize,
}

struct State {
    platform: Platform,
    capabilities: Capabilities,
    granted_scopes: Vec<String>,
    users: Vec<FakeUser>,
    chats: Vec<FakeChat>,
    keys: HashMap<String, ChatId>,
    card_dedupe: CardDedupe,
    /// Messages per second per chat the rate-limit buckets allow (Slack: 1).
    chat_rate: u32,
    failures: Failures,
    calls: Vec<String>,
    next_chat: u32,
    next_message: u32,
}

impl State {
    fn find(&mut self, id: &str) -> Option<&mut FakeChat> {
        self.chats.iter_mut().find(|c| c.id.as_str() == id)
    }

    /// A chat the bot may act in. Unknown ids answer `ChatGone` too: real adapters map
    /// `channel_not_found` / Feishu's "chat not exist" to it.
    fn usable(&mut self, id: &ChatId) -> ImResult<&mut FakeChat> {
        self.find(id.as_str()).filter(|c| !c.disbanded && !c.bot_left).ok_or(ImError::ChatGone)
    }

    /// Appends to a chat the caller has checked. Time is counter-based: deterministic,
    /// strictly increasing, one second apart.
    fn push(&mut self, chat: &str, author: ImUserId, kind: FakeMessageKind) -> MessageId {
        self.next_message += 1;
        let n = self.next_message;
        let (id, at) = (MessageId(format!("M{n:04}")), Timestamp(T0.millis() + i64::from(n) * 1000));
        let c = self.find(chat).expect("push into a checked chat");
        c.messages.push(FakeMessage { id: id.clone(), at, author, kind, edits: 0 });
        id
    }

    /// Calls the platform lacks are refused, so an engine that ignores capabilities is caught.
    fn require(&self, capable: bool, what: &str) -> ImResult<()> {
        capable.then_some(()).ok_or_else(|| rejected("not_supported", format!("{} has no {what}", self.platform)))
    }
}

fn rejected(code: &str, message: impl Into<String>) -> ImError {
    ImError::Rejected { code: code.into(), message: message.into() }
}

/// A handle on one fake platform (one integration). Clones share the same state, so a test
/// keeps one to set up and inspect while the engine holds another as `Arc<dyn ImPlatform>`.
#[derive(Clone)]
pub struct FakePlatform {
    state: Arc<Mutex<State>>,
}

impl FakePlatform {
    pub fn new(platform: Platform) -> Self {
        let (t, scopes) = (true, REQUIRED_SCOPES.iter().map(|(s, _)| s.to_string()).collect());
        #[rustfmt::skip]
        let capabilities = Capabilities { interactive_cards: t, update_card: t, dismiss: t, history: t,
            idempotent_create: t, lookup_by_email: t, lookup_by_phone: t, edit_answers: t, reply_opened_by_callback: false };
        #[rustfmt::skip]
        let state = State { platform, capabilities, granted_scopes: scopes, users: vec![], chats: vec![], keys: HashMap::new(),
            card_dedupe: CardDedupe::default(), chat_rate: 5, failures: Failures::default(), calls: vec![], next_chat: 0, next_message: 0 };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// A panicking assertion elsewhere must not turn every later call into a poison error.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Logs the call, then answers with an injected failure if one is due: one-shot failures
    /// first, so a test can stack a blip on a standing outage. The guard must never cross an
    /// await; none of the port's methods here await anything.
    fn enter(&self, op: FakeOp, call: String) -> ImResult<MutexGuard<'_, State>> {
        let mut s = self.lock();
        s.calls.push(call);
        let once = s.failures.once.get_mut(&op).and_then(VecDeque::pop_front);
        match once.or_else(|| s.failures.always.get(&op).cloned()) {
            Some(err) => Err(err),
            None => Ok(s),
        }
    }

    fn with(&self, change: impl FnOnce(&mut State)) -> &Self {
        change(&mut self.lock());
        self
    }

    /// `name` keeps setups readable; the port never asks for names.
    pub fn add_user(&self, id: &str, _name: &str, email: Option<&str>, phone: Option<&str>) -> &Self {
        let user = FakeUser { id: id.into(), email: email.map(str::to_owned), phone: phone.map(str::to_owned) };
        self.with(|s| s.users.push(user))
    }

    /// Defaults to everything true. What it lacks is then refused: `Rejected{code:"not_supported"}`.
    pub fn set_capabilities(&self, capabilities: Capabilities) -> &Self {
        self.with(|s| s.capabilities = capabilities)
    }

    /// Defaults to the names in `REQUIRED_SCOPES`.
    pub fn set_granted_scopes(&self, scopes: Vec<String>) -> &Self {
        self.with(|s| s.granted_scopes = scopes)
    }

    /// The next call of `op` fails with `err` (queued: several calls queue several failures).
    pub fn fail_next(&self, op: FakeOp, err: ImError) -> &Self {
        self.with(|s| s.failures.once.entry(op).or_default().push_back(err))
    }

    /// Every call of `op` fails with `err` until `clear_failures`.
    pub fn fail_always(&self, op: FakeOp, err: ImError) -> &Self {
        self.with(|s| _ = s.failures.always.insert(op, err))
    }

    /// Inviting `user` fails with `err`; the rest of the invite goes through.
    pub fn fail_invite(&self, user: &str, err: ImError) -> &Self {
        self.with(|s| _ = s.failures.invite.insert(user.into(), err))
    }

    /// The next successful create makes the chat, then answers `Transient`, like a timeout
    /// after the platform acted: the engine cannot know the chat exists.
    pub fn fail_after_create_next(&self) -> &Self {
        self.lose_answer_next(FakeOp::CreateChat)
    }

    /// The next successful call of `op` takes effect, then answers `Transient` (a timeout or a
    /// 5xx after the platform acted): the caller cannot know it happened.
    pub fn lose_answer_next(&self, op: FakeOp) -> &Self {
        self.with(|s| _ = s.failures.lose_answer.insert(op))
    }

    /// How many calls took effect with their answer lost (`lose_answer_next`).
    pub fn answers_lost(&self) -> usize {
        self.lock().failures.lost
    }

    /// Messages per second per chat in `buckets` (default 5; Slack allows 1).
    pub fn set_chat_rate(&self, per_second: u32) -> &Self {
        self.with(|s| s.chat_rate = per_second.max(1))
    }

    /// Defaults to `CardDedupe::Lookup` (Slack-like).
    pub fn set_card_dedupe(&self, dedupe: CardDedupe) -> &Self {
        self.with(|s| s.card_dedupe = dedupe)
    }

    /// Drops every injected failure, per-user invite failures included (the count of lost
    /// answers is kept).
    pub fn clear_failures(&self) -> &Self {
        self.with(|s| s.failures = Failures { lost: s.failures.lost, ..Failures::default() })
    }

    /// A human posts `text`. Panics unless the chat is live and `user` a known member: a
    /// test that needs otherwise has set itself up wrong.
    pub fn say(&self, chat: &str, user: &str, text: &str) -> MessageId {
        let mut s = self.lock();
        let user = ImUserId::from(user);
        assert!(s.users.iter().any(|u| u.id == user), "say: unknown user {user}");
        let c = s.find(chat).unwrap_or_else(|| panic!("say: no chat {chat}"));
        assert!(!c.disbanded, "say: chat {chat} is disbanded");
        assert!(c.members.contains(&user), "say: {user} is not a member of {chat}");
        s.push(chat, user, FakeMessageKind::Text(text.into()))
    }

    /// A human disbands / archives the chat; the app is not told.
    pub fn disband_from_inside(&self, chat: &str) {
        let mut s = self.lock();
        s.find(chat).unwrap_or_else(|| panic!("disband_from_inside: no chat {chat}")).disbanded = true;
    }

    /// All chats ever created, in creation order, disbanded ones included.
    pub fn chats(&self) -> Vec<FakeChat> {
        self.lock().chats.clone()
    }

    pub fn chat(&self, id: &str) -> Option<FakeChat> {
        self.lock().find(id).cloned()
    }

    /// Every call attempted through the port, failed ones included, e.g.
    /// `create_chat name=inc-1 key=k1`, `add_members C0001 [U1,U2]`, `post_card C0001`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// How many cards the bot has posted in the chat (edits do not count).
    pub fn cards_in(&self, chat: &str) -> usize {
        let mut s = self.lock();
        let cards = |c: &mut FakeChat| c.messages.iter().filter(|m| matches!(m.kind, FakeMessageKind::Card(_))).count();
        s.find(chat).map(cards).unwrap_or(0)
    }

    /// The latest card posted in the chat, as last edited.
    pub fn card_of(&self, chat: &str) -> Option<Card> {
        let mut s = self.lock();
        let card = |m: &FakeMessage| if let FakeMessageKind::Card(card) = &m.kind { Some(card.clone()) } else { None };
        s.find(chat)?.messages.iter().rev().find_map(card)
    }
}

/// Hands out the fake registered for an integration. Clones share the map, so a test may
/// register fakes after wiring the factory into the code under test.
#[derive(Clone, Default)]
pub struct FakeFactory {
    platforms: Arc<Mutex<HashMap<IntegrationId, FakePlatform>>>,
}

impl FakeFactory {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn insert(&self, integration_id: IntegrationId, platform: FakePlatform) -> &Self {
        self.platforms.lock().unwrap_or_else(|e| e.into_inner()).insert(integration_id, platform);
        self
    }
}

impl PlatformFactory for FakeFactory {
    fn for_integration(&self, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>> {
        let map = self.platforms.lock().unwrap_or_else(|e| e.into_inner());
        let (id, platform) = (&integration.id, integration.platform);
        let fake = map.get(id).ok_or_else(|| ImError::Unauthorized(format!("no fake platform for integration {id}")))?;
        // A mismatch is a test set up wrong; say so rather than run a Slack flow on Feishu.
        if fake.platform() != platform {
            let msg = format!("the fake for integration {id} is {}, the integration says {platform}", fake.platform());
            return Err(ImError::Unauthorized(msg));
        }
        Ok(Arc::new(fake.clone()))
    }

    fn required_scopes(&self, _platform: Platform) -> Vec<(&'static str, &'static str)> {
        REQUIRED_SCOPES.to_vec()
    }

    fn callbacks(&self, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>> {
        self.for_integration(integration)?;
        Ok(Arc::new(crate::fake_callbacks::FakeCodec))
    }
}

#[path = "fake_platform_port.rs"]
mod port;

#[cfg(test)]
#[path = "fake_platform_tests.rs"]
mod tests;
