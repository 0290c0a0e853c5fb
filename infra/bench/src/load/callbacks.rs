//! The callbacks, as the platforms send them, signed at send time.
//!
//! Slack (the deployment's own demo app): Events API envelopes as JSON to
//! `/im/slack/events`, `block_actions` as `payload=<JSON>` to `/im/slack/interactions`,
//! both signed v0 with the demo signing secret (shapes as the Slack sandbox sends them,
//! `infra/sandbox/src/slack/callbacks.rs`, which cites the docs). The click's
//! `response_url` points at the bench, which records the ephemeral answer.
//!
//! Feishu (the demo app, with an Encrypt Key): schema 2.0 envelopes with the Verification
//! Token, AES-encrypted as `{"encrypt": …}` and signed (`X-Lark-Signature`), to the
//! integration's `/im/{id}/events` and `/im/{id}/cards` (shapes as the Feishu sandbox sends
//! them, `infra/sandbox/src/feishu/callbacks.rs`).
//!
//! DingTalk (the demo app, "DingTalk (sandbox)"): not built here. The card callback is
//! signed with the `apiSecret` the bundle generates when it registers its card route at
//! connect; only the sandbox and the bundle know it. So the bench asks the sandbox, as a
//! person's DingTalk client would, through its control routes: `POST
//! /sandbox/control/dingtalk/mention {"group","user","text"}` and `.../click
//! {"out_track_id","user","action_id","params"}`. The sandbox sends the real signed robot
//! message / card callback to the bundle and answers with `bundle_status`, `bundle_answer`
//! and `card_updated`; its own work is in the latency measured for those kinds.
//!
//! WeCom (the demo app, "WeCom (sandbox)"): not built here either, though it could be (the
//! demo app's Token and EncodingAESKey are public constants). A card click carries a fresh
//! ResponseCode, which the bundle keeps and spends on `update_template_card` to change the
//! members' cards; codes are single-use and only one the sandbox issued is taken, so a
//! click the bench made up would leave the card unchanged. Both WeCom kinds are asked of the
//! sandbox: `POST /sandbox/control/wecom/mention {"agent_id","chatid","user","text"}` (the
//! smart bot's encrypted JSON @mention) and `.../click {"agent_id","user","task_id",
//! "event_key"}` (the encrypted `template_card_event`). The sandbox answers with what the
//! bundle answered it (`passive.status`, and `passive.problem` when the answer could not be
//! opened); its own work is in the latency measured for those kinds.
//!
//! Every event id, trigger id, message id and ts is unique in the run, so every callback
//! is processed, none dropped as a redelivery.

use super::setup::{Room, Rooms};
use super::Kind;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};
use warroom_local::sandboxes::{
    DINGTALK_CONTROL_PATH, FEISHU_APP_ID, FEISHU_ENCRYPT_KEY, FEISHU_VERIFICATION_TOKEN, SLACK_SIGNING_SECRET, SLACK_TEAM_ID, WECOM_AGENT_ID,
    WECOM_CONTROL_PATH,
};
use warroom_sandbox::{feishu::crypto, slack::signature_v0};

/// Fields the bundle does not check, given plausible values.
const SLACK_APP_ID: &str = "A0BENCHLOAD";
const SLACK_VERIFICATION_TOKEN: &str = "bench-legacy-token";
const FEISHU_TENANT_KEY: &str = "bench0tenant";

/// What the answer should be read for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Any 2xx: events are acknowledged whatever they did.
    Ack,
    /// A Slack click: 2xx, and the ephemeral answer posted to our `response_url` `/response/{0}`.
    SlackClick(u64),
    /// A Feishu click: 2xx with `{"toast": {"content"}}` in the body.
    FeishuClick,
    /// A DingTalk mention through the sandbox: 2xx, and the bundle's answer (`bundle_status`) 2xx.
    DingTalkMention,
    /// A DingTalk click through the sandbox: as a mention, and the bundle's answer carries
    /// the clicker's notice (`userPrivateData.cardParamMap.notice`, DingTalk has no toast)
    /// and was applied to the card (`card_updated`: DingTalk drops an answer later than 2 s).
    DingTalkClick,
    /// A WeCom mention or click through the sandbox: 2xx, and the bundle's answer
    /// (`passive.status`) 2xx and acceptable. A click's answer is an empty 200 (WeCom shows
    /// no text from it): the card changes with the job that follows, checked at the end.
    WeCom,
}

/// One callback ready to send.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub expect: Expect,
}

/// Which button a click presses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Press {
    Ack,
    Resolve,
}

/// What varies per callback.
pub struct Shot<'a> {
    /// Unique in the run.
    pub seq: u64,
    /// Unique per run (keeps ids apart between runs on one stack).
    pub run: u32,
    pub room: &'a Room,
    pub person: &'a str,
    pub press: Press,
}

fn now() -> (u64, u128) {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_secs(), d.as_millis())
}

/// What people write: status chatter, never a command (`ack`, `resolve`, `snooze …`).
fn chatter(seq: u64) -> String {
    const LINES: [&str; 6] = [
        "checking the checkout dashboards now",
        "error rate still at 7%, looking at the last deploy",
        "rolled back cell 3, watching",
        "p99 latency on payments is back to normal",
        "who owns the card-vault service today?",
        "logs show connection resets to the db pool",
    ];
    format!("{} (#{seq})", LINES[(seq % LINES.len() as u64) as usize])
}

pub fn build(kind: Kind, shot: &Shot<'_>, rooms: &Rooms, response_base: &str) -> Prepared {
    match kind {
        Kind::SlackMessage => slack_event(shot, rooms, false),
        Kind::SlackMention => slack_event(shot, rooms, true),
        Kind::SlackClick => slack_click(shot, response_base),
        Kind::FeishuMessage => feishu_message(shot, rooms, false),
        Kind::FeishuMention => feishu_message(shot, rooms, true),
        Kind::FeishuClick => feishu_click(shot, rooms),
        Kind::DingTalkMention => dingtalk_mention(shot),
        Kind::DingTalkClick => dingtalk_click(shot),
        Kind::WeComMention => wecom_mention(shot),
        Kind::WeComClick => wecom_click(shot),
    }
}

fn slack_signed(path: &str, content_type: &str, body: String, expect: Expect) -> Prepared {
    let ts = now().0.to_string();
    let signature = signature_v0(SLACK_SIGNING_SECRET, &ts, body.as_bytes());
    let headers = vec![("content-type", content_type.to_string()), ("x-slack-request-timestamp", ts), ("x-slack-signature", signature)];
    Prepared { path: path.into(), headers, body: body.into_bytes(), expect }
}

/// `message` (or `app_mention`, the bot's mention first, as a person types it).
fn slack_event(shot: &Shot<'_>, rooms: &Rooms, mention: bool) -> Prepared {
    let (secs, _) = now();
    // Unique per message: Warroom keeps a channel's messages by ts.
    let ts = format!("{secs}.{:06}", shot.seq % 1_000_000);
    let room = shot.room;
    let event = if mention {
        json!({"type": "app_mention", "user": shot.person, "text": format!("<@{}> what is the status?", rooms.slack_bot),
               "ts": ts, "channel": room.chat_id, "event_ts": ts, "team": SLACK_TEAM_ID})
    } else {
        let channel_type = if room.private { "group" } else { "channel" };
        json!({"type": "message", "channel": room.chat_id, "user": shot.person, "text": chatter(shot.seq), "ts": ts,
               "event_ts": ts, "channel_type": channel_type, "team": SLACK_TEAM_ID, "client_msg_id": format!("{:08x}-bench-{:012x}", shot.run, shot.seq)})
    };
    let envelope = json!({
        "token": SLACK_VERIFICATION_TOKEN, "team_id": SLACK_TEAM_ID, "context_team_id": SLACK_TEAM_ID,
        "context_enterprise_id": null, "api_app_id": SLACK_APP_ID, "event": event,
        "type": "event_callback", "event_id": format!("Ev{:08X}{:010}", shot.run, shot.seq), "event_time": secs,
        "authorizations": [{"enterprise_id": null, "team_id": SLACK_TEAM_ID, "user_id": rooms.slack_bot,
            "is_bot": true, "is_enterprise_install": false}],
        "is_ext_shared_channel": false, "event_context": format!("4-bench-{:08x}-{}", shot.run, shot.seq),
    });
    slack_signed("/im/slack/events", "application/json", envelope.to_string(), Expect::Ack)
}

fn slack_click(shot: &Shot<'_>, response_base: &str) -> Prepared {
    let room = shot.room;
    let button = match shot.press {
        Press::Ack => &room.ack,
        Press::Resolve => &room.resolve,
    };
    let (secs, millis) = now();
    let payload = json!({
        "type": "block_actions",
        "user": {"id": shot.person, "username": shot.person, "name": shot.person, "team_id": SLACK_TEAM_ID},
        "api_app_id": SLACK_APP_ID, "token": SLACK_VERIFICATION_TOKEN,
        "container": {"type": "message", "message_ts": room.card_id, "channel_id": room.chat_id, "is_ephemeral": false},
        "trigger_id": format!("{}.{:013}.{:08x}{:024x}", secs, shot.seq, shot.run, shot.seq),
        "team": {"id": SLACK_TEAM_ID, "domain": "demo"}, "enterprise": null, "is_enterprise_install": false,
        "channel": {"id": room.chat_id, "name": "war-room"},
        "message": {"type": "message", "ts": room.card_id, "text": "status card"},
        "state": {"values": {}},
        "response_url": format!("{response_base}/response/{}", shot.seq),
        "actions": [{"action_id": button.action_id, "block_id": "warroom_actions", "value": button.value,
            "type": "button", "action_ts": format!("{}.{:06}", millis / 1000, (millis % 1000) * 1000),
            "text": {"type": "plain_text", "text": button.label}}],
    });
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap_or_default();
    slack_signed("/im/slack/interactions", "application/x-www-form-urlencoded", body, Expect::SlackClick(shot.seq))
}

fn feishu_sealed(path: String, event_id: &str, event_type: &str, create_time: String, event: Value, expect: Expect) -> Prepared {
    let plain = json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "event_type": event_type, "create_time": create_time,
                   "token": FEISHU_VERIFICATION_TOKEN, "app_id": FEISHU_APP_ID, "tenant_key": FEISHU_TENANT_KEY},
        "event": event,
    });
    let body = json!({"encrypt": crypto::encrypt(FEISHU_ENCRYPT_KEY, plain.to_string().as_bytes())}).to_string();
    let timestamp = now().0.to_string();
    // Feishu's nonce is a random string; the event id is unique too.
    let nonce = event_id.to_string();
    let signature = crypto::signature(&timestamp, &nonce, FEISHU_ENCRYPT_KEY, body.as_bytes());
    let headers = vec![
        ("content-type", "application/json; charset=utf-8".to_string()),
        ("x-lark-request-timestamp", timestamp),
        ("x-lark-request-nonce", nonce),
        ("x-lark-signature", signature),
    ];
    Prepared { path, headers, body: body.into_bytes(), expect }
}

fn feishu_event_id(shot: &Shot<'_>) -> String {
    format!("{:08x}{:024x}", shot.run, shot.seq)
}

fn feishu_message(shot: &Shot<'_>, rooms: &Rooms, mention: bool) -> Prepared {
    let millis = now().1.to_string();
    let message_id = format!("om_bench{:08x}{:016x}", shot.run, shot.seq);
    let text = if mention { "@_user_1 what is the status?".to_string() } else { chatter(shot.seq) };
    let mut message = json!({"message_id": message_id, "create_time": millis, "update_time": millis, "chat_id": shot.room.chat_id,
        "chat_type": "group", "message_type": "text", "content": json!({"text": text}).to_string()});
    if mention {
        message["mentions"] = json!([{"key": "@_user_1", "id": {"union_id": "", "user_id": "", "open_id": rooms.feishu_bot},
            "name": "Warroom", "tenant_key": FEISHU_TENANT_KEY}]);
    }
    let event = json!({
        "sender": {"sender_id": {"open_id": shot.person}, "sender_type": "user", "tenant_key": FEISHU_TENANT_KEY},
        "message": message,
    });
    let path = format!("/im/{}/events", rooms.feishu_integration);
    feishu_sealed(path, &feishu_event_id(shot), "im.message.receive_v1", millis, event, Expect::Ack)
}

fn feishu_click(shot: &Shot<'_>, rooms: &Rooms) -> Prepared {
    let room = shot.room;
    let value = match shot.press {
        Press::Ack => room.ack.value.clone(),
        Press::Resolve => room.resolve.value.clone(),
    };
    let event = json!({
        "operator": {"open_id": shot.person, "tenant_key": FEISHU_TENANT_KEY},
        "token": format!("c-{:08x}{:012x}", shot.run, shot.seq),
        "action": {"value": value, "tag": "button"},
        "host": "im_message",
        "context": {"open_message_id": room.card_id, "open_chat_id": room.chat_id},
    });
    // `create_time` of a card callback is in microseconds (the callback page).
    let micros = (now().1 * 1000).to_string();
    let path = format!("/im/{}/cards", rooms.feishu_integration);
    feishu_sealed(path, &feishu_event_id(shot), "card.action.trigger", micros, event, Expect::FeishuClick)
}

fn dingtalk_control(route: &str, body: Value, expect: Expect) -> Prepared {
    let headers = vec![("content-type", "application/json".to_string())];
    Prepared { path: format!("{DINGTALK_CONTROL_PATH}/{route}"), headers, body: body.to_string().into_bytes(), expect }
}

/// The robot's message carries what follows the @: DingTalk leaves the robot's name out of
/// `text.content`. Not a command (`ack`, `resolve` would act), so the bot answers it.
fn dingtalk_mention(shot: &Shot<'_>) -> Prepared {
    let body = json!({"group": shot.room.chat_id, "user": shot.person, "text": "what is the status?"});
    dingtalk_control("mention", body, Expect::DingTalkMention)
}

fn dingtalk_click(shot: &Shot<'_>) -> Prepared {
    let room = shot.room;
    let button = match shot.press {
        Press::Ack => &room.ack,
        Press::Resolve => &room.resolve,
    };
    // A card callback has no id of its own: the bundle tells redeliveries apart by a digest
    // of the millisecond, card, user and content. `params` (read by the bundle only for
    // `action` / `incident_id`) keeps one person's repeated clicks on a card distinct even
    // when a small room count at a high rate puts two in the same millisecond.
    let body = json!({"out_track_id": room.card_id, "user": shot.person, "action_id": button.value,
                      "params": {"bench_click": format!("{:08x}-{}", shot.run, shot.seq)}});
    dingtalk_control("click", body, Expect::DingTalkClick)
}

fn wecom_control(route: &str, body: Value) -> Prepared {
    let headers = vec![("content-type", "application/json".to_string())];
    Prepared { path: format!("{WECOM_CONTROL_PATH}/{route}"), headers, body: body.to_string().into_bytes(), expect: Expect::WeCom }
}

/// The sandbox puts the smart bot's @name before the text, as WeCom does. Not a command, so
/// the assistant answers it.
fn wecom_mention(shot: &Shot<'_>) -> Prepared {
    let body = json!({"agent_id": WECOM_AGENT_ID, "chatid": shot.room.chat_id, "user": shot.person, "text": "what is the status?"});
    wecom_control("mention", body)
}

/// The clicker's own copy of the room's card (each member has one, under the same task id).
/// WeCom dedupes events on the user and the second (`CreateTime`, narrowed by the bundle to
/// the card and button): one person's clicks on one button within a second are one click,
/// answered alike, which the rotation of rooms and people keeps rare.
fn wecom_click(shot: &Shot<'_>) -> Prepared {
    let room = shot.room;
    let button = match shot.press {
        Press::Ack => &room.ack,
        Press::Resolve => &room.resolve,
    };
    let body = json!({"agent_id": WECOM_AGENT_ID, "user": shot.person, "task_id": room.card_id, "event_key": button.value});
    wecom_control("click", body)
}

/// How a click was answered: the text the clicker sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClickOutcome {
    /// "Acknowledged by Ada", "Resolved by Bob".
    Changed,
    /// "Already acknowledged": a double click, or a card not yet redrawn.
    Repeat,
    /// "the incident is resolved; only open incidents can be acknowledged …": an Acknowledge
    /// on a stale card, sent before the Resolve that overtook it was answered.
    Stale,
}

impl ClickOutcome {
    pub fn name(self) -> &'static str {
        match self {
            ClickOutcome::Changed => "changed",
            ClickOutcome::Repeat => "repeat",
            ClickOutcome::Stale => "stale",
        }
    }

    /// `Err` with the text when the click was refused or failed (not linked, could not
    /// apply, anything unexpected).
    pub fn read(text: &str) -> Result<Self, String> {
        if text.starts_with("Acknowledged by ") || text.starts_with("Resolved by ") {
            Ok(ClickOutcome::Changed)
        } else if text.starts_with("Already acknowledged") || text.starts_with("Already resolved") {
            Ok(ClickOutcome::Repeat)
        } else if text.contains("is resolved; only open incidents can be acknowledged") {
            Ok(ClickOutcome::Stale)
        } else {
            Err(text.chars().take(200).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn click_answers_are_read_as_the_engine_words_them() {
        assert_eq!(ClickOutcome::read("Acknowledged by Ada"), Ok(ClickOutcome::Changed));
        assert_eq!(ClickOutcome::read("Already acknowledged"), Ok(ClickOutcome::Repeat));
        assert_eq!(ClickOutcome::read("the incident is resolved; only open incidents can be acknowledged or snoozed"), Ok(ClickOutcome::Stale));
        assert!(ClickOutcome::read("Warroom could not apply this right now; please try again.").is_err());
        assert!(ClickOutcome::read("Already handled").is_err(), "a replayed click means the bench reused an id");
    }
}
