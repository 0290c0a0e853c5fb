//! AI-card streaming, `PUT /v1.0/card/streaming` (the official page "AI卡片流式更新",
//! https://open.dingtalk.com/document/development/api-streamingupdate, a copy updated
//! 2026-06-04; SDK card_1_0 `StreamingUpdateRequest`; the Stream SDK's `AICardReplier`):
//!
//! - body `{outTrackId, guid, key, content, isFull, isFinalize, isError}`; permission
//!   `Card.Streaming.Write`; answer `{"success": true, "result": true}`;
//! - `guid` is "请求调用的唯一标志，系统内部用于幂等判断": a repeated guid changes nothing;
//! - `isFull` true replaces the variable, false appends; a markdown variable "该参数必须设置为
//!   true，否则会报错"; `isFinalize` moves the AI card from 输入中 to 完成, `isError` to 出错;
//! - documented errors (all HTTP 400): `param.stream.keyEmpty`, `param.stream.contentEmpty`,
//!   `param.stream.guidEmpty`, `param.stream.outTrackId` "card is not exist",
//!   `param.stream.isFull` "…isFull is null", `param.stream.content` "content is too large";
//! - "内容 size 单次不要超过 1 K，总大小建议不要超过 3 K".
//!
//! UNCERTAIN, each in one place below: the size DingTalk refuses ([`MAX_CONTENT`]), the
//! answer to more streaming after the card finished ([`finished`]), the code for a markdown
//! variable streamed without `isFull` ([`not_full`]), and whether a card still "processing"
//! (`flowStatus` 1) takes a stream (accepted here, moving it to 输入中 as the SDK's
//! `ai_streaming` does by a card update first).

use serde_json::{json, Value};

use super::reply::{chat_gone, new_fail, new_ok, Gen, Reply};
use super::state::{State, StreamUpdate};
use super::Req;

/// Refused above this many bytes: the page advises ≤ 1 K a call and ≤ 3 K in all, and names a
/// "content is too large" error without its threshold — UNCERTAIN, 3 K assumed.
pub const MAX_CONTENT: usize = 3 * 1024;
/// The AI card's markdown variables (Stream SDK `AIMarkdownCardInstance`).
const MARKDOWN_KEYS: &[&str] = &["msgContent", "staticMsgContent"];
/// `flowStatus` (Stream SDK `AICardStatus`): 1 processing, 2 inputting, 3 finished, 5 failed.
const INPUTTING: &str = "2";
const FINISHED: &str = "3";
const FAILED: &str = "5";

fn bad(code: &str, message: &str) -> Reply {
    new_fail(400, code, message)
}

/// UNCERTAIN: the page names no error for a card already finalized; this one is the sandbox's.
fn finished() -> Reply {
    bad("param.stream.finished", "the AI card is finished (isFinalize / isError was sent): it takes no more streaming")
}

/// UNCERTAIN: "否则会报错" without the code.
fn not_full() -> Reply {
    bad("param.stream.isFull", "a markdown variable streams in full: set isFull=true")
}

fn text<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body[field].as_str().filter(|s| !s.is_empty())
}

pub(crate) fn update(st: &mut State, req: &Req, app_id: &str) -> Reply {
    let body = match req.json(Gen::New) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(guid) = text(&body, "guid") else { return bad("param.stream.guidEmpty", "param.stream.guidEmpty") };
    let Some(key) = text(&body, "key") else { return bad("param.stream.keyEmpty", "param.stream.keyEmpty") };
    let Some(content) = text(&body, "content") else { return bad("param.stream.contentEmpty", "param.stream.contentEmpty") };
    let Some(is_full) = body["isFull"].as_bool() else { return bad("param.stream.isFull", "streaming update the parameter isFull is null") };
    if content.len() > MAX_CONTENT {
        return bad("param.stream.content", "content is too large");
    }
    if MARKDOWN_KEYS.contains(&key) && !is_full {
        return not_full();
    }
    let (finalize, error) = (body["isFinalize"] == json!(true), body["isError"] == json!(true));
    let id = text(&body, "outTrackId").unwrap_or_default();
    let Some(card) = st.card(id).filter(|c| c.app == app_id) else { return bad("param.stream.outTrackId", "card is not exist") };
    if card.group.as_deref().is_some_and(|g| st.group(g).is_none_or(|g| g.disbanded)) {
        return chat_gone(Gen::New);
    }
    if card.streamed.iter().any(|u| u.guid == guid) {
        return new_ok(json!({"success": true, "result": true}));
    }
    if card.finalized {
        return finished();
    }
    let now = st.now();
    let Some(card) = st.card_mut(id) else { return bad("param.stream.outTrackId", "card is not exist") };
    let value = match (is_full, card.card_data.get(key)) {
        (false, Some(old)) => format!("{old}{content}"),
        _ => content.to_string(),
    };
    card.card_data.insert(key.to_string(), value);
    let status = if error {
        FAILED
    } else if finalize {
        FINISHED
    } else {
        INPUTTING
    };
    card.card_data.insert("flowStatus".into(), status.into());
    card.finalized = finalize || error;
    card.streamed.push(StreamUpdate { guid: guid.to_string(), key: key.to_string(), content: content.to_string(), is_full, finalize, error, at: now });
    card.updated_count += 1;
    new_ok(json!({"success": true, "result": true}))
}
