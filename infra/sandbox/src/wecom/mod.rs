//! WeCom (企业微信) sandbox: a stateful, in-process emulator of the WeCom server APIs a war room
//! uses — `gettoken`, `appchat/*`, `message/send` + `update_template_card`, user look-ups, the
//! smart bot's `aibot/response` — answering like WeCom (`{"errcode","errmsg"}`, HTTP 200 even on
//! errors), enforcing trusted IPs (60020), per-corp per-API limits (45009) and the per-member
//! message limit (silent drops), and sending WXBizMsgCrypt-encrypted callbacks to the bundle:
//! app XML (`template_card_event`) and smart-bot JSON (@-mentions, card clicks, stream polls).
//!
//! Written from `shared/reference/platforms/wecom.md` (cited §n) and the WeCom parts of
//! `dingtalk-wecom-notes.md` (cited Qn), never from an adapter. Choices where those are silent
//! are marked UNCERTAIN, each in one place.
//!
//! Serve [`WeComSandbox::router`] at the base URL the adapter uses for `https://qyapi.weixin.qq.com`
//! (the local stack mounts it at `/sandbox/wecom`). Register apps ([`AppConfig`]) and users,
//! drive users' actions with the callback methods ([`WeComSandbox::click_card`],
//! [`WeComSandbox::mention_bot`], …) or over HTTP with [`control::router`]; read the world back
//! with [`WeComSandbox::view`].

mod aibot;
mod app_events;
mod appchat;
mod auth;
mod bot_events;
pub mod callbacks;
mod cards;
mod contact;
pub mod control;
pub mod crypto;
mod gate;
pub mod ratelimit;
mod reply;
mod sandbox;
mod state;
mod stream_poll;
pub mod view;
mod xml;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State as AxState};
use axum::http::Method;
use axum::response::Response;
use axum::Router;
use serde_json::Value;

pub use aibot::BOT_CODE_TTL as RESPONSE_URL_TTL;
pub use app_events::AppClick;
pub use bot_events::BotExchange;
pub use bot_events::STREAM_WINDOW;
pub use callbacks::{CallbackError, Delivery, Endpoint, Passive, Redelivery, Tamper, UrlCheck};
pub use cards::RESPONSE_CODE_TTL;
pub use reply::codes;
pub use sandbox::WeComSandbox;
pub use state::{Dropped, Sender};
pub use stream_poll::DEFAULT_POLL_EVERY as STREAM_POLL_EVERY;
pub use view::{AppView, CardView, ChatView, MessageView, SandboxView, StreamView, UserView};

use crate::hold::{HoldPoint, Release};
use reply::{bad_param, Reply};

/// How the sandbox behaves. Limits default to the documented figures ([`ratelimit`]).
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Enforce the per-corp per-API limit and the per-member message limit.
    pub enforce_rate_limits: bool,
    /// Lifetime of an access token (§1: 7200 s).
    pub token_ttl: Duration,
    /// Calls per corp per API per minute (45009 beyond).
    pub api_per_minute: u32,
    /// App messages per app to one member per minute (dropped silently beyond).
    pub user_messages_per_minute: u32,
    /// Chats created per corp per (China) day (always enforced).
    pub chat_creates_per_day: u32,
    /// Chat changes (`appchat/update`) per corp per hour (always enforced).
    pub chat_changes_per_hour: u32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            enforce_rate_limits: true,
            token_ttl: Duration::from_secs(7200),
            api_per_minute: ratelimit::API_PER_MINUTE,
            user_messages_per_minute: ratelimit::USER_MESSAGES_PER_MINUTE,
            chat_creates_per_day: ratelimit::CHAT_CREATES_PER_DAY,
            chat_changes_per_hour: ratelimit::CHAT_CHANGES_PER_HOUR,
        }
    }
}

/// A self-built app as configured in the admin console, plus the smart bot (API mode, URL
/// callback) configured beside it — with its own Token and EncodingAESKey (notes Q4: mixing
/// them up causes "invalid signature").
#[derive(Clone)]
pub struct AppConfig {
    pub corp_id: String,
    pub agent_id: i64,
    pub secret: String,
    /// "API接收" (§2): URL, Token, EncodingAESKey (43 characters).
    pub callback_url: Option<String>,
    pub callback_token: String,
    pub callback_aes_key: String,
    /// The smart bot: `aibotid`, the name users @-mention, its URL, Token and EncodingAESKey.
    pub bot_id: String,
    pub bot_name: String,
    pub bot_url: Option<String>,
    pub bot_token: String,
    pub bot_aes_key: String,
    /// 企业可信IP (§6); `None` = none configured.
    pub trusted_ips: Option<Vec<String>>,
}

impl std::fmt::Debug for AppConfig {
    // No secrets in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig").field("corp_id", &self.corp_id).field("agent_id", &self.agent_id).field("bot_id", &self.bot_id).finish_non_exhaustive()
    }
}

impl AppConfig {
    /// An app with random callback and bot keys, a bot `WarRoomBot` and no URLs or trusted IPs.
    pub fn new(corp_id: &str, agent_id: i64, secret: &str) -> Self {
        AppConfig {
            corp_id: corp_id.to_string(),
            agent_id,
            secret: secret.to_string(),
            callback_url: None,
            callback_token: format!("tok{}", state::alnum(12)),
            callback_aes_key: crypto::random_aes_key(),
            bot_id: format!("aib{}", state::alnum(20)),
            bot_name: "WarRoomBot".to_string(),
            bot_url: None,
            bot_token: format!("bot{}", state::alnum(12)),
            bot_aes_key: crypto::random_aes_key(),
            trusted_ips: None,
        }
    }
}

/// One HTTP call the sandbox answered.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallRecord {
    pub method: String,
    /// The API path, e.g. `/cgi-bin/appchat/create`.
    pub path: String,
    /// The query, with `access_token`, `corpsecret` and `response_code` redacted.
    pub query: String,
    pub agent_id: Option<i64>,
    pub errcode: i64,
    /// The caller address the sandbox saw.
    pub ip: String,
    /// Sandbox time since creation.
    pub at: Duration,
}

/// A parsed request, handed to the endpoint handlers.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub body: Bytes,
    /// The caller as the sandbox sees it (override, TCP peer, or loopback when mounted in-process).
    pub ip: String,
}

impl Req {
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The body as a JSON object (an empty body counts as `{}`).
    pub fn json(&self) -> Result<Value, Reply> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            // Live WeCom adds "Warning: wrong json format." to errmsg (global table preamble).
            _ => Err(bad_param("Warning: wrong json format.", &self.ip)),
        }
    }

    fn redacted_query(&self) -> String {
        let secret = |k: &str| matches!(k, "access_token" | "corpsecret" | "response_code");
        let mut pairs: Vec<(&String, &str)> = self.query.iter().map(|(k, v)| (k, if secret(k) { "***" } else { v.as_str() })).collect();
        pairs.sort();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// Same as [`WeComSandbox::router`].
pub fn router(sb: &WeComSandbox) -> Router {
    Router::new().fallback(dispatch).with_state(sb.clone())
}

async fn dispatch(AxState(sb): AxState<WeComSandbox>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let uri = &parts.uri;
    let query = uri.query().and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()).map(|p| p.into_iter().collect()).unwrap_or_default();
    // UNCERTAIN (the one place): mounted in-process without connect info, the caller is taken
    // to be loopback.
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "127.0.0.1".to_string());
    let ip = sb.lock().seen_ip.clone().unwrap_or(peer);
    let call = format!("{} {}", parts.method, uri.path());
    if sb.holds().pass(&call, HoldPoint::Before).await == Release::Abort {
        return aborted();
    }
    let req = Req { method: parts.method.clone(), path: uri.path().to_string(), query, body, ip };
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
