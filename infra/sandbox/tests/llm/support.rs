//! The fixture: a sandbox on a loopback port, a client, and an SSE reader written here (not
//! the sandbox's code) so the tests check the wire, not the emulator against itself.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use warroom_sandbox::llm::{LlmConfig, LlmSandbox};

pub const KEY: &str = "sk-test-key-0123456789";
pub const MODEL: &str = "gpt-4o-mini";

pub struct Fx {
    pub sb: LlmSandbox,
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn start() -> Fx {
    let config = LlmConfig { api_keys: vec![KEY.to_string()], ..LlmConfig::default() };
    let sb = LlmSandbox::new(config);
    let base = sb.serve_local().await.unwrap();
    Fx { sb, base, http: reqwest::Client::new() }
}

/// A chat body: one system prompt and one user question.
pub fn body(system: &str, user: &str) -> Value {
    json!({"model": MODEL, "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]})
}

impl Fx {
    /// `POST {base}{path}` with `Authorization: Bearer key` when given.
    pub async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut rb = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        rb.send().await.unwrap()
    }

    /// A non-streaming call to `/v1/chat/completions` with the good key: (status, body).
    pub async fn chat(&self, body: &Value) -> (u16, Value) {
        let resp = self.post("/v1/chat/completions", Some(KEY), body).await;
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }
}

/// What a client saw of a stream.
#[derive(Debug)]
pub struct Sse {
    /// The JSON chunks, in order.
    pub chunks: Vec<Value>,
    /// When each chunk's event was complete, since the request was answered.
    pub at: Vec<Duration>,
    pub done: bool,
    /// The body ended with a transport error (not a clean end).
    pub broken: bool,
}

impl Sse {
    /// The concatenated `delta.content`.
    pub fn text(&self) -> String {
        self.chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect()
    }

    /// The chunks that carry content text (the role chunk's `""` excluded).
    pub fn content_chunks(&self) -> Vec<&Value> {
        self.chunks.iter().filter(|c| c["choices"][0]["delta"]["content"].as_str().is_some_and(|s| !s.is_empty())).collect()
    }
}

/// Reads `data: …` events until the body ends, fails, or `idle` passes without a byte.
pub async fn read_sse(mut resp: reqwest::Response, idle: Duration) -> Sse {
    let t0 = Instant::now();
    let (mut buf, mut chunks, mut at, mut done, mut broken) = (String::new(), Vec::new(), Vec::new(), false, false);
    loop {
        match tokio::time::timeout(idle, resp.chunk()).await {
            Err(_) => break,
            Ok(Err(_)) => {
                broken = true;
                break;
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(bytes))) => buf.push_str(std::str::from_utf8(&bytes).unwrap()),
        }
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let data = event.trim_end().strip_prefix("data: ").expect("every event is a data line");
            assert!(!done, "nothing may follow [DONE]");
            if data == "[DONE]" {
                done = true;
            } else {
                chunks.push(serde_json::from_str(data).unwrap());
                at.push(t0.elapsed());
            }
        }
    }
    Sse { chunks, at, done, broken }
}

/// A streaming body with usage requested.
pub fn streaming(mut body: Value, include_usage: bool) -> Value {
    body["stream"] = json!(true);
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}
