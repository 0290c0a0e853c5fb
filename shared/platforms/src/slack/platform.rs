//! `ImPlatform` for one Slack workspace installation.

use super::blocks::{is_card_of, is_notice, render_card, render_notice};
use super::client::SlackClient;
use super::error::{local, map_error_code, SlackApiError};
use super::stream::Streamed;
use super::types::Conversation;
use super::types::HistoryMessage;
use super::util::{parse_ts, sanitize_channel_name, truncate_chars, with_suffix};
use super::{SlackCredentials, OAUTH_BASE};
use async_trait::async_trait;
use std::collections::HashSet;
use std::time::Duration;
use warroom_core::card::Card;
use warroom_core::ratelimit::BucketSpec;
use warroom_core::{
    ApiFamily, Capabilities, ChatId, ChatMessage, ChatSummary, CreateChat, CreatedChat, ImError, ImPlatform, ImResult, ImUserId, InviteResult, MessageId,
    Platform, StreamRef,
};
use warroom_secrets::Secret;

// Web API tiers, calls per minute per method per workspace (docs.slack.dev/apis/web-api/
// rate-limits: "Tier 2 20+/min, Tier 3 50+/min, Tier 4 100+/min"; the lower bounds).
const TIER2: u32 = 20;
const TIER3: u32 = 50;
#[allow(dead_code)] // Kept with its siblings: no method Warroom calls is Tier 4 today.
const TIER4: u32 = 100;

/// Pagination guards: a war room's history beyond 50 pages (10,000 messages) or a bot in
/// more than 10,000 channels is not worth a Lambda's time.
const MAX_PAGES: usize = 50;
/// conversations.setTopic refuses long topics; 250 characters is the limit the Slack UI
/// enforces — UNCERTAIN (not in the method's scraped docs), so kept in one place.
const TOPIC_MAX: usize = 250;
/// "Up to 1000 users may be listed" per conversations.invite call — UNCERTAIN (from the
/// method's docs as remembered, not in the reference); chunks keep us well inside it.
const INVITE_CHUNK: usize = 1000;

#[derive(Debug)]
pub struct SlackPlatform {
    client: SlackClient,
    credentials: SlackCredentials,
    /// What this instance streamed into each answer (see `stream`).
    streams: Streamed,
}

impl SlackPlatform {
    pub fn new(credentials: SlackCredentials, api_base: String, http: reqwest::Client) -> Self {
        let client = SlackClient::new(http, api_base, Secret::new(credentials.bot_token.clone()));
        Self { client, credentials, streams: Streamed::default() }
    }

    pub(crate) fn streamed(&self) -> &Streamed {
        &self.streams
    }

    /// How long one Web API call may take (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.client = self.client.with_timeout(timeout);
        self
    }

    pub fn client(&self) -> &SlackClient {
        &self.client
    }

    pub fn team_id(&self) -> &str {
        &self.credentials.team_id
    }

    fn bucket_per_minute(&self, method: &str, per_minute: u32) -> BucketSpec {
        BucketSpec::per(format!("slack.{}.{method}", self.credentials.team_id), per_minute, Duration::from_secs(60))
    }

    /// A link that opens the channel (api.slack.com/docs/deep-linking: `app_redirect`
    /// with `channel` and `team`).
    fn created(&self, channel: &str) -> CreatedChat {
        let url = format!("{OAUTH_BASE}/app_redirect?channel={channel}&team={}", self.credentials.team_id);
        CreatedChat { chat_id: ChatId::new(channel), url: Some(url) }
    }

    /// The topic is cosmetic: a failure to set it is logged, never fails the war room.
    async fn ensure_topic(&self, channel: &Conversation, topic: &str) {
        let topic = truncate_chars(topic, TOPIC_MAX);
        if topic.is_empty() || channel.topic.as_ref().is_some_and(|t| t.value == topic) {
            return;
        }
        if let Err(e) = self.client.set_topic(&channel.id, &topic).await {
            tracing::warn!(team = %self.credentials.team_id, channel = %channel.id, code = %e.code, "could not set the war room topic");
        }
    }

    /// The newest message posted by a bot that `is_it` recognises, from the channel's
    /// history (newest first, at most `MAX_PAGES` pages).
    async fn find_bot_message(&self, chat: &ChatId, is_it: impl Fn(&HistoryMessage) -> bool) -> ImResult<Option<MessageId>> {
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (messages, next) = self.client.history_page(chat.as_str(), cursor.as_deref()).await?;
            if let Some(m) = messages.into_iter().find(|m| m.bot_id.is_some() && is_it(m)) {
                return Ok(Some(MessageId::new(m.ts)));
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        Ok(None)
    }

    /// One of the bot's own non-archived channels, by exact name.
    async fn find_own_channel(&self, name: &str) -> ImResult<Option<Conversation>> {
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (channels, next) = self.client.bot_channels_page(cursor.as_deref()).await?;
            if let Some(found) = channels.into_iter().find(|c| c.name == name && !c.is_archived) {
                return Ok(Some(found));
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        Ok(None)
    }

    /// Invites one chunk of users, user by user in its outcome (see [`ImPlatform::add_members`]).
    async fn invite_chunk(&self, chat: &str, users: Vec<String>, result: &mut InviteResult) -> ImResult<()> {
        let mut pending = users;
        while !pending.is_empty() {
            let (succeeded, listed) = match self.client.invite(chat, &pending).await {
                Ok(user_errors) => (true, user_errors),
                Err(e) if listed_any(&e.user_errors, &pending) => (false, e.user_errors),
                Err(e) => return self.whole_call_failed(chat, pending, e, result).await,
            };
            let listed: Vec<(String, String)> = listed.into_iter().filter(|(u, _)| pending.contains(u)).collect();
            let named: HashSet<&str> = listed.iter().map(|(u, _)| u.as_str()).collect();
            let rest: Vec<String> = pending.iter().filter(|u| !named.contains(u.as_str())).cloned().collect();
            for (user, code) in &listed {
                record(result, user, code);
            }
            if succeeded {
                // `ok: true`: everyone not listed as failed is in.
                result.invited.extend(rest.into_iter().map(ImUserId::new));
                return Ok(());
            }
            // `ok: false` with per-user errors: without `force` nobody was invited, with it
            // the valid ones may have been (UNCERTAIN), so the rest are asked for again;
            // members already in come back as `already_in_channel`, counted as invited.
            pending = rest;
        }
        Ok(())
    }

    /// A failure that names no user: it is about the call (rate limit, chat gone, auth:
    /// returned as is) or, for a single user, about that user; for several, each is
    /// asked for alone.
    async fn whole_call_failed(&self, chat: &str, pending: Vec<String>, e: SlackApiError, result: &mut InviteResult) -> ImResult<()> {
        if about_a_user(&e) {
            if let [user] = pending.as_slice() {
                record(result, user, &e.code);
                return Ok(());
            }
            for user in pending {
                match self.client.invite(chat, std::slice::from_ref(&user)).await {
                    Ok(errors) => match errors.first() {
                        Some((_, code)) => record(result, &user, code),
                        None => result.invited.push(ImUserId::new(user)),
                    },
                    Err(e) if about_a_user(&e) => record(result, &user, &e.code),
                    Err(e) => return Err(e.into()),
                }
            }
            return Ok(());
        }
        Err(e.into())
    }
}

fn listed_any(user_errors: &[(String, String)], pending: &[String]) -> bool {
    user_errors.iter().any(|(u, _)| pending.contains(u))
}

/// Codes that are about a user rather than the call (the rest: rate limits, auth,
/// scopes, chat gone, Slack outages, stop the whole invite).
fn is_per_user(code: &str) -> bool {
    matches!(map_error_code(code, None), ImError::UserNotFound | ImError::Rejected { .. })
}

/// A failed call that Slack answered with a per-user code. A timeout, a 429 or a 5xx has
/// a code too (`timeout`, `http_502`) but says nothing about the user: recording it as the
/// user's failure would never invite them (found by the fault-injection test).
fn about_a_user(e: &SlackApiError) -> bool {
    let in_transit = matches!(e.to_im_error(), ImError::RateLimited { .. } | ImError::Transient(_));
    !in_transit && !e.code.starts_with(local::HTTP_PREFIX) && is_per_user(&e.code)
}

/// `already_in_channel` is a success for Warroom; so is `cant_invite_self` (the bot,
/// which created the channel, is in it).
fn record(result: &mut InviteResult, user: &str, code: &str) {
    match code {
        "already_in_channel" | "cant_invite_self" => result.invited.push(ImUserId::new(user)),
        _ => result.failed.push((ImUserId::new(user), map_error_code(code, None))),
    }
}

#[async_trait]
impl ImPlatform for SlackPlatform {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            interactive_cards: true,
            update_card: true,
            dismiss: true,
            history: true,
            // Slack has no idempotency key: `create_chat` finds its own channel instead.
            idempotent_create: false,
            lookup_by_email: true,
            lookup_by_phone: false,
            edit_answers: true,
            reply_opened_by_callback: false,
        }
    }

    fn buckets(&self, family: ApiFamily, chat: Option<&ChatId>) -> Vec<BucketSpec> {
        match family {
            ApiFamily::CreateChat => {
                vec![self.bucket_per_minute("conversations.create", TIER2), self.bucket_per_minute("conversations.setTopic", TIER2)]
            }
            ApiFamily::Members => vec![self.bucket_per_minute("conversations.invite", TIER3)],
            ApiFamily::Message => {
                // chat.postMessage's workspace-wide limit is "Special" (unquantified) and
                // the family also covers chat.update (Tier 3): one Tier 3 bucket for both
                // is the conservative reading — UNCERTAIN.
                let mut buckets = vec![self.bucket_per_minute("chat.postMessage", TIER3)];
                if let Some(chat) = chat {
                    // "one message per second per channel" — no burst, to stay safe.
                    let key = format!("slack.{}.chat.{chat}", self.credentials.team_id);
                    buckets.push(BucketSpec::per(key, 1, Duration::from_secs(1)));
                }
                buckets
            }
            ApiFamily::DismissChat => vec![self.bucket_per_minute("conversations.archive", TIER2)],
            ApiFamily::Lookup => vec![self.bucket_per_minute("users.lookupByEmail", TIER3)],
            // conversations.history (also users.conversations, auth.test) — Tier 3; newer
            // non-Marketplace apps may get far less (reference §5, UNCERTAIN numbers).
            ApiFamily::Read => vec![self.bucket_per_minute("conversations.history", TIER3)],
            ApiFamily::Reaction => vec![self.bucket_per_minute("reactions.add", TIER3)],
            ApiFamily::Topic => vec![self.bucket_per_minute("conversations.setTopic", TIER2)],
            // chat.appendStream is Tier 4 (reference ai.md, from slack-morphism's tiers).
            ApiFamily::Stream => vec![self.bucket_per_minute("chat.appendStream", TIER4)],
        }
    }

    /// The `x-oauth-scopes` header of `auth.test`. Without the header, no scope is
    /// claimed: better a spurious re-authorize prompt than a silent failure later.
    async fn granted_scopes(&self) -> ImResult<Vec<String>> {
        let (_, scopes) = self.client.auth_test().await?;
        Ok(scopes.unwrap_or_default())
    }

    /// `conversations.create`, then the topic. Slack has no idempotency key, so on
    /// `name_taken` the bot looks among its own channels for that name (the retry after a
    /// crash between create and record) and returns it; else it tries `-2` once.
    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat> {
        let base = sanitize_channel_name(&request.name);
        for name in [base.clone(), with_suffix(&base, 2)] {
            let channel = match self.client.create_conversation(&name, request.private).await {
                Ok(channel) => channel,
                Err(e) if e.code == "name_taken" => match self.find_own_channel(&name).await? {
                    Some(channel) => channel,
                    None => continue,
                },
                Err(e) => return Err(e.into()),
            };
            self.ensure_topic(&channel, &request.topic).await;
            return Ok(self.created(&channel.id));
        }
        Err(ImError::Rejected { code: "name_taken".into(), message: format!("channels {base} and {base}-2 already exist") })
    }

    /// `conversations.invite` with comma-separated ids; one user's failure never stops
    /// the others. Rate limits, auth failures and a gone chat fail the whole call.
    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult> {
        let mut seen = HashSet::new();
        let users: Vec<String> = users.iter().map(|u| u.as_str().to_string()).filter(|u| seen.insert(u.clone())).collect();
        let mut result = InviteResult::default();
        for chunk in users.chunks(INVITE_CHUNK) {
            self.invite_chunk(chat.as_str(), chunk.to_vec(), &mut result).await?;
        }
        Ok(result)
    }

    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
        let ts = self.client.post_message(chat.as_str(), &card.summary(), Some(&render_card(card))).await?;
        Ok(MessageId::new(ts))
    }

    /// chat.postMessage has no idempotency key: the card is recognised in the channel's
    /// history by its context block's id (see `blocks`), posted by a bot.
    async fn find_card(&self, chat: &ChatId, card: &Card) -> ImResult<Option<MessageId>> {
        self.find_bot_message(chat, |m| is_card_of(&m.blocks, &card.incident_id)).await
    }

    /// Like the card: no idempotency key, so the notice's one block carries its key.
    async fn send_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<MessageId> {
        Ok(MessageId::new(self.client.post_message(chat.as_str(), text, Some(&render_notice(text, key))).await?))
    }

    async fn find_notice(&self, chat: &ChatId, _text: &str, key: &str) -> ImResult<Option<MessageId>> {
        self.find_bot_message(chat, |m| is_notice(&m.blocks, key)).await
    }

    async fn update_card(&self, chat: &ChatId, message: &MessageId, card: &Card) -> ImResult<()> {
        Ok(self.client.update_message(chat.as_str(), message.as_str(), &card.summary(), Some(&render_card(card))).await?)
    }

    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId> {
        Ok(MessageId::new(self.client.post_message(chat.as_str(), text, None).await?))
    }

    /// In the question's thread (`thread_ts`).
    async fn post_answer(&self, chat: &ChatId, reply_to: Option<&MessageId>, text: &str) -> ImResult<MessageId> {
        Ok(MessageId::new(self.client.post_reply(chat.as_str(), reply_to.map(MessageId::as_str), text).await?))
    }

    /// `chat.update` (Tier 3: the engine paces edits through the chat's bucket).
    async fn edit_answer(&self, chat: &ChatId, message: &MessageId, text: &str) -> ImResult<()> {
        Ok(self.client.update_message(chat.as_str(), message.as_str(), text, None).await?)
    }

    /// `chat.startStream` in the question's thread (see `stream`); `Ok(None)` where Slack
    /// refuses streams here.
    async fn start_stream(&self, chat: &ChatId, reply_to: Option<&MessageId>, first: &str) -> ImResult<Option<StreamRef>> {
        self.stream_start(chat, reply_to, first).await
    }

    async fn append_stream(&self, _chat: &ChatId, stream: &StreamRef, so_far: &str, delta: &str) -> ImResult<()> {
        self.stream_append(stream, so_far, delta).await
    }

    async fn stop_stream(&self, _chat: &ChatId, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        self.stream_stop(stream, final_text).await
    }

    /// `conversations.archive`; archiving an archived channel is done already.
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()> {
        match self.client.archive(chat.as_str()).await {
            Err(e) if e.code == "already_archived" => Ok(()),
            other => Ok(other?),
        }
    }

    /// Deactivated accounts are not linked.
    async fn lookup_by_email(&self, email: &str) -> ImResult<Option<ImUserId>> {
        match self.client.lookup_by_email(email).await {
            Ok(user) if user.deleted => Ok(None),
            Ok(user) => Ok(Some(ImUserId::new(user.id))),
            Err(e) if matches!(e.code.as_str(), "users_not_found" | "user_not_found") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Slack has no phone lookup (`capabilities().lookup_by_phone` is false).
    async fn lookup_by_phone(&self, _phone: &str) -> ImResult<Option<ImUserId>> {
        Ok(None)
    }

    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (channels, next) = self.client.bot_channels_page(cursor.as_deref()).await?;
            out.extend(channels.into_iter().map(|c| ChatSummary { chat_id: ChatId::new(c.id), name: c.name }));
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        Ok(out)
    }

    /// `conversations.setTopic` (at most 250 characters).
    async fn set_topic(&self, chat: &ChatId, topic: &str) -> ImResult<()> {
        let topic: String = topic.chars().take(250).collect();
        self.client.set_topic(chat.as_str(), &topic).await.map_err(Into::into)
    }

    /// `reactions.add`; a reaction already there is fine.
    async fn add_reaction(&self, chat: &ChatId, message: &MessageId, emoji: &str) -> ImResult<()> {
        let args = [("channel", chat.as_str()), ("timestamp", message.as_str()), ("name", emoji)];
        match self.client.call::<serde_json::Value>("reactions.add", &args).await {
            Ok(_) => Ok(()),
            Err(e) if e.code == "already_reacted" => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every page of `conversations.history` (newest first from Slack), people's
    /// messages only, returned oldest first.
    async fn chat_history(&self, chat: &ChatId) -> ImResult<Vec<ChatMessage>> {
        let mut newest_first = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (messages, next) = self.client.history_page(chat.as_str(), cursor.as_deref()).await?;
            newest_first.extend(
                messages
                    .into_iter()
                    .filter(|m| m.is_human())
                    .filter_map(|m| Some(ChatMessage { at: parse_ts(&m.ts)?, id: m.ts, author: ImUserId::new(m.user?), text: m.text })),
            );
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        newest_first.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        Ok(newest_first)
    }
}

#[cfg(test)]
#[path = "platform_tests.rs"]
mod tests;
