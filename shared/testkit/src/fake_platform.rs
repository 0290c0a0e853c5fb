//! An in-memory IM platform for tests. It keeps the rules real platforms enforce (name
//! uniqueness, per-user invite failures, idempotent create, gone chats refuse everything),
//! so a test passing against it says something about the engine, not about a yes-machine.
//! Failures can be injected per operation, once or always. Ids are readable and sequential
//! (`C0001`, `M0001`) so assertions can name them.

use crate::fixtures::T0;
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use warroom_core::ratelimit::BucketSpec;
use warroom_core::*;

/// The author of everything the app itself posts.
pub const BOT: &str = "bot";

/// What `FakeFactory::required_scopes` answers, and what a fresh fake reports as granted.
pub const REQUIRED_SCOPES: [(&str, &str); 3] = [
    ("chat:write", "post the status card"),
    ("channels:manage", "create war-room channels"),
    ("users:read.email", "link members by email"),
];

/// The operations failures can be injected into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[rustfmt::skip]
pub enum FakeOp {
    CreateChat, AddMembers, PostCard, UpdateCard, SendText, DismissChat,
    LookupEmail, LookupPhone, History, GrantedScopes, ListChats,
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
    after_create_next: bool,
}

struct State {
    platform: Platform,
    capabilities: Capabilities,
    granted_scopes: Vec<String>,
    users: Vec<FakeUser>,
    chats: Vec<FakeChat>,
    keys: HashMap<String, ChatId>,
    failures: Failures,
    calls: Vec<String>,
    next_chat: u32,
    next_message: u32,
}

impl State {
    fn find(&mut self, id: &str) -> Option<&mut FakeChat> { self.chats.iter_mut().find(|c| c.id.as_str() == id) }

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
            idempotent_create: t, lookup_by_email: t, lookup_by_phone: t };
        #[rustfmt::skip]
        let state = State { platform, capabilities, granted_scopes: scopes, users: vec![], chats: vec![], keys: HashMap::new(),
            failures: Failures::default(), calls: vec![], next_chat: 0, next_message: 0 };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// A panicking assertion elsewhere must not turn every later call into a poison error.
    fn lock(&self) -> MutexGuard<'_, State> { self.state.lock().unwrap_or_else(|e| e.into_inner()) }

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
    pub fn set_capabilities(&self, capabilities: Capabilities) -> &Self { self.with(|s| s.capabilities = capabilities) }

    /// Defaults to the names in `REQUIRED_SCOPES`.
    pub fn set_granted_scopes(&self, scopes: Vec<String>) -> &Self { self.with(|s| s.granted_scopes = scopes) }

    /// The next call of `op` fails with `err` (queued: several calls queue several failures).
    pub fn fail_next(&self, op: FakeOp, err: ImError) -> &Self {
        self.with(|s| s.failures.once.entry(op).or_default().push_back(err))
    }

    /// Every call of `op` fails with `err` until `clear_failures`.
    pub fn fail_always(&self, op: FakeOp, err: ImError) -> &Self { self.with(|s| _ = s.failures.always.insert(op, err)) }

    /// Inviting `user` fails with `err`; the rest of the invite goes through.
    pub fn fail_invite(&self, user: &str, err: ImError) -> &Self {
        self.with(|s| _ = s.failures.invite.insert(user.into(), err))
    }

    /// The next successful create makes the chat, then answers `Transient`, like a timeout
    /// after the platform acted: the engine cannot know the chat exists.
    pub fn fail_after_create_next(&self) -> &Self { self.with(|s| s.failures.after_create_next = true) }

    /// Drops every injected failure, per-user invite failures included.
    pub fn clear_failures(&self) -> &Self { self.with(|s| s.failures = Failures::default()) }

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
    pub fn chats(&self) -> Vec<FakeChat> { self.lock().chats.clone() }

    pub fn chat(&self, id: &str) -> Option<FakeChat> { self.lock().find(id).cloned() }

    /// Every call attempted through the port, failed ones included, e.g.
    /// `create_chat name=inc-1 key=k1`, `add_members C0001 [U1,U2]`, `post_card C0001`.
    pub fn calls(&self) -> Vec<String> { self.lock().calls.clone() }

    /// The latest card posted in the chat, as last edited.
    pub fn card_of(&self, chat: &str) -> Option<Card> {
        let mut s = self.lock();
        let card = |m: &FakeMessage| if let FakeMessageKind::Card(card) = &m.kind { Some(card.clone()) } else { None };
        s.find(chat)?.messages.iter().rev().find_map(card)
    }
}

#[async_trait]
impl ImPlatform for FakePlatform {
    fn platform(&self) -> Platform { self.lock().platform }
    fn capabilities(&self) -> Capabilities { self.lock().capabilities }

    fn buckets(&self, family: ApiFamily, chat: Option<&ChatId>) -> Vec<BucketSpec> {
        let p = self.lock().platform;
        let mut b = vec![BucketSpec::per(format!("fake.{p}.app"), 50, Duration::from_secs(1))];
        if let (ApiFamily::Message, Some(chat)) = (family, chat) {
            b.push(BucketSpec::per(format!("fake.{p}.chat.{chat}"), 5, Duration::from_secs(1)));
        }
        b
    }

    async fn granted_scopes(&self) -> ImResult<Vec<String>> {
        let s = self.enter(FakeOp::GrantedScopes, "granted_scopes".into())?;
        Ok(s.granted_scopes.clone())
    }

    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat> {
        let call = format!("create_chat name={} key={}", request.name, request.idempotency_key);
        let mut s = self.enter(FakeOp::CreateChat, call)?;
        let p = s.platform;
        let answer = |id: ChatId| CreatedChat { url: Some(format!("https://fake.{p}.example/chats/{id}")), chat_id: id };
        // Like Feishu's `uuid`: the same key answers the same chat, whatever became of it.
        // Without `idempotent_create` keys are ignored, so a retry meets `name_taken`.
        let idempotent = s.capabilities.idempotent_create;
        if let Some(id) = s.keys.get(&request.idempotency_key).filter(|_| idempotent) {
            return Ok(answer(id.clone()));
        }
        // Like Slack: a name is required, and unique among live chats.
        if request.name.trim().is_empty() {
            return Err(rejected("invalid_name_required", "a chat needs a name"));
        } else if s.chats.iter().any(|c| !c.disbanded && c.name == request.name) {
            return Err(rejected("name_taken", format!("a chat named {} exists", request.name)));
        }
        s.next_chat += 1;
        let id = ChatId(format!("C{:04}", s.next_chat));
        #[rustfmt::skip]
        s.chats.push(FakeChat { id: id.clone(), name: request.name.clone(), topic: request.topic.clone(),
            private: request.private, members: BTreeSet::new(), disbanded: false, bot_left: false, messages: vec![] });
        if idempotent {
            s.keys.insert(request.idempotency_key.clone(), id.clone());
        }
        if std::mem::take(&mut s.failures.after_create_next) {
            return Err(ImError::Transient(format!("timed out after creating {id}")));
        }
        Ok(answer(id))
    }

    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult> {
        let names: Vec<&str> = users.iter().map(ImUserId::as_str).collect();
        let mut s = self.enter(FakeOp::AddMembers, format!("add_members {chat} [{}]", names.join(",")))?;
        s.usable(chat)?;
        let mut result = InviteResult::default();
        let mut seen = BTreeSet::new();
        for user in users.iter().filter(|u| seen.insert(*u)) {
            let known = s.users.iter().any(|u| &u.id == user);
            match s.failures.invite.get(user).cloned() {
                _ if !known => result.failed.push((user.clone(), ImError::UserNotFound)),
                Some(err) => result.failed.push((user.clone(), err)),
                // Already a member counts as invited: the goal state holds (Slack's
                // `already_in_channel` is success to us).
                None => {
                    s.usable(chat)?.members.insert(user.clone());
                    result.invited.push(user.clone());
                }
            }
        }
        Ok(result)
    }

    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
        let mut s = self.enter(FakeOp::PostCard, format!("post_card {chat}"))?;
        s.usable(chat)?;
        Ok(s.push(chat.as_str(), BOT.into(), FakeMessageKind::Card(card.clone())))
    }

    async fn update_card(&self, chat: &ChatId, message: &MessageId, card: &Card) -> ImResult<()> {
        let mut s = self.enter(FakeOp::UpdateCard, format!("update_card {chat} {message}"))?;
        s.require(s.capabilities.update_card, "card updates")?;
        let c = s.usable(chat)?;
        match c.messages.iter_mut().find(|m| &m.id == message) {
            None => Err(rejected("message_not_found", format!("no message {message} in {chat}"))),
            Some(m) if m.author.as_str() != BOT => Err(rejected("cant_update_message", "not the bot's message")),
            Some(FakeMessage { kind: FakeMessageKind::Text(_), .. }) => Err(rejected("cant_update_message", "not a card")),
            Some(m) => {
                (m.kind, m.edits) = (FakeMessageKind::Card(card.clone()), m.edits + 1);
                Ok(())
            }
        }
    }

    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId> {
        let mut s = self.enter(FakeOp::SendText, format!("send_text {chat}"))?;
        s.usable(chat)?;
        if text.trim().is_empty() {
            return Err(rejected("no_text", "empty message"));
        }
        Ok(s.push(chat.as_str(), BOT.into(), FakeMessageKind::Text(text.into())))
    }

    /// Idempotent: dismissing a chat already disbanded (by the app or a human) is Ok, where
    /// Slack would answer `already_archived`; the goal state holds, so retries must not fail.
    /// Without `dismiss` the bot leaves instead, as the port says.
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()> {
        let mut s = self.enter(FakeOp::DismissChat, format!("dismiss_chat {chat}"))?;
        let can_dismiss = s.capabilities.dismiss;
        let c = s.find(chat.as_str()).ok_or(ImError::ChatGone)?;
        *(if can_dismiss { &mut c.disbanded } else { &mut c.bot_left }) = true;
        Ok(())
    }

    async fn lookup_by_email(&self, email: &str) -> ImResult<Option<ImUserId>> {
        let s = self.enter(FakeOp::LookupEmail, format!("lookup_by_email {email}"))?;
        s.require(s.capabilities.lookup_by_email, "lookup by email")?;
        let hit = s.users.iter().find(|u| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)));
        Ok(hit.map(|u| u.id.clone()))
    }

    async fn lookup_by_phone(&self, phone: &str) -> ImResult<Option<ImUserId>> {
        let s = self.enter(FakeOp::LookupPhone, format!("lookup_by_phone {phone}"))?;
        s.require(s.capabilities.lookup_by_phone, "lookup by phone")?;
        Ok(s.users.iter().find(|u| u.phone.as_deref() == Some(phone)).map(|u| u.id.clone()))
    }

    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>> {
        let s = self.enter(FakeOp::ListChats, "list_bot_chats".into())?;
        let live = s.chats.iter().filter(|c| !c.disbanded && !c.bot_left);
        Ok(live.map(|c| ChatSummary { chat_id: c.id.clone(), name: c.name.clone() }).collect())
    }

    /// Text messages only (the bot's and the humans'), oldest first. A disbanded chat has
    /// no history: Feishu deletes it on disband.
    async fn chat_history(&self, chat: &ChatId) -> ImResult<Vec<ChatMessage>> {
        let mut s = self.enter(FakeOp::History, format!("chat_history {chat}"))?;
        s.require(s.capabilities.history, "history API")?;
        let c = s.usable(chat)?;
        let text = |m: &FakeMessage| match &m.kind {
            FakeMessageKind::Text(text) => Some(ChatMessage { id: m.id.to_string(), at: m.at, author: m.author.clone(), text: text.clone() }),
            FakeMessageKind::Card(_) => None,
        };
        Ok(c.messages.iter().filter_map(text).collect())
    }
}

/// Hands out the fake registered for an integration. Clones share the map, so a test may
/// register fakes after wiring the factory into the code under test.
#[derive(Clone, Default)]
pub struct FakeFactory {
    platforms: Arc<Mutex<HashMap<IntegrationId, FakePlatform>>>,
}

impl FakeFactory {
    pub fn new() -> Self { Self::default() }
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

    fn required_scopes(&self, _platform: Platform) -> Vec<(&'static str, &'static str)> { REQUIRED_SCOPES.to_vec() }

    fn callbacks(&self, integration: &Integration) -> ImResult<Arc<dyn CallbackCodec>> {
        self.for_integration(integration)?;
        Ok(Arc::new(crate::fake_callbacks::FakeCodec))
    }
}

#[cfg(test)]
#[path = "fake_platform_tests.rs"]
mod tests;
