//! Driving the sandboxes from outside, for `infra/demo.sh` and tests: a person clicks a
//! button on an incident's status card. The sandbox sends the real signed (Slack) or
//! encrypted (Feishu) callback to the bundle's own route, exactly as the platform would.
//!
//! - `POST /sandbox/control/slack/click`  `{"incident_id", "user": "U_ADA", "action": "ack"}`
//! - `POST /sandbox/control/feishu/click` `{"incident_id", "user": "ou_ada", "action": "ack"}`
//!
//! `action` is a card button value (`ack`, `resolve`, `snooze:30`). Answers 200 with what
//! the bundle answered; 404 for an unknown incident; 409 when the incident has no card on
//! that platform or the card offers no such button; 502 when the bundle refused the click.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use warroom_core::{Incident, IncidentId, Platform, Store, TenantId};
use warroom_sandbox::feishu::FeishuSandbox;
use warroom_sandbox::slack::SlackSandbox;

#[derive(Clone)]
pub struct ControlContext {
    pub store: Arc<dyn Store>,
    pub tenant: TenantId,
    pub slack: SlackSandbox,
    pub feishu: FeishuSandbox,
    pub bundle_url: String,
    pub slack_team_id: String,
    pub feishu_app_id: String,
}

#[derive(Deserialize)]
struct Click {
    incident_id: String,
    user: String,
    action: String,
}

/// Routes with their full paths (`/sandbox/control/...`), to merge into the bundle's router.
pub fn router(context: ControlContext) -> Router {
    Router::new()
        .route("/sandbox/control/slack/click", post(slack_click))
        .route("/sandbox/control/feishu/click", post(feishu_click))
        .with_state(Arc::new(context))
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// The incident and its card's (chat, message), if its war room is on `platform`.
async fn card_of(ctx: &ControlContext, id: &str, platform: Platform) -> Result<(Incident, String, String), Response> {
    let incident = match ctx.store.get_incident(&ctx.tenant, &IncidentId::from(id)).await {
        Ok(Some(incident)) => incident,
        Ok(None) => return Err(problem(StatusCode::NOT_FOUND, format!("no incident {id} in the demo tenant"))),
        Err(e) => return Err(problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    };
    let room = &incident.war_room;
    let integration = match &room.integration_id {
        Some(id) => ctx.store.get_integration(id).await.ok().flatten(),
        None => None,
    };
    let on_platform = integration.is_some_and(|i| i.platform == platform);
    match (&room.chat_id, &room.card_message_id) {
        (Some(chat), Some(card)) if on_platform => Ok((incident.clone(), chat.to_string(), card.to_string())),
        _ => Err(problem(
            StatusCode::CONFLICT,
            format!("incident {id} has no war-room card on {platform} (yet): wait for GET /api/v1/incidents/{id}/war-room to show it open"),
        )),
    }
}

/// The first object under `value` for which `pick` answers something.
fn find(value: &Value, pick: &dyn Fn(&serde_json::Map<String, Value>) -> Option<Value>) -> Option<Value> {
    match value {
        Value::Object(map) => pick(map).or_else(|| map.values().find_map(|v| find(v, pick))),
        Value::Array(items) => items.iter().find_map(|v| find(v, pick)),
        // Feishu keeps a message's content as a JSON string.
        Value::String(s) if s.starts_with('{') => serde_json::from_str::<Value>(s).ok().and_then(|v| find(&v, pick)),
        _ => None,
    }
}

async fn slack_click(State(ctx): State<Arc<ControlContext>>, Json(click): Json<Click>) -> Response {
    let (_, channel, ts) = match card_of(&ctx, &click.incident_id, Platform::Slack).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(message) = ctx.slack.channel(&channel).and_then(|c| c.messages.into_iter().find(|m| m.ts == ts)) else {
        return problem(StatusCode::CONFLICT, format!("the card {ts} is not in the sandbox channel {channel} (the sandbox forgets its channels on restart)"));
    };
    let action_id = format!("{}{}", warroom_platforms::slack::ACTION_ID_PREFIX, click.action);
    let pick = |m: &serde_json::Map<String, Value>| (m.get("action_id") == Some(&json!(action_id))).then(|| m.get("value").cloned()).flatten();
    let Some(Value::String(value)) = message.blocks.as_ref().and_then(|b| find(b, &pick)) else {
        return problem(StatusCode::CONFLICT, format!("the card offers no {:?} button now", click.action));
    };
    let url = format!("{}/im/slack/interactions", ctx.bundle_url);
    match ctx.slack.click_button(&url, &ctx.slack_team_id, &click.user, &channel, &ts, &action_id, &value).await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            answer(status, body, json!({ "channel": channel, "message_ts": ts }))
        }
        Err(e) => problem(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn feishu_click(State(ctx): State<Arc<ControlContext>>, Json(click): Json<Click>) -> Response {
    let (incident, chat, message_id) = match card_of(&ctx, &click.incident_id, Platform::Feishu).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(message) = ctx.feishu.chat(&chat).and_then(|c| c.messages.into_iter().find(|m| m.message_id == message_id)) else {
        return problem(StatusCode::CONFLICT, format!("the card {message_id} is not in the sandbox chat {chat} (the sandbox forgets its chats on restart)"));
    };
    let wanted = json!(click.action);
    let pick = |m: &serde_json::Map<String, Value>| m.get("value").filter(|v| v.get("action") == Some(&wanted)).cloned();
    let Some(value) = find(&message.content, &pick) else {
        return problem(StatusCode::CONFLICT, format!("the card offers no {:?} button now", click.action));
    };
    let Some(integration) = incident.war_room.integration_id else {
        return problem(StatusCode::CONFLICT, "the war room has no integration");
    };
    let url = format!("{}/im/{integration}/cards", ctx.bundle_url);
    match ctx.feishu.click_card(&url, &ctx.feishu_app_id, &click.user, &message_id, value).await {
        Ok(reply) => answer(reply.status, reply.body, json!({ "chat_id": chat, "message_id": message_id, "card_updated": reply.applied })),
        Err(e) => problem(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

/// 200 with the bundle's answer when it took the click; 502 when it did not.
fn answer(status: u16, body: String, mut detail: Value) -> Response {
    detail["bundle_status"] = json!(status);
    detail["bundle_answer"] = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let ours = if (200..300).contains(&status) { StatusCode::OK } else { StatusCode::BAD_GATEWAY };
    (ours, Json(detail)).into_response()
}
