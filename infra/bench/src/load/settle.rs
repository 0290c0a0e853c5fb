//! After the load: the queue drains, and what the callbacks asked for is what the stack
//! shows. Drained means, read through the management API and the sandbox view:
//! - every room's incident has the status its clicks asked for (resolved if a Resolve was
//!   answered, else acknowledged if an Acknowledge was), its card is up to date
//!   (`card.up_to_date`) and the card in the chat shows that status;
//! - every @-mention answered 2xx has its answer from the bot in the chat (on DingTalk the
//!   answer is a notice card, which the sandbox view shows as the robot's text message).
//!
//! Then `GET /api/v1/dead-letters` must list none. (The clean stop that follows must say
//! the queue was empty; see `stack::Stopped`.) The DingTalk sandbox's call log
//! (`GET /sandbox/control/dingtalk/calls`) says how many of the bundle's calls DingTalk's
//! limits refused: reported, not a failure (the bundle waits and retries them, so the end
//! state shows any harm), since what it measures is the bundle's buckets, not the load.

use super::driver::Load;
use super::driver::Sample;
use super::setup::{Room, WarRooms};
use super::stack::LocalStack;
use super::{Config, Platform};
use reqwest::Client;
use serde_json::Value;
use std::time::{Duration, Instant};

const POLL_EVERY: Duration = Duration::from_millis(500);
/// How the assistant's finished answer to an @-mention ends (its sources line, see the
/// engine's `assistant::answer`; the local stack's model is the LLM sandbox): the same words
/// on every platform; DingTalk's notice card escapes only `&`, `<` and `>`, none of which are
/// in them. An answer still streaming does not have them yet.
const MENTION_ANSWER: &str = "AI-generated: check before acting.";
/// DingTalk's refusals (the sandbox's `reply.rs`): per-app QPS (old API / v1.0), then the
/// org's monthly quota.
const THROTTLED: [&str; 2] = ["90018", "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"];
const OVER_QUOTA: [&str; 2] = ["90020", "Forbidden.AccessDenied.ApiCountLimitForOrg"];

#[derive(Clone, Debug, Default)]
pub struct Settled {
    /// Everything drained within the limit, and how long that took after the load.
    pub drained: bool,
    pub drain_time: Duration,
    /// Rooms not as expected at the end, one line each.
    pub rooms_wrong: Vec<String>,
    /// Mentions answered 2xx and the bot's answers found, by [`Platform::index`].
    pub mentions: [(usize, usize); 3],
    /// `None` when the API could not be read.
    pub dead_letters: Option<usize>,
    /// The bundle's calls to the DingTalk sandbox while setting up, and from the load's
    /// start to the end of the drain; `None` when the call log could not be read.
    pub dingtalk_setup: Option<DingTalkCalls>,
    pub dingtalk_load: Option<DingTalkCalls>,
    pub problems: Vec<String>,
}

/// The DingTalk sandbox's call log, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DingTalkCalls {
    pub calls: usize,
    /// Refused for the per-app per-API QPS (20 a second on the standard edition).
    pub throttled: usize,
    /// Refused for the org's monthly call quota.
    pub over_quota: usize,
}

impl DingTalkCalls {
    pub async fn read(http: &Client, stack: &LocalStack) -> Result<Self, String> {
        let (base, admin) = (stack.url(), stack.keys().admin_key.as_str());
        let log = get(http, format!("{base}/sandbox/control/dingtalk/calls"), admin).await?;
        let calls = log.as_array().ok_or_else(|| format!("the DingTalk call log is not a list: {log}"))?;
        let coded = |codes: [&str; 2]| calls.iter().filter(|c| c["code"].as_str().is_some_and(|code| codes.contains(&code))).count();
        Ok(Self { calls: calls.len(), throttled: coded(THROTTLED), over_quota: coded(OVER_QUOTA) })
    }

    /// What was added to the log since `before` (the log only grows).
    fn since(self, before: Self) -> Self {
        Self {
            calls: self.calls.saturating_sub(before.calls),
            throttled: self.throttled.saturating_sub(before.throttled),
            over_quota: self.over_quota.saturating_sub(before.over_quota),
        }
    }
}

/// The status each room should end in, from the clicks answered.
fn expected(samples: &[Sample], platform: Platform, rooms: usize) -> Vec<&'static str> {
    let mut want = vec!["triggered"; rooms];
    for s in samples.iter().filter(|s| s.kind.is_click() && s.kind.platform() == platform && s.result.is_ok()) {
        let w = &mut want[s.room];
        match s.press {
            Some(super::callbacks::Press::Resolve) => *w = "resolved",
            Some(super::callbacks::Press::Ack) if *w == "triggered" => *w = "acknowledged",
            _ => {}
        }
    }
    want
}

async fn get(http: &Client, url: String, key: &str) -> Result<Value, String> {
    let resp = http.get(&url).bearer_auth(key).send().await.map_err(|e| format!("GET {url}: {}", e.without_url()))?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status == 200 {
        Ok(body)
    } else {
        Err(format!("GET {url}: {status} {body}"))
    }
}

/// One look: what is not yet as expected.
async fn look(
    http: &Client,
    stack: &LocalStack,
    rooms: &WarRooms,
    want: &[Vec<&'static str>; 3],
    mentions: &mut [(usize, usize); 3],
) -> Result<Vec<String>, String> {
    let (base, admin) = (stack.url(), stack.keys().admin_key.as_str());
    let state = get(http, format!("{base}/sandbox/api/state"), admin).await?;
    let mut wrong = Vec::new();
    for p in Platform::ALL {
        let (platform, list) = (p.name(), rooms.of(p));
        let p = p.index();
        let chats = state[platform]["chats"].as_array().cloned().unwrap_or_default();
        let mut answered = 0;
        for (i, room) in list.iter().enumerate() {
            let chat = chats.iter().find(|c| c["id"] == room.chat_id.as_str());
            let messages = chat.and_then(|c| c["messages"].as_array()).cloned().unwrap_or_default();
            answered += messages.iter().filter(|m| m["from_bot"] == true && m["text"].as_str().is_some_and(|t| t.contains(MENTION_ANSWER))).count();
            let card = messages.iter().find(|m| m["id"] == room.card_id.as_str()).map(|m| m["card"]["status"].clone()).unwrap_or(Value::Null);
            let incident = get(http, format!("{base}/api/v1/incidents/{}", room.incident_id), admin).await?;
            if let Some(problem) = room_problem(room, want[p][i], &incident, &card) {
                wrong.push(format!("{platform} {problem}"));
            }
        }
        mentions[p].1 = answered;
        if answered < mentions[p].0 {
            wrong.push(format!("{platform}: {answered} of {} mentions answered", mentions[p].0));
        }
    }
    Ok(wrong)
}

fn room_problem(room: &Room, want: &str, incident: &Value, card_status: &Value) -> Option<String> {
    let status = incident["status"].as_str().unwrap_or("?");
    let up_to_date = incident["war_room"]["card"]["up_to_date"] == true;
    let shown = card_status.as_str().unwrap_or("?");
    (status != want || !up_to_date || shown != want)
        .then(|| format!("{}: status {status}, card shows {shown}, card up to date {up_to_date}; expected {want}", room.incident_id))
}

/// `dingtalk_setup`: the DingTalk call log as it stood when the load began.
pub async fn settle(
    http: &Client,
    stack: &LocalStack,
    rooms: &WarRooms,
    load: &Load,
    config: &Config,
    dingtalk_setup: Result<DingTalkCalls, String>,
) -> Settled {
    let want = Platform::ALL.map(|p| expected(&load.samples, p, rooms.of(p).len()));
    let mentioned_ok = |p: Platform| load.samples.iter().filter(|s| s.kind.is_mention() && s.kind.platform() == p && s.result.is_ok()).count();
    let mut settled = Settled { mentions: Platform::ALL.map(|p| (mentioned_ok(p), 0)), ..Settled::default() };
    let started = Instant::now();
    loop {
        match look(http, stack, rooms, &want, &mut settled.mentions).await {
            Ok(wrong) if wrong.is_empty() => {
                settled.drained = true;
                settled.rooms_wrong.clear();
                break;
            }
            Ok(wrong) => settled.rooms_wrong = wrong,
            Err(e) => settled.rooms_wrong = vec![e],
        }
        if started.elapsed() > config.drain_timeout {
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    settled.drain_time = started.elapsed();
    let (base, admin) = (stack.url(), stack.keys().admin_key.as_str());
    match get(http, format!("{base}/api/v1/dead-letters?limit=100"), admin).await {
        Ok(body) => {
            let own = body["dead_letters"].as_array().map_or(0, Vec::len);
            settled.dead_letters = Some(own + body["other_tenants"].as_u64().unwrap_or(0) as usize);
        }
        Err(e) => settled.problems.push(e),
    }
    match (dingtalk_setup, DingTalkCalls::read(http, stack).await) {
        (Ok(before), Ok(after)) => {
            settled.dingtalk_setup = Some(before);
            settled.dingtalk_load = Some(after.since(before));
        }
        (Err(e), _) | (_, Err(e)) => settled.problems.push(e),
    }
    settled
}
