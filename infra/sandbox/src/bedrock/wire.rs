//! The ConverseStream request body and the JSON the sandbox sends back.
//!
//! Request (API_runtime_ConverseStream.html; the SDK's serializer,
//! `shape_converse_stream_input.rs`, `shape_message.rs`, `shape_inference_configuration.rs`):
//! `{"messages": [{"role": "user"|"assistant", "content": [{"text": …}, …]}], "system": [{"text": …}],
//! "inferenceConfig": {"maxTokens", "temperature", "topP", "stopSequences"}}`; everything else
//! (tools, guardrails, additional fields) is accepted and ignored.
//!
//! Refusals are `ValidationException`s. The conversation rules are Bedrock's messages as
//! reported by its users (langchain-ai/langchain-aws#130, microsoft/semantic-kernel#10281: "A
//! conversation must alternate between user and assistant roles…"); UNCERTAIN: the exact
//! wording of the others, and whether every model family enforces alternation.

use serde_json::Value;

use crate::llm::ChatMessage;

/// A parsed request, as the model receives it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConverseRequest {
    /// Each `system` block's text, in order.
    pub system: Vec<String>,
    /// Each message with its text blocks joined by `\n`.
    pub messages: Vec<ChatMessage>,
    /// How many content blocks each message had (the adapter merges turns into blocks).
    pub blocks: Vec<usize>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
}

impl ConverseRequest {
    /// The system prompt and the messages as one chat, for the LLM sandbox's answer maker.
    pub fn as_chat(&self) -> Vec<ChatMessage> {
        let system = self.system.iter().map(|s| ChatMessage::new("system", s));
        system.chain(self.messages.iter().cloned()).collect()
    }
}

fn invalid(message: impl Into<String>) -> String {
    message.into()
}

/// Parses and checks a body; the error is a `ValidationException`'s message.
pub fn parse(body: &[u8]) -> Result<ConverseRequest, String> {
    let v: Value = serde_json::from_slice(body).map_err(|_| invalid("Malformed input request, please reformat your input and try again."))?;
    let texts = |blocks: &Value, field: &str| -> Result<Vec<String>, String> {
        let blocks = blocks.as_array().ok_or_else(|| invalid(format!("{field}: expected a list of content blocks")))?;
        let mut out = Vec::new();
        for block in blocks {
            match block.get("text").and_then(Value::as_str) {
                Some(t) if t.trim().is_empty() => {
                    return Err(invalid("The text field in the ContentBlock object is blank. Add text to the text field, and try again."))
                }
                Some(t) => out.push(t.to_string()),
                // Images, documents, tool results: the adapter never sends them.
                None => return Err(invalid(format!("{field}: the sandbox only answers text content blocks"))),
            }
        }
        Ok(out)
    };
    let system = match v.get("system") {
        None | Some(Value::Null) => Vec::new(),
        Some(blocks) => texts(blocks, "system")?,
    };
    let list = v
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null"))?;
    if list.is_empty() {
        return Err(invalid("A conversation must start with a user message. Try again with a conversation that starts with a user message."));
    }
    let (mut messages, mut blocks) = (Vec::new(), Vec::new());
    for (i, m) in list.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role != "user" && role != "assistant" {
            return Err(invalid(format!("1 validation error detected: Value '{role}' at 'messages.{}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", i + 1)));
        }
        let content = texts(m.get("content").unwrap_or(&Value::Null), "content")?;
        if content.is_empty() {
            return Err(invalid("The content field in the Message object is empty. Add a ContentBlock object to the content field and try again."));
        }
        blocks.push(content.len());
        messages.push(ChatMessage::new(role, &content.join("\n")));
    }
    if messages[0].role != "user" {
        return Err(invalid("A conversation must start with a user message. Try again with a conversation that starts with a user message."));
    }
    if messages.windows(2).any(|w| w[0].role == w[1].role) {
        return Err(invalid(
            "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.",
        ));
    }
    let config = v.get("inferenceConfig");
    let max_tokens = match config.and_then(|c| c.get("maxTokens")) {
        None | Some(Value::Null) => None,
        Some(n) => Some(n.as_u64().filter(|n| (1..=u32::MAX as u64).contains(n)).ok_or_else(|| {
            invalid("1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1")
        })? as u32),
    };
    let temperature = match config.and_then(|c| c.get("temperature")) {
        None | Some(Value::Null) => None,
        Some(t) => Some(t.as_f64().filter(|t| (0.0..=1.0).contains(t)).ok_or_else(|| {
            invalid("1 validation error detected: Value at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1")
        })?),
    };
    Ok(ConverseRequest { system, messages, blocks, max_tokens, temperature })
}

/// The `p` field Bedrock adds to each event, whose varying length hides the size of the
/// tokens from an observer of the encrypted traffic. UNCERTAIN: not in the API reference
/// (the SDK ignores unknown fields); seen in captured ConverseStream traffic. Sent so that
/// a client that chokes on unknown fields fails here first.
pub fn padding(seq: usize) -> String {
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[..(seq * 7) % 40 + 1].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_read_with_its_system_prompt_blocks_and_inference_settings() {
        let body = br#"{"system":[{"text":"Incident: DB down"}],"messages":[{"role":"user","content":[{"text":"ctx"},{"text":"what now?"}]}],
            "inferenceConfig":{"maxTokens":300,"temperature":0.2}}"#;
        let r = parse(body).unwrap();
        assert_eq!(r.system, ["Incident: DB down"]);
        assert_eq!(r.messages, [ChatMessage::new("user", "ctx\nwhat now?")]);
        assert_eq!((r.blocks.as_slice(), r.max_tokens, r.temperature), (&[2][..], Some(300), Some(0.2)));
        assert_eq!(r.as_chat()[0], ChatMessage::new("system", "Incident: DB down"));
    }

    #[test]
    fn conversations_that_do_not_start_with_the_user_or_do_not_alternate_are_refused() {
        let user = r#"{"role":"user","content":[{"text":"a"}]}"#;
        let assistant = r#"{"role":"assistant","content":[{"text":"b"}]}"#;
        let body = |msgs: &[&str]| format!(r#"{{"messages":[{}]}}"#, msgs.join(","));
        assert!(parse(body(&[user, assistant, user]).as_bytes()).is_ok());
        assert!(parse(body(&[assistant, user]).as_bytes()).unwrap_err().contains("start with a user message"));
        assert!(parse(body(&[user, user]).as_bytes()).unwrap_err().contains("alternate"));
        assert!(parse(body(&[]).as_bytes()).is_err());
        assert!(parse(br#"{"messages":[{"role":"user","content":[{"text":"  "}]}]}"#).unwrap_err().contains("blank"));
        assert!(parse(br#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"maxTokens":0}}"#).is_err());
        assert!(parse(b"not json").is_err());
    }
}
