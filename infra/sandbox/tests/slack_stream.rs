//! The Slack sandbox's streamed messages over HTTP: chat.startStream's required arguments,
//! appends that grow the message in its thread, stop, and the errors for a stopped stream,
//! an unknown `ts`, another channel, and chat.update while streaming.

use serde_json::{json, Value};
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};

const TEAM: &str = "T0STREAMS";

async fn start() -> (SlackSandbox, String, String, String) {
    let sb = SlackSandbox::new(SandboxConfig { client_id: "1.2".into(), client_secret: "c".into(), signing_secret: "s".into(), enforce_rate_limits: false });
    let base = sb.serve_local().await.unwrap();
    sb.add_workspace(TEAM, "Streams");
    sb.add_user(TEAM, "U0ALICE", "alice", "alice@example.com");
    let token = sb.issue_bot_token(TEAM, &["chat:write", "channels:history", "groups:history"]);
    let channel = sb.create_channel(TEAM, "U0ALICE", "inc-1", false);
    sb.join_channel(&channel, &sb.bot_user_id(TEAM).unwrap());
    (sb, base, token, channel)
}

async fn call(base: &str, token: &str, method: &str, args: Value) -> Value {
    let resp = reqwest::Client::new().post(format!("{base}/api/{method}")).bearer_auth(token).json(&args).send().await.unwrap();
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_stream_needs_its_thread_and_recipient_then_grows_in_the_thread_until_stopped() {
    let (sb, base, t, ch) = start().await;
    let q = sb.person_says(&ch, "U0ALICE", "@bot status?", None);
    let no_thread = call(&base, &t, "chat.startStream", json!({"channel": ch})).await;
    assert_eq!(no_thread["error"], "invalid_arguments", "thread_ts is required: {no_thread}");
    let no_user = call(&base, &t, "chat.startStream", json!({"channel": ch, "thread_ts": q})).await;
    assert_eq!(no_user["error"], "missing_recipient_user_id");
    let no_team = call(&base, &t, "chat.startStream", json!({"channel": ch, "thread_ts": q, "recipient_user_id": "U0ALICE"})).await;
    assert_eq!(no_team["error"], "missing_recipient_team_id");

    let args = json!({"channel": ch, "thread_ts": q, "recipient_user_id": "U0ALICE", "recipient_team_id": TEAM, "markdown_text": "All"});
    let started = call(&base, &t, "chat.startStream", args).await;
    assert_eq!((started["ok"].as_bool(), started["channel"].as_str()), (Some(true), Some(ch.as_str())), "{started}");
    let ts = started["ts"].as_str().unwrap().to_string();
    let update = call(&base, &t, "chat.update", json!({"channel": ch, "ts": ts, "text": "edited"})).await;
    assert_eq!(update["error"], "streaming_state_conflict");
    let no_text = call(&base, &t, "chat.appendStream", json!({"channel": ch, "ts": ts})).await;
    assert_eq!(no_text["error"], "no_text");
    assert_eq!(call(&base, &t, "chat.appendStream", json!({"channel": ch, "ts": ts, "markdown_text": " good"})).await["ok"], true);
    assert_eq!(call(&base, &t, "chat.appendStream", json!({"channel": ch, "ts": "1.000001", "markdown_text": "x"})).await["error"], "message_not_found");
    let other = sb.create_channel(TEAM, "U0ALICE", "elsewhere", false);
    sb.join_channel(&other, &sb.bot_user_id(TEAM).unwrap());
    let wrong = call(&base, &t, "chat.appendStream", json!({"channel": other, "ts": ts, "markdown_text": "x"})).await;
    assert_eq!(wrong["error"], "message_not_found", "the ts is not in that channel");

    let view = sb.channel(&ch).unwrap();
    let m = view.messages.iter().find(|m| m.ts == ts).unwrap();
    assert_eq!((m.text.as_str(), m.thread_ts.as_deref(), m.streaming), ("All good", Some(q.as_str()), true));

    let stopped = call(&base, &t, "chat.stopStream", json!({"channel": ch, "ts": ts, "markdown_text": "."})).await;
    assert_eq!(stopped["message"]["text"], "All good.", "{stopped}");
    assert!(!sb.channel(&ch).unwrap().messages.iter().find(|m| m.ts == ts).unwrap().streaming);
    let late = call(&base, &t, "chat.appendStream", json!({"channel": ch, "ts": ts, "markdown_text": "x"})).await;
    assert_eq!(late["error"], "message_not_in_streaming_state");
    let again = call(&base, &t, "chat.stopStream", json!({"channel": ch, "ts": ts})).await;
    assert_eq!(again["error"], "message_not_in_streaming_state");
    assert_eq!(call(&base, &t, "chat.update", json!({"channel": ch, "ts": ts, "markdown_text": "Final"})).await["ok"], true, "editable once stopped");

    let log: Vec<String> = sb.stream_appends().into_iter().map(|a| format!("{}:{}", a.method, a.markdown_text)).collect();
    assert_eq!(log, ["chat.startStream:All", "chat.appendStream: good", "chat.stopStream:."]);
}

#[tokio::test]
async fn replies_find_a_threaded_question_and_refused_channels_refuse_streams() {
    let (sb, base, t, ch) = start().await;
    let q = sb.person_says(&ch, "U0ALICE", "root", None);
    let r = sb.person_says(&ch, "U0ALICE", "in thread", Some(&q));
    let replies = call(&base, &t, "conversations.replies", json!({"channel": ch, "ts": r})).await;
    let ts: Vec<&str> = replies["messages"].as_array().unwrap().iter().map(|m| m["ts"].as_str().unwrap()).collect();
    assert_eq!(ts, [q.as_str(), r.as_str()], "the whole thread, parent first");
    assert_eq!(call(&base, &t, "conversations.replies", json!({"channel": ch, "ts": "1.000001"})).await["error"], "thread_not_found");
    sb.refuse_streams_in(&ch);
    let args = json!({"channel": ch, "thread_ts": q, "recipient_user_id": "U0ALICE", "recipient_team_id": TEAM});
    assert_eq!(call(&base, &t, "chat.startStream", args).await["error"], "channel_type_not_supported");
}
