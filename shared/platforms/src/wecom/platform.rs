//! `ImPlatform` for a WeCom self-built app (module docs in `mod.rs`): the war room is an
//! app group chat (`appchat`), the status card a group message plus a template card sent to
//! each member (`card.rs`).
//!
//! An app group needs two people to exist (§3), and `create_chat` knows none yet: the chat id
//! is chosen then, the name kept in the store, and the group made by the first
//! `add_members` (owner + responders), under that chat id, so a retried create cannot make a
//! second group (a duplicate chatid is refused, 86215, and read as "already made").
//!
//! A template card can be changed only with a single-use `response_code` (notes Q2): the one
//! `message/send` returns, or the one each click brings (kept by the codec's `after_click`
//! under the incident, see [`code_key`]). With none left, the members get a fresh card.

use super::api::{CardTarget, CardUpdate, EmailType};
use super::card::{changes, facts, group_markdown, template_card};
use super::client::Client;
use super::{short_hash, WeComCredentials, REQUIRED_SETUP};
use async_trait::async_trait;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use warroom_core::ratelimit::BucketSpec;
use warroom_core::*;

/// "chatid exists" (the global return-code table, as the sandbox cites it).
const CHAT_EXISTS: &str = "86215";
/// "chat not found".
const CHAT_NOT_FOUND: &str = "86003";
/// How long a pending chat's name is kept for its first `add_members`.
const PENDING_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// A response code is usable within 72 h (notes Q2); kept a little less.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(71 * 3600);
/// The prefix a dismissed group's name gets (WeCom cannot disband an app group, notes Q3).
const CLOSED_PREFIX: &str = "[Closed] ";

/// Where the freshest unused response code of an incident's cards is kept.
pub(crate) fn code_key(credentials: &WeComCredentials, incident_id: &str) -> String {
    format!("wecom-code:{}:{}:{incident_id}", credentials.corp_id, credentials.agent_id)
}

/// What the group was last told (`card::facts`), to say what changed.
fn told_key(credentials: &WeComCredentials, chat: &str) -> String {
    format!("wecom-told:{}:{chat}", credentials.corp_id)
}

fn pending_key(credentials: &WeComCredentials, chat: &str) -> String {
    format!("wecom-pending-chat:{}:{chat}", credentials.corp_id)
}

fn unsupported(what: &str) -> ImError {
    ImError::Rejected { code: "unsupported".into(), message: format!("WeCom has no API to {what}") }
}

fn rejected_with(e: &ImError, code: &str) -> bool {
    matches!(e, ImError::Rejected { code: c, .. } if c == code)
}

/// Mobile numbers as getuserid takes them: mainland numbers without +86 (§4 example
/// "13430388888"); others as given — UNCERTAIN what WeCom wants for them.
fn mobile(phone: &str) -> String {
    let digits: String = phone.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).map(str::to_owned).unwrap_or(digits)
}

pub struct WeComPlatform {
    client: Client,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// The integration, which scopes the smart bot's streams (`stream`).
    integration: Option<IntegrationId>,
}

impl WeComPlatform {
    pub fn new(credentials: WeComCredentials, http: reqwest::Client, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { client: Client::new(credentials, http, store.clone(), clock.clone()), store, clock, integration: None }
    }

    pub fn with_integration(mut self, id: &IntegrationId) -> Self {
        self.integration = Some(id.clone());
        self
    }

    fn creds(&self) -> &WeComCredentials {
        &self.client.credentials
    }

    /// What the smart bot's streams need (`stream`): credentials, store, clock, scope.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn stream_parts(&self) -> (&WeComCredentials, &Arc<dyn Store>, &Arc<dyn Clock>, String) {
        (self.creds(), &self.store, &self.clock, super::stream_scope(self.creds(), self.integration.as_ref()))
    }

    /// Proves the CorpID and Secret by fetching a fresh token.
    pub async fn prove_credentials(&self) -> ImResult<()> {
        self.client.prove_credentials().await
    }

    /// Reads a chat that does not exist: "not found" proves the token, the trusted IP and the
    /// app's visibility; a refusal names what is missing (60020 names the IP to add).
    pub async fn probe_reach(&self) -> ImResult<()> {
        match self.client.appchat_get("wrprobe0").await {
            Ok(_) | Err(ImError::Rejected { .. }) | Err(ImError::ChatGone) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn members(&self, chat: &ChatId) -> ImResult<Vec<String>> {
        Ok(self.client.appchat_get(chat.as_str()).await?.userlist)
    }

    /// The group, made now with the owner and `users` if `create_chat` only chose its id.
    async fn create_pending(&self, chat: &ChatId, users: &[String]) -> ImResult<bool> {
        let now = self.clock.now();
        let key = pending_key(self.creds(), chat.as_str());
        let Some(name) = self.store.get_ephemeral(&key, now).await.map_err(|e| ImError::Transient(e.to_string()))? else { return Ok(false) };
        let owner = self.creds().owner_userid.clone();
        let mut list = vec![owner.clone()];
        list.extend(users.iter().filter(|u| **u != owner).cloned());
        if list.len() < 2 {
            return Err(ImError::Rejected {
                code: "appchat_members".into(),
                message: "a WeCom group needs two people: none of the responders was found in WeCom besides the group owner".into(),
            });
        }
        match self.client.appchat_create(&name, &owner, &list, Some(chat.as_str())).await {
            Ok(_) => {}
            Err(e) if rejected_with(&e, CHAT_EXISTS) => {}
            Err(e) => return Err(e),
        }
        let _ = self.store.take_ephemeral(&key, now).await;
        Ok(true)
    }

    /// What changed since the group was last told (`None`: it was never told), and what it
    /// will have been told once this change is posted.
    async fn pending_change(&self, chat: &ChatId, card: &Card) -> (Option<Vec<String>>, Vec<(String, String)>) {
        let before: Option<Vec<(String, String)>> = self
            .store
            .get_ephemeral(&told_key(self.creds(), chat.as_str()), self.clock.now())
            .await
            .ok()
            .flatten()
            .and_then(|raw| serde_json::from_str(&raw).ok());
        let after = facts(card);
        (before.map(|b| changes(&b, &after)), after)
    }

    async fn tell_group(&self, chat: &ChatId, card: &Card, changed: &[String]) -> ImResult<()> {
        self.client.appchat_send(chat.as_str(), &json!({"msgtype": "markdown", "markdown": {"content": group_markdown(card, changed)}})).await
    }

    /// Saved only once the group and the cards have it: a failure in between repeats both.
    async fn told(&self, chat: &ChatId, facts: &[(String, String)]) {
        let raw = serde_json::to_string(facts).unwrap_or_default();
        if let Err(e) = self.store.put_ephemeral(&told_key(self.creds(), chat.as_str()), &raw, PENDING_TTL, self.clock.now()).await {
            tracing::warn!(error = %e, "could not keep what a WeCom group was told; the next change repeats the whole status");
        }
    }

    /// Sends the members a fresh card and keeps its response code for the next change.
    async fn send_cards(&self, users: &[String], card: &Card) -> ImResult<String> {
        let task = format!("wr{}", short_hash(&[&card.incident_id, &self.clock.now().0.to_string()]));
        let sent = self.client.message_send_template_card(users, &template_card(card, Some(&task))).await?;
        if let Some(code) = sent.response_code {
            self.keep_code(&card.incident_id, &code).await;
        }
        Ok(task)
    }

    async fn keep_code(&self, incident_id: &str, code: &str) {
        if let Err(e) = self.store.put_ephemeral(&code_key(self.creds(), incident_id), code, CODE_TTL, self.clock.now()).await {
            tracing::warn!(error = %e, "could not keep a WeCom response code; the next change sends a new card");
        }
    }
}

impl std::fmt::Debug for WeComPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeComPlatform").field("credentials", self.creds()).finish()
    }
}

#[async_trait]
impl ImPlatform for WeComPlatform {
    fn platform(&self) -> Platform {
        Platform::Wecom
    }

    /// Buttons on 1:1 cards; group messages cannot be edited, the cards can (by code); no
    /// disband, no history (notes Q3); lookups by phone and by email (§4).
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            interactive_cards: true,
            update_card: true,
            dismiss: false,
            history: false,
            idempotent_create: true,
            lookup_by_email: true,
            lookup_by_phone: true,
            // App group messages cannot be edited (notes Q2): an answer is sent complete.
            edit_answers: false,
            // The smart bot's passive `stream` reply (stream.rs).
            reply_opened_by_callback: self.creds().has_bot(),
        }
    }

    /// Per corp per API: 10,000 a minute on the current page (2,000 on an older one, §5 —
    /// UNCERTAIN): the older figure is kept, one call every 30 ms. Group creation is capped
    /// at 1,000 a day and group changes at 1,000 an hour per corp (§5). `create_chat` calls
    /// nothing (the first `add_members` makes the group), so it takes no token; member
    /// changes and dismissals share a bucket that lets a burst of 500 rooms through at once
    /// and keeps any hour under 990 (`within(990, 1 h, 500)`: 500, then one every 7.3 s).
    /// The bucket this replaces (20, then one every 3.6 s, also charged by `create_chat`)
    /// held 100 new rooms for 11 minutes (`wecom_burst`).
    ///
    /// A member takes at most 30 app messages a minute from the app, and the excess is
    /// dropped without an error (§5). Every room's card goes to the group owner, who is in
    /// every room: the owner's bucket, shared by all rooms, keeps any minute at 29 or fewer
    /// (`within(29, 1 min, 1)`: one every 2.07 s), or a burst of 100 rooms loses 70 of the
    /// owner's cards (`wecom_burst`). It is charged by every message of the room, group
    /// messages and card updates too: stricter than WeCom, never looser.
    fn buckets(&self, family: ApiFamily, chat: Option<&ChatId>) -> Vec<BucketSpec> {
        let corp = &self.creds().corp_id;
        let api = BucketSpec { key: format!("wecom.{corp}.{family:?}"), capacity: 10, interval_ms: 30 };
        match (family, chat) {
            // The smart bot's stream is written to the store and read by WeCom's refreshes:
            // no WeCom API is called (`stream`).
            (ApiFamily::CreateChat | ApiFamily::Stream, _) => vec![],
            (ApiFamily::Members | ApiFamily::DismissChat, _) => {
                vec![api, BucketSpec::within(format!("wecom.{corp}.chat_changes"), 990, Duration::from_secs(3600), 500)]
            }
            // Every card change reaches every member of the room, so a room's messages stay
            // under 30 a minute, one every 2 s after a burst of 5; the owner's, across rooms.
            (ApiFamily::Message, Some(chat)) => vec![
                api,
                BucketSpec { key: format!("wecom.{corp}.room.{chat}"), capacity: 5, interval_ms: 2_000 },
                BucketSpec::within(format!("wecom.{corp}.owner.{}", self.creds().owner_userid), 29, Duration::from_secs(60), 1),
            ],
            _ => vec![api],
        }
    }

    /// WeCom lists no granted permissions (§6): what calls refused as missing shows up as
    /// `MissingPermission` on the calls themselves. A probe reads a chat that does not
    /// exist: "not found" proves the token, the trusted IP and the app's visibility.
    async fn granted_scopes(&self) -> ImResult<Vec<String>> {
        let mut granted: Vec<String> = REQUIRED_SETUP.iter().map(|(s, _)| s.to_string()).collect();
        match self.probe_reach().await {
            Ok(()) => {}
            Err(ImError::MissingPermission { scope }) => {
                let missing = scope.split(':').next().unwrap_or_default().trim().to_string();
                granted.retain(|s| *s != missing);
            }
            Err(e) => return Err(e),
        }
        Ok(granted)
    }

    /// Chooses the group's id (from the idempotency key) and keeps its name until the first
    /// members are added (module docs).
    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat> {
        if self.creds().owner_userid.is_empty() {
            return Err(ImError::Rejected { code: "no_owner".into(), message: "set the WeCom group owner's userid: app groups need two people".into() });
        }
        let chat = format!("wr{}", &short_hash(&[&self.creds().corp_id, &request.idempotency_key])[..30]);
        // ≤ 50 characters (§3).
        let name: String = request.name.chars().take(50).collect();
        self.store
            .put_ephemeral(&pending_key(self.creds(), &chat), &name, PENDING_TTL, self.clock.now())
            .await
            .map_err(|e| ImError::Transient(e.to_string()))?;
        Ok(CreatedChat { chat_id: ChatId::new(chat), url: None })
    }

    /// The first call makes the group; later ones add to it. `appchat/update` answers for
    /// the whole call: refused as a whole, each user is tried alone to find who cannot join.
    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult> {
        let ids: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        if ids.is_empty() {
            return Ok(InviteResult::default());
        }
        if self.create_pending(chat, &ids).await? {
            return Ok(InviteResult { invited: users.to_vec(), failed: vec![] });
        }
        match self.client.appchat_update(chat.as_str(), &ids, &[], None).await {
            Ok(()) => Ok(InviteResult { invited: users.to_vec(), failed: vec![] }),
            Err(e) if rejected_with(&e, CHAT_NOT_FOUND) => Err(ImError::ChatGone),
            Err(e @ ImError::Rejected { .. }) if users.len() > 1 => {
                tracing::info!(error = %e, "WeCom refused the members as a whole; adding one by one");
                let mut result = InviteResult::default();
                for user in users {
                    match self.client.appchat_update(chat.as_str(), &[user.to_string()], &[], None).await {
                        Ok(()) => result.invited.push(user.clone()),
                        Err(e @ ImError::Rejected { .. }) | Err(e @ ImError::UserNotFound) => result.failed.push((user.clone(), e)),
                        Err(e) => return Err(e),
                    }
                }
                Ok(result)
            }
            Err(e @ (ImError::Rejected { .. } | ImError::UserNotFound)) => Ok(InviteResult { invited: vec![], failed: vec![(users[0].clone(), e)] }),
            Err(e) => Err(e),
        }
    }

    /// The group message, then a card to each member (the owner too: the group message has
    /// no buttons).
    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
        self.create_pending(chat, &[]).await.ok();
        let (changed, facts) = self.pending_change(chat, card).await;
        self.tell_group(chat, card, &changed.unwrap_or_default()).await?;
        let members = self.members(chat).await?;
        let task = self.send_cards(&members, card).await?;
        self.told(chat, &facts).await;
        Ok(MessageId::new(task))
    }

    /// A new group message led by what changed (group messages cannot be edited), and the
    /// members' cards replaced with the freshest response code, or new cards when none is
    /// left. Nothing when nothing shown changed (a re-sync spends no code and no message).
    async fn update_card(&self, chat: &ChatId, _message: &MessageId, card: &Card) -> ImResult<()> {
        let (changed, facts) = self.pending_change(chat, card).await;
        if changed.as_ref().is_some_and(Vec::is_empty) {
            return Ok(());
        }
        self.tell_group(chat, card, &changed.unwrap_or_default()).await?;
        let members = self.members(chat).await?;
        let now = self.clock.now();
        let code = self.store.take_ephemeral(&code_key(self.creds(), &card.incident_id), now).await.unwrap_or(None);
        if let Some(code) = code {
            let update = CardUpdate::Card(template_card(card, None));
            match self.client.update_template_card(&code, &CardTarget::Users(members.clone()), &update).await {
                Ok(()) => {
                    self.told(chat, &facts).await;
                    return Ok(());
                }
                // Used or expired (the codes' errors are not documented): a new card instead.
                Err(ImError::Rejected { code, message }) => tracing::info!(%code, %message, "response code refused; sending new cards"),
                Err(e) => return Err(e),
            }
        }
        self.send_cards(&members, card).await?;
        self.told(chat, &facts).await;
        Ok(())
    }

    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId> {
        // text content ≤ 2048 bytes (§3).
        let mut end = text.len().min(2048);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        self.client.appchat_send(chat.as_str(), &json!({"msgtype": "text", "text": {"content": &text[..end]}})).await?;
        Ok(MessageId::new(format!("wrmsg{}", short_hash(&[chat.as_str(), text, &self.clock.now().0.to_string()]))))
    }

    /// Once, complete, through the smart bot's `response_url` or else the app (`stream`).
    async fn post_answer(&self, chat: &ChatId, reply_to: Option<&MessageId>, text: &str) -> ImResult<MessageId> {
        if let Some(id) = self.answer_by_response_url(chat, reply_to, text).await {
            return Ok(id);
        }
        self.send_text(chat, text).await
    }

    /// No disband API (notes Q3): the group is renamed "[Closed] …" and told so.
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()> {
        let info = match self.client.appchat_get(chat.as_str()).await {
            Ok(info) => info,
            Err(e) if rejected_with(&e, CHAT_NOT_FOUND) => return Ok(()),
            Err(e) => return Err(e),
        };
        if !info.name.starts_with(CLOSED_PREFIX) {
            let name: String = format!("{CLOSED_PREFIX}{}", info.name).chars().take(50).collect();
            self.client.appchat_update(chat.as_str(), &[], &[], Some(&name)).await?;
            let text = "This war room is closed. WeCom cannot disband app groups: leave it when you are done.";
            self.client.appchat_send(chat.as_str(), &json!({"msgtype": "text", "text": {"content": text}})).await?;
        }
        Ok(())
    }

    async fn lookup_by_email(&self, email: &str) -> ImResult<Option<ImUserId>> {
        // The corporate mailbox first, then a personal email bound to the account (§4).
        if let Some(id) = self.client.user_by_email(email, EmailType::Corporate).await? {
            return Ok(Some(ImUserId::new(id)));
        }
        Ok(self.client.user_by_email(email, EmailType::Personal).await?.map(ImUserId::new))
    }

    async fn lookup_by_phone(&self, phone: &str) -> ImResult<Option<ImUserId>> {
        Ok(self.client.user_by_mobile(&mobile(phone)).await?.map(ImUserId::new))
    }

    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>> {
        Err(unsupported("list the groups an app is in"))
    }

    /// No history API (notes Q3): the engine uses the captured transcript.
    async fn chat_history(&self, _chat: &ChatId) -> ImResult<Vec<ChatMessage>> {
        Ok(vec![])
    }

    /// The smart bot's passive `stream` for a question it was asked (`stream`); `None`
    /// elsewhere, and the answer goes once through `post_answer`.
    async fn start_stream(&self, _chat: &ChatId, reply_to: Option<&MessageId>, _first: &str) -> ImResult<Option<StreamRef>> {
        self.stream_start(reply_to).await
    }

    async fn append_stream(&self, _chat: &ChatId, stream: &StreamRef, so_far: &str, _delta: &str) -> ImResult<()> {
        self.stream_append(stream, so_far).await
    }

    async fn stop_stream(&self, chat: &ChatId, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        self.stream_stop(chat, stream, final_text).await
    }
}
