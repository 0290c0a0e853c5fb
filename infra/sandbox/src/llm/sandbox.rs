//! [`LlmSandbox`]: the shared state, its set-up, fault and inspection methods.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;

use super::ratelimit::Limiter;
use super::record::{LlmView, RequestRecord};
use super::{Fault, LlmConfig, RateLimit};

/// The LLM sandbox. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct LlmSandbox {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub started: Instant,
    pub state: Mutex<State>,
}

pub(crate) struct State {
    pub config: LlmConfig,
    pub records: Vec<RequestRecord>,
    pub next_answers: VecDeque<String>,
    pub faults: VecDeque<Fault>,
    pub limiter: Limiter,
    pub max_prompt_tokens: u32,
    pub seq: u64,
}

impl LlmSandbox {
    pub fn new(config: LlmConfig) -> Self {
        let state = State {
            config,
            records: Vec::new(),
            next_answers: VecDeque::new(),
            faults: VecDeque::new(),
            limiter: Limiter::default(),
            max_prompt_tokens: 0,
            seq: 0,
        };
        LlmSandbox { inner: Arc::new(Inner { started: Instant::now(), state: Mutex::new(state) }) }
    }

    /// The HTTP surface; see [`super::router`].
    pub fn router(&self) -> Router {
        super::router(self)
    }

    /// Serves the sandbox on `127.0.0.1:0`; returns its base URL (`http://127.0.0.1:PORT`, no
    /// `/v1`: append it, or any prefix, yourself).
    pub async fn serve_local(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = self.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(base)
    }

    // --- answers -------------------------------------------------------------------------

    /// Queues a canned answer for the next chat request that gets an answer (FIFO); requests
    /// refused with an error do not consume it. `max_tokens` still cuts it.
    pub fn set_next_answer(&self, text: &str) {
        self.lock().next_answers.push_back(text.to_string());
    }

    // --- faults --------------------------------------------------------------------------

    /// Queues any [`Fault`] for the next request that would otherwise be answered.
    pub fn push_fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// The next request is answered `status` with `body` (JSON if it parses, else text), or
    /// with OpenAI's error JSON for that status when `body` is `None` (e.g. 500 `server_error`).
    pub fn fail_next(&self, status: u16, body: Option<&str>) {
        self.push_fault(Fault::Status { status, body: body.map(str::to_string) });
    }

    /// The next answer's connection drops after `after_chunks` content chunks, without `[DONE]`.
    pub fn break_next_stream(&self, after_chunks: usize) {
        self.push_fault(Fault::BreakStream { after_chunks });
    }

    /// The next answer goes silent after `after_chunks` content chunks, for `stall_for` (then
    /// carries on), or until the client disconnects when `None`.
    pub fn stall_next_stream(&self, after_chunks: usize, stall_for: Option<Duration>) {
        self.push_fault(Fault::StallStream { after_chunks, stall_for });
    }

    // --- settings ------------------------------------------------------------------------

    /// A pause before each streamed chunk after the first (a slow model). Zero = none.
    pub fn set_chunk_delay(&self, delay: Duration) {
        self.lock().config.chunk_delay = delay;
    }

    /// Characters per streamed content chunk (clamped to at least 1).
    pub fn set_chunk_chars(&self, chars: usize) {
        self.lock().config.chunk_chars = chars.max(1);
    }

    /// The per-key request limit; `None` lifts it. Resets the windows.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        let mut st = self.lock();
        st.config.rate_limit = limit;
        st.limiter.clear();
    }

    /// The context window in tokens (prompt + `max_tokens`); `None` = unlimited.
    pub fn set_context_window(&self, tokens: Option<u32>) {
        self.lock().config.context_window = tokens;
    }

    pub fn add_api_key(&self, key: &str) {
        self.lock().config.api_keys.push(key.to_string());
    }

    pub fn add_model(&self, model: &str) {
        self.lock().config.models.push(model.to_string());
    }

    pub fn add_azure_deployment(&self, deployment: &str, model: &str) {
        self.lock().config.azure_deployments.push((deployment.to_string(), model.to_string()));
    }

    /// Forgets requests, queued answers and faults, rate-limit windows and the prompt maximum;
    /// the configuration stays.
    pub fn reset(&self) {
        let mut st = self.lock();
        st.records.clear();
        st.next_answers.clear();
        st.faults.clear();
        st.limiter.clear();
        st.max_prompt_tokens = 0;
    }

    // --- inspection ----------------------------------------------------------------------

    /// Every chat request so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().records.clone()
    }

    pub fn last_request(&self) -> Option<RequestRecord> {
        self.lock().records.last().cloned()
    }

    /// The largest prompt seen, in tokens ([`super::count_tokens`]): the prompt-budget check.
    pub fn max_prompt_tokens(&self) -> u32 {
        self.lock().max_prompt_tokens
    }

    /// Whether `needle` reached the sandbox in any request (headers, body, messages) or went
    /// out in any answer. For asserting that a secret never reached the model.
    pub fn contains_anywhere(&self, needle: &str) -> bool {
        self.lock().records.iter().any(|r| r.contains(needle))
    }

    /// The sandbox's state for a web page.
    pub fn view(&self) -> LlmView {
        let st = self.lock();
        LlmView::new(&st.config, st.next_answers.len(), st.faults.len(), st.max_prompt_tokens, st.records.clone())
    }

    /// Sandbox time: since creation.
    pub fn now(&self) -> Duration {
        self.inner.started.elapsed()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks how a request's body ended (streams finish after the handler returned).
    pub(crate) fn finish(&self, seq: u64, delivery: &str) {
        let now = self.now();
        if let Some(r) = self.lock().records.iter_mut().rev().find(|r| r.seq == seq) {
            r.finished_at = Some(now);
            r.delivery = Some(delivery.to_string());
        }
    }
}
