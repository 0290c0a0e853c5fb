//! The Slack adapter's streamed answers (chat.startStream / appendStream / stopStream) against
//! the Slack sandbox, which checks the arguments and keeps the message's state.

use std::time::Duration;
use warroom_core::{ChatId, ImError, ImPlatform, MessageId, StreamRef};
use warroom_platforms::slack::{SlackCredentials, SlackPlatform, REQUIRED_SCOPES};
use warroom_sandbox::slack::{SandboxConfig, SlackSandbox};

const TEAM: &str = "T0STREAM";
const ASKER: &str = "U0ADA";

struct World {
    sandbox: SlackSandbox,
    api_base: String,
    channel: String,
    question: String,
}

async fn world(enforce_rate_limits: bool) -> World {
    let sandbox = SlackSandbox::new(SandboxConfig {
        client_id: "111.222".into(),
        client_secret: "client-secret".into(),
        signing_secret: "secret".into(),
        enforce_rate_limits,
    });
    let base = sandbox.serve_local().await.unwrap();
    sandbox.add_workspace(TEAM, "Acme");
    sandbox.add_user(TEAM, ASKER, "ada", "ada@acme.example.com");
    let bot = sandbox.bot_user_id(TEAM).unwrap();
    let channel = sandbox.create_channel(TEAM, ASKER, "inc-42-db-down", true);
    sandbox.join_channel(&channel, &bot);
    let question = sandbox.person_says(&channel, ASKER, "@bot what changed?", None);
    World { sandbox, api_base: format!("{base}/api/"), channel, question }
}

impl World {
    fn platform(&self) -> SlackPlatform {
        let scopes: Vec<&str> = REQUIRED_SCOPES.iter().map(|(s, _)| *s).collect();
        let credentials = SlackCredentials {
            bot_token: self.sandbox.issue_bot_token(TEAM, &scopes),
            team_id: TEAM.into(),
            bot_user_id: self.sandbox.bot_user_id(TEAM),
            app_id: None,
            signing_secret: None,
        };
        SlackPlatform::new(credentials, self.api_base.clone(), reqwest::Client::new())
    }
    fn chat(&self) -> ChatId {
        ChatId::new(&self.channel)
    }
    fn reply_to(&self) -> MessageId {
        MessageId::new(&self.question)
    }
    /// The bot's messages in the question's thread: (text, streaming).
    fn answers(&self) -> Vec<(String, bool)> {
        let view = self.sandbox.channel(&self.channel).unwrap();
        view.messages
            .iter()
            .filter(|m| m.bot_id.is_some() && m.thread_ts.as_deref() == Some(self.question.as_str()))
            .map(|m| (m.text.clone(), m.streaming))
            .collect()
    }
}

async fn start(w: &World, p: &SlackPlatform, first: &str) -> StreamRef {
    p.start_stream(&w.chat(), Some(&w.reply_to()), first).await.unwrap().expect("Slack streams in a channel")
}

#[tokio::test]
async fn three_appends_then_stop_leave_one_threaded_message_with_exactly_the_final_text() {
    let w = world(true).await;
    let p = w.platform();
    let s = start(&w, &p, "The deploy").await;
    assert_eq!(w.answers(), [("The deploy".to_string(), true)], "visible in the thread while streaming");
    let mut so_far = "The deploy".to_string();
    for delta in [" at 10:02", " changed the pool size", " from 50 to 5."] {
        so_far.push_str(delta);
        p.append_stream(&w.chat(), &s, &so_far, delta).await.unwrap();
    }
    assert_eq!(w.answers(), [(so_far.clone(), true)]);
    let final_text = format!("{so_far}\n\nSources: ada 10:05");
    p.stop_stream(&w.chat(), &s, &final_text).await.unwrap();
    assert_eq!(w.answers(), [(final_text.clone(), false)], "one message, final text once, no longer streaming");
    let log: Vec<(String, String)> = w.sandbox.stream_appends().into_iter().map(|a| (a.method, a.markdown_text)).collect();
    let expected = [
        ("chat.startStream", "The deploy"),
        ("chat.appendStream", " at 10:02"),
        ("chat.appendStream", " changed the pool size"),
        ("chat.appendStream", " from 50 to 5."),
        ("chat.stopStream", "\n\nSources: ada 10:05"),
    ];
    assert_eq!(log, expected.map(|(m, t)| (m.to_string(), t.to_string())), "deltas in order, the rest appended by stop");
    // No chat.update was needed on this path.
    assert!(!w.sandbox.calls().iter().any(|(m, _)| m == "chat.update"));
}

#[tokio::test]
async fn a_stop_from_a_fresh_instance_replaces_the_text_so_the_final_text_is_there_once() {
    let w = world(false).await;
    let first = w.platform();
    let s = start(&w, &first, "thinking…").await;
    first.append_stream(&w.chat(), &s, "thinking…The pool", "The pool").await.unwrap();
    // The job is retried in a new process: this instance knows nothing of what was streamed,
    // and the final text does not start with the placeholder.
    let retried = w.platform();
    retried.append_stream(&w.chat(), &s, "The pool shrank", " shrank").await.unwrap();
    retried.stop_stream(&w.chat(), &s, "The pool shrank to 5.").await.unwrap();
    assert_eq!(w.answers(), [("The pool shrank to 5.".to_string(), false)]);
    // A second stop (an answer lost after the first) leaves it as it is.
    retried.stop_stream(&w.chat(), &s, "The pool shrank to 5.").await.unwrap();
    assert_eq!(w.answers(), [("The pool shrank to 5.".to_string(), false)]);
}

#[tokio::test]
async fn a_repeated_append_adds_nothing_twice() {
    let w = world(false).await;
    let p = w.platform();
    let s = start(&w, &p, "").await;
    p.append_stream(&w.chat(), &s, "abc", "abc").await.unwrap();
    p.append_stream(&w.chat(), &s, "abc", "abc").await.unwrap();
    p.append_stream(&w.chat(), &s, "abcdef", "def").await.unwrap();
    p.stop_stream(&w.chat(), &s, "abcdef").await.unwrap();
    assert_eq!(w.answers(), [("abcdef".to_string(), false)]);
}

#[tokio::test]
async fn appends_after_stop_are_refused_with_a_typed_non_retryable_error() {
    let w = world(false).await;
    let p = w.platform();
    let s = start(&w, &p, "Done").await;
    p.stop_stream(&w.chat(), &s, "Done.").await.unwrap();
    let err = p.append_stream(&w.chat(), &s, "Done. More", " More").await.unwrap_err();
    assert!(matches!(&err, ImError::Rejected { code, .. } if code == "message_not_in_streaming_state"), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn where_streams_are_refused_or_there_is_no_question_start_stream_says_none() {
    let w = world(false).await;
    let p = w.platform();
    w.sandbox.refuse_streams_in(&w.channel);
    assert_eq!(p.start_stream(&w.chat(), Some(&w.reply_to()), "x").await.unwrap(), None);
    // Without a question there is no thread to stream into: thread_ts is required.
    assert_eq!(p.start_stream(&w.chat(), None, "x").await.unwrap(), None);
    assert!(w.answers().is_empty());
}

#[tokio::test]
async fn a_question_inside_a_thread_streams_into_that_thread_for_its_author() {
    let w = world(false).await;
    let reply = w.sandbox.person_says(&w.channel, ASKER, "@bot and now?", Some(&w.question));
    let p = w.platform();
    let s = p.start_stream(&w.chat(), Some(&MessageId::new(&reply)), "Now").await.unwrap().unwrap();
    p.stop_stream(&w.chat(), &s, "Now fine.").await.unwrap();
    // In the parent's thread (Slack: "use its parent's value instead"), not under the reply.
    assert_eq!(w.answers(), [("Now fine.".to_string(), false)]);
}

#[tokio::test]
async fn rate_limits_on_appends_come_back_with_the_wait() {
    let w = world(true).await;
    let p = w.platform();
    let s = start(&w, &p, "").await;
    let mut so_far = String::new();
    let mut limited = None;
    // Tier 4 is 100 a minute in the sandbox: the 101st append in the same minute is refused.
    for i in 0..101 {
        let delta = format!("{i} ");
        so_far.push_str(&delta);
        if let Err(e) = p.append_stream(&w.chat(), &s, &so_far, &delta).await {
            limited = Some(e);
            break;
        }
    }
    let err = limited.expect("the Tier 4 budget runs out");
    // The sandbox's Retry-After: the seconds until one Tier 4 token is back (60/100 s → 1).
    assert_eq!(err, ImError::RateLimited { retry_after: Duration::from_secs(1) });
    assert!(err.is_retryable());
}
