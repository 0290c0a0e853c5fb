//! The open loop: callback `i` is due at `start + i / rate`; the scheduler sleeps until
//! then and hands it to a task of its own, never waiting for an answer, and its latency is
//! counted from when it was due. Connections are kept alive and pooled (reqwest opens a
//! new one when every pooled one is busy).
//!
//! Kinds follow the mix by smooth weighted round robin (deterministic, evenly spread);
//! rooms and people rotate. Clicks press Acknowledge, and Resolve in the last part of the
//! run (`Config::resolve_from`), so each room has two real state changes and the other
//! clicks are repeats, as when everyone in a war room clicks the same button.

use super::callbacks::{self, ClickOutcome, Expect, Press, Shot};
use super::proc::Usage;
use super::setup::WarRooms;
use super::stack::LocalStack;
use super::{Config, Kind, LoadError, Mix, Platform};
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use reqwest::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// One callback's fate.
#[derive(Clone, Debug)]
pub struct Sample {
    pub kind: Kind,
    /// Index in its platform's rooms (`WarRooms::of(kind.platform())`).
    pub room: usize,
    pub press: Option<Press>,
    /// Due time, from the start of the load.
    pub due: Duration,
    /// Due → answer read.
    pub latency: Duration,
    /// Due → handed to the connection (how late the generator was).
    pub lag: Duration,
    /// The click's outcome, or the error kind and a detail.
    pub result: Result<Option<ClickOutcome>, (String, String)>,
}

/// What the load did.
#[derive(Clone, Debug, Default)]
pub struct Load {
    pub samples: Vec<Sample>,
    /// Due but not sent: too many in flight.
    pub not_sent: u64,
    /// Start → the last callback handed over.
    pub dispatch_time: Duration,
    /// Start → the last answer.
    pub elapsed: Duration,
    /// The generator's own CPU time over the load.
    pub generator_cpu_secs: f64,
}

/// A pooled keep-alive client whose requests give up after `timeout`.
pub fn client(timeout: Duration) -> Result<Client, LoadError> {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        .map_err(|e| LoadError::Config(format!("HTTP client: {e}")))
}

/// Smooth weighted round robin (as nginx balances upstreams): each pick adds every weight
/// to its kind's credit and takes the total from the richest.
struct Picker {
    weights: Vec<(Kind, i64)>,
    credit: Vec<i64>,
    total: i64,
}

impl Picker {
    fn new(mix: &Mix) -> Self {
        let weights: Vec<(Kind, i64)> = mix.0.iter().map(|(k, w)| (*k, i64::from(*w))).collect();
        let total = weights.iter().map(|(_, w)| w).sum();
        Self { credit: vec![0; weights.len()], weights, total }
    }

    fn next(&mut self) -> Kind {
        let mut best = 0;
        for (i, (_, w)) in self.weights.iter().enumerate() {
            self.credit[i] += w;
            if self.credit[i] > self.credit[best] {
                best = i;
            }
        }
        self.credit[best] -= self.total;
        self.weights[best].0
    }
}

/// Records the ephemeral answers Warroom posts to a Slack click's `response_url`.
type Replies = Arc<Mutex<HashMap<u64, String>>>;

async fn response_url(State(replies): State<Replies>, Path(id): Path<u64>, Json(body): Json<Value>) -> Json<Value> {
    let text = body["text"].as_str().unwrap_or_default().to_string();
    replies.lock().unwrap_or_else(|e| e.into_inner()).insert(id, text);
    Json(serde_json::json!({"ok": true}))
}

async fn serve_replies(replies: Replies) -> Result<(String, tokio::task::JoinHandle<()>), LoadError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| LoadError::Config(format!("response_url listener: {e}")))?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| LoadError::Config(e.to_string()))?);
    let app = Router::new().route("/response/{id}", post(response_url)).with_state(replies);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((base, server))
}

pub async fn drive(http: &Client, stack: &LocalStack, rooms: &WarRooms, config: &Config) -> Result<Load, LoadError> {
    for platform in Platform::ALL {
        if rooms.of(platform).is_empty() && config.mix.uses(|k| k.platform() == platform) {
            return Err(LoadError::Config(format!("the mix sends {} callbacks but there is no such room", platform.name())));
        }
    }
    let replies: Replies = Arc::default();
    let (response_base, reply_server) = serve_replies(replies.clone()).await?;
    let rooms = Arc::new(rooms.clone());
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let in_flight = Arc::new(Semaphore::new(config.max_in_flight));
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as u32).unwrap_or_default();
    let total = config.total_requests();
    let interval = 1.0 / config.rate;
    let resolve_at = config.duration.mul_f64(config.resolve_from);
    let mut picker = Picker::new(&config.mix);
    let mut turns: HashMap<Kind, usize> = HashMap::new();
    let mut not_sent = 0;
    let cpu_before = Usage::own().map(|u| u.cpu_secs).unwrap_or_default();

    let start = Instant::now() + Duration::from_millis(20);
    for seq in 0..total {
        let due_offset = Duration::from_secs_f64(seq as f64 * interval);
        let due = start + due_offset;
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        let kind = picker.next();
        let turn = turns.entry(kind).or_default();
        let platform_rooms = rooms.of(kind.platform());
        let room = *turn % platform_rooms.len();
        let person = (*turn / platform_rooms.len()) % platform_rooms[room].people.len().max(1);
        *turn += 1;
        let press = kind.is_click().then_some(if due_offset >= resolve_at { Press::Resolve } else { Press::Ack });
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            not_sent += 1;
            continue;
        };
        let (http, rooms, samples, replies, base, response_base) =
            (http.clone(), rooms.clone(), samples.clone(), replies.clone(), stack.url().to_string(), response_base.clone());
        tokio::spawn(async move {
            let sent = Instant::now();
            let target = &rooms.of(kind.platform())[room];
            let shot = Shot { seq, run, room: target, person: target.people.get(person).map_or("", String::as_str), press: press.unwrap_or(Press::Ack) };
            let prepared = callbacks::build(kind, &shot, &rooms.rooms, &response_base);
            let result = send(&http, &base, prepared, &replies).await;
            let sample = Sample { kind, room, press, due: due_offset, latency: due.elapsed(), lag: sent - due, result };
            samples.lock().unwrap_or_else(|e| e.into_inner()).push(sample);
            drop(permit);
        });
    }
    let dispatch_time = start.elapsed();
    // Every permit back: every callback answered (or timed out).
    let wait = config.request_timeout + Duration::from_secs(5);
    let all = u32::try_from(config.max_in_flight).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(wait, in_flight.acquire_many(all)).await;
    let elapsed = start.elapsed();
    reply_server.abort();
    if drained.is_err() {
        return Err(LoadError::Stack(format!("callbacks still unanswered {wait:?} after the last was sent")));
    }
    let generator_cpu_secs = Usage::own().map(|u| u.cpu_secs).unwrap_or_default() - cpu_before;
    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Load { samples, not_sent, dispatch_time, elapsed, generator_cpu_secs })
}

fn error(kind: &str, detail: impl Into<String>) -> Result<Option<ClickOutcome>, (String, String)> {
    Err((kind.to_string(), detail.into()))
}

async fn send(http: &Client, base: &str, prepared: callbacks::Prepared, replies: &Replies) -> Result<Option<ClickOutcome>, (String, String)> {
    let mut request = http.post(format!("{base}{}", prepared.path));
    for (name, value) in &prepared.headers {
        request = request.header(*name, value);
    }
    let resp = match request.body(prepared.body).send().await {
        Ok(resp) => resp,
        Err(e) if e.is_timeout() => return error("timeout", prepared.path),
        Err(e) => return error("transport", e.without_url().to_string()),
    };
    let status = resp.status().as_u16();
    let body = match resp.bytes().await {
        Ok(body) => body,
        Err(e) if e.is_timeout() => return error("timeout", prepared.path),
        Err(e) => return error("transport", e.without_url().to_string()),
    };
    if !(200..300).contains(&status) {
        return error(&format!("http_{status}"), format!("{} {}", prepared.path, String::from_utf8_lossy(&body).chars().take(200).collect::<String>()));
    }
    match prepared.expect {
        Expect::Ack => Ok(None),
        Expect::SlackClick(id) => {
            // Warroom posts the ephemeral answer before it answers the click.
            let text = replies.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            match text {
                Some(text) => ClickOutcome::read(&text).map(Some).map_err(|t| ("click_refused".into(), t)),
                None => error("click_no_reply", "no ephemeral answer at the response_url"),
            }
        }
        Expect::FeishuClick => {
            let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            match answer.pointer("/toast/content").and_then(Value::as_str) {
                Some(text) => ClickOutcome::read(text).map(Some).map_err(|t| ("click_refused".into(), t)),
                None => error("click_bad_answer", String::from_utf8_lossy(&body).chars().take(200).collect::<String>()),
            }
        }
        Expect::DingTalkMention => read_dingtalk(false, &body),
        Expect::DingTalkClick => read_dingtalk(true, &body),
        Expect::WeCom => read_wecom(&body),
    }
}

/// The WeCom sandbox's account of the bundle's answer (`AppClick` / `BotExchange` of its
/// control routes): `passive.status`, and `passive.problem` when a non-empty answer could
/// not be opened (bad signature, not encrypted). A click's answer carries no outcome: the
/// card changes with the job that follows, so `None`, and the end state is what counts.
fn read_wecom(body: &[u8]) -> Result<Option<ClickOutcome>, (String, String)> {
    let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let shown = || answer.to_string().chars().take(200).collect::<String>();
    let status = answer.pointer("/passive/status").and_then(Value::as_u64).unwrap_or(0);
    if !(200..300).contains(&status) {
        return error(&format!("bundle_http_{status}"), shown());
    }
    if let Some(problem) = answer.pointer("/passive/problem").and_then(Value::as_str) {
        return error("bundle_bad_answer", problem.to_string());
    }
    Ok(None)
}

/// The sandbox's account of what the bundle answered it (`control.rs` of the DingTalk
/// sandbox): the control route's own 2xx says only that the callback was sent.
fn read_dingtalk(click: bool, body: &[u8]) -> Result<Option<ClickOutcome>, (String, String)> {
    let answer: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let shown = || answer.to_string().chars().take(200).collect::<String>();
    let status = answer["bundle_status"].as_u64().unwrap_or(0);
    if !(200..300).contains(&status) {
        return error(&format!("bundle_http_{status}"), shown());
    }
    if !click {
        return Ok(None);
    }
    let Some(text) = answer.pointer("/bundle_answer/userPrivateData/cardParamMap/notice").and_then(Value::as_str) else {
        return error("click_bad_answer", shown());
    };
    let outcome = ClickOutcome::read(text).map_err(|t| ("click_refused".to_string(), t))?;
    // The sandbox applies an answer only as DingTalk does: HTTP 200 within 2 s.
    if answer["card_updated"] != true {
        return error("click_not_applied", shown());
    }
    Ok(Some(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picker_follows_the_weights_and_spreads_each_kind() {
        let mix = Mix(vec![(Kind::SlackMessage, 3), (Kind::FeishuClick, 1)]);
        let mut picker = Picker::new(&mix);
        let picks: Vec<Kind> = (0..8).map(|_| picker.next()).collect();
        assert_eq!(picks.iter().filter(|k| **k == Kind::FeishuClick).count(), 2);
        // Never two clicks in a row.
        assert!(picks.windows(2).all(|w| !(w[0] == Kind::FeishuClick && w[1] == Kind::FeishuClick)), "{picks:?}");
    }

    #[test]
    fn a_dingtalk_answer_is_read_from_what_the_sandbox_says_the_bundle_answered() {
        let click = |status: u16, notice: &str, applied: bool| {
            let answer = serde_json::json!({"out_track_id": "t1", "card_updated": applied, "bundle_status": status,
                "bundle_answer": {"userPrivateData": {"cardParamMap": {"notice": notice}}}});
            serde_json::to_vec(&answer).unwrap()
        };
        let kind = |r: Result<Option<ClickOutcome>, (String, String)>| r.unwrap_err().0;
        assert_eq!(read_dingtalk(true, &click(200, "Acknowledged by Ada", true)), Ok(Some(ClickOutcome::Changed)));
        assert_eq!(kind(read_dingtalk(true, &click(200, "Acknowledged by Ada", false))), "click_not_applied");
        assert_eq!(kind(read_dingtalk(true, &click(401, "", false))), "bundle_http_401");
        assert_eq!(kind(read_dingtalk(true, &click(200, "Warroom could not apply this right now", true))), "click_refused");
        assert_eq!(kind(read_dingtalk(true, br#"{"bundle_status":200,"bundle_answer":{}}"#)), "click_bad_answer");
        assert_eq!(read_dingtalk(false, br#"{"group":"cid1","bundle_status":200,"bundle_answer":{}}"#), Ok(None));
    }

    #[test]
    fn a_wecom_answer_is_read_from_what_the_sandbox_says_the_bundle_answered() {
        let kind = |r: Result<Option<ClickOutcome>, (String, String)>| r.unwrap_err().0;
        assert_eq!(read_wecom(br#"{"passive":{"status":200,"body":"","plaintext":null,"problem":null},"applied":null}"#), Ok(None));
        assert_eq!(kind(read_wecom(br#"{"passive":{"status":500,"body":"","problem":"HTTP 500"}}"#)), "bundle_http_500");
        assert_eq!(kind(read_wecom(br#"{"passive":{"status":200,"body":"x","problem":"the reply is not JSON"}}"#)), "bundle_bad_answer");
        assert_eq!(kind(read_wecom(b"not json")), "bundle_http_0");
    }
}
