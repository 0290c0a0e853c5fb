//! Driving the DingTalk sandbox over HTTP, for tests in other processes and the local stack:
//! what a person does inside DingTalk, with the real callback sent to the bundle. Paths are
//! relative: mount with `Router::nest("/control/dingtalk", control::router(&sb))`.
//!
//! | route | body | does |
//! |---|---|---|
//! | `GET /view` | | [`super::view`]: groups, members, messages, cards, users |
//! | `GET /calls` | | every API call answered ([`super::CallRecord`]) |
//! | `GET /deliveries` | | every callback sent ([`super::Delivery`]) |
//! | `POST /check_url` | `{"app"}` | the `check_url` handshake to the app's event URL |
//! | `POST /mention` | `{"group","user","text"}` | a user @-mentions the group's robot |
//! | `POST /click` | `{"out_track_id","user","action_id","params"?}` | a user clicks a card button |
//! | `POST /disband` | `{"group","user"}` | a member disbands the group (`chat_disband`) |
//! | `POST /members` | `{"group","user","users","add"}` | a member adds / removes users |
//! | `POST /permissions` | `{"app","permissions"}` | the admin changes the app's grants |
//!
//! Answers 200 with what the bundle answered (`bundle_status`, `bundle_answer`, and the
//! outcome: `acknowledged` for events, `card_updated` for clicks); 404 for an unknown app,
//! group or card; 409 when the group is gone or the app has no URL for that callback; 502 when
//! the bundle could not be reached.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::callbacks::CallbackError;
use super::events::EventAck;
use super::DingTalkSandbox;

/// The control routes (see the module docs).
pub fn router(sb: &DingTalkSandbox) -> Router {
    Router::new()
        .route("/view", get(|State(sb): State<DingTalkSandbox>| async move { Json(sb.view()) }))
        .route("/calls", get(|State(sb): State<DingTalkSandbox>| async move { Json(sb.calls()) }))
        .route("/deliveries", get(|State(sb): State<DingTalkSandbox>| async move { Json(sb.deliveries()) }))
        .route("/check_url", post(check_url))
        .route("/mention", post(mention))
        .route("/click", post(click))
        .route("/disband", post(disband))
        .route("/members", post(members))
        .route("/permissions", post(permissions))
        .with_state(sb.clone())
}

fn problem(e: CallbackError) -> Response {
    let status = match &e {
        CallbackError::UnknownApp(_) | CallbackError::UnknownGroup(_) | CallbackError::UnknownCard(_) => StatusCode::NOT_FOUND,
        CallbackError::GroupGone(_) | CallbackError::NoUrl { .. } => StatusCode::CONFLICT,
        CallbackError::Crypto(_) => StatusCode::INTERNAL_SERVER_ERROR,
        CallbackError::Http(_) => StatusCode::BAD_GATEWAY,
    };
    (status, Json(json!({"error": e.to_string()}))).into_response()
}

fn answer(status: u16, body: &str, mut detail: Value) -> Response {
    detail["bundle_status"] = json!(status);
    detail["bundle_answer"] = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
    Json(detail).into_response()
}

fn event_answer(ack: Option<EventAck>) -> Response {
    match ack {
        Some(a) => answer(a.status, &a.body, json!({"sent": true, "acknowledged": a.acknowledged, "problem": a.problem})),
        None => Json(json!({"sent": false, "reason": "the app has no event subscription URL"})).into_response(),
    }
}

#[derive(Deserialize)]
struct AppOnly {
    app: String,
}

async fn check_url(State(sb): State<DingTalkSandbox>, Json(b): Json<AppOnly>) -> Response {
    match sb.check_url(&b.app).await {
        Ok(ack) => event_answer(Some(ack)),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct Mention {
    group: String,
    user: String,
    text: String,
}

async fn mention(State(sb): State<DingTalkSandbox>, Json(b): Json<Mention>) -> Response {
    match sb.mention_robot(&b.group, &b.user, &b.text).await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            answer(status, &body, json!({"group": b.group}))
        }
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct Click {
    out_track_id: String,
    user: String,
    action_id: String,
    #[serde(default)]
    params: Value,
}

async fn click(State(sb): State<DingTalkSandbox>, Json(b): Json<Click>) -> Response {
    let params = if b.params.is_null() { json!({}) } else { b.params };
    match sb.click_card(&b.out_track_id, &b.user, &b.action_id, params).await {
        Ok(c) => answer(c.status, &c.body, json!({"out_track_id": b.out_track_id, "card_updated": c.applied})),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct Disband {
    group: String,
    user: String,
}

async fn disband(State(sb): State<DingTalkSandbox>, Json(b): Json<Disband>) -> Response {
    match sb.disband_from_inside(&b.group, &b.user).await {
        Ok(ack) => event_answer(ack),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct Members {
    group: String,
    user: String,
    users: Vec<String>,
    add: bool,
}

async fn members(State(sb): State<DingTalkSandbox>, Json(b): Json<Members>) -> Response {
    let users: Vec<&str> = b.users.iter().map(String::as_str).collect();
    match sb.change_members_from_inside(&b.group, &b.user, &users, b.add).await {
        Ok(ack) => event_answer(ack),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
struct Permissions {
    app: String,
    permissions: Vec<String>,
}

async fn permissions(State(sb): State<DingTalkSandbox>, Json(b): Json<Permissions>) -> Response {
    if !sb.lock().apps.contains_key(&b.app) {
        return problem(CallbackError::UnknownApp(b.app));
    }
    let granted: Vec<&str> = b.permissions.iter().map(String::as_str).collect();
    sb.set_permissions(&b.app, &granted);
    Json(json!({"app": b.app, "permissions": b.permissions})).into_response()
}
