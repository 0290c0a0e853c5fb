//! The status card on DingTalk's card platform (notes Q8, option A, the path DingTalk
//! recommends): `POST /v1.0/card/instances/createAndDeliver` to the group
//! (`openSpaceId = dtv1.card//IM_GROUP.<openConversationId>`, certain per notes Q8), the
//! group robot's `robotCode`, `callbackType` HTTP with our `callbackRouteKey`; updated by
//! `outTrackId` with `PUT /v1.0/card/instances`. Every value of `cardParamMap` is a string
//! of at most 1 KB (notes Q8, faq-card).
//!
//! The template: the one the admin built in the card platform, or by default DingTalk's
//! shared AI card, which needs no UI work (Stream SDK `card_instance.py`:
//! `msgTitle`, `msgContent`, `flowStatus`, and `sys_full_json_obj` with `order` and
//! `msgButtons`, where a `{"text", "color", "id", "request": true}` button calls back).
//! Whether the shared template's buttons call back over HTTP (the SDK only uses STREAM) is
//! UNCERTAIN (notes Q8). The map also carries neutral keys (`title`, `markdown`, `status`,
//! `severity`, `incident_id`, `url`, `buttons`) for a custom template to bind.
//!
//! A button's `id` is `<action>|<incident id>` (`ack|inc_1`, `snooze:30|inc_1`): the click
//! callback returns the clicked id in `cardPrivateData.actionIds` (notes Q6).

use serde_json::{json, Map, Value};
use warroom_core::card::{Card, CardAction};
use warroom_core::incident::Severity;

/// DingTalk's shared AI-card template (Stream SDK `AIMarkdownCardInstance`) — UNCERTAIN for
/// HTTP callbacks, see the module docs. Replace through `DingTalkCredentials::card_template_id`.
pub const DEFAULT_CARD_TEMPLATE_ID: &str = "382e4302-551d-4880-bf29-a30acfab2e71.schema";
/// `flowStatus` 3 = finished (Stream SDK `AICardStatus.FINISHED`): a card shown complete.
const FLOW_FINISHED: &str = "3";
/// "value ≤1 KB" per `cardParamMap` entry (notes Q8).
const MAX_VALUE_BYTES: usize = 1000;
/// Separates the action from the incident in a button id; neither contains it.
pub(crate) const ID_SEPARATOR: char = '|';

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::Warning => "Warning",
        Severity::Info => "Info",
    }
}

/// Alert text must not inject markup (HTML-like tags render in DingTalk markdown).
fn md_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
fn fit(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

pub(crate) fn button_id(incident_id: &str, action: CardAction) -> String {
    format!("{}{ID_SEPARATOR}{incident_id}", action.to_value())
}

/// The button colours are UNCERTAIN beyond `blue`, the one the Stream SDK uses.
fn button(incident_id: &str, action: CardAction) -> Value {
    let color = match action {
        CardAction::Snooze { .. } => "gray",
        _ => "blue",
    };
    json!({"text": action.label(), "color": color, "id": button_id(incident_id, action), "request": true})
}

fn markdown(card: &Card) -> String {
    let mut lines = vec![format!("**Status:** {} · **Severity:** {}", card.status, severity_word(card.severity))];
    if let Some(until) = card.snoozed_until {
        lines.push(format!("**Snoozed until:** {until}"));
    }
    for (label, value) in &card.fields {
        lines.push(format!("**{}**  \n{}", md_escape(label), md_escape(value)));
    }
    lines.push(format!("Incident {}", card.incident_id));
    lines.join("\n\n")
}

/// The card's `cardParamMap`: what goes into `cardData` when delivering and updating, and
/// into a click answer.
pub fn card_param_map(card: &Card) -> Map<String, Value> {
    let mut buttons: Vec<Value> = card.actions.iter().map(|a| button(&card.incident_id, *a)).collect();
    if let Some(url) = &card.url {
        // A link button: `url` instead of `request`, so a click opens it and calls nothing.
        buttons.push(json!({"text": "Open incident", "color": "gray", "url": url}));
    }
    let layout = json!({"order": ["msgTitle", "msgButtons", "msgContent"], "msgButtons": buttons}).to_string();
    let title = fit(&card.title, MAX_VALUE_BYTES);
    let body = fit(&markdown(card), MAX_VALUE_BYTES);
    let status = match card.status {
        _ if card.snoozed_until.is_some() && card.status.is_open() => "Snoozed".to_owned(),
        s => s.to_string(),
    };
    let mut map = Map::new();
    for (k, v) in [
        ("msgTitle", title.clone()),
        ("msgContent", body.clone()),
        ("flowStatus", FLOW_FINISHED.to_owned()),
        ("sys_full_json_obj", layout),
        ("title", title),
        ("markdown", body),
        ("status", status),
        ("severity", severity_word(card.severity).to_owned()),
        ("incident_id", card.incident_id.clone()),
        ("url", card.url.clone().unwrap_or_default()),
        ("buttons", json!(card.actions.iter().map(|a| json!({"id": button_id(&card.incident_id, *a), "text": a.label()})).collect::<Vec<_>>()).to_string()),
    ] {
        map.insert(k.to_owned(), Value::String(v));
    }
    map
}

/// The `createAndDeliver` body that posts the card to a group.
pub(crate) fn deliver_body(template: &str, out_track_id: &str, route_key: &str, robot_code: &str, open_conversation_id: &str, card: &Card) -> Value {
    json!({
        "cardTemplateId": template,
        "outTrackId": out_track_id,
        "cardData": {"cardParamMap": card_param_map(card)},
        "callbackType": "HTTP",
        "callbackRouteKey": route_key,
        "openSpaceId": format!("dtv1.card//IM_GROUP.{open_conversation_id}"),
        "imGroupOpenSpaceModel": {"supportForward": false},
        "imGroupOpenDeliverModel": {"robotCode": robot_code},
        // 1 = userid (Stream SDK `card_replier.py`), so clicks name the staff userid.
        "userIdType": 1,
    })
}

/// A notice as a card without buttons (see `notice.rs`): the shared template's title and
/// content, plus `kind` for a custom template to tell notices from status cards.
pub(crate) fn notice_body(template: &str, out_track_id: &str, route_key: &str, robot_code: &str, open_conversation_id: &str, text: &str) -> Value {
    let text = fit(&md_escape(text), MAX_VALUE_BYTES);
    let layout = json!({"order": ["msgTitle", "msgContent"]}).to_string();
    let mut map = Map::new();
    for (k, v) in [
        ("msgTitle", "Warroom".to_owned()),
        ("msgContent", text.clone()),
        ("flowStatus", FLOW_FINISHED.to_owned()),
        ("sys_full_json_obj", layout),
        ("markdown", text),
        ("kind", "notice".to_owned()),
    ] {
        map.insert(k.to_owned(), Value::String(v));
    }
    json!({
        "cardTemplateId": template,
        "outTrackId": out_track_id,
        "cardData": {"cardParamMap": map},
        "callbackType": "HTTP",
        "callbackRouteKey": route_key,
        "openSpaceId": format!("dtv1.card//IM_GROUP.{open_conversation_id}"),
        "imGroupOpenSpaceModel": {"supportForward": false},
        "imGroupOpenDeliverModel": {"robotCode": robot_code},
        "userIdType": 1,
    })
}

/// The `PUT /v1.0/card/instances` body that replaces a notice's text.
pub(crate) fn notice_update_body(out_track_id: &str, text: &str) -> Value {
    let text = fit(&md_escape(text), MAX_VALUE_BYTES);
    json!({
        "outTrackId": out_track_id,
        "cardData": {"cardParamMap": {"msgContent": text, "markdown": text}},
        "cardUpdateOptions": {"updateCardDataByKey": true},
    })
}

/// The `PUT /v1.0/card/instances` body that replaces the card's data.
pub(crate) fn update_body(out_track_id: &str, card: &Card) -> Value {
    json!({
        "outTrackId": out_track_id,
        "cardData": {"cardParamMap": card_param_map(card)},
        "cardUpdateOptions": {"updateCardDataByKey": true},
    })
}

/// The answer to a click (notes Q6): the new card data for everyone and, for the clicker
/// only, `notice` in `userPrivateData` (a template without that key ignores it — UNCERTAIN
/// how the shared template shows it; DingTalk has no toast in this answer).
pub(crate) fn click_answer(message: &str, card: Option<&Card>) -> Value {
    let mut body = json!({
        "userPrivateData": {"cardParamMap": {"notice": fit(message, MAX_VALUE_BYTES)}},
        "cardUpdateOptions": {"updateCardDataByKey": true, "updatePrivateDataByKey": true},
    });
    if let Some(card) = card {
        body["cardData"] = json!({"cardParamMap": card_param_map(card)});
    }
    body
}

#[cfg(test)]
#[path = "card_tests.rs"]
mod tests;
