//! CardKit card entities: create, full update, settings, and streamed element content.
//! Paths and bodies: `larksuite/oapi-sdk-go` `service/cardkit/v1/resource.go` / `model.go`;
//! rules and codes from the API pages (open.feishu.cn cardkit-v1 card/create, card/update,
//! card/settings, card-element/content; the settings page's error table, read in its
//! open.larksuite.com markdown mirror):
//! - only card JSON 2.0; `update_multi: false` → 300302; over 30 KB → 200860; unknown card →
//!   200740; older than 14 days → 200750; another app's card → 300311;
//! - every operation carries `sequence`, a positive int32 strictly above the card's last one,
//!   else 300317 ("did not increment consecutively");
//! - content updates need `streaming_mode: true` (content page "前提条件"); refused with
//!   300309 otherwise — UNCERTAIN: the code is from memory of the content page, not re-read;
//! - "对于单个卡片实体，使用卡片和组件级 OpenAPI 操作卡片的频率上限为 10 次/秒"
//!   (streaming-updates-openapi-overview) → 429 / 99991400 — UNCERTAIN: the code Feishu uses
//!   for this per-card limit is not documented; the gateway's is used.
//!
//! Accepted content updates are logged ([`FeishuSandbox::card_updates`]) for tests.

use std::time::Duration;

use serde_json::{json, Value};

use super::ratelimit::{Rule, SECOND};
use super::reply::{fail, field_invalid, ok, rate_limited, Reply};
use super::state::{hex_id, State};
use super::{FeishuSandbox, Req};

/// "卡片实体的有效期为 14 天".
const CARD_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
/// "Please keep the card size within 30KB" (200860).
const CARD_MAX: usize = 30 * 1024;
pub const CARD_OPS_PER_SECOND: u32 = 10;

/// A card entity.
#[derive(Clone, Debug)]
pub(crate) struct CardEntity {
    pub app_id: String,
    pub card: Value,
    pub last_sequence: i64,
    pub created_at: Duration,
    /// The message it was sent as ("一个卡片实体，仅支持发送一次").
    pub message_id: Option<String>,
}

impl CardEntity {
    pub fn streaming(&self) -> bool {
        self.card["config"]["streaming_mode"] == json!(true)
    }
}

/// One accepted content update, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardUpdate {
    pub card_id: String,
    pub element_id: String,
    pub sequence: i64,
    pub content: String,
}

fn invalid(ext: &str) -> Reply {
    fail(400, 10002, format!("Your request contains an invalid request parameter. ext={ext}"))
}

/// A card JSON string as create / full update take it (`type: card_json`, `data`).
fn card_data(v: &Value) -> Result<Value, Reply> {
    if v["type"] != json!("card_json") {
        return Err(field_invalid("type", "type must be card_json"));
    }
    let Some(data) = v["data"].as_str() else { return Err(field_invalid("data", "data is required")) };
    if data.len() > CARD_MAX {
        return Err(fail(400, 200860, "Card content exceeds limit."));
    }
    let card: Value = serde_json::from_str(data).map_err(|_| fail(400, 200220, "Failed to generate card content"))?;
    if card["schema"] != json!("2.0") {
        // "本接口仅支持卡片 JSON 2.0 结构"; the code for a 1.0 card is UNCERTAIN.
        return Err(fail(400, 200220, "Failed to generate card content: only card JSON 2.0 is supported"));
    }
    if card["config"]["update_multi"] == json!(false) {
        return Err(fail(400, 300302, "update_multi property is false"));
    }
    Ok(card)
}

/// The card, if this app may operate it now, with the per-card limit taken.
fn operable<'a>(st: &'a mut State, app_id: &str, card_id: &str, enforce: bool) -> Result<&'a mut CardEntity, Reply> {
    let now = st.now();
    let Some(card) = st.cards.get(card_id) else { return Err(fail(400, 200740, "The card entity does not exist")) };
    if card.app_id != app_id {
        return Err(fail(400, 300311, "The current application does not have permission to update/use this card"));
    }
    if now.saturating_sub(card.created_at) > CARD_TTL {
        return Err(fail(400, 200750, "The card entity has expired"));
    }
    if enforce {
        if let Err(denied) = st.limiter.admit(now, &[Rule::new(format!("card:{card_id}"), CARD_OPS_PER_SECOND, SECOND)]) {
            return Err(rate_limited(&denied));
        }
    }
    Ok(st.cards.get_mut(card_id).expect("checked"))
}

/// `sequence`: a positive int32 above the card's last one.
fn sequence(body: &Value, card: &CardEntity) -> Result<i64, Reply> {
    let Some(seq) = body["sequence"].as_i64().filter(|s| (1..=i64::from(i32::MAX)).contains(s)) else {
        return Err(field_invalid("sequence", "sequence must be a positive int32"));
    };
    if seq <= card.last_sequence {
        return Err(fail(400, 300317, "The sequence number for operating on the card did not increment consecutively"));
    }
    Ok(seq)
}

/// `POST /open-apis/cardkit/v1/cards` → `{"card_id": …}`.
pub(crate) fn create(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let card = match card_data(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Card ids are 19 digits in the docs' examples ("7355372766134157313").
    let card_id = format!("7{:018}", u64::from_str_radix(&hex_id(7), 16).unwrap_or(0) % 1_000_000_000_000_000_000);
    let entity = CardEntity { app_id: app_id.to_string(), card, last_sequence: 0, created_at: st.now(), message_id: None };
    st.cards.insert(card_id.clone(), entity);
    ok(json!({"card_id": card_id}))
}

/// `PUT /open-apis/cardkit/v1/cards/:card_id` `{"card": {"type", "data"}, "sequence", "uuid"}`.
pub(crate) fn update(st: &mut State, req: &Req, app_id: &str, card_id: &str, enforce: bool) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let new_card = match card_data(&body["card"]) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let entity = match operable(st, app_id, card_id, enforce) {
        Ok(e) => e,
        Err(r) => return r,
    };
    match sequence(&body, entity) {
        Ok(seq) => entity.last_sequence = seq,
        Err(r) => return r,
    }
    entity.card = new_card;
    ok(json!({}))
}

/// `PATCH /open-apis/cardkit/v1/cards/:card_id/settings` `{"settings": "<JSON string>",
/// "sequence", "uuid"}`: the given `config` keys replace the card's.
pub(crate) fn settings(st: &mut State, req: &Req, app_id: &str, card_id: &str, enforce: bool) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(raw) = body["settings"].as_str() else { return field_invalid("settings", "settings is required") };
    let Ok(settings) = serde_json::from_str::<Value>(raw) else { return invalid("settings is not a JSON string") };
    if settings["config"]["update_multi"] == json!(false) {
        return fail(400, 300302, "update_multi property is false");
    }
    let entity = match operable(st, app_id, card_id, enforce) {
        Ok(e) => e,
        Err(r) => return r,
    };
    match sequence(&body, entity) {
        Ok(seq) => entity.last_sequence = seq,
        Err(r) => return r,
    }
    if let Some(config) = settings["config"].as_object() {
        for (k, v) in config {
            entity.card["config"][k] = v.clone();
        }
    }
    ok(json!({}))
}

/// `PUT /open-apis/cardkit/v1/cards/:card_id/elements/:element_id/content`
/// `{"content": <full text>, "sequence", "uuid"}` on a `markdown` / `plain_text` element.
pub(crate) fn content(st: &mut State, req: &Req, app_id: &str, card_id: &str, element_id: &str, enforce: bool) -> Reply {
    let body = match req.json() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(text) = body["content"].as_str().map(str::to_owned) else { return field_invalid("content", "content is required") };
    let entity = match operable(st, app_id, card_id, enforce) {
        Ok(e) => e,
        Err(r) => return r,
    };
    if !entity.streaming() {
        return fail(400, 300309, "The card is not in streaming mode");
    }
    let seq = match sequence(&body, entity) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(element) = find_element(&entity.card["body"]["elements"], element_id) else {
        return invalid("element_id not found in the card");
    };
    if !matches!(element["tag"].as_str(), Some("markdown" | "plain_text")) {
        return invalid("only markdown and plain_text elements stream text");
    }
    set_content(&mut entity.card["body"]["elements"], element_id, &text);
    entity.last_sequence = seq;
    st.card_log.push(CardUpdate { card_id: card_id.into(), element_id: element_id.into(), sequence: seq, content: text });
    ok(json!({}))
}

/// The element with `element_id`, searching nested containers' `elements` / `columns`.
fn find_element<'a>(elements: &'a Value, element_id: &str) -> Option<&'a Value> {
    elements.as_array()?.iter().find_map(|e| {
        if e["element_id"] == json!(element_id) {
            return Some(e);
        }
        ["elements", "columns"].iter().find_map(|k| e.get(*k).and_then(|inner| find_element(inner, element_id)))
    })
}

/// Sets the `content` of the element with `element_id`; false if there is none.
fn set_content(elements: &mut Value, element_id: &str, text: &str) -> bool {
    let Some(list) = elements.as_array_mut() else { return false };
    for e in list.iter_mut() {
        if e["element_id"] == json!(element_id) {
            e["content"] = json!(text);
            return true;
        }
        for key in ["elements", "columns"] {
            if let Some(inner) = e.get_mut(key) {
                if set_content(inner, element_id, text) {
                    return true;
                }
            }
        }
    }
    false
}

/// A message's `{"type": "card", "data": {"card_id": …}}`: the card must be this app's and
/// not sent before. Codes UNCERTAIN (the send page groups card failures under 230099).
pub(crate) fn check_card_reference(st: &State, app_id: &str, content: &Value) -> Result<Option<String>, Reply> {
    if content["type"] != json!("card") {
        return Ok(None);
    }
    let Some(card_id) = content["data"]["card_id"].as_str() else { return Ok(None) };
    match st.cards.get(card_id) {
        None => Err(fail(400, 230099, "Failed to create card content, ext=ErrCode: 200740; ErrMsg: The card entity does not exist")),
        Some(c) if c.app_id != app_id => Err(fail(400, 230099, "Failed to create card content, ext=ErrCode: 300311; ErrMsg: no permission to use this card")),
        Some(c) if c.message_id.is_some() => Err(fail(400, 230099, "Failed to create card content, ext=the card entity can only be sent once")),
        Some(_) => Ok(Some(card_id.to_string())),
    }
}

impl FeishuSandbox {
    /// Every accepted streamed content update, in order.
    pub fn card_updates(&self) -> Vec<CardUpdate> {
        self.lock().card_log.clone()
    }

    /// A member writes a text message in a chat, with no event delivered (to have a question
    /// to reply to); returns its `message_id`. Panics if the chat is unknown.
    pub fn user_says(&self, chat_id: &str, open_id: &str, text: &str) -> String {
        let mut st = self.lock();
        let now = st.now();
        let message = super::state::Message {
            message_id: format!("om_{}", hex_id(16)),
            chat_id: chat_id.to_string(),
            sender_id: open_id.to_string(),
            sender_type: "user",
            msg_type: "text".to_string(),
            content: json!({"text": text}).to_string(),
            mentions: Vec::new(),
            created_at: now,
            updated_at: now,
            updated_count: 0,
            parent_id: None,
        };
        let id = message.message_id.clone();
        st.message_index.insert(id.clone(), chat_id.to_string());
        st.chat_mut(chat_id).expect("user_says: unknown chat").messages.push(message);
        id
    }
}
