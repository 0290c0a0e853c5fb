//! The Chat Completions wire format: parsing a request body, and the JSON the server sends back.
//!
//! Request fields follow `ai.md` ("Model APIs") and openai-python's
//! `types/chat/completion_create_params.py`; the answer shapes follow `types/chat/chat_completion.py`
//! and `chat_completion_chunk.py` (every chunk carries the same `id` and `created`; with
//! `stream_options.include_usage` every chunk has `"usage": null` except the last, whose
//! `choices` is empty).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One message as the model saw it (array-of-parts content joined with newlines).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: &str, content: &str) -> Self {
        ChatMessage { role: role.to_string(), content: content.to_string() }
    }
}

/// A parsed `POST …/chat/completions` body.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    /// `None` only on the Azure path, where the deployment names the model.
    pub model: Option<String>,
    pub messages: Vec<ChatMessage>,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub stream: bool,
    pub include_usage: bool,
}

/// Why a body was refused (400). The message is what goes into OpenAI's error JSON; `param`
/// names the offending field, as OpenAI's `error.param` does.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("We could not parse the JSON body of your request. The API expects a JSON object.")]
    NotJson,
    #[error("you must provide a model parameter")]
    MissingModel,
    #[error("Missing required parameter: '{0}'.")]
    Missing(&'static str),
    #[error("Invalid type for '{param}': expected {expected}.")]
    InvalidType { param: String, expected: &'static str },
    #[error("Invalid value: '{value}'. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.")]
    InvalidRole { param: String, value: String },
    #[error("Invalid '{param}': {reason}")]
    InvalidValue { param: String, reason: String },
    #[error("The 'stream_options' parameter is only allowed when 'stream' is enabled.")]
    StreamOptionsWithoutStream,
}

impl RequestError {
    /// The request field at fault, for `error.param`.
    pub fn param(&self) -> Option<String> {
        match self {
            RequestError::NotJson => None,
            RequestError::MissingModel => Some("model".into()),
            RequestError::Missing(p) => Some(p.to_string()),
            RequestError::InvalidType { param, .. } | RequestError::InvalidRole { param, .. } | RequestError::InvalidValue { param, .. } => Some(param.clone()),
            RequestError::StreamOptionsWithoutStream => Some("stream_options".into()),
        }
    }
}

const ROLES: &[&str] = &["system", "developer", "user", "assistant", "tool"];

/// Parses a body. `model_required` is false on the Azure path.
pub fn parse(body: &[u8], model_required: bool) -> Result<ChatRequest, RequestError> {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else { return Err(RequestError::NotJson) };
    let model = match obj.get("model") {
        Some(Value::String(m)) => Some(m.clone()),
        None | Some(Value::Null) if !model_required => None,
        None | Some(Value::Null) => return Err(RequestError::MissingModel),
        Some(_) => return Err(RequestError::InvalidType { param: "model".into(), expected: "a string" }),
    };
    let messages = match obj.get("messages") {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().enumerate().map(|(i, m)| message(i, m)).collect::<Result<Vec<_>, _>>()?,
        Some(Value::Array(_)) => {
            return Err(RequestError::InvalidValue { param: "messages".into(), reason: "empty array. Expected an array with minimum length 1.".into() })
        }
        None => return Err(RequestError::Missing("messages")),
        Some(_) => return Err(RequestError::InvalidType { param: "messages".into(), expected: "an array" }),
    };
    // openai-python documents `max_tokens` as deprecated in favour of `max_completion_tokens`
    // (reasoning models refuse the old name); when both come, the newer one wins here.
    // UNCERTAIN: OpenAI may refuse a body carrying both.
    let max_tokens = match positive_int(&obj, "max_completion_tokens")? {
        Some(n) => Some(n),
        None => positive_int(&obj, "max_tokens")?,
    };
    let temperature = match obj.get("temperature") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(t) if (0.0..=2.0).contains(&t) => Some(t),
            _ => return Err(RequestError::InvalidValue { param: "temperature".into(), reason: format!("{n} is not in [0, 2].") }),
        },
        Some(_) => return Err(RequestError::InvalidType { param: "temperature".into(), expected: "a number" }),
    };
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(RequestError::InvalidType { param: "stream".into(), expected: "a boolean" }),
    };
    let include_usage = match obj.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(_) if !stream => return Err(RequestError::StreamOptionsWithoutStream),
        Some(Value::Object(o)) => match o.get("include_usage") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(RequestError::InvalidType { param: "stream_options.include_usage".into(), expected: "a boolean" }),
        },
        Some(_) => return Err(RequestError::InvalidType { param: "stream_options".into(), expected: "an object" }),
    };
    Ok(ChatRequest { model, messages, max_tokens, temperature, stream, include_usage })
}

fn positive_int(obj: &Map<String, Value>, key: &str) -> Result<Option<u32>, RequestError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if v >= 1 => Ok(Some(v.min(u32::MAX as u64) as u32)),
            _ => Err(RequestError::InvalidValue {
                param: key.to_string(),
                reason: format!("integer below minimum value. Expected a value >= 1, but got {n} instead."),
            }),
        },
        Some(_) => Err(RequestError::InvalidType { param: key.to_string(), expected: "an integer" }),
    }
}

fn message(i: usize, m: &Value) -> Result<ChatMessage, RequestError> {
    let at = |field: &str| format!("messages[{i}].{field}");
    let Value::Object(m) = m else { return Err(RequestError::InvalidType { param: format!("messages[{i}]"), expected: "an object" }) };
    let role = match m.get("role") {
        Some(Value::String(r)) if ROLES.contains(&r.as_str()) => r.clone(),
        Some(Value::String(r)) => return Err(RequestError::InvalidRole { param: at("role"), value: r.clone() }),
        None => return Err(RequestError::InvalidValue { param: at("role"), reason: "missing required parameter.".into() }),
        Some(_) => return Err(RequestError::InvalidType { param: at("role"), expected: "a string" }),
    };
    let content = match m.get("content") {
        Some(Value::String(s)) => s.clone(),
        // An assistant turn that only called tools has `content: null`.
        None | Some(Value::Null) if role == "assistant" || role == "tool" => String::new(),
        None | Some(Value::Null) => return Err(RequestError::InvalidValue { param: at("content"), reason: "missing required parameter.".into() }),
        Some(Value::Array(parts)) => parts_text(parts, &at("content"))?,
        Some(_) => return Err(RequestError::InvalidType { param: at("content"), expected: "a string or an array of content parts" }),
    };
    Ok(ChatMessage { role, content })
}

/// The array-of-parts form: `[{"type":"text","text":"…"}, …]`. Non-text parts (images, audio)
/// are kept as a `[type]` placeholder so the recording shows they were sent.
fn parts_text(parts: &[Value], param: &str) -> Result<String, RequestError> {
    let mut out = Vec::with_capacity(parts.len());
    for (j, p) in parts.iter().enumerate() {
        match (p.get("type").and_then(Value::as_str), p.get("text")) {
            (Some("text"), Some(Value::String(t))) => out.push(t.clone()),
            (Some("text"), _) => return Err(RequestError::InvalidValue { param: format!("{param}[{j}].text"), reason: "missing required parameter.".into() }),
            (Some(other), _) => out.push(format!("[{other}]")),
            (None, _) => return Err(RequestError::InvalidValue { param: format!("{param}[{j}].type"), reason: "missing required parameter.".into() }),
        }
    }
    Ok(out.join("\n"))
}

/// OpenAI's error JSON: `{"error":{"message","type","param","code"}}`.
pub fn error_body(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

/// Identity of one completion, shared by all its chunks.
#[derive(Clone, Debug)]
pub struct Completion {
    pub id: String,
    pub created: u64,
    pub model: String,
}

/// `usage` (`types/completion_usage.py`).
pub fn usage(prompt: u32, completion: u32) -> Value {
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

/// The non-streaming answer (`object: "chat.completion"`).
pub fn completion_body(c: &Completion, content: &str, finish_reason: &str, prompt: u32, completion: u32) -> Value {
    json!({
        "id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null}, "logprobs": null, "finish_reason": finish_reason}],
        "usage": usage(prompt, completion),
        "system_fingerprint": "fp_sandbox",
    })
}

/// One `chat.completion.chunk` with a single choice; `usage: null` when the stream will end
/// with a usage chunk (the SDK documents the field as null on every chunk but the last).
pub fn chunk(c: &Completion, delta: Value, finish_reason: Option<&str>, include_usage: bool) -> Value {
    let mut v = json!({
        "id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model, "system_fingerprint": "fp_sandbox",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}],
    });
    if include_usage {
        v["usage"] = Value::Null;
    }
    v
}

/// The last chunk with `stream_options.include_usage`: no choices, the usage.
pub fn usage_chunk(c: &Completion, prompt: u32, completion: u32) -> Value {
    json!({"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model, "system_fingerprint": "fp_sandbox", "choices": [], "usage": usage(prompt, completion)})
}

/// One server-sent event line pair.
pub fn sse(data: &str) -> String {
    format!("data: {data}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_joined_and_the_newer_token_limit_wins() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}, {"type": "text", "text": "b"}]}], "max_tokens": 9, "max_completion_tokens": 5});
        let r = parse(body.to_string().as_bytes(), true).unwrap();
        assert_eq!(r.messages[0].content, "a\n[image_url]\nb");
        assert_eq!(r.max_tokens, Some(5));
    }

    #[test]
    fn bad_bodies_name_the_offending_parameter() {
        let e = parse(br#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#, true).unwrap_err();
        assert_eq!(e.param().as_deref(), Some("messages[0].role"));
        assert_eq!(parse(br#"{"messages":[{"role":"user","content":"x"}]}"#, true).unwrap_err(), RequestError::MissingModel);
        assert!(parse(br#"{"messages":[{"role":"user","content":"x"}]}"#, false).is_ok(), "Azure: the deployment names the model");
        assert_eq!(
            parse(br#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{}}"#, true).unwrap_err(),
            RequestError::StreamOptionsWithoutStream
        );
        assert_eq!(parse(b"[1]", true).unwrap_err(), RequestError::NotJson);
        assert_eq!(
            parse(br#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, true).unwrap_err().param().as_deref(),
            Some("max_tokens")
        );
    }
}
