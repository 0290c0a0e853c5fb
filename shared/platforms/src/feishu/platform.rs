//! `ImPlatform` for a Feishu/Lark custom app. Paths and fields: reference §3 (chats,
//! messages), §4 (user lookup), §6 (scopes); response field names from
//! `larksuite/oapi-sdk-go` `service/im/v1/model.go` and `service/contact/v3/model.go`.

use super::client::{pct, Client};
use super::stream::Sequences;
use super::text::{message_text, replace_placeholders, Placeholder};
use super::{card::card_json, short_hash, FeishuCredentials, FEISHU_BASE, LARK_BASE};
use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::ratelimit::BucketSpec;
use warroom_core::*;

/// Member adds and lookups take at most 50 ids per request (reference §3, §4).
const CHUNK: usize = 50;
/// History and chat listing stop after this many pages (a Lambda has minutes, not hours).
const MAX_PAGES: usize = 200;

pub struct FeishuPlatform {
    client: Client,
    /// The base of streamed cards' `sequence` numbers (see `stream`).
    clock: Arc<dyn Clock>,
    sequences: Sequences,
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
    #[serde(default)]
    has_more: bool,
    page_token: Option<String>,
}

#[derive(Deserialize)]
struct ChatItem {
    chat_id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct MessageItem {
    message_id: String,
    #[serde(default)]
    msg_type: String,
    create_time: Option<String>,
    #[serde(default)]
    deleted: bool,
    sender: Option<IdItem>,
    body: Option<BodyItem>,
    #[serde(default)]
    mentions: Vec<MentionItem>,
}

#[derive(Deserialize)]
struct IdItem {
    #[serde(default)]
    id: String,
}

#[derive(Deserialize)]
struct BodyItem {
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
struct MentionItem {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
}

fn parse<T: DeserializeOwned>(data: Value, what: &str) -> ImResult<T> {
    serde_json::from_value(data).map_err(|e| ImError::Rejected { code: "bad_response".into(), message: format!("{what}: {e}") })
}

impl FeishuPlatform {
    pub fn new(credentials: FeishuCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { client: Client::new(credentials, http, store, clock.clone()), clock, sequences: Sequences::default() }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    pub(crate) fn sequences(&self) -> &Sequences {
        &self.sequences
    }

    fn app(&self) -> &str {
        &self.client.credentials.app_id
    }

    /// The bot's own open_id, which the codec needs to tell an @bot from other mentions
    /// (`GET /open-apis/bot/v3/info`; the answer's `bot` is top-level per `larksuite/node-sdk`
    /// `channel/channel.ts`, under `data` per `larksuite/cli` `shortcuts/common/runner.go`:
    /// both are read).
    pub async fn bot_open_id(&self) -> ImResult<String> {
        let v = self.client.call_envelope(Method::GET, "/open-apis/bot/v3/info", None).await?;
        let id = v.pointer("/bot/open_id").or_else(|| v.pointer("/data/open_id")).or_else(|| v.pointer("/data/bot/open_id"));
        id.and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ImError::Rejected { code: "bad_response".into(), message: "bot info without open_id".into() })
    }

    /// An AppLink that opens the chat in the client; third-party use only, so
    /// UNCERTAIN (widely used: `https://applink.feishu.cn/client/chat/open?openChatId=`;
    /// the Lark host is assumed by analogy). None for the sandbox.
    fn chat_url(&self, chat: &str) -> Option<String> {
        let host = match self.client.credentials.base() {
            FEISHU_BASE => "https://applink.feishu.cn",
            LARK_BASE => "https://applink.larksuite.com",
            _ => return None,
        };
        Some(format!("{host}/client/chat/open?openChatId={}", pct(chat)))
    }

    async fn lookup(&self, field: &str, value: &str) -> ImResult<Option<ImUserId>> {
        let body = json!({ field: [value] });
        let data = self.client.call(Method::POST, "/open-apis/contact/v3/users/batch_get_id?user_id_type=open_id", Some(&body)).await?;
        // `user_list[].user_id` is empty when nobody matches or the user is outside the
        // app's contact range (`oapi-sdk-go` `UserContactInfo`).
        let id = data.pointer("/user_list/0/user_id").and_then(Value::as_str).filter(|s| !s.is_empty());
        Ok(id.map(ImUserId::new))
    }

    /// Pages through a list, `first` being the path with its query, without `page_token`.
    async fn pages<T: DeserializeOwned>(&self, first: &str, what: &str) -> ImResult<Vec<T>> {
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let path = match &token {
                Some(t) => format!("{first}&page_token={}", pct(t)),
                None => first.to_owned(),
            };
            let page: Page<T> = parse(self.client.call(Method::GET, &path, None).await?, what)?;
            all.extend(page.items);
            // The Go SDK notes `page_token` may be an empty string at the end.
            match page.page_token.filter(|t| page.has_more && !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(all),
            }
        }
        tracing::warn!(app_id = %self.app(), what, "stopped paging after {MAX_PAGES} pages");
        Ok(all)
    }

    pub(crate) async fn send(&self, chat: &ChatId, msg_type: &str, content: String, uuid: Option<String>) -> ImResult<MessageId> {
        let mut body = json!({"receive_id": chat.as_str(), "msg_type": msg_type, "content": content});
        if let Some(uuid) = uuid {
            body["uuid"] = json!(uuid);
        }
        let data = self.client.call(Method::POST, "/open-apis/im/v1/messages?receive_id_type=chat_id", Some(&body)).await?;
        data.get("message_id")
            .and_then(Value::as_str)
            .map(MessageId::new)
            .ok_or_else(|| ImError::Rejected { code: "bad_response".into(), message: "message sent without a message_id".into() })
    }
}

impl std::fmt::Debug for FeishuPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeishuPlatform").field("credentials", &self.client.credentials).finish()
    }
}

/// The per-user failure a member add reports (`oapi-sdk-go` `CreateChatMembersRespData`:
/// `invalid_id_list` = resigned / invisible to the app / not activated when
/// `succeed_type=1`; `not_existed_id_list`; `pending_approval_id_list`).
fn invite_failure(field: &str) -> ImError {
    match field {
        "not_existed_id_list" => ImError::UserNotFound,
        "pending_approval_id_list" => ImError::Rejected { code: "pending_approval".into(), message: "waiting for the chat owner's approval".into() },
        _ => ImError::Rejected { code: "invalid_id".into(), message: "the user resigned, is invisible to the app, or has not activated the app".into() },
    }
}

#[async_trait]
impl ImPlatform for FeishuPlatform {
    fn platform(&self) -> Platform {
        Platform::Feishu
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            interactive_cards: true,
            update_card: true,
            dismiss: true,
            history: true,
            idempotent_create: true,
            lookup_by_email: true,
            lookup_by_phone: true,
            edit_answers: true,
            reply_opened_by_callback: false,
        }
    }

    /// Seed 003 "Rate Limits": all APIs 50/s per app; send message 1000/min per app; the
    /// same group 5/s (reference §5 also lists 1000/min & 50/s per API and 5 QPS per message).
    fn buckets(&self, family: ApiFamily, chat: Option<&ChatId>) -> Vec<BucketSpec> {
        let app = self.app();
        // Feishu states its limits as QPS / per-minute windows, and the sandbox counts
        // sliding windows; a plain token bucket of 50 + 50/s passes ~99 calls in the first
        // second (measured: 49 refusals in a 100-room burst). `within` keeps every window at
        // or under the limit, with a little headroom for the time between take and call
        // (the benchmark's figures are in infra/bench).
        let mut b = vec![BucketSpec::within(format!("feishu.{app}.app"), 48, Duration::from_secs(1), 3)];
        if family == ApiFamily::Stream {
            // CardKit: "对于单个卡片实体，使用卡片和组件级 OpenAPI 操作卡片的频率上限为 10 次/秒"
            // (streaming-updates-openapi-overview); the engine names the chat, not the card, so
            // the chat keys it (two answers streaming at once in one chat share it: safe side).
            // The content API itself: 1000/min per app (card-element/content page).
            b.push(BucketSpec::within(format!("feishu.{app}.cardkit"), 999, Duration::from_secs(60), 500));
            if let Some(chat) = chat {
                b.push(BucketSpec::within(format!("feishu.{app}.stream.{chat}"), 9, Duration::from_secs(1), 3));
            }
        }
        if family == ApiFamily::Message {
            b.push(BucketSpec::within(format!("feishu.{app}.messages"), 999, Duration::from_secs(60), 500));
            if let Some(chat) = chat {
                b.push(BucketSpec::within(format!("feishu.{app}.chat.{chat}"), 4, Duration::from_secs(1), 2));
            }
        }
        b
    }

    /// `GET /open-apis/application/v6/scopes` → `data.scopes[]` {`scope_name`,
    /// `grant_status`: 1 granted, 2 not} (reference §6; `oapi-sdk-go`
    /// `service/application/v6/model.go` `Scope`).
    async fn granted_scopes(&self) -> ImResult<Vec<String>> {
        #[derive(Deserialize)]
        struct Scope {
            scope_name: String,
            #[serde(default)]
            grant_status: i64,
        }
        let data = self.client.call(Method::GET, "/open-apis/application/v6/scopes", None).await?;
        let scopes: Vec<Scope> = parse(data.get("scopes").cloned().unwrap_or_else(|| json!([])), "scopes")?;
        Ok(scopes.into_iter().filter(|s| s.grant_status == 1).map(|s| s.scope_name).collect())
    }

    /// `uuid` makes a retried create answer the same chat (same uuid + owner → one group
    /// within 10 h, reference §3); the bot creates it, owns it and is its manager.
    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat> {
        let key = &request.idempotency_key;
        let uuid = if key.len() <= 50 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) { key.clone() } else { short_hash(&[key]) };
        let path = format!("/open-apis/im/v1/chats?user_id_type=open_id&set_bot_manager=true&uuid={}", pct(&uuid));
        let chat_type = if request.private { "private" } else { "public" };
        let body = json!({"name": request.name, "description": request.topic, "chat_mode": "group", "chat_type": chat_type});
        let data = self.client.call(Method::POST, &path, Some(&body)).await?;
        let chat_id = data
            .get("chat_id")
            .and_then(Value::as_str)
            .ok_or_else(|| ImError::Rejected { code: "bad_response".into(), message: "chat created without a chat_id".into() })?;
        Ok(CreatedChat { url: self.chat_url(chat_id), chat_id: ChatId::new(chat_id) })
    }

    /// `succeed_type=1` adds whoever can be added and lists the others, so one bad id never
    /// blocks the rest. A chunk refused as a whole fails its users; an error that concerns
    /// the call itself (rate limit, outage, chat gone, permissions) is returned.
    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult> {
        let mut seen = BTreeSet::new();
        let users: Vec<&ImUserId> = users.iter().filter(|u| seen.insert(u.as_str())).collect();
        let path = format!("/open-apis/im/v1/chats/{}/members?member_id_type=open_id&succeed_type=1", pct(chat.as_str()));
        let mut result = InviteResult::default();
        for chunk in users.chunks(CHUNK) {
            let body = json!({"id_list": chunk.iter().map(|u| u.as_str()).collect::<Vec<_>>()});
            let data = match self.client.call(Method::POST, &path, Some(&body)).await {
                Ok(data) => data,
                Err(e @ ImError::Rejected { .. }) => {
                    result.failed.extend(chunk.iter().map(|u| ((*u).clone(), e.clone())));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut failed = std::collections::HashMap::new();
            for field in ["invalid_id_list", "not_existed_id_list", "pending_approval_id_list"] {
                for id in data.get(field).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                    failed.entry(id.to_owned()).or_insert_with(|| invite_failure(field));
                }
            }
            for user in chunk {
                match failed.remove(user.as_str()) {
                    Some(e) => result.failed.push(((*user).clone(), e)),
                    None => result.invited.push((*user).clone()),
                }
            }
        }
        Ok(result)
    }

    /// `uuid` = hash(chat, incident): a card posted again within an hour (a retry after a
    /// lost answer, even once the status has moved on) is the one message already there
    /// (reference §3: dedup within 1 h); the engine then updates it to the current state.
    /// One card per incident and chat is all Warroom ever posts: it edits it in place.
    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
        let uuid = short_hash(&[chat.as_str(), "card", &card.incident_id]);
        self.send(chat, "interactive", card_json(card).to_string(), Some(uuid)).await
    }

    /// Past the `uuid`'s hour a repeated post would make a second card: look first.
    async fn find_card(&self, chat: &ChatId, card: &Card) -> ImResult<Option<MessageId>> {
        self.find_own(chat, |msg_type, content| find::is_card_of(msg_type, content, &card.incident_id)).await
    }

    async fn update_card(&self, _chat: &ChatId, message: &MessageId, card: &Card) -> ImResult<()> {
        let path = format!("/open-apis/im/v1/messages/{}", pct(message.as_str()));
        let body = json!({"content": card_json(card).to_string()});
        self.client.call(Method::PATCH, &path, Some(&body)).await.map(drop)
    }

    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId> {
        self.send(chat, "text", json!({"text": text}).to_string(), None).await
    }

    /// A card with one markdown element: a card can be PATCHed as the answer grows (text
    /// messages cannot be patched; reference §3, and 5 patches a second per message).
    /// A reply to the question where it can be (see answer.rs).
    async fn post_answer(&self, chat: &ChatId, reply_to: Option<&MessageId>, text: &str) -> ImResult<MessageId> {
        self.answer_card_reply(chat, reply_to, text).await
    }

    async fn edit_answer(&self, _chat: &ChatId, message: &MessageId, text: &str) -> ImResult<()> {
        let path = format!("/open-apis/im/v1/messages/{}", pct(message.as_str()));
        self.client.call(Method::PATCH, &path, Some(&json!({"content": super::answer::answer_card(text).to_string()}))).await.map(drop)
    }

    /// A CardKit card in streaming mode, replying to the question (see `stream`); `Ok(None)`
    /// where the app cannot (no `cardkit:card:write`, CardKit refused).
    async fn start_stream(&self, chat: &ChatId, reply_to: Option<&MessageId>, first: &str) -> ImResult<Option<StreamRef>> {
        self.stream_start(chat, reply_to, first).await
    }

    /// CardKit takes the full text each time (`so_far`).
    async fn append_stream(&self, _chat: &ChatId, stream: &StreamRef, so_far: &str, _delta: &str) -> ImResult<()> {
        self.stream_append(stream, so_far).await
    }

    async fn stop_stream(&self, _chat: &ChatId, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        self.stream_stop(stream, final_text).await
    }

    /// `uuid` = hash(chat, notice key): a retry within the hour is the message already sent.
    async fn send_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<MessageId> {
        let uuid = short_hash(&[chat.as_str(), "notice", key]);
        self.send(chat, "text", json!({"text": text}).to_string(), Some(uuid)).await
    }

    async fn find_notice(&self, chat: &ChatId, text: &str, _key: &str) -> ImResult<Option<MessageId>> {
        self.find_own(chat, |msg_type, content| find::is_text(msg_type, content, text)).await
    }

    /// Disbanding deletes the chat's history on Feishu: read it first (reference §3).
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()> {
        let path = format!("/open-apis/im/v1/chats/{}", pct(chat.as_str()));
        self.client.call(Method::DELETE, &path, None).await.map(drop)
    }

    async fn lookup_by_email(&self, email: &str) -> ImResult<Option<ImUserId>> {
        self.lookup("emails", email).await
    }

    /// Numbers outside mainland China need their `+<country code>` (reference §4).
    async fn lookup_by_phone(&self, phone: &str) -> ImResult<Option<ImUserId>> {
        self.lookup("mobiles", phone).await
    }

    /// Chats the bot is in. page_size 100 is assumed to be the maximum — UNCERTAIN.
    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>> {
        let items: Vec<ChatItem> = self.pages("/open-apis/im/v1/chats?page_size=100", "chats").await?;
        Ok(items.into_iter().map(|c| ChatSummary { chat_id: ChatId::new(c.chat_id), name: c.name }).collect())
    }

    /// Oldest first; text and rich-text messages only, mentions shown as `@Name`.
    async fn chat_history(&self, chat: &ChatId) -> ImResult<Vec<ChatMessage>> {
        let first = format!("/open-apis/im/v1/messages?container_id_type=chat&container_id={}&sort_type=ByCreateTimeAsc&page_size=50", pct(chat.as_str()));
        let items: Vec<MessageItem> = self.pages(&first, "messages").await?;
        Ok(items
            .into_iter()
            .filter(|m| !m.deleted)
            .filter_map(|m| {
                let raw = message_text(&m.msg_type, &m.body.as_ref()?.content)?;
                let mut placeholders: Vec<Placeholder> =
                    m.mentions.iter().map(|x| Placeholder { key: x.key.clone(), replacement: Some(format!("@{}", x.name)) }).collect();
                Some(ChatMessage {
                    id: m.message_id,
                    at: Timestamp(m.create_time.and_then(|t| t.parse().ok()).unwrap_or_default()),
                    author: ImUserId::new(m.sender.map(|s| s.id).unwrap_or_default()),
                    text: replace_placeholders(&raw, &mut placeholders),
                })
            })
            .collect())
    }
}

#[path = "find.rs"]
mod find;

#[cfg(test)]
#[path = "platform_tests.rs"]
mod tests;
