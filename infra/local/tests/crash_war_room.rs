//! Crash safety with real processes: `warroom-local` is killed (SIGKILL) at each IM call that
//! creating a war room makes, while that call is in flight, then started again on the same
//! data directory. The sandboxes run in their own process (`warroom-sandbox`), so what the
//! killed process did there is still there; the sandbox holds the chosen call either before
//! applying it ("the call never happened") or after ("it happened, the answer was lost").
//!
//! After the restart and a clean stop (so no call is still to come), the sandbox must show
//! exactly one chat for the incident, with the responder and the bot as its members and
//! exactly one status card, showing the right status; and the API (of a third start that
//! runs no job) must show the war room open on that chat, the responder invited, that card,
//! and one `war_room_created` and one `card_posted` in the timeline.
//!
//! `creating_a_*_war_room_makes_exactly_the_calls_*` pin the list of steps: a new IM call in
//! the engine's creation path fails them until it gets its own crash cases here.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::sandbox::{Im, SandboxProcess};
use support::*;

/// The calls creating a Slack war room makes, in order (conversations.setTopic is made by
/// the adapter's create_chat).
const SLACK_STEPS: [&str; 5] = ["conversations.create", "conversations.setTopic", "users.lookupByEmail", "conversations.invite", "chat.postMessage"];
/// The same on Feishu (its tenant token is fetched when war rooms are enabled on it).
const FEISHU_STEPS: [&str; 4] =
    ["POST /open-apis/im/v1/chats", "POST /open-apis/contact/v3/users/batch_get_id", "POST /open-apis/im/v1/chats/*/members", "POST /open-apis/im/v1/messages"];

/// One sandbox process and one data directory, shared by every start of `warroom-local`.
struct World {
    sandbox: SandboxProcess,
    data: PathBuf,
    admin: String,
    intake: String,
}

impl World {
    /// A first start of the stack on a new sandbox, with war rooms on `im`.
    async fn new(name: &str, im: Im) -> (World, Stack) {
        let sandbox = SandboxProcess::start();
        let data = temp_dir(name);
        let stack = Stack::start(&data, &["--sandbox-url", &sandbox.url]);
        let k = keys(&data);
        let world = World { sandbox, admin: k["admin_key"].as_str().unwrap().into(), intake: k["intake_key"].as_str().unwrap().into(), data };
        if im == Im::Feishu {
            world.move_war_rooms_to_feishu(&stack).await;
        }
        (world, stack)
    }

    fn start(&self, extra: &[&str]) -> Stack {
        let mut args = vec!["--sandbox-url", &self.sandbox.url];
        args.extend_from_slice(extra);
        Stack::start(&self.data, &args)
    }

    async fn move_war_rooms_to_feishu(&self, stack: &Stack) {
        let integrations = get(&format!("{}/api/v1/integrations", stack.url), &self.admin).await;
        let id_of = |platform: &str| {
            let all = integrations["integrations"].as_array().unwrap();
            all.iter().find(|i| i["platform"] == platform).unwrap()["id"].as_str().unwrap().to_string()
        };
        let off = reqwest::Client::new()
            .delete(format!("{}/api/v1/integrations/{}/war-room", stack.url, id_of("slack")))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap();
        assert!(off.status().is_success(), "{}", off.text().await.unwrap());
        let (code, body) = post(&format!("{}/api/v1/integrations/{}/war-room", stack.url, id_of("feishu")), Some(&self.admin), serde_json::json!({})).await;
        assert!(code < 300, "{code} {body}");
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// Segment by segment, `*` matching one path segment (the sandbox's hold patterns).
fn matches(pattern: &str, call: &str) -> bool {
    let (p, c): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), call.split('/').collect());
    p.len() == c.len() && p.iter().zip(&c).all(|(p, c)| *p == "*" || p == c)
}

fn strings(v: &Value) -> Vec<String> {
    let mut all: Vec<String> = v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    all.sort();
    all
}

/// The end state, in the sandbox and through the API; `context` says which crash it follows.
async fn check(world: &World, im: Im, source_id: &str, incident: &str, context: &str) {
    let identity = world.sandbox.get("/control/demo").await;
    let chats = world.sandbox.chats(im).await;
    assert_eq!(chats.len(), 1, "{context}: exactly one chat, got {}: {chats:#?}", chats.len());
    let chat = &chats[0];
    let messages = chat["messages"].as_array().unwrap();
    let (chat_id, cards, responder) = match im {
        Im::Slack => {
            let bot_messages: Vec<&Value> = messages.iter().filter(|m| !m["bot_id"].is_null()).collect();
            let cards: Vec<&Value> = bot_messages.iter().copied().filter(|m| !m["blocks"].is_null()).collect();
            assert_eq!(bot_messages.len(), cards.len(), "{context}: the bot posted only its card: {messages:#?}");
            let mut want = vec![identity["slack_bot_user_id"].as_str().unwrap().to_string(), "U_ADA".to_string()];
            want.sort();
            assert_eq!(strings(&chat["members"]), want, "{context}: members are the bot and the responder");
            (chat["id"].clone(), cards, "U_ADA")
        }
        Im::Feishu => {
            let cards: Vec<&Value> = messages.iter().filter(|m| m["msg_type"] == "interactive").collect();
            assert_eq!(messages.len(), cards.len(), "{context}: the bot posted only its card: {messages:#?}");
            assert_eq!(strings(&chat["members"]), vec!["ou_ada".to_string()], "{context}: the responder is a member");
            assert_eq!(strings(&chat["bots"]), vec!["cli_demo0warroom01".to_string()], "{context}: the bot is in it");
            (chat["chat_id"].clone(), cards, "ou_ada")
        }
    };
    assert_eq!(cards.len(), 1, "{context}: exactly one status card, got {}: {cards:#?}", cards.len());
    let card = cards[0];
    let card_id = match im {
        Im::Slack => {
            assert_eq!(card["text"], format!("[CRITICAL] Checkout errors {source_id} — triggered"), "{context}");
            card["ts"].clone()
        }
        Im::Feishu => {
            assert!(card["content"].to_string().contains("triggered"), "{context}: the card shows the status: {card}");
            card["message_id"].clone()
        }
    };
    // The API as a later start finds it, with no worker to change anything meanwhile.
    let stack = world.start(&["--workers", "0"]);
    let room = get(&format!("{}/api/v1/incidents/{incident}/war-room", stack.url), &world.admin).await;
    assert_eq!((room["state"].as_str(), &room["chat_id"]), (Some("open"), &chat_id), "{context}: {room:#}");
    assert_eq!(strings(&room["invited"]), vec![responder.to_string()], "{context}: {room:#}");
    assert_eq!((&room["card"]["message_id"], &room["card"]["up_to_date"]), (&card_id, &Value::Bool(true)), "{context}: {room:#}");
    let timeline = get(&format!("{}/api/v1/incidents/{incident}/timeline", stack.url), &world.admin).await;
    let count = |action: &str| timeline["entries"].as_array().unwrap().iter().filter(|e| e["action"] == action).count();
    assert_eq!((count("war_room_created"), count("card_posted")), (1, 1), "{context}: {timeline:#}");
    stack.stop();
}

/// Waits (at most 30 s) for the room to be open with its card; else fails with what the
/// sandbox was asked meanwhile.
async fn converge(world: &World, im: Im, stack: &Stack, incident: &str, context: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let room = get(&format!("{}/api/v1/incidents/{incident}/war-room", stack.url), &world.admin).await;
        if room["state"] == "open" && !room["card"].is_null() {
            return;
        }
        if Instant::now() > deadline {
            let calls = world.sandbox.calls(im).await;
            let recent = &calls[calls.len().saturating_sub(12)..];
            panic!("{context}: the war room did not converge in 30 s: {room}\n{} IM calls, the last ones: {recent:?}", calls.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The crash case: the stack is killed while `call` is held at `point` ("before" / "after").
async fn killed_at(name: &str, im: Im, call: &str, point: &str) {
    let (world, stack) = World::new(name, im).await;
    world.sandbox.hold(im, call, point).await;
    let source_id = "crash";
    let incident = fire(&stack, &world.intake, source_id).await;
    let held = world.sandbox.wait_holding(im).await;
    stack.kill();
    // Whatever the sandbox answers now goes nowhere; a call held before it applied is dropped.
    world.sandbox.release(im, if point == "before" { "abort" } else { "proceed" }).await;
    let context = format!("killed while {held} was held {point} it took effect");

    let stack = world.start(&[]);
    assert!(stack.printed().contains("Restored 1 queued job(s)"), "{context}: the job in flight survived the kill:\n{}", stack.printed());
    converge(&world, im, &stack, &incident, &context).await;
    let said = stack.stop();
    assert!(said.contains("the queue was empty"), "{context}: {said}");
    check(&world, im, source_id, &incident, &context).await;
}

/// Without a crash: the calls made are exactly the steps the cases below kill at.
async fn uninterrupted(name: &str, im: Im, steps: &[&str]) {
    let (world, stack) = World::new(name, im).await;
    let before = world.sandbox.calls(im).await.len();
    let incident = fire(&stack, &world.intake, "steps").await;
    wait_for_open_room(&stack, &world.admin, &incident).await;
    stack.stop();
    let calls = world.sandbox.calls(im).await.split_off(before);
    let covered = calls.len() == steps.len() && steps.iter().zip(&calls).all(|(p, c)| matches(p, c));
    assert!(covered, "creating a war room called {calls:#?}; the crash cases cover {steps:#?}");
    check(&world, im, "steps", &incident, "no crash").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_slack_war_room_makes_exactly_the_calls_the_slack_crash_cases_kill_at() {
    uninterrupted("crash-steps-slack", Im::Slack, &SLACK_STEPS).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_feishu_war_room_makes_exactly_the_calls_the_feishu_crash_cases_kill_at() {
    uninterrupted("crash-steps-feishu", Im::Feishu, &FEISHU_STEPS).await;
}

macro_rules! killed {
    ($($(#[$attr:meta])* $name:ident: $im:expr, $step:expr, $point:literal;)+) => {$(
        #[tokio::test(flavor = "multi_thread")]
        $(#[$attr])*
        async fn $name() {
            killed_at(stringify!($name), $im, $step, $point).await;
        }
    )+};
}

killed! {
    a_kill_before_slack_creates_the_channel_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[0], "before";
    a_kill_after_slack_created_the_channel_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[0], "after";
    a_kill_before_slack_sets_the_topic_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[1], "before";
    a_kill_after_slack_set_the_topic_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[1], "after";
    a_kill_before_slack_looks_the_responder_up_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[2], "before";
    a_kill_after_slack_looked_the_responder_up_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[2], "after";
    a_kill_before_slack_invites_the_responder_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[3], "before";
    a_kill_after_slack_invited_the_responder_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[3], "after";
    a_kill_before_slack_posts_the_card_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[4], "before";
    a_kill_after_slack_posted_the_card_leaves_one_channel_with_its_members_and_card: Im::Slack, SLACK_STEPS[4], "after";
    a_kill_before_feishu_creates_the_chat_leaves_one_chat_with_its_members_and_card: Im::Feishu, FEISHU_STEPS[0], "before";
    a_kill_after_feishu_created_the_chat_leaves_one_chat_with_its_members_and_card: Im::Feishu, FEISHU_STEPS[0], "after";
    a_kill_before_feishu_looks_the_responder_up_leaves_one_chat_with_its_members_and_card: Im::Feishu, FEISHU_STEPS[1], "before";
    a_kill_after_feishu_looked_the_responder_up_leaves_one_chat_with_its_members_and_card: Im::Feishu, FEISHU_STEPS[1], "after";
    a_kill_before_feishu_adds_the_responder_leaves_one_chat_with_its_members_and_card: Im::Feishu, FEISHU_STEPS[2], "before";
    a_kill_after_feishu_added_the_responder_leaves_one_chat_with_its_members_and_card: Im::Feishu, FEISHU_STEPS[2], "after";
    a_kill_before_feishu_posts_the_card_leaves_one_chat_with_its_members_and_card: Im::Feishu, FEISHU_STEPS[3], "before";
    a_kill_after_feishu_posted_the_card_leaves_one_chat_with_its_members_and_card: Im::Feishu, FEISHU_STEPS[3], "after";
}
