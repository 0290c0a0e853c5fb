//! The sandbox web view: a page on the local stack showing each sandbox workspace's chats,
//! members and messages (Slack, Feishu, DingTalk, WeCom), with the bot's status cards rendered and
//! their buttons working.
//!
//! Mounted at `/sandbox` by the local stack. Plain HTML + vanilla JS (no build step),
//! embedded in the binary:
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the page (`page.html`, `app.js`, `style.css` under `/assets/`) |
//! | `GET /api/state` | both sandboxes' chats and messages, cards read back ([`view`]) |
//! | `POST /api/click` | a person clicks a card button: the sandbox sends the real signed (Slack) / encrypted (Feishu) callback to the bundle |
//! | `POST /api/fire` | posts a sample incident to the bundle's `/hooks/generic` with the demo intake key |
//! | `POST /api/say` | a person writes in a chat: the sandbox stores it and delivers the message event |
//! | `GET /api/integrations` | the demo tenant's integrations, and which one opens war rooms |
//! | `POST /api/war-room` | war rooms open on another integration from now on (`{"integration_id"}`) |
//!
//! Errors are JSON, `{"error":{"code","message"}}`, as everywhere in the bundle.

mod api;
mod dingtalk;
mod rooms;
pub mod view;
mod wecom;

use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

/// What the web view needs to drive the sandboxes and the bundle.
#[derive(Clone)]
pub struct WebContext {
    pub slack: warroom_sandbox::slack::SlackSandbox,
    pub feishu: warroom_sandbox::feishu::FeishuSandbox,
    pub dingtalk: warroom_sandbox::dingtalk::DingTalkSandbox,
    pub wecom: warroom_sandbox::wecom::WeComSandbox,
    /// The bundle's own base URL (`http://127.0.0.1:3000`): where callbacks are sent.
    pub bundle_url: String,
    /// The demo tenant's intake key, for the "fire a sample incident" button.
    pub intake_key: String,
    /// The demo tenant's admin key, for moving war rooms between the demo integrations.
    pub admin_key: String,
    pub slack_team_id: String,
    pub slack_integration_id: String,
    pub feishu_app_id: String,
    pub feishu_integration_id: String,
}

const PAGE: &str = include_str!("page.html");
const APP_JS: &str = include_str!("app.js");
const STYLE_CSS: &str = include_str!("style.css");

/// Scripts and styles only from the page's own origin; nothing inline, nothing framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Mounted at `/sandbox` by the local stack.
pub fn router(context: WebContext) -> Router {
    let api = api::Api::new(context);
    Router::new()
        .route("/", get(page))
        .route("/assets/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/assets/style.css", get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }))
        .route("/api/state", get(api::state))
        .route("/api/click", post(api::click))
        .route("/api/fire", post(api::fire))
        .route("/api/say", post(api::say))
        .route("/api/integrations", get(rooms::list))
        .route("/api/war-room", post(rooms::switch))
        .with_state(api)
}

/// The page, with the prefix it is mounted at (`/sandbox`) written in, so its asset and API
/// URLs are right whether it was reached as `/sandbox` or `/sandbox/`.
async fn page(request: Request) -> Response {
    let base = request.extensions().get::<axum::extract::NestedPath>().map(|p| p.as_str().trim_end_matches('/').to_string()).unwrap_or_default();
    let html = PAGE.replace("{{BASE}}", &html_attr(&base));
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    (headers, html).into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff")], body).into_response()
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&#39;")
}
