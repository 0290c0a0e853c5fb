//! A fault layer in front of an IM sandbox's router: it fails a share of the calls the way
//! real platforms and networks do, seeded so a run can be repeated.
//!
//! - [`FaultKind::Unavailable`]: a 503 before the call reaches the sandbox (no effect).
//! - [`FaultKind::RateLimited`]: a 429 with `Retry-After` (Slack) or Feishu's gateway limit
//!   (`99991400` with `x-ogw-ratelimit-reset`, as HTTP 429 or, as older APIs answer, 400);
//!   no effect.
//! - [`FaultKind::TimeoutBefore`]: the call hangs past the client's timeout and never
//!   reaches the sandbox (no effect).
//! - [`FaultKind::LostAfter5xx`]: the sandbox acts, then the answer is replaced by a 502.
//! - [`FaultKind::LostAfterHang`]: the sandbox acts, then the answer hangs past the
//!   client's timeout. These two are the hard ones: the caller cannot tell them from the
//!   first three, and retrying must not act twice.
//!
//! Besides, calls whose body mentions a `doomed` marker fail with a 503 every time while the
//! layer is on (an outage of one resource, to see a job given up on), and every exchange
//! that reached the sandbox is logged with its answer, so a test can count effects even
//! where the sandbox forgets them (Feishu deletes a disbanded chat's history).

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How the layer answers in place of the sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    Unavailable,
    RateLimited,
    TimeoutBefore,
    LostAfter5xx,
    LostAfterHang,
}

impl FaultKind {
    const ALL: [FaultKind; 5] = [Self::Unavailable, Self::RateLimited, Self::TimeoutBefore, Self::LostAfter5xx, Self::LostAfterHang];

    /// Whether the sandbox acted on the call.
    pub fn took_effect(self) -> bool {
        matches!(self, Self::LostAfter5xx | Self::LostAfterHang)
    }
}

/// Whose error shapes a rate limit takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Slack,
    Feishu,
}

#[derive(Clone, Debug)]
pub struct FaultConfig {
    pub seed: u64,
    /// The share of calls faulted, 0.0..=1.0.
    pub rate: f64,
    /// How long a hung call hangs: longer than the client's timeout.
    pub hang: Duration,
    pub dialect: Dialect,
    /// Calls whose body contains this fail every time while the layer is on.
    pub doomed: Option<String>,
}

/// One call that reached the sandbox, and what the sandbox answered (the caller may have
/// been told otherwise: see `fault`).
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub request: String,
    pub status: u16,
    pub response: String,
    pub fault: Option<FaultKind>,
}

/// What the layer did, for the test's report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultStats {
    pub calls: usize,
    pub faulted: BTreeMap<FaultKind, usize>,
    /// Calls refused for mentioning the doomed marker.
    pub doomed: usize,
}

impl FaultStats {
    pub fn total_faulted(&self) -> usize {
        self.faulted.values().sum()
    }
}

struct Inner {
    config: FaultConfig,
    on: AtomicBool,
    rng: Mutex<StdRng>,
    stats: Mutex<FaultStats>,
    log: Mutex<Vec<Exchange>>,
}

/// Cheap to clone; clones share the switch, the dice and the records.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Faults {
    /// On from the start.
    pub fn new(config: FaultConfig) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(config.seed));
        let inner = Inner { config, on: AtomicBool::new(true), rng, stats: Mutex::default(), log: Mutex::default() };
        Self { inner: Arc::new(inner) }
    }

    /// `router` behind the layer.
    pub fn wrap(&self, router: Router) -> Router {
        router.layer(from_fn_with_state(self.clone(), layer))
    }

    /// Off: every call goes through untouched (and is still logged).
    pub fn set_enabled(&self, on: bool) {
        self.inner.on.store(on, Ordering::SeqCst);
    }

    pub fn stats(&self) -> FaultStats {
        lock(&self.inner.stats).clone()
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.inner.log).clone()
    }

    /// The fault for the next call, if any. The dice are thrown for every call, so the same
    /// seed and the same sequence of calls give the same faults.
    fn decide(&self, body: &[u8]) -> Option<FaultKind> {
        let (roll, pick) = {
            let mut rng = lock(&self.inner.rng);
            (rng.random::<f64>(), rng.random_range(0..FaultKind::ALL.len()))
        };
        let mut stats = lock(&self.inner.stats);
        stats.calls += 1;
        if !self.inner.on.load(Ordering::SeqCst) {
            return None;
        }
        let doomed = self.inner.config.doomed.as_deref().is_some_and(|m| String::from_utf8_lossy(body).contains(m));
        if doomed {
            stats.doomed += 1;
            return Some(FaultKind::Unavailable);
        }
        let kind = (roll < self.inner.config.rate).then_some(FaultKind::ALL[pick])?;
        *stats.faulted.entry(kind).or_default() += 1;
        Some(kind)
    }

    fn record(&self, exchange: Exchange) {
        lock(&self.inner.log).push(exchange);
    }

    fn rate_limited(&self, coin: bool) -> Response {
        match self.inner.config.dialect {
            // "HTTP 429 Too Many Requests … a Retry-After HTTP header containing the number of
            // seconds until you can retry" (Slack rate-limits page).
            Dialect::Slack => {
                let mut r = (StatusCode::TOO_MANY_REQUESTS, r#"{"ok":false,"error":"ratelimited"}"#).into_response();
                r.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
                r
            }
            // 99991400 with the seconds to the reset in `x-ogw-ratelimit-reset`; HTTP 429, or
            // 400 on some older APIs (reference §5).
            Dialect::Feishu => {
                let status = if coin { StatusCode::TOO_MANY_REQUESTS } else { StatusCode::BAD_REQUEST };
                let mut r = (status, r#"{"code":99991400,"msg":"request trigger frequency limit"}"#).into_response();
                r.headers_mut().insert("x-ogw-ratelimit-reset", HeaderValue::from_static("1"));
                r
            }
        }
    }
}

async fn layer(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let fault = faults.decide(&bytes);
    // The path only: a query may carry a token (DingTalk's old API takes `?access_token=`).
    tracing::debug!(method = %parts.method, path = %parts.uri.path(), ?fault, "fault layer");
    let hang = faults.inner.config.hang;
    match fault {
        Some(FaultKind::Unavailable) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Some(FaultKind::RateLimited) => return faults.rate_limited(bytes.len() % 2 == 0),
        Some(FaultKind::TimeoutBefore) => {
            tokio::time::sleep(hang).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        _ => {}
    }
    let (method, uri) = (parts.method.to_string(), parts.uri.to_string());
    let request_text = String::from_utf8_lossy(&bytes).into_owned();
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (head, body) = response.into_parts();
    let answer = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let response_text = String::from_utf8_lossy(&answer).into_owned();
    faults.record(Exchange { method, uri, request: request_text, status: head.status.as_u16(), response: response_text, fault });
    match fault {
        Some(FaultKind::LostAfter5xx) => StatusCode::BAD_GATEWAY.into_response(),
        Some(FaultKind::LostAfterHang) => {
            tokio::time::sleep(hang).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        _ => Response::from_parts(head, Body::from(answer)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;

    fn config(rate: f64) -> FaultConfig {
        FaultConfig { seed: 7, rate, hang: Duration::from_millis(50), dialect: Dialect::Feishu, doomed: Some("doomed".into()) }
    }

    async fn serve(faults: &Faults) -> String {
        let counter = Arc::new(Mutex::new(0u32));
        let app = Router::new().route(
            "/act",
            post(move |body: String| {
                let counter = counter.clone();
                async move {
                    *lock(&counter) += 1;
                    format!("acted on {body}")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/act", listener.local_addr().unwrap());
        let app = faults.wrap(app);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    #[tokio::test]
    async fn the_same_seed_faults_the_same_calls_and_lost_answers_still_reach_the_sandbox() {
        let mut runs = Vec::new();
        for _ in 0..2 {
            let faults = Faults::new(config(0.5));
            let url = serve(&faults).await;
            let http = reqwest::Client::builder().timeout(Duration::from_millis(25)).build().unwrap();
            let mut seen = Vec::new();
            for n in 0..40 {
                let status = http.post(&url).body(format!("call {n}")).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
                seen.push(status);
            }
            let stats = faults.stats();
            assert_eq!(stats.calls, 40);
            assert!(stats.total_faulted() > 5 && stats.total_faulted() < 35, "{stats:?}");
            let effects = faults.exchanges();
            let lost = effects.iter().filter(|e| e.fault.is_some_and(FaultKind::took_effect)).count();
            let effective: usize = stats.faulted.iter().filter(|(k, _)| k.took_effect()).map(|(_, n)| n).sum();
            assert_eq!(lost, effective, "every lost answer acted on the sandbox first");
            assert_eq!(effects.len(), 40 - (stats.total_faulted() - effective));
            runs.push((seen, stats));
        }
        assert_eq!(runs[0], runs[1], "seeded: the same calls get the same faults");
    }

    #[tokio::test]
    async fn a_doomed_call_always_fails_until_the_layer_is_switched_off() {
        let faults = Faults::new(config(0.0));
        let url = serve(&faults).await;
        let http = reqwest::Client::new();
        for _ in 0..3 {
            assert_eq!(http.post(&url).body("the doomed one").send().await.unwrap().status(), 503);
        }
        assert_eq!(http.post(&url).body("fine").send().await.unwrap().status(), 200);
        faults.set_enabled(false);
        let answer = http.post(&url).body("the doomed one").send().await.unwrap();
        assert_eq!(answer.text().await.unwrap(), "acted on the doomed one");
        assert_eq!(faults.stats().doomed, 3);
    }
}
