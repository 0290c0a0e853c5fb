//! `CallbackCodec` for Slack: Events API deliveries (JSON) and interactivity payloads
//! (form field `payload` holding JSON, per bolt-python `slack_bolt/request/internals.py`),
//! both verified with the v0 signature first.

use super::blocks::ACTION_ID_PREFIX;
use super::events;
use super::verify::{verify, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;
use warroom_core::card::{Card, CardAction};
use warroom_core::{CallbackCodec, CallbackError, ChatId, Click, EventDelivery, ImEvent, RawRequest, RawResponse};
use warroom_secrets::Secret;

/// The clicker's ephemeral reply is best effort and happens before Slack's 3 s deadline.
const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

pub struct SlackCodec {
    signing_secret: Secret,
    http: reqwest::Client,
    bot_user_id: Option<String>,
}

impl fmt::Debug for SlackCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackCodec").field("signing_secret", &"[redacted]").field("bot_user_id", &self.bot_user_id).finish()
    }
}

impl SlackCodec {
    pub fn new(signing_secret: Secret, http: reqwest::Client) -> Self {
        Self { signing_secret, http, bot_user_id: None }
    }

    /// The bot's user id, whose mention markup is stripped from `app_mention` text.
    /// Without it the bot users listed in each event's `authorizations` are used.
    pub fn with_bot_user_id(mut self, bot_user_id: impl Into<String>) -> Self {
        self.bot_user_id = Some(bot_user_id.into());
        self
    }

    fn verified(&self, request: &RawRequest<'_>) -> Result<(), CallbackError> {
        let ts = (request.header)(TIMESTAMP_HEADER);
        let sig = (request.header)(SIGNATURE_HEADER);
        verify(self.signing_secret.expose().as_bytes(), ts.as_deref(), sig.as_deref(), request.body, request.now)
    }
}

/// `ssl_check=1` form posts (Slack checking the certificate of a slash-command URL):
/// Bolt answers them 200 with an empty body before any signature check
/// (bolt-python `slack_bolt/middleware/ssl_check/ssl_check.py`). They change nothing.
fn is_ssl_check(body: &[u8]) -> bool {
    body.first() != Some(&b'{')
        && serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).map(|pairs| pairs.iter().any(|(k, v)| k == "ssl_check" && v == "1")).unwrap_or(false)
}

// The `block_actions` fields Warroom reads (docs.slack.dev/reference/interaction-payloads/
// block_actions-payload; slack-morphism `SlackInteractionBlockActionsEvent`: `team`,
// `user`, `channel`, `trigger_id`, `response_url`, `actions[].action_id/value`).
#[derive(Deserialize)]
struct Interaction {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    user: Option<IdOf>,
    #[serde(default)]
    team: Option<IdOf>,
    #[serde(default)]
    channel: Option<IdOf>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    trigger_id: Option<String>,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Deserialize)]
struct IdOf {
    id: String,
    #[serde(default)]
    team_id: Option<String>,
}

#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    channel_id: Option<String>,
}

#[derive(Deserialize)]
struct Action {
    #[serde(default)]
    action_id: String,
    #[serde(default)]
    value: Option<String>,
}

fn empty_ok() -> RawResponse {
    RawResponse { status: 200, content_type: "text/plain", body: Vec::new() }
}

#[async_trait::async_trait]
impl CallbackCodec for SlackCodec {
    fn decode_click(&self, request: &RawRequest<'_>) -> Result<Click, CallbackError> {
        self.verified(request)?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(request.body).map_err(|e| CallbackError::Malformed(format!("form body: {e}")))?;
        let payload = fields.into_iter().find(|(k, _)| k == "payload").map(|(_, v)| v);
        let payload = payload.ok_or_else(|| CallbackError::Malformed("no payload field".into()))?;
        let p: Interaction = serde_json::from_str(&payload).map_err(|e| CallbackError::Malformed(format!("payload: {e}")))?;
        if p.kind != "block_actions" {
            return Err(CallbackError::Unsupported(format!("interaction type {}", p.kind)));
        }
        let action = p
            .actions
            .iter()
            .find(|a| a.action_id.starts_with(ACTION_ID_PREFIX))
            .ok_or_else(|| CallbackError::Unsupported("no Warroom button in this interaction".into()))?;
        let value = action.value.as_deref().ok_or_else(|| CallbackError::Malformed("button without value".into()))?;
        let (incident_id, verb) = value.split_once('|').ok_or_else(|| CallbackError::Malformed(format!("button value {value:?}")))?;
        if incident_id.is_empty() {
            return Err(CallbackError::Malformed("button value without incident".into()));
        }
        let action = CardAction::parse(verb).ok_or_else(|| CallbackError::Unsupported(format!("card action {verb:?}")))?;
        let user = p.user.as_ref().ok_or_else(|| CallbackError::Malformed("interaction without user".into()))?;
        let installation = p.team.as_ref().map(|t| t.id.clone()).or_else(|| user.team_id.clone());
        let chat_id = p.channel.map(|c| c.id).or_else(|| p.container.and_then(|c| c.channel_id));
        Ok(Click {
            user: user.id.as_str().into(),
            incident_id: incident_id.into(),
            action,
            chat_id: chat_id.map(ChatId::new),
            delivery_id: p.trigger_id,
            installation,
            reply_to: p.response_url,
        })
    }

    /// Slack ignores what a `block_actions` request is answered with; the card is
    /// changed by the worker through `chat.update`, the clicker told via `after_click`.
    fn click_reply(&self, _message: &str, _card: Option<&Card>) -> RawResponse {
        empty_ok()
    }

    /// An ephemeral message to the clicker through the click's `response_url`
    /// (api.slack.com/interactivity/handling#message_responses: JSON with
    /// `response_type: "ephemeral"`; `replace_original: false` keeps the card).
    async fn after_click(&self, click: &Click, message: &str) {
        let Some(url) = click.reply_to.as_deref() else { return };
        // The response_url's path is a credential: log its host only.
        let host = reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(String::from)).unwrap_or_else(|| "?".into());
        let body = serde_json::json!({"response_type": "ephemeral", "replace_original": false, "text": message});
        let sent = self.http.post(url).header(CONTENT_TYPE, "application/json; charset=utf-8").body(body.to_string()).timeout(REPLY_TIMEOUT).send().await;
        match sent {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => tracing::warn!(%host, status = r.status().as_u16(), "slack response_url refused the ephemeral reply"),
            Err(e) => tracing::warn!(%host, error = %e.without_url(), "slack response_url unreachable"),
        }
    }

    fn decode_event(&self, request: &RawRequest<'_>) -> Result<EventDelivery, CallbackError> {
        if is_ssl_check(request.body) {
            return Ok(EventDelivery { delivery_id: None, installation: None, event: ImEvent::Ignored("ssl_check".into()) });
        }
        self.verified(request)?;
        events::decode(request.body, self.bot_user_id.as_deref())
    }

    fn event_ack(&self) -> RawResponse {
        empty_ok()
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
