//! DingTalk (钉钉) sandbox: a stateful, in-process emulator of the DingTalk OpenAPI endpoints a
//! war room uses, answering like DingTalk in both API generations (old `oapi` `{errcode,
//! errmsg}` with HTTP 200; v1.0 HTTP status + `{code, message, requestid}`), enforcing
//! permission points, per-app QPS and the monthly call quota, and sending encrypted / signed
//! callbacks to the bundle.
//!
//! Written from `shared/reference/platforms/dingtalk.md` (cited as §n) and
//! `dingtalk-wecom-notes.md` (cited as Qn), never from an adapter. Choices where those are
//! silent are marked UNCERTAIN, each in one place.
//!
//! Serve [`router`] anywhere: old paths (`/gettoken`, `/topapi/...`) and v1.0 paths
//! (`/v1.0/...`) share one base URL, so point both the adapter's `oapi` and `api` bases at it.
//! Register apps ([`AppConfig`]) and users, then drive users' actions with the callback methods
//! ([`DingTalkSandbox::mention_robot`], [`DingTalkSandbox::click_card`], …) or over HTTP with
//! [`control::router`]; read the world back with [`view::view`].

mod auth;
pub mod callbacks;
mod cards;
mod contact;
pub mod control;
pub mod crypto;
mod events;
mod gate;
mod groups;
mod messages;
pub mod ratelimit;
mod reply;
mod sandbox;
mod state;
mod streaming;
pub mod view;

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::Value;

pub use callbacks::{CallbackError, CardClick, Delivery};
pub use events::EventAck;
pub use ratelimit::Edition;
pub use sandbox::DingTalkSandbox;
pub use state::StreamUpdate;
pub use streaming::MAX_CONTENT as STREAM_MAX_CONTENT;
pub use view::{view, CardView, GroupView, MessageView, SandboxView};

use crate::hold::{HoldPoint, Release};
use reply::{bad_param, Gen, Reply};

/// Every permission point a war room asks for (Q5: Flashduty's list; `Card.Instance.Write` for
/// the card platform).
pub const WAR_ROOM_PERMISSIONS: &[&str] = &[
    "qyapi_chat_manage",
    "qyapi_chat_read",
    "qyapi_chat_base_read",
    "qyapi_robot_sendmsg",
    "qyapi_get_member_by_mobile",
    "Card.Instance.Write",
    "Card.Streaming.Write",
];

/// How the sandbox behaves.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Refuse calls over the edition's QPS (the monthly quota is always enforced).
    pub enforce_rate_limits: bool,
    /// Lifetime of an access token (§1: 7200 s).
    pub token_ttl: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig { enforce_rate_limits: true, token_ttl: Duration::from_secs(7200) }
    }
}

/// A self-built app as configured in DingTalk's developer console.
#[derive(Clone)]
pub struct AppConfig {
    /// Client ID = AppKey; also the app robot's `robotCode` (§1).
    pub client_id: String,
    pub client_secret: String,
    /// The org (`ding…`). Orgs share the monthly quota.
    pub corp_id: String,
    /// The scene-group robot bound to the app's group templates (Q5: its own robot ID).
    pub group_robot_code: String,
    /// Published group templates (场景群模板) of this app.
    pub template_ids: Vec<String>,
    pub edition: Edition,
    /// Granted permission points.
    pub permissions: Vec<String>,
    /// HTTP event subscription (§2a): the URL, 签名 Token and 加密 aes_key (43 characters).
    pub event_url: Option<String>,
    pub event_token: String,
    pub event_aes_key: String,
    /// The robot's message-receiving URL (§2b).
    pub robot_url: Option<String>,
}

impl std::fmt::Debug for AppConfig {
    // No secrets in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig").field("client_id", &self.client_id).field("corp_id", &self.corp_id).field("edition", &self.edition).finish_non_exhaustive()
    }
}

impl AppConfig {
    /// An app with every war-room permission, one template `tpl_<client_id>`, a group robot
    /// `grb_<client_id>`, the standard edition, and no callback URLs yet.
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        AppConfig {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            corp_id: format!("ding{}", state::hex_id(8)),
            group_robot_code: format!("grb_{client_id}"),
            template_ids: vec![format!("tpl_{client_id}")],
            edition: Edition::Standard,
            permissions: WAR_ROOM_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
            event_url: None,
            event_token: "sandbox-token".to_string(),
            // 43 base64 characters → a 32-byte key.
            event_aes_key: "a".repeat(43),
            robot_url: None,
        }
    }
}

/// One HTTP call the sandbox answered.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallRecord {
    pub method: String,
    pub path: String,
    /// The query, with `access_token` and `appsecret` redacted.
    pub query: String,
    /// The calling app, when its token or credentials identified it.
    pub app_id: Option<String>,
    pub ok: bool,
    pub status: u16,
    /// Old API `errcode` or v1.0 `code` (empty on success).
    pub code: String,
    /// Sandbox time since creation.
    pub at: Duration,
}

/// A parsed request, handed to the endpoint handlers.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// The body as a JSON object (an empty body counts as `{}`).
    pub fn json(&self, gen: Gen) -> Result<Value, Reply> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(bad_param(gen, "the body must be a JSON object")),
        }
    }

    /// The raw query with credentials blanked, for the call log.
    fn redacted_query(&self) -> String {
        let mut pairs: Vec<(&String, &str)> =
            self.query.iter().map(|(k, v)| (k, if matches!(k.as_str(), "access_token" | "appsecret") { "***" } else { v.as_str() })).collect();
        pairs.sort();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// The HTTP surface (old and v1.0 paths on one base URL). Same as [`DingTalkSandbox::router`].
pub fn router(sb: &DingTalkSandbox) -> Router {
    Router::new().fallback(dispatch).with_state(sb.clone())
}

async fn dispatch(AxState(sb): AxState<DingTalkSandbox>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let query = uri.query().and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()).map(|p| p.into_iter().collect()).unwrap_or_default();
    let call = format!("{method} {}", uri.path());
    if sb.holds().pass(&call, HoldPoint::Before).await == Release::Abort {
        return aborted();
    }
    let req = Req { method, path: uri.path().to_string(), query, headers, body };
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
