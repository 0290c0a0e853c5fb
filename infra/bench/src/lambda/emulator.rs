//! A Lambda Runtime API emulator (the 2018-06-01 protocol), enough for `lambda_runtime`:
//! `GET /runtime/invocation/next` long-polls for the next event, `POST
//! /runtime/invocation/{id}/response` and `/error` answer it, `POST /runtime/init/error`
//! reports a failed start. One emulator serves one process (one execution environment),
//! so the first `/next` it sees is that process's "ready".

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// How the function answered one invocation, stamped when the answer arrived.
#[derive(Debug)]
pub enum Outcome {
    Response {
        body: Bytes,
        at: Instant,
    },
    /// An `/error` post: the handler failed.
    Error {
        body: String,
    },
}

struct Invocation {
    id: String,
    event: String,
    answer: oneshot::Sender<Outcome>,
}

struct Shared {
    function_arn: String,
    /// The one event waiting to be fetched; `/next` waits on it.
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    ready_at: Mutex<Option<Instant>>,
    init_error: Mutex<Option<String>>,
}

pub struct Emulator {
    address: String,
    shared: Arc<Shared>,
    events: mpsc::Sender<Invocation>,
    stop: Option<oneshot::Sender<()>>,
}

static REQUEST_SEQ: AtomicU64 = AtomicU64::new(1);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere in the bench poisons nothing worth refusing to read.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Emulator {
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (events, receiver) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            next: tokio::sync::Mutex::new(receiver),
            pending: Mutex::new(HashMap::new()),
            ready_at: Mutex::new(None),
            init_error: Mutex::new(None),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self { address, shared, events, stop: Some(stop) })
    }

    /// What `AWS_LAMBDA_RUNTIME_API` is set to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// When the process first asked for an event.
    pub fn ready_at(&self) -> Option<Instant> {
        *lock(&self.shared.ready_at)
    }

    pub fn init_error(&self) -> Option<String> {
        lock(&self.shared.init_error).clone()
    }

    /// Queues one event; the receiver gets the function's answer. Queue it before the
    /// process starts to measure a cold start: the first `/next` is answered at once.
    pub async fn invoke(&self, event: String) -> Result<oneshot::Receiver<Outcome>, String> {
        let id = format!("{:08x}-bench-{:012x}", std::process::id(), REQUEST_SEQ.fetch_add(1, Ordering::Relaxed));
        let (answer, answered) = oneshot::channel();
        self.events.send(Invocation { id, event, answer }).await.map_err(|_| "the runtime API emulator stopped".to_string())?;
        Ok(answered)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut ready = lock(&shared.ready_at);
        if ready.is_none() {
            *ready = Some(Instant::now());
        }
    }
    let Some(invocation) = shared.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    lock(&shared.pending).insert(invocation.id.clone(), invocation.answer);
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(30);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("content-type", "application/json".into());
    set("lambda-runtime-aws-request-id", invocation.id);
    set("lambda-runtime-deadline-ms", deadline.as_millis().to_string());
    set("lambda-runtime-invoked-function-arn", shared.function_arn.clone());
    set("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0".into());
    (headers, invocation.event).into_response()
}

fn answer(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match lock(&shared.pending).remove(id) {
        Some(sender) => {
            let _ = sender.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&shared, &id, Outcome::Response { body, at: Instant::now() })
}

async fn error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&shared, &id, Outcome::Error { body: String::from_utf8_lossy(&body).into_owned() })
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *lock(&shared.init_error) = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}
