//! After the load: the queue drains, and what the callbacks asked for is what the stack
//! shows. Drained means, read through the management API and the sandbox view:
//! - every room's incident has the status its clicks asked for (resolved if a Resolve was
//!   answered, else acknowledged if an Acknowledge was), its card is up to date
//!   (`card.up_to_date`) and the card in the chat shows that status;
//! - every @-mention answered 2xx has its answer from the bot in the chat (on DingTalk the
//!   answer is an AI card streamed to its end, or a notice card where streaming is refused,
//!   both of which the sandbox view shows as the robot's text message; on
//!   WeCom, whose group messages cannot be edited, it is sent once complete, as the app's
//!   text message in the group).
//!
//! A WeCom room's card is the responders' template card as the view shows it (`card.status`;
//! every member's copy changes together, with the ResponseCode the last click brought). The
//! page shows only a card with buttons, and a resolved incident's has none (a plain notice
//! card): then, or if the bundle had to send new cards (no code left, a new task id), the
//! responders' own copies are read from the WeCom sandbox (`GET /sandbox/control/wecom/view`
//! → `cards`, the newest of the incident for each), and all must show the status.
//!
//! Then `GET /api/v1/dead-letters` must list none. (The clean stop that follows must say
//! the queue was empty; see `stack::Stopped`.) The DingTalk sandbox's call log
//! (`GET /sandbox/control/dingtalk/calls`) says how many of the bundle's calls DingTalk's
//! limits refused: reported, not a failure (the bundle waits and retries them, so the end
//! state shows any harm), since what it measures is the bundle's buckets, not the load. Likewise the WeCom
//! sandbox's (`GET /sandbox/control/wecom/calls`, errcode 45009 per corp per API); but a
//! WeCom app message dropped for the per-member limit (30 a minute, `GET
//! /sandbox/control/wecom/view` → `dropped`) is lost without an error, so any is a failure.

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
/// WeCom's refusal for the per-corp per-API limit ("api freq out of limit").
const WECOM_THROTTLED: i64 = 45009;

#[derive(Clone, Debug, Default)]
pub struct Settled {
    /// Everything drained within the limit, and how long that took after the load.
    pub drained: bool,
    pub drain_time: Duration,
    /// Rooms not as expected at the end, one line each.
    pub rooms_wrong: Vec<String>,
    /// Mentions answered 2xx and the bot's answers found, by [`Platform::index`].
    pub mentions: [(usize, usize); 4],
    /// `None` when the API could not be read.
    pub dead_letters: Option<usize>,
    /// The bundle's calls to the DingTalk sandbox while setting up, and from the load's
    /// start to the end of the drain; `None` when the call log could not be read.
    pub dingtalk_setup: Option<DingTalkCalls>,
    pub dingtalk_load: Option<DingTalkCalls>,
    /// Likewise the bundle's calls to the WeCom sandbox, and the messages it dropped.
    pub wecom_setup: Option<WeComCalls>,
    pub wecom_load: Option<WeComCalls>,
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

/// The WeCom sandbox's call log and dropped messages, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WeComCalls {
    pub calls: usize,
    /// Answered 45009: over the per-corp per-API limit.
    pub throttled: usize,
    /// App messages the sandbox dropped, as WeCom does without telling, for the per-member
    /// limit (30 a minute from the app to one member).
    pub dropped: usize,
}

impl WeComCalls {
    pub async fn read(http: &Client, stack: &LocalStack) -> Result<Self, String> {
        let (base, admin) = (stack.url(), stack.keys().admin_key.as_str());
        let log = get(http, format!("{base}/sandbox/control/wecom/calls"), admin).await?;
        let calls = log.as_array().ok_or_else(|| format!("the WeCom call log is not a list: {log}"))?;
        let throttled = calls.iter().filter(|c| c["errcode"].as_i64() == Some(WECOM_THROTTLED)).count();
        let view = get(http, format!("{base}/sandbox/control/wecom/view"), admin).await?;
        let dropped = view["dropped"].as_array().ok_or_else(|| "the WeCom sandbox view has no dropped list".to_string())?.len();
        Ok(Self { calls: calls.len(), throttled, dropped })
    }

    /// What was added since `before` (the log and the dropped list only grow).
    fn since(self, before: Self) -> Self {
        Self {
            calls: self.calls.saturating_sub(before.calls),
            throttled: self.throttled.saturating_sub(before.throttled),
            dropped: self.dropped.saturating_sub(before.dropped),
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
    want: &[Vec<&'static str>; 4],
    mentions: &mut [(usize, usize); 4],
) -> Result<Vec<String>, String> {
    let (base, admin) = (stack.url(), stack.keys().admin_key.as_str());
    let state = get(http, format!("{base}/sandbox/api/state"), admin).await?;
    let wecom = if rooms.wecom.is_empty() { Value::Null } else { get(http, format!("{base}/sandbox/control/wecom/view"), admin).await? };
    let mut wrong = Vec::new();
    for which in Platform::ALL {
        let (platform, list) = (which.name(), rooms.of(which));
        let p = which.index();
        let chats = state[platform]["chats"].as_array().cloned().unwrap_or_default();
        let mut answered = 0;
        for (i, room) in list.iter().enumerate() {
            let chat = chats.iter().find(|c| c["id"] == room.chat_id.as_str());
            let messages = chat.and_then(|c| c["messages"].as_array()).cloned().unwrap_or_default();
            answered += messages.iter().filter(|m| m["from_bot"] == true && m["text"].as_str().is_some_and(|t| t.contains(MENTION_ANSWER))).count();
            let mut card = messages.iter().find(|m| m["id"] == room.card_id.as_str()).map(|m| m["card"]["status"].clone()).unwrap_or(Value::Null);
            if card.is_null() && which == Platform::WeCom {
                card = wecom_card_status(&wecom, room);
            }
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

/// The status the responders' own copies of a WeCom room's card show (the newest card of
/// the incident each holds, from the WeCom sandbox's view), read as the page reads it: the
/// `Status` fact up to " (". `null` if someone has none; `"mixed: …"` if they differ.
fn wecom_card_status(view: &Value, room: &Room) -> Value {
    let subtitle = format!("Incident {}", room.incident_id);
    let cards = view["cards"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut shown: Vec<String> = Vec::new();
    for person in &room.people {
        let newest = cards
            .iter()
            .filter(|c| c["userid"] == person.as_str() && (c["task_id"] == room.card_id.as_str() || c["card"]["sub_title_text"] == subtitle.as_str()))
            .max_by_key(|c| c["at_ms"].as_u64().unwrap_or(0));
        let status = newest.and_then(|c| {
            let facts = c["card"]["horizontal_content_list"].as_array()?;
            let value = facts.iter().find(|f| f["keyname"] == "Status")?["value"].as_str()?;
            Some(value.split(" (").next().unwrap_or(value).to_lowercase())
        });
        let Some(status) = status else { return Value::Null };
        if !shown.contains(&status) {
            shown.push(status);
        }
    }
    match shown.as_slice() {
        [one] => Value::String(one.clone()),
        [] => Value::Null,
        many => Value::String(format!("mixed: {}", many.join(", "))),
    }
}

fn room_problem(room: &Room, want: &str, incident: &Value, card_status: &Value) -> Option<String> {
    let status = incident["status"].as_str().unwrap_or("?");
    let up_to_date = incident["war_room"]["card"]["up_to_date"] == true;
    let shown = card_status.as_str().unwrap_or("?");
    (status != want || !up_to_date || shown != want)
        .then(|| format!("{}: status {status}, card shows {shown}, card up to date {up_to_date}; expected {want}", room.incident_id))
}

/// `dingtalk_setup`, `wecom_setup`: the DingTalk and WeCom call logs as they stood when the
/// load began.
pub async fn settle(
    http: &Client,
    stack: &LocalStack,
    rooms: &WarRooms,
    load: &Load,
    config: &Config,
    dingtalk_setup: Result<DingTalkCalls, String>,
    wecom_setup: Result<WeComCalls, String>,
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
    match (wecom_setup, WeComCalls::read(http, stack).await) {
        (Ok(before), Ok(after)) => {
            settled.wecom_setup = Some(before);
            settled.wecom_load = Some(after.since(before));
        }
        (Err(e), _) | (_, Err(e)) => settled.problems.push(e),
    }
    settled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::setup::Button;
    use serde_json::json;

    #[test]
    fn a_wecom_card_is_read_from_every_responders_newest_copy() {
        let button = Button { action_id: String::new(), label: String::new(), value: json!("") };
        let room = Room {
            incident_id: "inc_1".into(),
            chat_id: "wr1".into(),
            private: true,
            card_id: "wrtask1".into(),
            ack: button.clone(),
            resolve: button,
            people: vec!["wc_ada".into(), "wc_bob".into()],
        };
        let card = |user: &str, task: &str, at: u64, status: &str| {
            json!({"userid": user, "task_id": task, "at_ms": at,
                   "card": {"sub_title_text": "Incident inc_1", "horizontal_content_list": [{"keyname": "Status", "value": status}]}})
        };
        let view = json!({"cards": [card("wc_ada", "wrtask1", 1, "Triggered"), card("wc_bob", "wrtask1", 1, "Resolved (by Ada)"),
                                    card("wc_ada", "wrtask2", 2, "Resolved (by Ada)")]});
        assert_eq!(wecom_card_status(&view, &room), json!("resolved"), "a newer card (new task id) counts");
        let view = json!({"cards": [card("wc_ada", "wrtask1", 1, "Acknowledged"), card("wc_bob", "wrtask1", 1, "Resolved")]});
        assert_eq!(wecom_card_status(&view, &room), json!("mixed: acknowledged, resolved"));
        let view = json!({"cards": [card("wc_ada", "wrtask1", 1, "Resolved")]});
        assert_eq!(wecom_card_status(&view, &room), Value::Null, "Bob has no card");
    }
}
