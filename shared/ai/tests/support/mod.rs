//! A tiny scripted Chat Completions server: each request gets the next scripted answer,
//! whose body is written piece by piece (with pauses) so the client reads it in the
//! awkward chunks a real network produces. What each request carried is recorded.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use warroom_core::{ChatRequest, ChatTurn, ModelProvider, ModelSettings};

pub const KEY: &str = "sk-test-VERY-secret-4242";

pub enum Piece {
    Bytes(Vec<u8>),
    Pause(Duration),
    /// Abort the connection mid-body.
    Fail,
}

pub fn text(s: &str) -> Piece {
    Piece::Bytes(s.as_bytes().to_vec())
}

pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// Before the status line is sent (a first-byte delay).
    pub delay: Duration,
    pub body: Vec<Piece>,
}

impl Answer {
    pub fn sse(body: Vec<Piece>) -> Self {
        Answer { status: 200, headers: vec![("content-type", "text/event-stream".into())], delay: Duration::ZERO, body }
    }
    pub fn json(status: u16, body: &str) -> Self {
        Answer { status, headers: vec![("content-type", "application/json".into())], delay: Duration::ZERO, body: vec![text(body)] }
    }
}

/// What one request carried.
#[derive(Clone, Debug)]
pub struct Seen {
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

#[derive(Default)]
pub struct Shared {
    answers: Mutex<VecDeque<Answer>>,
    pub seen: Mutex<Vec<Seen>>,
}

pub struct Server {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
}

impl Server {
    pub async fn start(answers: Vec<Answer>) -> Server {
        let shared = Arc::new(Shared { answers: Mutex::new(answers.into()), seen: Mutex::default() });
        let app = axum::Router::new().fallback(answer).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { addr, shared }
    }

    pub fn base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

async fn answer(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    shared.seen.lock().unwrap().push(Seen { uri, headers, body });
    let next = shared.answers.lock().unwrap().pop_front();
    let Some(answer) = next else {
        return Response::builder().status(500).body(Body::from("no answer scripted")).unwrap();
    };
    tokio::time::sleep(answer.delay).await;
    let pieces = answer.body.into_iter();
    let stream = futures::stream::unfold(pieces, |mut pieces| async move {
        loop {
            match pieces.next()? {
                Piece::Pause(d) => tokio::time::sleep(d).await,
                Piece::Bytes(b) => {
                    // A short pause between pieces so each arrives as its own read.
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    return Some((Ok(Bytes::from(b)), pieces));
                }
                Piece::Fail => return Some((Err(std::io::Error::other("cut")), pieces)),
            }
        }
    });
    let mut response = Response::builder().status(StatusCode::from_u16(answer.status).unwrap());
    for (name, value) in answer.headers {
        response = response.header(name, value);
    }
    response.body(Body::from_stream(stream)).unwrap()
}

pub fn http() -> reqwest::Client {
    // As production builds it: the shared TLS configuration, no redirects, no overall timeout.
    warroom_platforms::tls::http_client_builder().connect_timeout(Duration::from_secs(2)).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub fn settings(base_url: String, azure_api_version: Option<&str>) -> ModelSettings {
    ModelSettings {
        provider: ModelProvider::OpenAiCompatible {
            base_url,
            model: "gpt-4o-mini".into(),
            api_key: Some(KEY.into()),
            azure_api_version: azure_api_version.map(Into::into),
        },
        max_output_tokens: 600,
    }
}

pub fn question() -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatTurn::system("You help run an incident."),
            ChatTurn::user("What failed?"),
            ChatTurn::assistant("Checking."),
            ChatTurn::user("And now?"),
        ],
        max_output_tokens: 300,
        temperature: Some(0.2),
    }
}

pub fn chunk(content: &str) -> String {
    format!(
        "data: {}\n\n",
        serde_json::json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
    )
}
