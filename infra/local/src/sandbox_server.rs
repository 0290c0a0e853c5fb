//! `warroom-sandbox`: demo mode's two sandboxes in a process of their own, seeded exactly as
//! the in-process ones ([`Sandboxes::start`]), so their chats outlive restarts (and kills) of
//! `warroom-local --sandbox-url URL`: what crash tests need to count chats across a restart.
//!
//! Served on one port: Slack at `/sandbox/slack`, Feishu at `/sandbox/feishu` (as in-process),
//! and control endpoints for tests and `warroom-local`:
//!
//! - `GET /control/demo`: the [`DemoIdentity`] (bot token issued once at start, bot ids).
//! - `GET /control/slack/channels`: the demo workspace's channels with members and messages;
//!   `GET /control/feishu/chats`: every chat.
//! - `GET /control/{slack|feishu|dingtalk}/calls`: every API call answered, in order (`call`, `ok`).
//! - `POST /control/{slack|feishu}/hold` `{"call": "chat.postMessage", "point": "before"|"after"}`:
//!   hold the next such call in flight (see `warroom_sandbox::hold`); `GET` shows it
//!   (`holding` once a call waits in it), `DELETE` disarms it.
//! - `POST /control/{slack|feishu}/release` `{"how": "proceed"|"abort"}`: let the held call go
//!   on, or answer it 503 (a call held `before` is then never applied).
//!
//! Errors are JSON `{"error": ...}`: 404 unknown platform, 409 a hold in the way.

use crate::error::{LocalError, LocalResult};
use crate::sandboxes::{DemoIdentity, Sandboxes, DINGTALK_CLIENT_ID, DINGTALK_PATH, FEISHU_PATH, SLACK_PATH, SLACK_TEAM_ID};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use warroom_sandbox::{HoldPoint, Holds, Release};

struct Ctx {
    sandboxes: Sandboxes,
    identity: DemoIdentity,
}

pub fn router(sandboxes: Sandboxes, identity: DemoIdentity) -> Router {
    let apis = sandboxes.routers();
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/control/demo", get(demo))
        .route("/control/slack/channels", get(slack_channels))
        .route("/control/feishu/chats", get(feishu_chats))
        .route("/control/{platform}/calls", get(calls))
        .route("/control/{platform}/hold", get(hold_status).post(arm).delete(disarm))
        .route("/control/{platform}/release", post(release))
        .with_state(Arc::new(Ctx { sandboxes, identity }));
    for (path, api) in apis {
        router = router.nest_service(path, api);
    }
    router
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn holds<'a>(ctx: &'a Ctx, platform: &str) -> Option<&'a Holds> {
    match platform {
        "slack" => Some(ctx.sandboxes.slack.holds()),
        "feishu" => Some(ctx.sandboxes.feishu.holds()),
        "dingtalk" => Some(ctx.sandboxes.dingtalk.holds()),
        _ => None,
    }
}

fn unknown(platform: &str) -> Response {
    problem(StatusCode::NOT_FOUND, format!("no sandbox {platform:?}: slack, feishu or dingtalk"))
}

async fn demo(State(ctx): State<Arc<Ctx>>) -> Json<DemoIdentity> {
    Json(ctx.identity.clone())
}

async fn slack_channels(State(ctx): State<Arc<Ctx>>) -> Response {
    Json(ctx.sandboxes.slack.channels(SLACK_TEAM_ID)).into_response()
}

async fn feishu_chats(State(ctx): State<Arc<Ctx>>) -> Response {
    Json(ctx.sandboxes.feishu.chats()).into_response()
}

async fn calls(State(ctx): State<Arc<Ctx>>, Path(platform): Path<String>) -> Response {
    let calls: Vec<Value> = match platform.as_str() {
        "slack" => ctx.sandboxes.slack.calls().into_iter().map(|(call, ok)| json!({ "call": call, "ok": ok })).collect(),
        "feishu" => ctx
            .sandboxes
            .feishu
            .calls()
            .into_iter()
            .map(|c| json!({ "call": format!("{} {}", c.method, c.path), "ok": c.ok, "status": c.status, "code": c.code }))
            .collect(),
        "dingtalk" => ctx
            .sandboxes
            .dingtalk
            .calls()
            .into_iter()
            .map(|c| json!({ "call": format!("{} {}", c.method, c.path), "ok": c.ok, "status": c.status, "code": c.code }))
            .collect(),
        other => return unknown(other),
    };
    Json(calls).into_response()
}

#[derive(Deserialize)]
struct Arm {
    call: String,
    point: HoldPoint,
}

async fn arm(State(ctx): State<Arc<Ctx>>, Path(platform): Path<String>, Json(arm): Json<Arm>) -> Response {
    let Some(holds) = holds(&ctx, &platform) else { return unknown(&platform) };
    match holds.arm(&arm.call, arm.point) {
        Ok(()) => Json(holds.status()).into_response(),
        Err(e) => problem(StatusCode::CONFLICT, e.to_string()),
    }
}

async fn hold_status(State(ctx): State<Arc<Ctx>>, Path(platform): Path<String>) -> Response {
    match holds(&ctx, &platform) {
        Some(holds) => Json(holds.status()).into_response(),
        None => unknown(&platform),
    }
}

async fn disarm(State(ctx): State<Arc<Ctx>>, Path(platform): Path<String>) -> Response {
    match holds(&ctx, &platform) {
        Some(holds) => {
            holds.disarm();
            Json(holds.status()).into_response()
        }
        None => unknown(&platform),
    }
}

#[derive(Deserialize)]
struct ReleaseBody {
    how: Release,
}

async fn release(State(ctx): State<Arc<Ctx>>, Path(platform): Path<String>, Json(body): Json<ReleaseBody>) -> Response {
    let Some(holds) = holds(&ctx, &platform) else { return unknown(&platform) };
    match holds.release(body.how) {
        Ok(released) => Json(released).into_response(),
        Err(e) => problem(StatusCode::CONFLICT, e.to_string()),
    }
}

/// Runs `warroom-sandbox` until Ctrl-C or SIGTERM: prints `warroom-sandbox: listening on URL`
/// first (tests read it), then what is where.
pub async fn serve(listen: SocketAddr) -> LocalResult<()> {
    let listener = crate::run::bind(listen).await?;
    let addr = listener.local_addr().map_err(|e| LocalError::new(format!("cannot read the listening address: {e}")))?;
    let url = crate::run::url_of(addr);
    let sandboxes = Sandboxes::start(&url);
    let identity = sandboxes.identity();
    println!("warroom-sandbox: listening on {url}");
    println!("  {:<40} Slack sandbox (workspace {SLACK_TEAM_ID})", format!("{url}{SLACK_PATH}/api/"));
    println!("  {:<40} Feishu sandbox", format!("{url}{FEISHU_PATH}/open-apis/"));
    println!("  {:<40} DingTalk sandbox (app {DINGTALK_CLIENT_ID}, not connected)", format!("{url}{DINGTALK_PATH}/"));
    println!("  {:<40} state, call log, holds (see infra/local/src/sandbox_server.rs)", format!("{url}/control/"));
    println!("Start the bundle on it: warroom-local --sandbox-url {url}");
    axum::serve(listener, router(sandboxes, identity))
        .with_graceful_shutdown(crate::run::shutdown_signal())
        .await
        .map_err(|e| LocalError::new(format!("the HTTP server failed: {e}")))
}

/// `warroom-local --sandbox-url`: the demo identity of the sandbox process at `url`.
pub async fn fetch_identity(url: &str) -> LocalResult<DemoIdentity> {
    let unreachable = |e: reqwest::Error| LocalError::new(format!("cannot reach the sandbox at {url} ({e}); start it first: warroom-sandbox"));
    let response = reqwest::Client::new().get(format!("{url}/control/demo")).send().await.map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(LocalError::new(format!("{url} is not a warroom-sandbox (GET /control/demo answered {})", response.status())));
    }
    response.json().await.map_err(|e| LocalError::new(format!("{url} is not a warroom-sandbox (GET /control/demo: {e})")))
}
