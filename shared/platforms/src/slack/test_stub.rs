//! A tiny local HTTP peer for the client and platform tests: records every request and
//! answers from a closure (status, headers, body).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Recorded {
    /// The API method (`chat.postMessage`), i.e. the last path segment.
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Recorded {
    pub fn form(&self) -> HashMap<String, String> {
        serde_urlencoded::from_str(&self.body).unwrap_or_default()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Reply {
    pub fn ok(body: serde_json::Value) -> Self {
        Self { status: 200, headers: Vec::new(), body: body.to_string() }
    }
    pub fn with(status: u16, headers: Vec<(&'static str, String)>, body: &str) -> Self {
        Self { status, headers, body: body.to_string() }
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

pub struct Stub {
    pub base: String,
    calls: Arc<Mutex<Vec<Recorded>>>,
}

impl Stub {
    /// Serves on 127.0.0.1 (any free port) until the test's runtime ends.
    pub async fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let recorder = calls.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (handler, recorder) = (handler.clone(), recorder.clone());
            async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(String::from);
                let recorded = Recorded {
                    method: uri.path().rsplit('/').next().unwrap_or_default().to_string(),
                    path: uri.path().to_string(),
                    authorization: header("authorization"),
                    content_type: header("content-type"),
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let reply = handler(&recorded);
                recorder.lock().unwrap().push(recorded);
                let mut response: Response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
                for (k, v) in reply.headers {
                    response.headers_mut().insert(k, v.parse().unwrap());
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, calls }
    }

    pub fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().unwrap().clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<Recorded> {
        self.calls().into_iter().filter(|c| c.method == method).collect()
    }
}
