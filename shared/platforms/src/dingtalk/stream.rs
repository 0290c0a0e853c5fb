//! DingTalk's own streaming for the assistant's answers: an AI card grown with
//! `PUT /v1.0/card/streaming`. Sources:
//! - the official page "AI卡片流式更新" (https://open.dingtalk.com/document/development/api-streamingupdate,
//!   copy updated 2026-06-04): body `{outTrackId, guid, key, content, isFull, isFinalize,
//!   isError}`, permission `Card.Streaming.Write`; `guid` "请求调用的唯一标志，系统内部用于幂等判断";
//!   a markdown variable needs `isFull: true`; `isFinalize` moves the card from 输入中 to 完成;
//!   content "单次不要超过 1 K"; errors `param.stream.*` (HTTP 400);
//! - the SDK's model (aliyun dingtalk-sdk card_1_0 `StreamingUpdateRequest`: content, guid, key,
//!   outTrackId required; isError, isFinalize, isFull optional);
//! - the Stream SDK (open-dingtalk/dingtalk-stream-sdk-python @8d8bb1c6, `card_replier.py`
//!   `AICardReplier.start` / `streaming`, `card_instance.py` `AIMarkdownCardInstance`): the AI
//!   card is created and delivered with `flowStatus` 1 (processing), set to 2 (inputting) by a
//!   card update before the first stream, and streamed into `msgContent` in full.
//!
//! The card goes out like the status card (`createAndDeliver` to the group, the group robot),
//! under an `outTrackId` derived from the question, so a retried start names the same card.
//! Where DingTalk refuses the stream (no `Card.Streaming.Write`, a template without the
//! variable), the same card is updated instead (`PUT /v1.0/card/instances`, `Card.Instance.Write`).
//! UNCERTAIN: whether streaming needs the card set to inputting first (the SDK does it; others
//! stream straight from processing); the format DingTalk wants for `guid` (ours is a
//! UUID-shaped digest of the card and the text, so a retried call is the same request).

use super::platform::DingTalkPlatform;
use super::short_hash;
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::Mutex;
use warroom_core::{ChatId, ImError, ImResult, MessageId, StreamRef};

const CARD_WRITE: &str = "Card.Instance.Write";
const STREAM_WRITE: &str = "Card.Streaming.Write";
/// The AI card's markdown variable (Stream SDK `AIMarkdownCardInstance.ai_streaming`).
pub(crate) const CONTENT_KEY: &str = "msgContent";
/// `flowStatus` (Stream SDK `AICardStatus`).
const PROCESSING: &str = "1";
const INPUTTING: &str = "2";
const FINISHED: &str = "3";
/// "内容 size 单次不要超过 1 K" (api-streamingupdate); also a card value's limit (notes Q8).
const MAX_CONTENT: usize = 1000;

/// What this instance knows of its streams: cards already set to inputting, and whether
/// DingTalk refused streaming (then only card updates are sent).
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    inputting: Mutex<HashSet<String>>,
    refused: Mutex<bool>,
}

impl StreamState {
    fn mark_inputting(&self, track: &str) -> bool {
        let mut set = self.inputting.lock().unwrap_or_else(|p| p.into_inner());
        if set.len() > 256 {
            set.clear();
        }
        set.insert(track.to_owned())
    }
    fn refused(&self) -> bool {
        *self.refused.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn refuse(&self) {
        *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }
}

/// The card's id for the answer to `question` in `chat` (`wra_`: not the `wr_` + 32 shape of
/// an API key, which the secrets scan looks for).
pub(crate) fn answer_track(chat: &ChatId, question: Option<&MessageId>) -> String {
    let q = question.map_or_else(warroom_core::ids::random_suffix, |m| m.to_string());
    format!("wra_{}", short_hash(&[chat.as_str(), &q]))
}

/// A request id DingTalk dedupes on: the same card and text give the same one.
fn guid(track: &str, content: &str, last: bool) -> String {
    let h = short_hash(&[track, content, if last { "final" } else { "" }]);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Markdown within the size DingTalk takes: the end (the sources) kept, the middle cut.
pub(crate) fn fit_answer(text: &str) -> String {
    if text.len() <= MAX_CONTENT {
        return text.to_owned();
    }
    let tail = text.rsplit_once("\n\n").map(|(_, t)| t).filter(|t| t.len() < MAX_CONTENT / 2).unwrap_or("");
    let mut end = MAX_CONTENT - tail.len() - "…\n\n".len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if tail.is_empty() {
        format!("{}…", &text[..end])
    } else {
        format!("{}…\n\n{tail}", &text[..end])
    }
}

/// The AI card delivered to the group, processing, with an empty answer.
fn start_body(template: &str, track: &str, route_key: &str, robot: &str, chat: &str) -> Value {
    let mut map = Map::new();
    for (k, v) in [
        ("msgTitle", "Warroom assistant".to_owned()),
        (CONTENT_KEY, String::new()),
        ("flowStatus", PROCESSING.to_owned()),
        ("sys_full_json_obj", json!({"order": ["msgTitle", CONTENT_KEY]}).to_string()),
        ("kind", "answer".to_owned()),
    ] {
        map.insert(k.to_owned(), Value::String(v));
    }
    json!({
        "cardTemplateId": template,
        "outTrackId": track,
        "cardData": {"cardParamMap": map},
        "callbackType": "HTTP",
        "callbackRouteKey": route_key,
        "openSpaceId": format!("dtv1.card//IM_GROUP.{chat}"),
        "imGroupOpenSpaceModel": {"supportForward": true},
        "imGroupOpenDeliverModel": {"robotCode": robot},
        "userIdType": 1,
    })
}

/// Failures the engine must see; anything else at the start means "no stream here".
fn is_fatal_for_start(e: &ImError) -> bool {
    matches!(e, ImError::RateLimited { .. } | ImError::Transient(_) | ImError::ChatGone | ImError::Unauthorized(_))
}

/// A refusal of the stream itself (permission, template, parameters): the card update
/// stands in. Rate limits and outages are the engine's to handle.
fn stream_refused(e: &ImError) -> bool {
    matches!(e, ImError::MissingPermission { .. } | ImError::Rejected { .. })
}

impl DingTalkPlatform {
    pub(crate) async fn stream_start(&self, chat: &ChatId, reply_to: Option<&MessageId>) -> ImResult<Option<StreamRef>> {
        let c = self.credentials();
        let track = answer_track(chat, reply_to);
        let body = start_body(c.card_template(), &track, &c.card_route_key(), c.robot(), chat.as_str());
        match self.client().new_api(Method::POST, "/v1.0/card/instances/createAndDeliver", CARD_WRITE, Some(&body)).await {
            Ok(data) => {
                let failed = data.pointer("/result/deliverResults").and_then(Value::as_array).is_some_and(|r| r.iter().any(|d| d["success"] == json!(false)));
                if failed {
                    tracing::info!(chat = %chat, "the AI card was not delivered; the answer is posted as a card and edited");
                    return Ok(None);
                }
            }
            Err(e) if is_fatal_for_start(&e) => return Err(e),
            Err(e) => {
                tracing::info!(chat = %chat, error = %e, "no AI card here; the answer is posted as a card and edited");
                return Ok(None);
            }
        }
        Ok(Some(StreamRef(track)))
    }

    async fn put_stream(&self, track: &str, content: &str, last: bool) -> ImResult<()> {
        let body = json!({
            "outTrackId": track, "guid": guid(track, content, last), "key": CONTENT_KEY, "content": content,
            "isFull": true, "isFinalize": last, "isError": false,
        });
        self.client().new_api(Method::PUT, "/v1.0/card/streaming", STREAM_WRITE, Some(&body)).await.map(drop)
    }

    /// The card updated by key (the fallback, and the move to inputting).
    async fn put_card(&self, track: &str, content: Option<&str>, status: &str) -> ImResult<()> {
        let mut map = json!({"flowStatus": status});
        if let Some(text) = content {
            map[CONTENT_KEY] = json!(text);
        }
        let body = json!({"outTrackId": track, "cardData": {"cardParamMap": map}, "cardUpdateOptions": {"updateCardDataByKey": true}});
        self.client().new_api(Method::PUT, "/v1.0/card/instances", CARD_WRITE, Some(&body)).await.map(drop)
    }

    /// The whole text so far (markdown streams in full).
    pub(crate) async fn stream_append(&self, stream: &StreamRef, so_far: &str) -> ImResult<()> {
        let track = stream.0.as_str();
        let content = fit_answer(so_far);
        if content.trim().is_empty() {
            return Ok(()); // "param.stream.contentEmpty"
        }
        if self.streams().refused() {
            return self.put_card(track, Some(&content), INPUTTING).await;
        }
        if self.streams().mark_inputting(track) {
            self.put_card(track, None, INPUTTING).await?;
        }
        match self.put_stream(track, &content, false).await {
            Err(e) if stream_refused(&e) => {
                tracing::info!(error = %e, "DingTalk refused AI-card streaming; updating the card instead");
                self.streams().refuse();
                self.put_card(track, Some(&content), INPUTTING).await
            }
            other => other,
        }
    }

    /// The final text, finalized; refused (a card already finished by a stop whose answer was
    /// lost, or no streaming), the card is updated to it, finished.
    pub(crate) async fn stream_stop(&self, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        let track = stream.0.as_str();
        let content = fit_answer(final_text);
        if !self.streams().refused() {
            match self.put_stream(track, &content, true).await {
                Err(e) if stream_refused(&e) => tracing::info!(error = %e, "the final stream was refused; updating the card instead"),
                other => return other,
            }
        }
        self.put_card(track, Some(&content), FINISHED).await
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
