//! The smart bot's stream through the codec (what the callback answers) and the platform
//! (what the worker writes), meeting in a real store.

use super::*;
use crate::wecom::{test_credentials, MsgCrypt, WeComCodec, WeComCredentials, API_BASE};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use warroom_core::{CallbackCodec, ImPlatform, IntegrationId, ManualClock, RawRequest, SystemClock};
use warroom_store::embedded::EmbeddedStore;

const NOW: i64 = 1_790_000_000;

struct World {
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
}

impl World {
    fn new() -> Self {
        Self { store: Arc::new(EmbeddedStore::open_temporary().unwrap()), clock: Arc::new(ManualClock::at(Timestamp::from_secs(NOW))) }
    }

    fn codec(&self, integration: &str) -> WeComCodec {
        WeComCodec::new(test_credentials(API_BASE))
            .with_clock(self.clock.clone())
            .with_store(self.store.clone())
            .with_integration(&IntegrationId::new(integration))
    }

    fn platform(&self, integration: &str) -> WeComPlatform {
        WeComPlatform::new(test_credentials(API_BASE), reqwest::Client::new(), self.store.clone(), self.clock.clone())
            .with_integration(&IntegrationId::new(integration))
    }
}

fn bot_crypt() -> MsgCrypt {
    let c = test_credentials(API_BASE);
    MsgCrypt::new(&c.bot_token, &c.bot_aes_key).unwrap()
}

/// What the codec answers to the bot callback `plain` (signed with `crypt`), decrypted.
async fn answer(codec: &WeComCodec, crypt: &MsgCrypt, plain: Value, queued: bool) -> Option<Value> {
    let encrypt = crypt.encrypt(&plain.to_string(), "");
    let sig = crypt.signature(&NOW.to_string(), "n0nce", &encrypt);
    let query = format!("msg_signature={sig}&timestamp={NOW}&nonce=n0nce");
    let body = json!({"encrypt": encrypt}).to_string();
    let headers: HashMap<String, String> = HashMap::new();
    let lookup = |name: &str| headers.get(name).cloned();
    let request = RawRequest { method: "POST", query: &query, header: &lookup, body: body.as_bytes(), now: Timestamp::from_secs(NOW) };
    let reply = codec.event_answer(&request, queued).await?;
    let reply: Value = serde_json::from_slice(&reply.body).unwrap();
    let ours = bot_crypt();
    assert!(ours.verify(reply["msgsignature"].as_str().unwrap(), reply["timestamp"].as_str().unwrap(), "n0nce", reply["encrypt"].as_str().unwrap()).is_ok());
    Some(serde_json::from_str(&ours.decrypt(reply["encrypt"].as_str().unwrap(), "").unwrap()).unwrap())
}

fn question(msgid: &str) -> Value {
    json!({"msgid": msgid, "aibotid": "AIBOT", "chatid": "wrchat1", "chattype": "group", "from": {"userid": "ada"},
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=rc1", "msgtype": "text", "text": {"content": "@Warroom what now?"}})
}

fn refresh(stream_id: &str) -> Value {
    json!({"msgid": "poll-1", "aibotid": "AIBOT", "chatid": "wrchat1", "chattype": "group", "from": {"userid": "ada"}, "msgtype": "stream", "stream": {"id": stream_id}})
}

#[tokio::test]
async fn a_question_is_answered_thinking_then_each_refresh_shows_the_answer_so_far_until_it_finishes() {
    let w = World::new();
    let codec = w.codec("int_a");
    let started = answer(&codec, &bot_crypt(), question("m1"), true).await.expect("a stream starts");
    assert_eq!(
        (started["msgtype"].as_str(), started["stream"]["content"].as_str(), started["stream"]["finish"].as_bool()),
        (Some("stream"), Some(THINKING), Some(false))
    );
    let id = started["stream"]["id"].as_str().unwrap().to_string();
    assert_eq!(id, stream_id("m1"));

    let platform = w.platform("int_a");
    let chat = ChatId::new("wrchat1");
    let stream = platform.start_stream(&chat, Some(&MessageId::new("m1|rc1")), "").await.unwrap().expect("the worker streams into it");
    assert_eq!(answer(&codec, &bot_crypt(), refresh(&id), false).await.unwrap()["stream"]["content"], THINKING);
    platform.append_stream(&chat, &stream, "The db", "The db").await.unwrap();
    assert_eq!(answer(&codec, &bot_crypt(), refresh(&id), false).await.unwrap()["stream"], json!({"id": id, "finish": false, "content": "The db"}));
    platform.stop_stream(&chat, &stream, "The db failed over.\n\nSources: …").await.unwrap();
    let last = answer(&codec, &bot_crypt(), refresh(&id), false).await.unwrap();
    assert_eq!(last["stream"], json!({"id": id, "finish": true, "content": "The db failed over.\n\nSources: …"}));
    // WeCom redelivers the question: the same stream, as it stands.
    assert_eq!(answer(&codec, &bot_crypt(), question("m1"), false).await.unwrap()["stream"]["finish"], true);
}

#[tokio::test]
async fn a_refresh_for_an_unknown_stream_or_another_integrations_stream_is_finished_with_a_clear_message() {
    let w = World::new();
    let started = answer(&w.codec("int_a"), &bot_crypt(), question("m1"), true).await.unwrap();
    let id = started["stream"]["id"].as_str().unwrap();
    for (codec, stream) in [(w.codec("int_a"), "wrs-made-up"), (w.codec("int_b"), id)] {
        let told = answer(&codec, &bot_crypt(), refresh(stream), false).await.unwrap();
        assert_eq!(told["stream"], json!({"id": stream, "finish": true, "content": UNKNOWN_STREAM}));
    }
}

#[tokio::test]
async fn only_a_question_the_assistant_takes_starts_a_stream_and_a_forged_refresh_gets_none() {
    let w = World::new();
    let codec = w.codec("int_a");
    assert_eq!(answer(&codec, &bot_crypt(), question("m2"), false).await, None, "a command: the plain empty answer");
    answer(&codec, &bot_crypt(), question("m3"), true).await.unwrap();
    let forged = MsgCrypt::new("not-the-token", &test_credentials(API_BASE).bot_aes_key).unwrap();
    assert_eq!(answer(&codec, &forged, refresh(&stream_id("m3")), false).await, None, "unsigned: nothing is read");
}

#[tokio::test]
async fn a_question_whose_stream_was_not_started_or_whose_window_closed_is_not_streamed() {
    let w = World::new();
    answer(&w.codec("int_a"), &bot_crypt(), question("m4"), true).await.unwrap();
    w.clock.advance(std::time::Duration::from_secs(5 * 60 + 1));
    let platform = w.platform("int_a");
    assert_eq!(platform.start_stream(&ChatId::new("wrchat1"), Some(&MessageId::new("m4|rc1")), "").await.unwrap(), None, "the response_url instead");
    let unstarted = platform.start_stream(&ChatId::new("wrchat1"), Some(&MessageId::new("m6|rc1")), "").await.unwrap();
    assert_eq!(unstarted, None, "the callback started no stream for it: WeCom would never ask");
    let no_bot = WeComPlatform::new(
        WeComCredentials { bot_token: String::new(), ..test_credentials(API_BASE) },
        reqwest::Client::new(),
        w.store.clone(),
        Arc::new(SystemClock),
    );
    assert_eq!(no_bot.start_stream(&ChatId::new("wrchat1"), Some(&MessageId::new("m5|rc1")), "").await.unwrap(), None, "no smart bot, no stream");
}

#[test]
fn stream_content_is_cut_to_wecoms_limit_on_a_character_boundary() {
    let long = "界".repeat(10_000);
    let reply: Value = serde_json::from_str(&stream_reply("s", &long, false)).unwrap();
    let content = reply["stream"]["content"].as_str().unwrap();
    assert!(content.len() <= 20_480 && content.len() > 20_000);
}
