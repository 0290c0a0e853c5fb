//! Feishu / Lark Open Platform sandbox: a stateful, in-process emulator of the OpenAPI endpoints
//! Warroom uses, answering like Feishu (envelope `{"code","msg","data"}`, documented error codes,
//! rate limits), and able to send encrypted, signed callbacks to the bundle.
//!
//! Written from `shared/reference/platforms/feishu.md` and the official API pages (open.feishu.cn
//! server docs; read in their markdown mirror `wxkingstar/doc-hub-mcp`, `feishu/003-服务端API/…`).
//! Each handler cites the page it follows; choices where the docs are silent are marked
//! UNCERTAIN. Rate limits: see [`ratelimit`] docs.
//!
//! CardKit card entities (create, full update, settings, streamed element content) are in
//! `cardkit`; a card sent by `card_id` shows in [`FeishuSandbox::chat`] as the entity is now.
//!
//! Serve [`FeishuSandbox::router`] anywhere (it answers `/open-apis/...`), point the adapter's
//! base URL at it, register apps and users, then inspect [`FeishuSandbox::chats`] and
//! [`FeishuSandbox::calls`]. [`control::router`] changes an app's grant over HTTP.

mod auth;
mod callbacks;
mod cardkit;
mod chats;
mod contact;
pub mod control;
pub mod crypto;
mod gate;
mod listing;
mod messages;
pub mod ratelimit;
mod reply;
mod state;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::Value;

pub use callbacks::{CardReply, Delivery};
pub use cardkit::{CardUpdate, CARD_OPS_PER_SECOND};
pub use listing::project_card;

use crate::hold::{HoldPoint, Holds, Release};
use gate::Route;
use reply::{bad_request, not_found, Reply};
use state::{hex_id, App, State, User};

/// How the sandbox behaves.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Refuse over-limit calls (429/99991400 at the gateway, 230020 for IM business limits).
    pub enforce_rate_limits: bool,
    /// Lifetime of a new `tenant_access_token` (Feishu: 2 h).
    pub token_ttl: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig { enforce_rate_limits: true, token_ttl: Duration::from_secs(7200) }
    }
}

/// One HTTP call the sandbox answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    pub method: String,
    /// The request path, without the query.
    pub path: String,
    /// The query string as sent (empty without one).
    pub query: String,
    /// The calling app, when its token (or `app_id`/`client_id`) identified it.
    pub app_id: Option<String>,
    /// HTTP status below 400 and body `code` 0.
    pub ok: bool,
    pub status: u16,
    /// The body's `code` (0 when absent).
    pub code: i64,
    /// Sandbox time since creation (real time plus [`FeishuSandbox::advance`]).
    pub at: Duration,
}

/// A chat as the sandbox holds it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChatView {
    pub chat_id: String,
    pub name: String,
    pub description: String,
    /// `private`, `public`, or `p2p`.
    pub chat_type: String,
    /// An `open_id`, or the owning bot's `app_id`.
    pub owner_id: String,
    /// Users' `open_id`s.
    pub members: Vec<String>,
    /// Bots' `app_id`s.
    pub bots: Vec<String>,
    pub disbanded: bool,
    /// Empty once disbanded: Feishu deletes the history of a disbanded chat.
    pub messages: Vec<MessageView>,
}

/// A message as the sandbox holds it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MessageView {
    pub message_id: String,
    /// The sending bot's `app_id` (Feishu's `sender.id` for apps) or the user's `open_id`.
    pub sender: String,
    /// `app` or `user`.
    pub sender_type: String,
    pub msg_type: String,
    /// The content JSON string, parsed.
    pub content: Value,
    /// How many times it was updated (PATCH or a card-callback reply).
    pub updated_count: u32,
    /// The message it replies to, if sent with `…/messages/:message_id/reply`.
    pub parent_id: Option<String>,
    /// For a card sent by `card_id` (whose `content` shows the card entity now): whether it
    /// is still in streaming mode.
    pub card_streaming: Option<bool>,
}

/// The Feishu sandbox. Cheap to clone; all clones share one world.
#[derive(Clone)]
pub struct FeishuSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    state: Mutex<State>,
    http: reqwest::Client,
    holds: Holds,
}

/// A parsed request, handed to the endpoint handlers.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub raw_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// The body as a JSON object (an empty body counts as `{}`).
    pub fn json(&self) -> Result<Value, Reply> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(bad_request()),
        }
    }
}

impl FeishuSandbox {
    pub fn new(config: SandboxConfig) -> Self {
        FeishuSandbox { inner: Arc::new(Inner { config, state: Mutex::new(State::new()), http: reqwest::Client::new(), holds: Holds::default() }) }
    }

    /// Holding one call in flight (named `METHOD /path`, e.g. `POST /open-apis/im/v1/messages`;
    /// `*` matches one path segment), for crash tests.
    pub fn holds(&self) -> &Holds {
        &self.inner.holds
    }

    /// The HTTP surface: everything under `/open-apis/`; other paths answer 404.
    pub fn router(&self) -> Router {
        Router::new().fallback(dispatch).with_state(self.clone())
    }

    /// Registers a custom app, its bot, and the scopes the tenant granted it.
    pub fn add_app(&self, app_id: &str, app_secret: &str, verification_token: &str, encrypt_key: &str, scopes: &[&str]) {
        let app = App {
            app_id: app_id.to_string(),
            secret: app_secret.to_string(),
            verification_token: verification_token.to_string(),
            encrypt_key: encrypt_key.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            bot_open_id: format!("ou_{}", hex_id(16)),
            bot_union_id: format!("on_{}", hex_id(16)),
            bot_name: app_id.to_string(),
        };
        self.lock().apps.insert(app_id.to_string(), app);
    }

    /// Replaces an app's granted scopes (e.g. to test a missing permission).
    pub fn set_scopes(&self, app_id: &str, scopes: &[&str]) {
        if let Some(app) = self.lock().apps.get_mut(app_id) {
            app.scopes = scopes.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        }
    }

    /// Adds a tenant member. `mobile` as Feishu stores it (mainland numbers match with or
    /// without `+86`).
    pub fn add_user(&self, open_id: &str, name: &str, email: Option<&str>, mobile: Option<&str>) {
        let user = User {
            open_id: open_id.to_string(),
            union_id: format!("on_{}", hex_id(16)),
            user_id: hex_id(4),
            name: name.to_string(),
            email: email.map(str::to_string),
            mobile: mobile.map(str::to_string),
        };
        let mut st = self.lock();
        st.users.retain(|u| u.open_id != open_id);
        st.users.push(user);
    }

    /// The `open_id` of an app's bot (what a user's @-mention of the bot carries).
    pub fn bot_open_id(&self, app_id: &str) -> Option<String> {
        self.lock().apps.get(app_id).map(|a| a.bot_open_id.clone())
    }

    pub fn tenant_key(&self) -> String {
        self.lock().tenant_key.clone()
    }

    /// Moves the sandbox clock forward (token expiry, uuid windows, 14-day edit limit,
    /// rate-limit windows).
    pub fn advance(&self, by: Duration) {
        self.lock().advance(by);
    }

    /// Stops real time for the sandbox: from now on its clock moves only by [`Self::advance`]
    /// (deterministic rate-limit and expiry tests). There is no unfreezing.
    pub fn freeze_clock(&self) {
        self.lock().freeze();
    }

    /// Sandbox time since creation.
    pub fn now(&self) -> Duration {
        self.lock().now()
    }

    pub fn chats(&self) -> Vec<ChatView> {
        let st = self.lock();
        st.chats.iter().map(|c| st.chat_view(c)).collect()
    }

    pub fn chat(&self, chat_id: &str) -> Option<ChatView> {
        let st = self.lock();
        st.chat(chat_id).map(|c| st.chat_view(c))
    }

    /// Every call answered so far, in order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Calls refused by a rate limit (99991400 at the gateway or 230020 in IM).
    pub fn rate_limited_count(&self) -> usize {
        self.lock().calls.iter().filter(|c| c.code == 99991400 || c.code == 230020).count()
    }

    pub fn first_call_at(&self) -> Option<Duration> {
        self.lock().calls.first().map(|c| c.at)
    }

    pub fn last_call_at(&self) -> Option<Duration> {
        self.lock().calls.last().map(|c| c.at)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Answers one request and records it, under one lock.
    fn handle(&self, req: &Req) -> Reply {
        let mut st = self.lock();
        let (app_id, reply) = self.route(&mut st, req);
        let at = st.now();
        st.calls.push(CallRecord {
            method: req.method.to_string(),
            path: req.path.clone(),
            query: req.raw_query.clone(),
            app_id,
            ok: reply.is_ok(),
            status: reply.status,
            code: reply.code(),
            at,
        });
        reply
    }

    fn route(&self, st: &mut State, req: &Req) -> (Option<String>, Reply) {
        let Some(rest) = req.path.strip_prefix("/open-apis/") else {
            return (None, not_found());
        };
        let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        let ttl = self.inner.config.token_ttl;
        match (req.method.as_str(), segs.as_slice()) {
            ("POST", ["auth", "v3", "tenant_access_token", "internal"]) => auth::tenant_token(st, req, ttl),
            ("GET", ["authen", "v1", "authorize"]) | ("GET", ["authen", "v1", "index"]) => auth::authorize(st, req),
            ("POST", ["authen", "v2", "oauth", "token"]) => auth::oauth_token(st, req),
            ("GET", ["authen", "v1", "user_info"]) => auth::user_info(st, req),
            (method, segs) => {
                let Some(route) = Route::parse(method, segs) else {
                    return (None, not_found());
                };
                let enforce = self.inner.config.enforce_rate_limits;
                let app_id = match gate::gate(st, &req.headers, &route, enforce) {
                    Ok(app_id) => app_id,
                    Err((app_id, reply)) => return (app_id, reply),
                };
                let reply = match route {
                    Route::ChatCreate => chats::create(st, req, &app_id),
                    Route::ChatList => chats::list(st, req, &app_id),
                    Route::ChatGet(id) => chats::get(st, &app_id, id),
                    Route::ChatDelete(id) => chats::delete(st, &app_id, id),
                    Route::MembersAdd(id) => chats::add_members(st, req, &app_id, id),
                    Route::MessageSend => messages::send(st, req, &app_id, enforce),
                    Route::MessageReply(id) => messages::reply(st, req, &app_id, id, enforce),
                    Route::CardCreate => cardkit::create(st, req, &app_id),
                    Route::CardUpdate(id) => cardkit::update(st, req, &app_id, id, enforce),
                    Route::CardSettings(id) => cardkit::settings(st, req, &app_id, id, enforce),
                    Route::CardContent(id, element) => cardkit::content(st, req, &app_id, id, element, enforce),
                    Route::MessagePatch(id) => messages::patch(st, req, &app_id, id, enforce),
                    Route::MessageList => listing::list(st, req, &app_id),
                    Route::BatchGetId => contact::batch_get_id(st, req, &app_id),
                    Route::Scopes => contact::scopes(st, &app_id),
                    Route::BotInfo => contact::bot_info(st, &app_id),
                };
                (Some(app_id), reply)
            }
        }
    }
}

async fn dispatch(AxState(sb): AxState<FeishuSandbox>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let query =
        uri.query().and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()).map(|pairs| pairs.into_iter().collect()).unwrap_or_default();
    let call = format!("{method} {}", uri.path());
    if sb.holds().pass(&call, HoldPoint::Before).await == Release::Abort {
        return aborted();
    }
    let req = Req { method, path: uri.path().to_string(), query, raw_query: uri.query().unwrap_or_default().to_string(), headers, body };
    let response = sb.handle(&req).into_response();
    if sb.holds().pass(&call, HoldPoint::After).await == Release::Abort {
        return aborted();
    }
    response
}

/// A held call let go with `Release::Abort` (see `crate::hold`).
fn aborted() -> Response {
    use axum::response::IntoResponse;
    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "held call aborted").into_response()
}
