//! [`BedrockSandbox`]: the shared state, its knobs and the recording.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use serde::Serialize;

use super::sigv4::Scope;
use super::wire::ConverseRequest;
use super::{status_of, BedrockConfig, Fault};

/// One ConverseStream request and what the sandbox did with it. No credentials: the
/// `Authorization` and `X-Amz-Security-Token` headers are not recorded, only the scope.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BedrockRecord {
    /// 1, 2, … in arrival order.
    pub seq: u64,
    /// The model id, percent-decoded.
    pub model_id: String,
    /// The signature's scope, when well formed.
    pub scope: Option<Scope>,
    /// Headers minus credentials.
    pub headers: Vec<(String, String)>,
    /// `None` when the body was refused.
    pub request: Option<ConverseRequest>,
    pub status: u16,
    /// The error type sent (`ThrottlingException`, `throttlingException` in the stream, …) or
    /// `break` / `stall` for a cut stream; `None` for a whole answer.
    pub error: Option<String>,
    /// The answer text sent (what went out before a fault).
    pub answer: String,
    pub stop_reason: Option<String>,
}

/// The Bedrock sandbox. Cheap to clone; clones share one state.
#[derive(Clone)]
pub struct BedrockSandbox {
    inner: Arc<Mutex<State>>,
}

pub(crate) struct State {
    pub config: BedrockConfig,
    pub records: Vec<BedrockRecord>,
    pub next_answers: VecDeque<String>,
    pub faults: VecDeque<Fault>,
    pub seq: u64,
}

impl Default for BedrockSandbox {
    fn default() -> Self {
        Self::new(BedrockConfig::default())
    }
}

impl BedrockSandbox {
    pub fn new(config: BedrockConfig) -> Self {
        let state = State { config, records: Vec::new(), next_answers: VecDeque::new(), faults: VecDeque::new(), seq: 0 };
        BedrockSandbox { inner: Arc::new(Mutex::new(state)) }
    }

    /// The HTTP surface ([`super::router`]).
    pub fn router(&self) -> Router {
        super::router(self)
    }

    /// Serves on `127.0.0.1:0`; returns the endpoint URL (`http://127.0.0.1:PORT`), what the
    /// SDK's `endpoint_url` takes.
    pub async fn serve_local(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(base)
    }

    /// A canned answer for the next request that gets one (FIFO).
    pub fn set_next_answer(&self, text: &str) {
        self.lock().next_answers.push_back(text.to_string());
    }

    /// Any [`Fault`] for the next request that would otherwise be answered.
    pub fn push_fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// The next call gets HTTP 429 `ThrottlingException` (Bedrock's message for it).
    pub fn throttle_next(&self) {
        self.fail_next("ThrottlingException", "Too many requests, please wait before trying again.");
    }

    /// The next call gets `error_type` with Bedrock's status for it ([`status_of`]).
    pub fn fail_next(&self, error_type: &str, message: &str) {
        self.push_fault(Fault::Http { status: status_of(error_type), error_type: error_type.into(), message: message.into() });
    }

    /// The next answer's connection drops after `after_deltas` deltas.
    pub fn break_next_stream(&self, after_deltas: usize) {
        self.push_fault(Fault::Break { after_deltas });
    }

    /// The next answer carries an exception frame (`throttlingException`,
    /// `modelStreamErrorException`, …) after `after_deltas` deltas.
    pub fn exception_next_stream(&self, after_deltas: usize, exception_type: &str, message: &str) {
        self.push_fault(Fault::Exception { after_deltas, exception_type: exception_type.into(), message: message.into() });
    }

    /// The next answer goes silent after `after_deltas` deltas, for `stall_for` (for ever: `None`).
    pub fn stall_next_stream(&self, after_deltas: usize, stall_for: Option<Duration>) {
        self.push_fault(Fault::Stall { after_deltas, stall_for });
    }

    /// A pause before each delta after the first (slow chunks). Zero: none.
    pub fn set_chunk_delay(&self, delay: Duration) {
        self.lock().config.chunk_delay = delay;
    }

    /// Characters per delta (at least 1).
    pub fn set_chunk_chars(&self, chars: usize) {
        self.lock().config.chunk_chars = chars.max(1);
    }

    pub fn add_model(&self, model_id: &str) {
        self.lock().config.models.push(model_id.to_string());
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<BedrockRecord> {
        self.lock().records.clone()
    }

    pub fn last_request(&self) -> Option<BedrockRecord> {
        self.lock().records.last().cloned()
    }

    /// Forgets requests, queued answers and faults; the configuration stays.
    pub fn reset(&self) {
        let mut st = self.lock();
        st.records.clear();
        st.next_answers.clear();
        st.faults.clear();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a request; returns its sequence number.
    pub(crate) fn record(&self, mut record: BedrockRecord) -> u64 {
        let mut st = self.lock();
        st.seq += 1;
        record.seq = st.seq;
        st.records.push(record);
        st.seq
    }

    /// Amends request `seq` as its stream goes (what was sent, how it ended).
    pub(crate) fn update(&self, seq: u64, change: impl FnOnce(&mut BedrockRecord)) {
        if let Some(r) = self.lock().records.iter_mut().rev().find(|r| r.seq == seq) {
            change(r);
        }
    }
}
