//! Feishu/Lark's own streaming for the assistant's answers: a CardKit card in streaming mode.
//! Flow (open.feishu.cn/document/cardkit-v1/streaming-updates-openapi-overview; paths and
//! methods from `larksuite/oapi-sdk-go` `service/cardkit/v1/resource.go`):
//! 1. `POST /open-apis/cardkit/v1/cards` `{"type": "card_json", "data": "<JSON 2.0 card>"}`
//!    → `data.card_id` (`CreateCardReqBody`; "一个卡片实体，仅支持发送一次", valid 14 days);
//! 2. the card sent as an interactive message whose content is
//!    `{"type": "card", "data": {"card_id": …}}`, as a reply to the question
//!    (`POST /open-apis/im/v1/messages/:message_id/reply`) or else to the chat;
//! 3. `PUT /cards/:card_id/elements/:element_id/content` `{"content": <full text so far>,
//!    "sequence": n}` ("若旧文本为传入的新文本的前缀子串，新增文本将在旧文本末尾继续以打字机效果输出");
//! 4. `PATCH /cards/:card_id/settings` `{"settings": "{\"config\":{\"streaming_mode\":false}}",
//!    "sequence": n}` once the final text is in (else the chat preview stays "generating").
//!
//! `sequence`: "Positive integers within the int32 range", strictly increasing over every
//! operation on one card, else 300317 (settings page error table,
//! open.larksuite.com/document/uAjLw4CM/ukTMukTMukTM/cardkit-v1/card/settings). It is the
//! milliseconds since the stream started (kept in the `StreamRef`) plus one, and above the last
//! one this instance sent: a job retried in another process, later, still sends larger
//! numbers. int32 milliseconds last 24 days; a card entity lives 14.

use super::client::pct;
use super::platform::FeishuPlatform;
use super::short_hash;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use warroom_core::{ChatId, ImError, ImResult, MessageId, StreamRef};

/// The one markdown element the answer streams into ("仅允许使用字母、数字和下划线，必须以字母开头",
/// at most 20 characters: card-element/update page).
pub(crate) const ELEMENT_ID: &str = "answer";

/// What the engine keeps for a Feishu stream.
#[derive(Debug, Serialize, Deserialize)]
struct Ref {
    card_id: String,
    element_id: String,
    message_id: String,
    /// Epoch milliseconds when the stream started: the base of every `sequence`.
    started_ms: i64,
}

/// The last `sequence` this instance sent, per card.
#[derive(Debug, Default)]
pub(crate) struct Sequences(Mutex<HashMap<String, i64>>);

impl Sequences {
    /// The next sequence for `card`: above both the time since `started_ms` and the last one.
    fn next(&self, card: &str, started_ms: i64, now_ms: i64) -> i64 {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 256 {
            map.clear();
        }
        let by_time = (now_ms - started_ms).max(0) + 1;
        let next = map.get(card).map_or(by_time, |last| by_time.max(last + 1)).min(i64::from(i32::MAX));
        map.insert(card.to_string(), next);
        next
    }
}

/// The streaming card, JSON 2.0 (`"schema": "2.0"`), `update_multi` kept true (CardKit
/// refuses exclusive cards, 300302), one markdown element.
pub(crate) fn stream_card(text: &str, streaming: bool) -> Value {
    json!({
        "schema": "2.0",
        "config": {"streaming_mode": streaming, "update_multi": true},
        "body": {"elements": [{"tag": "markdown", "element_id": ELEMENT_ID, "content": text}]},
    })
}

fn parse_ref(stream: &StreamRef) -> ImResult<Ref> {
    serde_json::from_str(&stream.0).map_err(|_| ImError::Rejected { code: "bad_stream_ref".into(), message: "not a Feishu stream reference".into() })
}

/// Failures the engine must see (retry later, or the room is gone); anything else at the
/// start means "no stream here" and the engine posts and edits instead.
fn is_fatal_for_start(e: &ImError) -> bool {
    matches!(e, ImError::RateLimited { .. } | ImError::Transient(_) | ImError::ChatGone | ImError::Unauthorized(_))
}

impl FeishuPlatform {
    fn now_ms(&self) -> i64 {
        self.clock().now().0
    }

    pub(crate) async fn stream_start(&self, chat: &ChatId, reply_to: Option<&MessageId>, first: &str) -> ImResult<Option<StreamRef>> {
        let started_ms = self.now_ms();
        let body = json!({"type": "card_json", "data": stream_card(first, true).to_string()});
        let card_id = match self.client().call(Method::POST, "/open-apis/cardkit/v1/cards", Some(&body)).await {
            Ok(data) => data.get("card_id").and_then(Value::as_str).map(str::to_owned),
            Err(e) => return self.no_stream(chat, e),
        };
        let Some(card_id) = card_id else {
            return self.no_stream(chat, ImError::Rejected { code: "bad_response".into(), message: "card created without a card_id".into() });
        };
        let message_id = match self.send_card_entity(chat, reply_to, &card_id).await {
            Ok(id) => id,
            Err(e) => return self.no_stream(chat, e),
        };
        let r = Ref { card_id, element_id: ELEMENT_ID.into(), message_id, started_ms };
        Ok(Some(StreamRef(serde_json::to_string(&r).unwrap_or_default())))
    }

    fn no_stream(&self, chat: &ChatId, e: ImError) -> ImResult<Option<StreamRef>> {
        if is_fatal_for_start(&e) {
            return Err(e);
        }
        tracing::info!(app_id = %self.client().credentials.app_id, chat = %chat, error = %e, "Feishu card streaming unavailable; the answer is posted and edited");
        Ok(None)
    }

    /// Sends the card entity as a reply to the question (so it quotes it), or to the chat.
    /// `uuid` = hash(card): a retried send is the message already sent (1 h dedup).
    async fn send_card_entity(&self, chat: &ChatId, reply_to: Option<&MessageId>, card_id: &str) -> ImResult<String> {
        let content = json!({"type": "card", "data": {"card_id": card_id}}).to_string();
        let uuid = short_hash(&["stream", card_id]);
        let sent = match reply_to {
            Some(question) => {
                let path = format!("/open-apis/im/v1/messages/{}/reply", pct(question.as_str()));
                let body = json!({"msg_type": "interactive", "content": content, "uuid": uuid});
                match self.client().call(Method::POST, &path, Some(&body)).await {
                    // The question may be gone (recalled): the chat still gets the answer.
                    Err(ImError::Rejected { .. }) => None,
                    other => Some(other?),
                }
            }
            None => None,
        };
        let data = match sent {
            Some(data) => data,
            None => {
                let body = json!({"receive_id": chat.as_str(), "msg_type": "interactive", "content": content, "uuid": uuid});
                self.client().call(Method::POST, "/open-apis/im/v1/messages?receive_id_type=chat_id", Some(&body)).await?
            }
        };
        data.get("message_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ImError::Rejected { code: "bad_response".into(), message: "card sent without a message_id".into() })
    }

    async fn put_content(&self, r: &Ref, text: &str) -> ImResult<()> {
        let path = format!("/open-apis/cardkit/v1/cards/{}/elements/{}/content", pct(&r.card_id), pct(&r.element_id));
        let sequence = self.sequences().next(&r.card_id, r.started_ms, self.now_ms());
        let body = json!({"content": text, "sequence": sequence});
        self.client().call(Method::PUT, &path, Some(&body)).await.map(drop)
    }

    /// The whole text so far replaces the element's content (Feishu types the difference).
    pub(crate) async fn stream_append(&self, stream: &StreamRef, so_far: &str) -> ImResult<()> {
        let r = parse_ref(stream)?;
        self.put_content(&r, so_far).await
    }

    /// The final text, then streaming off. If the content can no longer be streamed (an
    /// earlier stop turned streaming off and its answer was lost), the card is replaced whole
    /// (`PUT /open-apis/cardkit/v1/cards/:card_id`, "全量更新卡片实体"), streaming off.
    pub(crate) async fn stream_stop(&self, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        let r = parse_ref(stream)?;
        match self.put_content(&r, final_text).await {
            Ok(()) => {
                let path = format!("/open-apis/cardkit/v1/cards/{}/settings", pct(&r.card_id));
                let settings = json!({"config": {"streaming_mode": false, "update_multi": true}}).to_string();
                let sequence = self.sequences().next(&r.card_id, r.started_ms, self.now_ms());
                self.client().call(Method::PATCH, &path, Some(&json!({"settings": settings, "sequence": sequence}))).await.map(drop)
            }
            Err(ImError::Rejected { code, .. }) if code != "300317" => {
                let path = format!("/open-apis/cardkit/v1/cards/{}", pct(&r.card_id));
                let sequence = self.sequences().next(&r.card_id, r.started_ms, self.now_ms());
                let card = json!({"type": "card_json", "data": stream_card(final_text, false).to_string()});
                self.client().call(Method::PUT, &path, Some(&json!({"card": card, "sequence": sequence}))).await.map(drop)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_follow_the_time_since_the_start_and_never_repeat() {
        let s = Sequences::default();
        assert_eq!(s.next("c", 1_000, 1_000), 1, "positive from the first call");
        assert_eq!(s.next("c", 1_000, 1_000), 2, "same millisecond: still larger");
        assert_eq!(s.next("c", 1_000, 1_500), 501);
        // Another process, later, knows only the start: its numbers are larger still.
        assert_eq!(Sequences::default().next("c", 1_000, 2_000), 1_001);
        assert_eq!(s.next("c", 0, i64::MAX / 2), i64::from(i32::MAX), "clamped to int32");
    }

    #[test]
    fn the_card_is_json_2_0_shared_with_one_markdown_element() {
        let card = stream_card("hi", true);
        assert_eq!(card["schema"], "2.0");
        assert_eq!(card["config"], json!({"streaming_mode": true, "update_multi": true}));
        assert_eq!(card["body"]["elements"][0], json!({"tag": "markdown", "element_id": "answer", "content": "hi"}));
    }
}
