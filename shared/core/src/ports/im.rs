//! The `ImPlatform` port: what the engine needs from an IM platform, for one integration.
//! Slack, Feishu/Lark, DingTalk and WeCom implement it (crate `warroom-platforms`); the
//! testkit has an in-memory fake that can be told to fail.

use crate::card::Card;
use crate::ids::{ChatId, ImUserId, MessageId};
use crate::integration::{Integration, Platform};
use crate::ports::store::ChatMessage;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// What a platform can do; the engine degrades where it cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Cards with buttons that call back. Without: text commands ("ack", "resolve").
    pub interactive_cards: bool,
    /// Cards can be edited in place. Without: a new card is posted on each change.
    pub update_card: bool,
    /// The bot can disband/archive the chat. Without: it leaves the chat.
    pub dismiss: bool,
    /// A chat history API. Without: the captured transcript is used.
    pub history: bool,
    /// The create call takes an idempotency key, so a retried create never makes two chats.
    pub idempotent_create: bool,
    pub lookup_by_email: bool,
    pub lookup_by_phone: bool,
    /// The bot's answer can be edited as it grows (the assistant streams into it). Without:
    /// the answer is sent once, complete.
    pub edit_answers: bool,
    /// The platform's callback already opened a reply to a question the bot was asked
    /// (WeCom's smart bot answers an @mention with a stream at once): an answer job that
    /// ends without answering (busy, settings that cannot work) closes that reply with what
    /// it has to say, or the asker is left looking at "Thinking…".
    pub reply_opened_by_callback: bool,
}

/// Everything a failed IM call can mean to the engine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImError {
    /// Slow down: honoured by deferring the job, never by sleeping.
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// The app lacks a permission; the integration needs re-authorizing.
    #[error("missing permission {scope}")]
    MissingPermission { scope: String },
    /// The credentials no longer work (app uninstalled, token revoked, bad secret).
    #[error("the platform refused the app's credentials: {0}")]
    Unauthorized(String),
    /// The chat is gone (disbanded or archived from inside the IM).
    #[error("the chat no longer exists")]
    ChatGone,
    #[error("no such user on the platform")]
    UserNotFound,
    /// A network error, timeout or 5xx: try again later.
    #[error("platform unavailable: {0}")]
    Transient(String),
    /// The platform refused the request for a reason retrying will not fix.
    #[error("platform refused ({code}): {message}")]
    Rejected { code: String, message: String },
}

impl ImError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ImError::RateLimited { .. } | ImError::Transient(_))
    }
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ImError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

pub type ImResult<T> = Result<T, ImError>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateChat {
    pub name: String,
    pub topic: String,
    pub private: bool,
    /// Stable across retries of the same war room.
    pub idempotency_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedChat {
    pub chat_id: ChatId,
    /// A link that opens the chat, where the platform has one.
    pub url: Option<String>,
}

/// Per-user outcome of an invite: one failure never stops the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InviteResult {
    /// Now members (including those who already were).
    pub invited: Vec<ImUserId>,
    pub failed: Vec<(ImUserId, ImError)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatSummary {
    pub chat_id: ChatId,
    pub name: String,
}

/// Which family of calls an operation belongs to, for rate limiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiFamily {
    CreateChat,
    Members,
    /// Sending or updating a message in a chat (per-chat limits apply too).
    Message,
    DismissChat,
    Lookup,
    Read,
    /// A reaction on a message (the "seen, working on it" mark on an @mention).
    Reaction,
    /// The chat's topic / description.
    Topic,
    /// Growing a streamed answer (Slack `chat.appendStream`, Feishu's card content
    /// updates): its own limits, apart from posting messages.
    Stream,
}

/// A streamed answer as the platform knows it: opaque to the engine, which keeps it so a
/// retried answer job grows the same message. The adapter puts in it what its calls need.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamRef(pub String);

#[async_trait]
pub trait ImPlatform: Send + Sync {
    fn platform(&self) -> Platform;
    fn capabilities(&self) -> Capabilities;
    /// The rate-limit buckets one call of `family` (in `chat`, if any) must take a token from.
    fn buckets(&self, family: ApiFamily, chat: Option<&ChatId>) -> Vec<crate::ratelimit::BucketSpec>;
    /// Permissions granted to the app, as the platform reports them.
    async fn granted_scopes(&self) -> ImResult<Vec<String>>;
    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat>;
    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult>;
    /// Posts the card. Where the platform has an idempotency key for messages (Feishu's
    /// `uuid`), it is derived from the chat and the card's incident, so a retry after a lost
    /// answer returns the card already posted (possibly showing an older state).
    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId>;
    /// The bot's card of `card.incident_id` already in the chat, for a retry after a post
    /// whose answer was lost: found, it is updated instead of posting a second one. `None`
    /// where the platform cannot look (its `post_card` must then be idempotent by itself, or
    /// a lost answer leaves two cards).
    async fn find_card(&self, chat: &ChatId, card: &Card) -> ImResult<Option<MessageId>> {
        let _ = (chat, card);
        Ok(None)
    }
    async fn update_card(&self, chat: &ChatId, message: &MessageId, card: &Card) -> ImResult<()>;
    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId>;
    /// A text people must see exactly once (an unreachable responder, a command's answer).
    /// `key` is the same on every retry of the same notice (at most 40 characters of
    /// `[A-Za-z0-9_-]`): a platform that can dedupe a post by a key (Feishu's `uuid`) or mark
    /// a message (Slack's `block_id`) uses it, so [`ImPlatform::find_notice`] finds it again.
    async fn send_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<MessageId> {
        let _ = key;
        self.send_text(chat, text).await
    }
    /// The message an earlier `send_notice(chat, text, key)` left in the chat, for a retry
    /// after its answer was lost. `None` where the platform cannot look (a lost answer may
    /// then show the notice twice).
    async fn find_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<Option<MessageId>> {
        let _ = (chat, text, key);
        Ok(None)
    }
    /// Disband / archive; where the platform cannot, leave the chat.
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()>;
    async fn lookup_by_email(&self, email: &str) -> ImResult<Option<ImUserId>>;
    async fn lookup_by_phone(&self, phone: &str) -> ImResult<Option<ImUserId>>;
    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>>;
    /// Oldest first. Only where `capabilities().history`.
    async fn chat_history(&self, chat: &ChatId) -> ImResult<Vec<ChatMessage>>;
    /// Sets the chat's topic (the one-line status shown in the chat's header). Platforms
    /// without one do nothing.
    async fn set_topic(&self, chat: &ChatId, topic: &str) -> ImResult<()> {
        let _ = (chat, topic);
        Ok(())
    }
    /// Marks a message with an emoji reaction (`eyes` while the assistant works on it).
    /// Platforms without reactions for apps do nothing.
    async fn add_reaction(&self, chat: &ChatId, message: &MessageId, emoji: &str) -> ImResult<()> {
        let _ = (chat, message, emoji);
        Ok(())
    }
    /// What to say in a new war room's timeline while the platform's metered budget (e.g.
    /// DingTalk's monthly API calls) is nearly spent. Platforms without one say nothing.
    async fn quota_warning(&self) -> Option<String> {
        None
    }
    /// The first version of an answer that [`ImPlatform::edit_answer`] will grow: in the
    /// thread of `reply_to` where the platform has threads.
    async fn post_answer(&self, chat: &ChatId, reply_to: Option<&MessageId>, text: &str) -> ImResult<MessageId> {
        let _ = reply_to;
        self.send_text(chat, text).await
    }
    /// Replaces an answer's text. Only where `capabilities().edit_answers`.
    async fn edit_answer(&self, chat: &ChatId, message: &MessageId, text: &str) -> ImResult<()> {
        let _ = (chat, message, text);
        Err(ImError::Rejected { code: "unsupported".into(), message: format!("{} answers cannot be edited", self.platform()) })
    }
    /// Starts the platform's own streaming message for an answer (Slack `chat.startStream`,
    /// Feishu's CardKit streaming card), in the thread of `reply_to` where there are
    /// threads, showing `first`. `Ok(None)`: this platform (or this app) has none, and the
    /// engine posts the answer and edits it instead (`post_answer`, `edit_answer`).
    async fn start_stream(&self, chat: &ChatId, reply_to: Option<&MessageId>, first: &str) -> ImResult<Option<StreamRef>> {
        let _ = (chat, reply_to, first);
        Ok(None)
    }
    /// Grows a started stream: `delta` is the new text, `so_far` the whole text with it
    /// (platforms that replace the content take that one).
    async fn append_stream(&self, chat: &ChatId, stream: &StreamRef, so_far: &str, delta: &str) -> ImResult<()> {
        let _ = (chat, stream, so_far, delta);
        Err(ImError::Rejected { code: "unsupported".into(), message: format!("{} has no streaming messages", self.platform()) })
    }
    /// Ends a stream with its final text (the answer and its sources): the message stops
    /// showing that it is being written.
    async fn stop_stream(&self, chat: &ChatId, stream: &StreamRef, final_text: &str) -> ImResult<()> {
        let _ = (chat, stream, final_text);
        Err(ImError::Rejected { code: "unsupported".into(), message: format!("{} has no streaming messages", self.platform()) })
    }
}

/// Builds the platform client of an integration (decrypting its credentials).
pub trait PlatformFactory: Send + Sync {
    fn for_integration(&self, integration: &Integration) -> ImResult<Arc<dyn ImPlatform>>;
    /// The permissions war rooms need on this platform, with what each is for.
    fn required_scopes(&self, platform: Platform) -> Vec<(&'static str, &'static str)>;
    /// Verifies and decodes this integration's callbacks (events and card clicks).
    fn callbacks(&self, integration: &Integration) -> ImResult<Arc<dyn crate::ports::callbacks::CallbackCodec>>;
    /// The codec of the deployment's own app on `platform` (Slack's one Request URL for
    /// every workspace), if this deployment has one.
    fn app_callbacks(&self, platform: Platform) -> Option<Arc<dyn crate::ports::callbacks::CallbackCodec>> {
        let _ = platform;
        None
    }
    /// The link that opens a war room's chat for people: the platform's own (`given`, from
    /// the create call), unless this deployment shows chats elsewhere (the local stack's
    /// sandbox page).
    fn chat_link(&self, chat: &ChatId, given: Option<String>) -> Option<String> {
        let _ = chat;
        given
    }
}
