//! Answers posted as cards (where CardKit streaming is not used): a reply to the question,
//! so Feishu shows it quoted under the question, else a message in the chat.

use super::client::pct;
use super::platform::FeishuPlatform;
use reqwest::Method;
use serde_json::{json, Value};
use warroom_core::{ChatId, ImError, ImResult, MessageId};

impl FeishuPlatform {
    /// Replies to `reply_to` with the answer card (`POST /im/v1/messages/{id}/reply`,
    /// larksuite/oapi-sdk-go `service/im/v1` ReplyMessage); a question that cannot be
    /// replied to (recalled, or too old) still gets its answer, in the chat.
    pub(crate) async fn answer_card_reply(&self, chat: &ChatId, reply_to: Option<&MessageId>, text: &str) -> ImResult<MessageId> {
        let content = answer_card(text).to_string();
        if let Some(question) = reply_to {
            let path = format!("/open-apis/im/v1/messages/{}/reply", pct(question.as_str()));
            match self.client().call(Method::POST, &path, Some(&json!({"msg_type": "interactive", "content": content}))).await {
                Ok(data) => return message_id(&data),
                Err(ImError::Rejected { code, .. }) => {
                    tracing::info!(chat = %chat, %code, "Feishu refused the reply to the question; the answer goes to the chat")
                }
                Err(e) => return Err(e),
            }
        }
        self.send(chat, "interactive", content, None).await
    }
}

fn message_id(data: &Value) -> ImResult<MessageId> {
    data.get("message_id")
        .and_then(Value::as_str)
        .map(MessageId::new)
        .ok_or_else(|| ImError::Rejected { code: "bad_response".into(), message: "reply sent without a message_id".into() })
}

/// The assistant's answer as a JSON 1.0 card: a `lark_md` block, `update_multi` so a PATCH
/// shows to everyone (reference §3).
pub(super) fn answer_card(text: &str) -> Value {
    let text = text.replace('<', "&lt;").replace('>', "&gt;");
    json!({"config": {"wide_screen_mode": true, "update_multi": true}, "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": text}}]})
}
