//! Text in and out of the robot.
//!
//! In: a robot callback's `msgtype` `text` carries `text.content` (ref §2b); `richText`
//! carries `content.richText[]` whose text parts have `text` (Stream SDK `chatbot.py`
//! `RichTextContent`). Pictures, audio, files: no text.
//!
//! Out: `POST /v1.0/robot/groupMessages/send` with `msgKey` `sampleText` and `msgParam`, a
//! JSON *string* `{"content": …}` (ref §3 "Messages (robot)").

use serde_json::{json, Value};

/// The robot message's plain text, `None` for kinds without any.
pub(crate) fn message_text(body: &Value) -> Option<String> {
    let raw = match body.get("msgtype")?.as_str()? {
        "text" => body.pointer("/text/content")?.as_str()?.to_owned(),
        "richText" => {
            body.pointer("/content/richText")?.as_array()?.iter().filter_map(|part| part.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("")
        }
        _ => return None,
    };
    Some(tidy(&raw))
}

/// DingTalk leaves the space where the robot's @mention was ("@Bot ack" arrives as " ack"):
/// whitespace is collapsed within lines and trimmed.
pub(crate) fn tidy(text: &str) -> String {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n").trim().to_owned()
}

/// The body of a plain-text group message from the robot.
pub(crate) fn group_text(robot_code: &str, open_conversation_id: &str, text: &str) -> Value {
    json!({
        "robotCode": robot_code,
        "openConversationId": open_conversation_id,
        "msgKey": "sampleText",
        "msgParam": json!({"content": text}).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_rich_text_messages_become_plain_text() {
        assert_eq!(message_text(&json!({"msgtype": "text", "text": {"content": "  ack   now \n"}})).unwrap(), "ack now");
        let rich = json!({"msgtype": "richText", "content": {"richText": [{"text": "db is "}, {"type": "picture", "downloadCode": "x"}, {"text": "down"}]}});
        assert_eq!(message_text(&rich).unwrap(), "db is down");
        assert_eq!(message_text(&json!({"msgtype": "picture", "content": {"downloadCode": "x"}})), None);
        assert_eq!(message_text(&json!({"text": {"content": "no type"}})), None);
    }

    #[test]
    fn group_text_carries_the_content_as_a_json_string() {
        let body = group_text("robot", "cid1", "hi \"there\"");
        assert_eq!(body["msgKey"], "sampleText");
        assert_eq!(body["msgParam"], json!(r#"{"content":"hi \"there\""}"#));
        assert_eq!((body["robotCode"].as_str(), body["openConversationId"].as_str()), (Some("robot"), Some("cid1")));
    }
}
