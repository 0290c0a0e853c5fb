//! After the load: the queue drains, and what the callbacks asked for is what the stack
//! shows. Drained means, read through the management API and the sandbox view:
//! - every room's incident has the status its clicks asked for (resolved if a Resolve was
//!   answered, else acknowledged if an Acknowledge was), its card is up to date
//!   (`card.up_to_date`) and the card in the chat shows that status;
//! - every @-mention answered 2xx has its answer from the bot in the chat.
//!
//! Then `GET /api/v1/dead-letters` must list none. (The clean stop that follows must say
//! the queue was empty; see `stack::Stopped`.)

use super::driver::Load;
use super::setup::{Room, Rooms};
use super::stack::LocalStack;
use super::{Config, Kind};
use reqwest::Client;
use serde_json::Value;
use std::time::{Duration, Instant};

const POLL_EVERY: Duration = Duration::from_millis(500);
/// What the bot says to an @-mention (the engine's placeholder answer).
const MENTION_ANSWER: &str = "assistant is not available";

#[derive(Clone, Debug, Default)]
pub struct Settled {
    /// Everything drained within the limit, and how long that took after the load.
    pub drained: bool,
    pub drain_time: Duration,
    /// Rooms not as expected at the end, one line each.
    pub rooms_wrong: Vec<String>,
    /// Mentions answered 2xx and the bot's answers found, Slack then Feishu.
    pub mentions: [(usize, usize); 2],
    /// `None` when the API could not be read.
    pub dead_letters: Option<usize>,
    pub problems: Vec<String>,
}

/// The status each room should end in, from the clicks answered.
fn expected(samples: &[super::driver::Sample], slack: bool, rooms: usize) -> Vec<&'static str> {
    let mut want = vec!["triggered"; rooms];
    for s in samples.iter().filter(|s| s.kind.is_click() && s.kind.is_slack() == slack && s.result.is_ok()) {
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
    rooms: &Rooms,
    want: &[Vec<&'static str>; 2],
    mentions: &mut [(usize, usize); 2],
) -> Result<Vec<String>, String> {
    let (base, admin) = (stack.url(), stack.keys().admin_key.as_str());
    let state = get(http, format!("{base}/sandbox/api/state"), admin).await?;
    let mut wrong = Vec::new();
    for (p, (platform, list)) in [("slack", &rooms.slack), ("feishu", &rooms.feishu)].into_iter().enumerate() {
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

pub async fn settle(http: &Client, stack: &LocalStack, rooms: &Rooms, load: &Load, config: &Config) -> Settled {
    let want = [expected(&load.samples, true, rooms.slack.len()), expected(&load.samples, false, rooms.feishu.len())];
    let answered_ok = |kind: Kind| load.samples.iter().filter(|s| s.kind == kind && s.result.is_ok()).count();
    let mut settled = Settled { mentions: [(answered_ok(Kind::SlackMention), 0), (answered_ok(Kind::FeishuMention), 0)], ..Settled::default() };
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
    settled
}
