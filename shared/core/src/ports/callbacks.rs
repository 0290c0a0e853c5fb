//! Card-button callbacks, platform by platform: each platform verifies and decodes its own
//! request format, and renders the answer the way it expects it (Slack: empty 200 and a
//! `chat.update`; Feishu: a toast and the new card in the body). HTTP-shaped, but with
//! plain types so the port stays free of any web framework.

use crate::card::{Card, CardAction};
use crate::ids::{ChatId, ImUserId, IncidentId};
use crate::ports::store::ChatMessage;
use crate::time::Timestamp;

/// A callback request as received.
pub struct RawRequest<'a> {
    /// `GET` or `POST` (WeCom verifies its URL with a GET).
    pub method: &'a str,
    /// The raw query string, without `?` (signatures of some platforms travel there).
    pub query: &'a str,
    /// Header lookup by lower-case name.
    pub header: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub body: &'a [u8],
    pub now: Timestamp,
}

/// A verified button click.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Click {
    pub user: ImUserId,
    pub incident_id: IncidentId,
    pub action: CardAction,
    pub chat_id: Option<ChatId>,
    /// The platform's id of this delivery, to refuse a replay; `None` if it has none.
    pub delivery_id: Option<String>,
    /// The installation it came from (Slack team id), for deployment-wide apps whose
    /// callbacks all arrive at one URL; `None` for per-integration URLs.
    pub installation: Option<String>,
    /// Where a reply to the clicker can be sent (Slack's `response_url`).
    pub reply_to: Option<String>,
}

/// What an event callback was about, platform-neutral.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImEvent {
    /// A URL handshake (Slack `url_verification`, Feishu `challenge`): answer exactly this.
    Handshake(RawResponse),
    /// A message in a chat. `mentions_bot` when the app was @mentioned; the text is plain,
    /// with the bot's own mention markup removed (so `@warroom ack` arrives as `ack`).
    Message {
        chat: ChatId,
        message: ChatMessage,
        mentions_bot: bool,
    },
    /// The chat was disbanded, archived or deleted from inside the IM.
    ChatGone {
        chat: ChatId,
    },
    MemberJoined {
        chat: ChatId,
        user: ImUserId,
    },
    /// The app was uninstalled or its tokens revoked.
    AppRevoked,
    /// Verified, but nothing Warroom acts on.
    Ignored(String),
}

/// A verified event callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventDelivery {
    /// The platform's event id: the same event delivered again is handled once.
    pub delivery_id: Option<String>,
    /// As in [`Click::installation`].
    pub installation: Option<String>,
    pub event: ImEvent,
}

/// What a callback can be refused for. Nothing is changed by a refused callback.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("the request signature does not verify")]
    BadSignature,
    #[error("the request is too old or from the future; refusing a possible replay")]
    Stale,
    #[error("malformed callback: {0}")]
    Malformed(String),
    #[error("this callback is not a card action Warroom handles: {0}")]
    Unsupported(String),
}

impl CallbackError {
    /// HTTP status for the refusal.
    pub fn status(&self) -> u16 {
        match self {
            CallbackError::BadSignature | CallbackError::Stale => 401,
            CallbackError::Malformed(_) | CallbackError::Unsupported(_) => 400,
        }
    }
    pub fn code(&self) -> &'static str {
        match self {
            CallbackError::BadSignature => "bad_signature",
            CallbackError::Stale => "stale_request",
            CallbackError::Malformed(_) => "malformed_callback",
            CallbackError::Unsupported(_) => "unsupported_callback",
        }
    }
}

/// A response in the platform's own shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

#[async_trait::async_trait]
pub trait CallbackCodec: Send + Sync {
    fn decode_click(&self, request: &RawRequest<'_>) -> Result<Click, CallbackError>;
    /// The answer to a click: a short message for the clicker and, if it changed, the card.
    fn click_reply(&self, message: &str, card: Option<&Card>) -> RawResponse;
    /// Delivers the message to the clicker by another channel, for platforms whose click
    /// response carries none (Slack: an ephemeral message through the click's
    /// `response_url`). Best effort, before the callback is answered.
    async fn after_click(&self, click: &Click, message: &str) {
        let _ = (click, message);
    }
    fn decode_event(&self, request: &RawRequest<'_>) -> Result<EventDelivery, CallbackError>;
    /// The answer to a handled (or ignored) event.
    fn event_ack(&self) -> RawResponse;
    /// The answer to an event when it carries data of its own, else `None` (then
    /// [`CallbackCodec::event_ack`]): WeCom's smart bot answers an @mention the assistant will
    /// answer (`answer_queued`) with the start of a `stream`, and each stream refresh with the
    /// text so far. Called after the event was handled, also for a redelivery.
    async fn event_answer(&self, request: &RawRequest<'_>, answer_queued: bool) -> Option<RawResponse> {
        let _ = (request, answer_queued);
        None
    }
}
