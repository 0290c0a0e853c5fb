//! History listing, `GET /open-apis/im/v1/messages`, and how it shows a message's content.
//!
//! Cards are not listed as sent. By default Feishu answers with its own rendering of the card;
//! the query parameter `card_msg_content_type` asks for the card JSON instead:
//! `user_card_content` the card as the developer sent it, `raw_card_content` Feishu's internal
//! card DSL. Sources: the official CLI sends `card_msg_content_type=raw_card_content` on this
//! very call (`larksuite/cli` `shortcuts/im/convert_lib/thread.go`); `riba2534/feishu-cli`
//! `internal/client` documents both values for list/get/mget ("OAPI 默认返回的是渲染后的…
//! 通过传 card_msg_content_type 参数可拿到原始 JSON") and sends them on list.
//! UNCERTAIN: the default rendering's exact shape. Third-party readers parse it as
//! `{"title": "...", "elements": [[{"tag": "text", "text": "..."}, ...], ...]}`; the sandbox
//! assumes that, all in [`project_card`]: the header title becomes `title`; each element one
//! paragraph of `text` nodes (a div's text and fields, a note's texts, markdown as written);
//! buttons keep their label only (`{"tag": "button", "text": label}`: `value` and `url` are
//! dropped); anything else is left out. `raw_card_content` is not emulated.

use serde_json::{json, Value};

use super::chats::{page, page_json};
use super::reply::{fail, field_invalid, ok, Reply};
use super::state::{Message, State};
use super::Req;

/// Reading a group's history needs "获取群组中所有消息" besides the API's own scopes
/// (reference §6: `im:message.group_msg`, "读取群聊历史消息"; `larksuite/cli` lists history
/// reading under `im:message:readonly`). UNCERTAIN: the answer without it; the sandbox
/// refuses with 230027 "Lack of necessary permissions." as the message APIs' tables name it.
const GROUP_HISTORY_SCOPE: &str = "im:message.group_msg";

/// How interactive messages are shown: `card_msg_content_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CardContent {
    Projected,
    AsSent,
}

fn card_content(req: &Req) -> Result<CardContent, Reply> {
    match req.q("card_msg_content_type") {
        None | Some("") => Ok(CardContent::Projected),
        Some("user_card_content") => Ok(CardContent::AsSent),
        Some("raw_card_content") => Err(fail(400, 230001, "Your request contains an invalid request parameter, ext=raw_card_content is not emulated")),
        Some(_) => Err(field_invalid("card_msg_content_type", "card_msg_content_type must be user_card_content or raw_card_content")),
    }
}

/// `GET /open-apis/im/v1/messages?container_id_type=chat&container_id&start_time&end_time
/// &sort_type&page_size&page_token&card_msg_content_type` — `page_size` 1–50, default 20;
/// times in seconds.
pub(crate) fn list(st: &State, req: &Req, app_id: &str) -> Reply {
    let invalid_param = |ext: &str| fail(400, 230001, format!("Your request contains an invalid request parameter, ext={ext}"));
    match req.q("container_id_type") {
        Some("chat") => {}
        Some("thread") => return invalid_param("thread containers are not emulated"),
        _ => return field_invalid("container_id_type", "container_id_type must be chat or thread"),
    }
    let Some(chat) = req.q("container_id").and_then(|id| st.chat(id)) else {
        return invalid_param("invalid container_id");
    };
    if chat.disbanded {
        // UNCERTAIN: not in the page's table; the history is gone either way.
        return fail(400, 232009, "Your request specifies a chat which has already been dissolved.");
    }
    if !chat.bots.iter().any(|b| b == app_id) {
        return fail(400, 230002, "The bot can not be outside the group.");
    }
    if chat.chat_mode == "group" && !st.apps.get(app_id).is_some_and(|a| a.has_any(&[GROUP_HISTORY_SCOPE])) {
        return fail(400, 230027, "Lack of necessary permissions.");
    }
    let desc = match req.q("sort_type").unwrap_or("ByCreateTimeAsc") {
        "ByCreateTimeAsc" => false,
        "ByCreateTimeDesc" => true,
        _ => return field_invalid("sort_type", "sort_type must be ByCreateTimeAsc or ByCreateTimeDesc"),
    };
    let cards = match card_content(req) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let secs = |k: &str| req.q(k).and_then(|v| v.parse::<u128>().ok());
    let (from, to) = (secs("start_time"), secs("end_time"));
    let (start, size) = match page(req, 20, 50) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut selected: Vec<&Message> = chat
        .messages
        .iter()
        .filter(|m| {
            let t = st.wall_ms(m.created_at) / 1000;
            from.is_none_or(|f| t >= f) && to.is_none_or(|e| t <= e)
        })
        .collect();
    if desc {
        selected.reverse();
    }
    let items = selected.iter().skip(start).take(size).map(|m| listed(st, m, cards)).collect();
    ok(page_json(items, start + size, selected.len()))
}

/// The message object as listed: its card content projected unless asked for as sent.
fn listed(st: &State, m: &Message, cards: CardContent) -> Value {
    let mut v = st.message_json(m);
    if m.msg_type == "interactive" && cards == CardContent::Projected {
        let mut card: Value = serde_json::from_str(&m.content).unwrap_or(Value::Null);
        // A card sent by `card_id` is listed as the card entity is now (UNCERTAIN, as the
        // rendering itself).
        if let Some(entity) = card["data"]["card_id"].as_str().filter(|_| card["type"] == "card").and_then(|id| st.cards.get(id)) {
            card = entity.card.clone();
        }
        v["body"]["content"] = json!(project_card(&card).to_string());
    }
    v
}

/// The sandbox's model of Feishu's default rendering of a listed card (see the module doc);
/// public so an adapter's tests can check they cope with the same assumption.
pub fn project_card(card: &Value) -> Value {
    let title = card.pointer("/header/title/content").and_then(Value::as_str).unwrap_or_default();
    // JSON 1.0 keeps elements at the top; JSON 2.0 under `body`.
    let elements = card.get("elements").or_else(|| card.pointer("/body/elements")).and_then(Value::as_array);
    let paragraphs: Vec<Value> = elements.into_iter().flatten().map(paragraph).filter(|p: &Vec<Value>| !p.is_empty()).map(Value::Array).collect();
    json!({"title": title, "elements": paragraphs})
}

fn text_node(s: &str) -> Value {
    json!({"tag": "text", "text": s})
}

/// One element's visible texts: text objects (`{"tag", "content"}`) as text nodes.
fn paragraph(element: &Value) -> Vec<Value> {
    let content = |v: &Value| v.get("content").and_then(Value::as_str).map(text_node);
    match element["tag"].as_str().unwrap_or_default() {
        "div" => {
            let fields = element["fields"].as_array().into_iter().flatten().filter_map(|f| content(&f["text"]));
            content(&element["text"]).into_iter().chain(fields).collect()
        }
        "markdown" => content(element).into_iter().collect(),
        "note" => element["elements"].as_array().into_iter().flatten().filter_map(content).collect(),
        "action" => element["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["tag"] == "button")
            .map(|b| json!({"tag": "button", "text": b["text"]["content"].as_str().unwrap_or_default()}))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projected_card_keeps_its_texts_and_button_labels_but_not_the_button_values() {
        let card = json!({
            "config": {"update_multi": true},
            "header": {"title": {"tag": "plain_text", "content": "DB down"}, "template": "red"},
            "elements": [
                {"tag": "div", "text": {"tag": "lark_md", "content": "**Status:** Triggered"}},
                {"tag": "action", "actions": [{"tag": "button", "text": {"tag": "plain_text", "content": "Acknowledge"},
                    "type": "primary", "value": {"incident_id": "inc_1", "action": "ack"}}]},
                {"tag": "hr"},
                {"tag": "note", "elements": [{"tag": "plain_text", "content": "Incident inc_1"}]},
            ],
        });
        let projected = project_card(&card);
        assert_eq!(
            projected,
            json!({"title": "DB down", "elements": [
                [{"tag": "text", "text": "**Status:** Triggered"}],
                [{"tag": "button", "text": "Acknowledge"}],
                [{"tag": "text", "text": "Incident inc_1"}],
            ]})
        );
        assert!(!projected.to_string().contains("\"ack\""), "callback values are not shown");
    }
}
