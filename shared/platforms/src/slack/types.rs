//! Wire types of the Web API methods Warroom calls: requests as sent, responses as much
//! of them as Warroom reads (unknown fields are ignored). Shapes from slack-api-ref
//! (`docs.slack.dev/methods/<method>.json`, `output` and `examples`).

use serde::{Deserialize, Serialize};

// ---- requests (form-encoded unless noted) -------------------------------------------

#[derive(Serialize)]
pub(crate) struct NoArgs {}

#[derive(Serialize)]
pub(crate) struct CreateConversation<'a> {
    pub name: &'a str,
    pub is_private: bool,
}

#[derive(Serialize)]
pub(crate) struct SetTopic<'a> {
    pub channel: &'a str,
    pub topic: &'a str,
}

#[derive(Serialize)]
pub(crate) struct Invite<'a> {
    pub channel: &'a str,
    /// Comma-separated user ids.
    pub users: String,
    /// "continue inviting the valid ones while disregarding invalid IDs" (conversations.invite
    /// docs). Whether the response then reports ok or lists the failures is UNCERTAIN, so
    /// the platform re-checks the users not listed as failed (see `platform::add_members`).
    pub force: bool,
}

#[derive(Serialize)]
pub(crate) struct ChannelOnly<'a> {
    pub channel: &'a str,
}

/// JSON body: `blocks` is an array, which form encoding would have to stringify.
#[derive(Serialize)]
pub(crate) struct PostMessage<'a> {
    pub channel: &'a str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<&'a serde_json::Value>,
    /// Links in incident text should not unfurl into the war room.
    pub unfurl_links: bool,
}

/// JSON body, as [`PostMessage`].
#[derive(Serialize)]
pub(crate) struct UpdateMessage<'a> {
    pub channel: &'a str,
    pub ts: &'a str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
pub(crate) struct LookupByEmail<'a> {
    pub email: &'a str,
}

#[derive(Serialize)]
pub(crate) struct ListConversations<'a> {
    pub types: &'a str,
    pub exclude_archived: bool,
    pub limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<&'a str>,
}

#[derive(Serialize)]
pub(crate) struct History<'a> {
    pub channel: &'a str,
    pub limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<&'a str>,
}

// ---- responses ------------------------------------------------------------------------

/// A channel (conversation object), as much as Warroom reads of it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Conversation {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub is_private: bool,
    #[serde(default)]
    pub is_archived: bool,
    #[serde(default)]
    pub topic: Option<Topic>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Topic {
    #[serde(default)]
    pub value: String,
}

#[derive(Deserialize)]
pub(crate) struct ChannelEnvelope {
    pub channel: Conversation,
}

#[derive(Default, Deserialize)]
pub(crate) struct ResponseMetadata {
    #[serde(default)]
    pub next_cursor: String,
}

impl ResponseMetadata {
    /// Slack ends pagination with an empty (or absent) `next_cursor`.
    pub fn next(meta: &Option<ResponseMetadata>) -> Option<String> {
        meta.as_ref().map(|m| m.next_cursor.clone()).filter(|c| !c.is_empty())
    }
}

#[derive(Deserialize)]
pub(crate) struct ConversationPage {
    #[serde(default)]
    pub channels: Vec<Conversation>,
    #[serde(default)]
    pub response_metadata: Option<ResponseMetadata>,
}

/// `conversations.invite` may list per-user failures even when it succeeds for the
/// others (with `force`); UNCERTAIN whether Slack does, so both shapes are read.
#[derive(Default, Deserialize)]
pub(crate) struct InviteOutcome {
    #[serde(default)]
    pub errors: Vec<UserError>,
}

#[derive(Deserialize)]
pub(crate) struct UserError {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub error: String,
}

#[derive(Deserialize)]
pub(crate) struct Posted {
    pub ts: String,
}

/// A user from `users.lookupByEmail`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SlackUser {
    pub id: String,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub is_bot: bool,
}

#[derive(Deserialize)]
pub(crate) struct UserEnvelope {
    pub user: SlackUser,
}

/// One message of `conversations.history`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct HistoryMessage {
    pub ts: String,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub text: String,
    /// Block Kit blocks, as posted (with their `block_id`s).
    #[serde(default)]
    pub blocks: Vec<serde_json::Value>,
}

impl HistoryMessage {
    /// Written by a person: no bot id, and either no subtype or one that still carries a
    /// person's words (`thread_broadcast`, `file_share`, `me_message`). Joins, topic
    /// changes and other system subtypes are dropped.
    pub fn is_human(&self) -> bool {
        self.bot_id.is_none() && self.user.is_some() && matches!(self.subtype.as_deref(), None | Some("thread_broadcast" | "file_share" | "me_message"))
    }
}

#[derive(Deserialize)]
pub(crate) struct HistoryPage {
    #[serde(default)]
    pub messages: Vec<HistoryMessage>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub response_metadata: Option<ResponseMetadata>,
}

/// `auth.test` output (slack-api-ref `auth.test.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthTest {
    #[serde(default)]
    pub team_id: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
}
