//! Which demo integration opens war rooms: only one per tenant may (the API refuses a second
//! with `war_room_taken`), so moving them is "disable there, enable here", both through the
//! bundle's own management API with the demo admin key, as an admin would do it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use warroom_http::ApiError;

use super::api::{delivery_failed, parse, read, Answer, Api};

impl Api {
    async fn admin(&self, method: reqwest::Method, path: &str) -> Result<(u16, Value), ApiError> {
        let url = self.url(path);
        let resp = self.http.request(method, &url).bearer_auth(&self.ctx.admin_key).send().await.map_err(|e| delivery_failed(&url, e))?;
        Ok(read(resp).await)
    }
}

fn refused(what: &str, status: u16, answer: &Value) -> ApiError {
    let said = answer.pointer("/error/message").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| answer.to_string());
    ApiError::new(StatusCode::BAD_GATEWAY, "bundle_refused", format!("{what}: the bundle answered {status}: {said}"))
}

/// `GET /api/integrations`: the demo tenant's integrations (id, platform, name, war room on).
pub async fn list(State(api): State<Api>) -> Answer {
    let (status, answer) = api.admin(reqwest::Method::GET, "/api/v1/integrations").await?;
    if status != 200 {
        return Err(refused("listing the integrations", status, &answer));
    }
    let items: Vec<Value> = answer["integrations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| json!({"id": i["id"], "platform": i["platform"], "name": i["name"], "war_room_enabled": i["war_room_enabled"]}))
        .collect();
    Ok(Json(json!({ "integrations": items })))
}

#[derive(Deserialize)]
pub struct Move {
    integration_id: String,
}

/// `POST /api/war-room` `{"integration_id"}`: war rooms open there from now on. Rooms already
/// open stay on their platform. If the new one refuses (a missing permission), the old one
/// gets war rooms back.
pub async fn switch(State(api): State<Api>, body: Bytes) -> Answer {
    let req: Move = parse(&body)?;
    let Json(listed) = list(State(api.clone())).await?;
    let all = listed["integrations"].as_array().cloned().unwrap_or_default();
    if !all.iter().any(|i| i["id"] == req.integration_id.as_str()) {
        return Err(ApiError::not_found(format!("the demo tenant has no integration {}", req.integration_id)));
    }
    let holder = all.iter().find(|i| i["war_room_enabled"] == true).and_then(|i| i["id"].as_str()).map(str::to_string);
    if holder.as_deref() == Some(req.integration_id.as_str()) {
        return Ok(Json(json!({"integration_id": req.integration_id, "moved_from": null})));
    }
    if let Some(old) = &holder {
        let (status, answer) = api.admin(reqwest::Method::DELETE, &format!("/api/v1/integrations/{old}/war-room")).await?;
        if status != 200 {
            return Err(refused("turning war rooms off where they were", status, &answer));
        }
    }
    let (status, answer) = api.admin(reqwest::Method::POST, &format!("/api/v1/integrations/{}/war-room", req.integration_id)).await?;
    if status != 200 {
        if let Some(old) = &holder {
            // Best effort: the old one had them a moment ago, so it takes them back.
            let _ = api.admin(reqwest::Method::POST, &format!("/api/v1/integrations/{old}/war-room")).await;
        }
        return Err(refused("turning war rooms on", status, &answer));
    }
    Ok(Json(json!({"integration_id": req.integration_id, "moved_from": holder})))
}
