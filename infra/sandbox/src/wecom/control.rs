//! Driving the WeCom sandbox over HTTP, for tests in other processes and the local stack: what
//! a member or an admin does inside WeCom, with the real callback sent to the bundle. Paths are
//! relative: mount with `Router::nest("/control/wecom", control::router(&sb))`.
//!
//! | route | body | does |
//! |---|---|---|
//! | `GET /view` | | [`super::SandboxView`] |
//! | `GET /calls` | | every API call answered ([`super::CallRecord`]) |
//! | `GET /deliveries` | | every callback sent ([`super::Delivery`]) |
//! | `POST /verify_url` | `{"endpoint":{"kind":"app"\|"bot","agent_id"},"url"?}` | the console's URL check |
//! | `POST /click` | `{"agent_id","user","task_id","event_key","url"?}` | a member clicks their app card |
//! | `POST /mention` | `{"agent_id","chatid","user","text","url"?}` | a member @-mentions the bot |
//! | `POST /click_bot` | `{"agent_id","chatid","user","task_id","event_key","url"?}` | a member clicks a bot card |
//! | `POST /poll_stream` | `{"agent_id","stream_id","url"?}` | WeCom polls a bot stream |
//! | `POST /expire_token` | `{"agent_id"}` | the app's tokens expire (42001 next) |
//! | `POST /revoke_token` | `{"agent_id"}` | the app's tokens are invalidated (40014 next) |
//! | `POST /trusted_ips` | `{"agent_id","ips":[…]\|null}` | the admin sets 企业可信IP |
//! | `POST /seen_ip` | `{"ip":…\|null}` | the caller address the sandbox sees |
//! | `POST /tamper` | `{"tamper":"bad_signature"\|"wrong_key"\|"wrong_receive_id"\|"stale_timestamp"}` | spoils the next callback |
//! | `POST /advance` | `{"seconds"}` | moves the sandbox clock |
//!
//! `url` defaults to the app's configured URL. Answers 200 with the outcome; 404 for an unknown
//! app or stream; 409 with no URL configured or a stream WeCom no longer polls; 502 when the
//! bundle could not be reached. Errors are `{"error": "<message>"}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::callbacks::{CallbackError, Endpoint, Tamper};
use super::WeComSandbox;

pub fn router(sb: &WeComSandbox) -> Router {
    Router::new()
        .route("/view", get(|State(sb): State<WeComSandbox>| async move { Json(sb.view()) }))
        .route("/calls", get(|State(sb): State<WeComSandbox>| async move { Json(sb.calls()) }))
        .route("/deliveries", get(|State(sb): State<WeComSandbox>| async move { Json(sb.deliveries()) }))
        .route("/verify_url", post(verify_url))
        .route("/click", post(click))
        .route("/mention", post(mention))
        .route("/click_bot", post(click_bot))
        .route("/poll_stream", post(poll_stream))
        .route("/expire_token", post(expire_token))
        .route("/revoke_token", post(revoke_token))
        .route("/trusted_ips", post(trusted_ips))
        .route("/seen_ip", post(seen_ip))
        .route("/tamper", post(tamper))
        .route("/advance", post(advance))
        .with_state(sb.clone())
}

fn problem(e: CallbackError) -> Response {
    let status = match &e {
        CallbackError::UnknownApp(_) | CallbackError::UnknownStream(_) => StatusCode::NOT_FOUND,
        CallbackError::NoUrl { .. } | CallbackError::StreamFinished(_) | CallbackError::StreamExpired(_) => StatusCode::CONFLICT,
        CallbackError::Crypto(_) => StatusCode::INTERNAL_SERVER_ERROR,
        CallbackError::Http(_) => StatusCode::BAD_GATEWAY,
    };
    (status, Json(json!({"error": e.to_string()}))).into_response()
}

fn outcome<T: serde::Serialize>(r: Result<T, CallbackError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => problem(e),
    }
}

/// The explicit URL, or the endpoint's configured one.
fn url_for(sb: &WeComSandbox, endpoint: Endpoint, url: Option<String>) -> Result<String, CallbackError> {
    if let Some(u) = url {
        return Ok(u);
    }
    let app = sb.app(endpoint.agent_id())?;
    let (configured, what) = match endpoint {
        Endpoint::App(_) => (app.callback_url, "app callback (API接收)"),
        Endpoint::Bot(_) => (app.bot_url, "smart bot callback"),
    };
    configured.ok_or(CallbackError::NoUrl { agent_id: app.agent_id, what })
}

#[derive(Deserialize)]
struct VerifyUrl {
    endpoint: Endpoint,
    url: Option<String>,
}

async fn verify_url(State(sb): State<WeComSandbox>, Json(b): Json<VerifyUrl>) -> Response {
    match url_for(&sb, b.endpoint, b.url) {
        Ok(url) => outcome(sb.verify_url(b.endpoint, &url).await),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct Click {
    agent_id: i64,
    user: String,
    task_id: String,
    event_key: String,
    url: Option<String>,
}

async fn click(State(sb): State<WeComSandbox>, Json(b): Json<Click>) -> Response {
    match url_for(&sb, Endpoint::App(b.agent_id), b.url) {
        Ok(url) => outcome(sb.click_card(&url, b.agent_id, &b.user, &b.task_id, &b.event_key).await),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct Mention {
    agent_id: i64,
    chatid: String,
    user: String,
    text: String,
    url: Option<String>,
}

async fn mention(State(sb): State<WeComSandbox>, Json(b): Json<Mention>) -> Response {
    match url_for(&sb, Endpoint::Bot(b.agent_id), b.url) {
        Ok(url) => outcome(sb.mention_bot(&url, b.agent_id, &b.chatid, &b.user, &b.text).await),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct ClickBot {
    agent_id: i64,
    chatid: String,
    user: String,
    task_id: String,
    event_key: String,
    url: Option<String>,
}

async fn click_bot(State(sb): State<WeComSandbox>, Json(b): Json<ClickBot>) -> Response {
    match url_for(&sb, Endpoint::Bot(b.agent_id), b.url) {
        Ok(url) => outcome(sb.click_bot_card(&url, b.agent_id, &b.chatid, &b.user, &b.task_id, &b.event_key).await),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct PollStream {
    agent_id: i64,
    stream_id: String,
    url: Option<String>,
}

async fn poll_stream(State(sb): State<WeComSandbox>, Json(b): Json<PollStream>) -> Response {
    match url_for(&sb, Endpoint::Bot(b.agent_id), b.url) {
        Ok(url) => outcome(sb.poll_stream(&url, b.agent_id, &b.stream_id).await),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct AgentOnly {
    agent_id: i64,
}

/// The refusal for an unknown app, if it is one.
fn unknown(sb: &WeComSandbox, agent_id: i64) -> Option<Response> {
    sb.app(agent_id).err().map(problem)
}

async fn expire_token(State(sb): State<WeComSandbox>, Json(b): Json<AgentOnly>) -> Response {
    if let Some(r) = unknown(&sb, b.agent_id) {
        return r;
    }
    sb.expire_tokens(b.agent_id);
    Json(json!({"agent_id": b.agent_id, "expired": true})).into_response()
}

async fn revoke_token(State(sb): State<WeComSandbox>, Json(b): Json<AgentOnly>) -> Response {
    if let Some(r) = unknown(&sb, b.agent_id) {
        return r;
    }
    sb.revoke_tokens(b.agent_id);
    Json(json!({"agent_id": b.agent_id, "revoked": true})).into_response()
}

#[derive(Deserialize)]
struct TrustedIps {
    agent_id: i64,
    ips: Option<Vec<String>>,
}

async fn trusted_ips(State(sb): State<WeComSandbox>, Json(b): Json<TrustedIps>) -> Response {
    if let Some(r) = unknown(&sb, b.agent_id) {
        return r;
    }
    let ips: Option<Vec<&str>> = b.ips.as_ref().map(|v| v.iter().map(String::as_str).collect());
    sb.set_trusted_ips(b.agent_id, ips.as_deref());
    Json(json!({"agent_id": b.agent_id, "trusted_ips": b.ips})).into_response()
}

async fn seen_ip(State(sb): State<WeComSandbox>, Json(b): Json<Value>) -> Response {
    match &b["ip"] {
        Value::Null => sb.set_seen_ip(None),
        Value::String(ip) => sb.set_seen_ip(Some(ip)),
        _ => return (StatusCode::BAD_REQUEST, Json(json!({"error": "ip must be a string or null"}))).into_response(),
    }
    Json(json!({"ip": b["ip"]})).into_response()
}

#[derive(Deserialize)]
struct TamperBody {
    tamper: Tamper,
}

async fn tamper(State(sb): State<WeComSandbox>, Json(b): Json<TamperBody>) -> Response {
    sb.tamper_next(b.tamper);
    Json(json!({"tamper": b.tamper})).into_response()
}

async fn advance(State(sb): State<WeComSandbox>, Json(b): Json<Value>) -> Response {
    let Some(seconds) = b["seconds"].as_u64() else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "seconds must be a non-negative integer"}))).into_response();
    };
    sb.advance(std::time::Duration::from_secs(seconds));
    Json(json!({"now_ms": sb.now().as_millis() as u64})).into_response()
}
