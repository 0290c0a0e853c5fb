//! Finding what this bot posted before, for a retry after a post whose answer was lost:
//! the message `uuid` dedupes a repeated post for one hour only (reference §3), so a retry
//! redriven later (from the dead-letter queue, after an outage) looks in the chat first.
//!
//! `GET /open-apis/im/v1/messages` (container_id_type=chat, newest first, 50 a page) — the
//! same call, and so the same permissions, as the transcript capture (`im:message` and, for
//! group chats, `im:message.group_msg`: reference §6). A bot's message has
//! `sender.sender_type` `app` and `sender.id` its app id (`oapi-sdk-go`
//! `service/im/v1/model.go` `Sender`: "id_type … `app_id`", "sender_type … `app`: 应用").
//!
//! Cards are not listed as sent: by default Feishu returns its own rendering of the card;
//! `card_msg_content_type=user_card_content` asks for the card JSON as sent (the official CLI
//! passes this parameter to this call: `larksuite/cli` `shortcuts/im/convert_lib/thread.go`;
//! `riba2534/feishu-cli` `internal/client` documents both values for list/get/mget). The card
//! of an incident is recognised either way (UNCERTAIN: the default rendering's shape, so it is
//! a fallback): by a button `value` carrying `incident_id` (as sent), or by a text that is
//! exactly the card's note `Incident {id}` ([`crate::feishu::card::incident_marker`]), which
//! survives a rendering that keeps visible texts (the sandbox's model of that rendering,
//! `warroom_sandbox::feishu::project_card`, is checked in the tests). Whole values only:
//! `inc_1` never matches `inc_10`'s card, nor an alert text that quotes another incident.

use super::*;

/// How far back a retry looks: the newest pages of the chat (50 messages each).
const FIND_PAGES: usize = 10;

#[derive(Deserialize)]
struct Listed {
    message_id: String,
    #[serde(default)]
    msg_type: String,
    #[serde(default)]
    deleted: bool,
    sender: Option<Sender>,
    body: Option<BodyItem>,
}

#[derive(Deserialize)]
struct Sender {
    #[serde(default)]
    id: String,
    #[serde(default)]
    sender_type: String,
}

impl FeishuPlatform {
    /// This bot's newest message in the chat that `is_it(msg_type, content)` recognises.
    pub(super) async fn find_own(&self, chat: &ChatId, is_it: impl Fn(&str, &str) -> bool) -> ImResult<Option<MessageId>> {
        let first = format!(
            "/open-apis/im/v1/messages?container_id_type=chat&container_id={}&sort_type=ByCreateTimeDesc&page_size=50&card_msg_content_type=user_card_content",
            pct(chat.as_str())
        );
        let mut path = first.clone();
        for _ in 0..FIND_PAGES {
            let page: Page<Listed> = parse(self.client.call(Method::GET, &path, None).await?, "messages")?;
            for m in page.items.into_iter().filter(|m| !m.deleted) {
                let ours = m.sender.as_ref().is_some_and(|s| s.sender_type == "app" && s.id == self.app());
                if ours && is_it(&m.msg_type, m.body.as_ref().map_or("", |b| b.content.as_str())) {
                    return Ok(Some(MessageId::new(m.message_id)));
                }
            }
            match page.page_token.filter(|t| page.has_more && !t.is_empty()) {
                Some(token) => path = format!("{first}&page_token={}", pct(&token)),
                None => break,
            }
        }
        Ok(None)
    }
}

/// A listed interactive message is the card of `incident_id` (see the module doc).
pub(super) fn is_card_of(msg_type: &str, content: &str, incident_id: &str) -> bool {
    if msg_type != "interactive" || incident_id.is_empty() {
        return false;
    }
    let Ok(card) = serde_json::from_str::<Value>(content) else { return false };
    names_incident(&card, incident_id, &crate::feishu::card::incident_marker(incident_id))
}

fn names_incident(v: &Value, incident_id: &str, marker: &str) -> bool {
    match v {
        Value::Object(o) => o.get("incident_id").and_then(Value::as_str) == Some(incident_id) || o.values().any(|x| names_incident(x, incident_id, marker)),
        Value::Array(a) => a.iter().any(|x| names_incident(x, incident_id, marker)),
        Value::String(s) => s == marker,
        _ => false,
    }
}

/// A listed text message says exactly `text`.
pub(super) fn is_text(msg_type: &str, content: &str, text: &str) -> bool {
    msg_type == "text" && serde_json::from_str::<Value>(content).ok().and_then(|v| v.get("text").and_then(Value::as_str).map(|t| t == text)).unwrap_or(false)
}

#[cfg(test)]
#[path = "find_tests.rs"]
mod tests;
