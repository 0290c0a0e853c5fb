//! `ImPlatform` for a DingTalk internal app. Endpoints and fields: ref §3 (scene groups,
//! robot messages, cards), §4 (user lookup); card bodies in `card`.

use super::card::{deliver_body, update_body};
use super::client::{denied_key, Client};
use super::text::group_text;
use super::{short_hash, DingTalkCredentials, REQUIRED_SCOPES};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use warroom_core::ratelimit::BucketSpec;
use warroom_core::*;

const CHAT_MANAGE: &str = "qyapi_chat_manage";
const ROBOT_SEND: &str = "qyapi_robot_sendmsg";
const CARD_WRITE: &str = "Card.Instance.Write";
const BY_MOBILE: &str = "qyapi_get_member_by_mobile";
/// Users per member-add call. The old create API takes up to 999 ids (ref §3); the add
/// API's own limit is not stated, so smaller chunks — UNCERTAIN.
const CHUNK: usize = 50;
/// `uuid` (scene-group idempotency): ids that look safe are sent as they are, anything else
/// as a 32-hex digest. DingTalk's limits on `uuid` are not documented — UNCERTAIN.
const UUID_MAX: usize = 64;
/// 60121 "找不到该用户" from getbymobile (see `client`).
const NOT_FOUND: &str = "60121";

pub struct DingTalkPlatform {
    client: Client,
    streams: super::stream::StreamState,
}

fn bad_response(what: &str) -> ImError {
    ImError::Rejected { code: "bad_response".into(), message: what.into() }
}

fn unsupported(what: &str) -> ImError {
    ImError::Rejected { code: "unsupported".into(), message: format!("DingTalk has no API to {what}") }
}

/// The first string among `keys` (DingTalk's own SDK models and docs differ in case).
fn field<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str)).filter(|s| !s.is_empty())
}

/// Phone numbers as getbymobile takes them: mainland numbers without `+86` (ref §4 example
/// "185…"). Other country codes are passed as given — UNCERTAIN what format DingTalk wants.
fn mobile(phone: &str) -> String {
    let digits: String = phone.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).map(str::to_owned).unwrap_or(digits)
}

impl DingTalkPlatform {
    pub fn new(credentials: DingTalkCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { client: Client::new(credentials, http, store, clock), streams: Default::default() }
    }

    fn creds(&self) -> &DingTalkCredentials {
        &self.client.credentials
    }

    pub(crate) fn credentials(&self) -> &DingTalkCredentials {
        self.creds()
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn streams(&self) -> &super::stream::StreamState {
        &self.streams
    }

    pub(crate) fn robot_code(&self) -> &str {
        self.creds().robot()
    }

    /// A probed point passed: an earlier refusal noted for it no longer stands.
    pub(crate) async fn forget_denied(&self, scope: &str) {
        let key = denied_key(&self.creds().client_id, scope);
        if let Err(e) = self.client.store.take_ephemeral(&key, self.client.clock.now()).await {
            tracing::warn!(error = %e, "could not clear a refused permission");
        }
    }

    /// Proves the AppKey and AppSecret by fetching a fresh access token (shared afterwards).
    pub async fn prove_credentials(&self) -> ImResult<()> {
        self.client.prove_credentials().await
    }

    /// Registers `url` as the card callback of this app under the credentials' route key
    /// and card secret (`POST /v1.0/card/callbacks/register`, notes Q6; `forceUpdate` so a
    /// moved URL replaces the old one). Call once when connecting the integration.
    pub async fn register_card_callback(&self, url: &str) -> ImResult<()> {
        let c = self.creds();
        let body = json!({"callbackRouteKey": c.card_route_key(), "callbackUrl": url, "apiSecret": c.card_secret(), "forceUpdate": true});
        self.client.new_api(Method::POST, "/v1.0/card/callbacks/register", CARD_WRITE, Some(&body)).await.map(drop)
    }

    async fn add_chunk(&self, chat: &ChatId, users: &[&ImUserId]) -> ImResult<()> {
        let ids: Vec<&str> = users.iter().map(|u| u.as_str()).collect();
        // Comma-separated like the old API's `user_ids` (ref §3) — UNCERTAIN for v1.0.
        let body = json!({"open_conversation_id": chat.as_str(), "user_ids": ids.join(",")});
        self.client.new_api(Method::POST, "/v1.0/im/sceneGroup/member/add", CHAT_MANAGE, Some(&body)).await.map(drop)
    }
}

impl std::fmt::Debug for DingTalkPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DingTalkPlatform").field("credentials", self.creds()).finish()
    }
}

fn family_name(family: ApiFamily) -> &'static str {
    match family {
        ApiFamily::CreateChat => "create_chat",
        ApiFamily::Members => "members",
        ApiFamily::Message => "message",
        ApiFamily::DismissChat => "dismiss",
        ApiFamily::Lookup => "lookup",
        ApiFamily::Read => "read",
        ApiFamily::Reaction => "reaction",
        ApiFamily::Topic => "topic",
        ApiFamily::Stream => "stream",
    }
}

#[async_trait]
impl ImPlatform for DingTalkPlatform {
    fn platform(&self) -> Platform {
        Platform::Dingtalk
    }

    /// No history API exists for groups (ref §3 "Chat history"): the captured transcript is
    /// used. No email lookup (ref §4). Scene groups can be disbanded.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            interactive_cards: true,
            update_card: true,
            dismiss: true,
            history: false,
            idempotent_create: true,
            lookup_by_email: false,
            lookup_by_phone: true,
            edit_answers: true,
            reply_opened_by_callback: false,
        }
    }

    /// DingTalk limits each app per API by the edition's QPS (20 on the free edition, notes
    /// Q9). One family is one or two APIs, so a bucket per family, kept a little under the
    /// limit like Feishu's (`within`, sliding windows). The per-IP limit (10,000 / 20 s) is
    /// far above one app's and is left to DingTalk's own refusal.
    fn buckets(&self, family: ApiFamily, _chat: Option<&ChatId>) -> Vec<BucketSpec> {
        let qps = self.creds().edition.qps_per_api();
        let key = format!("dingtalk.{}.{}", self.creds().client_id, family_name(family));
        // One call at a time, evenly spaced a little under the limit: (QPS − 1) a second with
        // 4% of slack for a job that comes back a few ms late (55 ms on the standard edition:
        // at most 19 in any second). A burst of 3 (the earlier shape) sustained only 16.9/s;
        // measured with `dingtalk_burst`.
        let interval_ms = 1040u32.div_ceil(qps.saturating_sub(1).max(1));
        vec![BucketSpec { key, capacity: 1, interval_ms: i64::from(interval_ms) }]
    }

    /// DingTalk cannot list an app's granted permission points (ref §6): the points war rooms
    /// call are probed (`probe`), and a point DingTalk refused a real call for within the
    /// last hour (noted by the client) shows as missing too. Points neither probed nor
    /// refused (the card streaming point) count as granted.
    async fn granted_scopes(&self) -> ImResult<Vec<String>> {
        let denied = self.probe_permissions().await?;
        let now = self.client.clock.now();
        let mut granted = Vec::new();
        for (scope, _) in REQUIRED_SCOPES {
            let denied_before = self.client.store.get_ephemeral(&denied_key(&self.creds().client_id, scope), now).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "refused permissions unreadable; assuming granted");
                None
            });
            let probed_denied = denied.iter().any(|d| d == scope);
            let probed_granted = !probed_denied && super::probe::PROBED.contains(scope);
            if probed_granted || (!probed_denied && denied_before.is_none()) {
                granted.push((*scope).to_owned());
            }
        }
        Ok(granted)
    }

    /// A scene group from the template (its group robot joins automatically), owned by the
    /// configured owner; `uuid` makes a retried create return the same group (ref §3).
    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat> {
        let c = self.creds();
        if c.owner_user_id.is_empty() {
            return Err(ImError::Rejected { code: "no_owner".into(), message: "set the DingTalk group owner's userid: scene groups need one".into() });
        }
        let key = &request.idempotency_key;
        let safe = key.len() <= UUID_MAX && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        let uuid = if safe { key.clone() } else { short_hash(&[key]) };
        let body = json!({"title": request.name, "template_id": c.template_id, "owner_user_id": c.owner_user_id, "uuid": uuid});
        let data = self.client.new_api(Method::POST, "/v1.0/im/sceneGroup/create", CHAT_MANAGE, Some(&body)).await?;
        let id =
            field(&data, &["open_conversation_id", "openConversationId"]).ok_or_else(|| bad_response("scene group created without open_conversation_id"))?;
        Ok(CreatedChat { chat_id: ChatId::new(id), url: None })
    }

    /// The add API answers for the whole call, not per user: a chunk refused as a whole is
    /// retried user by user to find who cannot be added. Errors about the call itself
    /// (rate limit, outage, chat gone, permission) are returned.
    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult> {
        let mut seen = BTreeSet::new();
        let users: Vec<&ImUserId> = users.iter().filter(|u| seen.insert(u.as_str())).collect();
        let mut result = InviteResult::default();
        for chunk in users.chunks(CHUNK) {
            match self.add_chunk(chat, chunk).await {
                Ok(()) => result.invited.extend(chunk.iter().map(|u| (*u).clone())),
                Err(e @ (ImError::Rejected { .. } | ImError::UserNotFound)) if chunk.len() == 1 => result.failed.push((chunk[0].clone(), e)),
                Err(ImError::Rejected { .. } | ImError::UserNotFound) => {
                    for user in chunk {
                        match self.add_chunk(chat, &[user]).await {
                            Ok(()) => result.invited.push((*user).clone()),
                            Err(e @ (ImError::Rejected { .. } | ImError::UserNotFound)) => result.failed.push(((*user).clone(), e)),
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(result)
    }

    /// `outTrackId` = `wrc_` + hash(chat, incident): one card per incident and group, edited in place.
    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
        let c = self.creds();
        // `wrc_`, not `wr_`: `wr_` + 32 characters is the shape of a Warroom API key, which the
        // secrets scan looks for.
        let track = format!("wrc_{}", short_hash(&[chat.as_str(), &card.incident_id]));
        let body = deliver_body(c.card_template(), &track, &c.card_route_key(), c.robot(), chat.as_str(), card);
        let data = self.client.new_api(Method::POST, "/v1.0/card/instances/createAndDeliver", CARD_WRITE, Some(&body)).await?;
        // A 200 may still report a failed delivery per space (SDK card_1_0 `deliverResults`).
        let failed = data.pointer("/result/deliverResults").and_then(Value::as_array).and_then(|r| r.iter().find(|d| d.get("success") == Some(&json!(false))));
        if let Some(f) = failed {
            let message = field(f, &["errorMsg"]).unwrap_or("the card was not delivered").to_owned();
            return Err(ImError::Rejected { code: "card_not_delivered".into(), message });
        }
        Ok(MessageId::new(track))
    }

    async fn update_card(&self, _chat: &ChatId, message: &MessageId, card: &Card) -> ImResult<()> {
        let body = update_body(message.as_str(), card);
        self.client.new_api(Method::PUT, "/v1.0/card/instances", CARD_WRITE, Some(&body)).await.map(drop)
    }

    /// A card under an id derived from the key, so a retry cannot post it twice (`notice.rs`).
    async fn send_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<MessageId> {
        self.deliver_notice(chat, text, key).await
    }

    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId> {
        let body = group_text(self.creds().robot(), chat.as_str(), text);
        let data = self.client.new_api(Method::POST, "/v1.0/robot/groupMessages/send", ROBOT_SEND, Some(&body)).await?;
        field(&data, &["processQueryKey"]).map(MessageId::new).ok_or_else(|| bad_response("message sent without a processQueryKey"))
    }

    /// Disband (`DsbandOpenSceneGroup`, sic); if DingTalk refuses, freeze the group
    /// read-only instead (ref §3 `FreezeGroup`).
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()> {
        let body = json!({"openConversationId": chat.as_str()});
        match self.client.new_api(Method::POST, "/v1.0/im/chat/scenegroup/disband", CHAT_MANAGE, Some(&body)).await {
            Ok(_) => Ok(()),
            Err(ImError::Rejected { code, message }) => {
                tracing::info!(%code, %message, "disband refused; freezing the group instead");
                self.client.new_api(Method::POST, "/v1.0/im/chats/sceneGroups/freeze", CHAT_MANAGE, Some(&body)).await.map(drop)
            }
            Err(e) => Err(e),
        }
    }

    /// Never called (`lookup_by_email` is false); the engine reads this refusal as "no match".
    async fn lookup_by_email(&self, _email: &str) -> ImResult<Option<ImUserId>> {
        Err(unsupported("look users up by email"))
    }

    /// `topapi/v2/user/getbymobile` (ref §4); resigned users and users outside the app's
    /// visibility range are not found.
    async fn lookup_by_phone(&self, phone: &str) -> ImResult<Option<ImUserId>> {
        let body = json!({"mobile": mobile(phone)});
        match self.client.old_api("/topapi/v2/user/getbymobile", BY_MOBILE, &body).await {
            Ok(data) => Ok(data.pointer("/result/userid").and_then(Value::as_str).filter(|s| !s.is_empty()).map(ImUserId::new)),
            Err(ImError::UserNotFound) => Ok(None),
            Err(ImError::Rejected { code, .. }) if code == NOT_FOUND => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// No API lists the groups a robot is in (none in the SDK's im_1_0) — said plainly.
    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>> {
        Err(unsupported("list the groups the robot is in"))
    }

    /// No group history API (ref §3): the engine uses the captured transcript.
    async fn chat_history(&self, _chat: &ChatId) -> ImResult<Vec<ChatMessage>> {
        Ok(vec![])
    }

    /// A notice card (a robot message cannot be edited), under a fresh card id.
    async fn post_answer(&self, chat: &ChatId, _reply_to: Option<&MessageId>, text: &str) -> ImResult<MessageId> {
        let key = format!("answer-{}", warroom_core::ids::random_suffix());
        self.deliver_notice(chat, text, &key).await
    }

    async fn edit_answer(&self, _chat: &ChatId, message: &MessageId, text: &str) -> ImResult<()> {
        self.update_notice(message, text).await
    }

    /// An AI card delivered to the group, streamed into (`stream`); `Ok(None)` where DingTalk
    /// refuses the card, and the engine posts a notice card and edits it.
    async fn start_stream(&self, chat: &ChatId, reply_to: Option<&MessageId>, _first: &str) -> ImResult<Option<StreamRef>> {
        self.stream_start(chat, reply_to).await
    }

    async fn append_stream(&self, _chat: &ChatId, stream: &StreamRef, so_far: &str, _delta: &str) -> ImResult<()> {
        self.stream_append(stream, so_far).await
    }

    async fn stop_stream(&self, _chat: &ChatId, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        self.stream_stop(stream, final_text).await
    }

    /// Past 80% of the edition's monthly calls (see `usage.rs`): one store read.
    async fn quota_warning(&self) -> Option<String> {
        super::usage::warning(self.client.store.as_ref(), self.creds(), self.client.clock.now()).await
    }
}

#[cfg(test)]
#[path = "platform_tests.rs"]
mod tests;
