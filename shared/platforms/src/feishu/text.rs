//! Message content to plain text, shared by the history reader and the event decoder.
//! Content is a JSON string per `msg_type` (reference §2 / §3): text `{"text": "…"}` where
//! @-mentions appear as placeholders `@_user_N` explained by the message's `mentions`
//! (`key`, `name`, `id`: `oapi-sdk-go` `service/im/v1/model.go` `Mention`, `MentionEvent`);
//! rich text `post` `{"title", "content": [[{"tag": "text", "text"}, …]]}` — flattening it
//! is best effort (tags other than text / a / at are skipped).

use serde_json::Value;

/// A mention placeholder and what to put in its place (`None`: remove it).
pub(crate) struct Placeholder {
    pub key: String,
    pub replacement: Option<String>,
}

/// The plain text of a message, `None` for kinds that carry none (images, files, cards…).
pub(crate) fn message_text(msg_type: &str, content: &str) -> Option<String> {
    let v: Value = serde_json::from_str(content).ok()?;
    match msg_type {
        "text" => v.get("text")?.as_str().map(str::to_owned),
        "post" => Some(flatten_post(&v)),
        _ => None,
    }
}

fn flatten_post(v: &Value) -> String {
    // Received posts are `{"title", "content"}`; some carry a locale level (`zh_cn`) first.
    let post = if v.get("content").is_some() { v } else { v.as_object().and_then(|o| o.values().next()).unwrap_or(v) };
    let mut lines = Vec::new();
    if let Some(title) = post.get("title").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        lines.push(title.to_owned());
    }
    for paragraph in post.get("content").and_then(Value::as_array).into_iter().flatten() {
        let line: String = paragraph
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|el| match el.get("tag")?.as_str()? {
                "text" | "a" => el.get("text")?.as_str().map(str::to_owned),
                "at" => el.get("user_name").and_then(Value::as_str).map(|n| format!("@{n}")).or_else(|| el.get("user_id")?.as_str().map(str::to_owned)),
                _ => None,
            })
            .collect();
        lines.push(line);
    }
    lines.join("\n")
}

/// Replaces the placeholders (longest key first, so `@_user_1` never eats `@_user_10`),
/// then tidies the whitespace a removed mention leaves behind.
pub(crate) fn replace_placeholders(text: &str, placeholders: &mut [Placeholder]) -> String {
    placeholders.sort_by_key(|p| std::cmp::Reverse(p.key.len()));
    let mut out = text.to_owned();
    for p in placeholders.iter().filter(|p| !p.key.is_empty()) {
        out = out.replace(&p.key, p.replacement.as_deref().unwrap_or(""));
    }
    out.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_post_messages_become_plain_text() {
        assert_eq!(message_text("text", r#"{"text":"@_user_1 ack"}"#).unwrap(), "@_user_1 ack");
        let post = r#"{"title":"Update","content":[[{"tag":"text","text":"db is "},{"tag":"a","text":"down","href":"x"}],[{"tag":"at","user_id":"@_user_1","user_name":"Ann"},{"tag":"img","image_key":"k"}]]}"#;
        assert_eq!(message_text("post", post).unwrap(), "Update\ndb is down\n@Ann");
        assert_eq!(message_text("image", r#"{"image_key":"k"}"#), None);
        assert_eq!(message_text("text", "not json"), None);
    }

    #[test]
    fn placeholders_are_replaced_longest_first_and_removed_ones_leave_no_gap() {
        let mut p = vec![Placeholder { key: "@_user_1".into(), replacement: None }, Placeholder { key: "@_user_10".into(), replacement: Some("@Bob".into()) }];
        assert_eq!(replace_placeholders("@_user_1  snooze 30m cc @_user_10", &mut p), "snooze 30m cc @Bob");
    }
}
