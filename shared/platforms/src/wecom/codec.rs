//! WeCom callbacks → the `CallbackCodec` port. Both channels sign the same way (wecom.md
//! §2): `msg_signature`, `timestamp`, `nonce` in the query, over the `echostr` (GET, URL
//! verification) or the body's `Encrypt` / `encrypt` (POST). Checks, in order: signature
//! (which Token signed says which channel, when the route does not) → timestamp window →
//! decryption with the channel's ReceiveId (CorpID for the app, "" for the bot). A refused
//! request changes nothing and its error names only the kind of failure.
//!
//! Answers: the URL check gets the echo plaintext alone as text/plain (§2: no quotes, BOM
//! or newline, within 1 s); everything else an empty 200, which both channels accept
//! (notes Q1, Q2) — card updates go through the `ResponseCode` / `response_url` the click
//! carries ([`ReplyHandle`]), or a passive reply built with [`WeComCodec::passive_reply`].
//!
//! Where the port has no field (a ResponseCode, a response_url), the value travels in an
//! opaque string the platform parses back: `Click::reply_to` ([`ReplyHandle::encode`]),
//! and for @mentions `ChatMessage::id` ([`message_ref`] / [`parse_message_ref`]).

use super::crypto::{check_fresh, CryptoError, MsgCrypt};
use super::inbound::{parse_app, parse_bot, parse_button_key, BotMessage, Channel, Inbound, ReplyHandle};
use super::reply::{app_reply_xml, bot_reply_json};
use super::WeComCredentials;
use serde::Deserialize;
use std::sync::Arc;
use warroom_core::*;

const TEXT: &str = "text/plain; charset=utf-8";

/// The query parameters WeCom signs with.
struct Signed {
    signature: String,
    timestamp: String,
    nonce: String,
    echostr: Option<String>,
}

/// Percent-decoding of one query component. `+` stays `+`: base64 uses it, and a
/// form-decoder turning it into a space would break an echostr sent unencoded.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn signed(query: &str) -> Result<Signed, CallbackError> {
    let get = |name: &str| -> Result<Option<String>, CallbackError> {
        let raw = query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v);
        raw.map(|v| percent_decode(v).ok_or_else(|| CallbackError::Malformed(format!("{name} is not URL-encoded text")))).transpose()
    };
    // Unsigned is refused as such, whatever else is missing.
    let signature = get("msg_signature")?.ok_or(CallbackError::BadSignature)?;
    let timestamp = get("timestamp")?.ok_or(CallbackError::BadSignature)?;
    let nonce = get("nonce")?.ok_or(CallbackError::BadSignature)?;
    Ok(Signed { signature, timestamp, nonce, echostr: get("echostr")? })
}

#[derive(Deserialize)]
struct XmlEnvelope {
    #[serde(rename = "Encrypt")]
    encrypt: Option<String>,
}

/// The ciphertext a request carries: the echostr of a GET, the body's `Encrypt` (XML, the
/// app) or `encrypt` (JSON, the bot) of a POST.
fn ciphertext(request: &RawRequest<'_>, signed: &Signed) -> Result<String, CallbackError> {
    let missing = || CallbackError::Malformed("no Encrypt / encrypt in the body".into());
    match request.method {
        "GET" => signed.echostr.clone().ok_or_else(|| CallbackError::Malformed("a URL check without echostr".into())),
        "POST" => {
            let body = std::str::from_utf8(request.body).map_err(|_| CallbackError::Malformed("the body is not UTF-8".into()))?.trim();
            if body.starts_with('<') {
                let x: XmlEnvelope = quick_xml::de::from_str(body).map_err(|_| CallbackError::Malformed("the body is not XML".into()))?;
                x.encrypt.filter(|e| !e.trim().is_empty()).ok_or_else(missing)
            } else {
                let v: serde_json::Value = serde_json::from_str(body).map_err(|_| CallbackError::Malformed("the body is neither XML nor JSON".into()))?;
                v.get("encrypt").and_then(|e| e.as_str()).filter(|e| !e.is_empty()).map(str::to_owned).ok_or_else(missing)
            }
        }
        other => Err(CallbackError::Unsupported(format!("HTTP method {other}"))),
    }
}

/// `ChatMessage::id` of a bot @mention: `msgid`, then `|` and the `response_code` of its
/// `response_url` when it has one (the platform rebuilds the URL on its own configured
/// host, so no URL from a request is ever called).
pub fn message_ref(message: &BotMessage) -> String {
    match message.response_url.as_deref().and_then(response_code_of) {
        Some(code) => format!("{}|{code}", message.msgid),
        None => message.msgid.clone(),
    }
}

/// The `msgid` and `response_code` of a [`message_ref`].
pub fn parse_message_ref(id: &str) -> (&str, Option<&str>) {
    match id.split_once('|') {
        Some((msgid, code)) if !code.is_empty() => (msgid, Some(code)),
        _ => (id.trim_end_matches('|'), None),
    }
}

fn response_code_of(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs().find(|(k, _)| k == "response_code").map(|(_, v)| v.into_owned()).filter(|c| !c.is_empty())
}

pub struct WeComCodec {
    credentials: WeComCredentials,
    app: Option<MsgCrypt>,
    bot: Option<MsgCrypt>,
    clock: Arc<dyn Clock>,
    /// Where a click's `ResponseCode` is kept for the card update that follows
    /// (`platform::code_key`); without one, the next change sends new cards.
    store: Option<Arc<dyn Store>>,
    /// Scopes the smart bot's streams (`stream`).
    integration: Option<IntegrationId>,
}

impl WeComCodec {
    /// A channel whose Token or EncodingAESKey is unusable refuses everything sent to it
    /// (logged once, without the values); the other still works.
    pub fn new(credentials: WeComCredentials) -> Self {
        let make = |channel: &str, token: &str, key: &str| match (token.is_empty() || key.is_empty(), MsgCrypt::new(token, key)) {
            (false, Ok(c)) => Some(c),
            (false, Err(e)) => {
                tracing::warn!(corp_id = %credentials.corp_id, channel, error = %e, "callback channel disabled: unusable EncodingAESKey");
                None
            }
            (true, _) => None,
        };
        let app = make("app", &credentials.callback_token, &credentials.callback_aes_key);
        let bot = make("bot", &credentials.bot_token, &credentials.bot_aes_key);
        Self { credentials, app, bot, clock: Arc::new(SystemClock), store: None, integration: None }
    }

    pub fn with_integration(mut self, id: &IntegrationId) -> Self {
        self.integration = Some(id.clone());
        self
    }

    pub fn with_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock whose time goes into passive replies (verification uses the request's `now`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn crypt(&self, channel: Channel) -> Option<&MsgCrypt> {
        match channel {
            Channel::App => self.app.as_ref(),
            Channel::Bot => self.bot.as_ref(),
        }
    }

    fn receive_id(&self, channel: Channel) -> &str {
        match channel {
            Channel::App => &self.credentials.corp_id,
            Channel::Bot => "",
        }
    }

    /// Verifies and decrypts a request: its channel and plaintext. `only` restricts it to
    /// one channel (a channel-specific route); `None` lets the signing Token decide.
    fn open(&self, only: Option<Channel>, request: &RawRequest<'_>) -> Result<(Channel, String), CallbackError> {
        let signed = signed(request.query)?;
        let encrypt = ciphertext(request, &signed)?;
        let candidates: Vec<Channel> = [Channel::App, Channel::Bot]
            .into_iter()
            .filter(|c| only.is_none_or(|o| o == *c))
            .filter(|c| self.crypt(*c).is_some_and(|crypt| crypt.verify(&signed.signature, &signed.timestamp, &signed.nonce, &encrypt).is_ok()))
            .collect();
        if candidates.is_empty() {
            return Err(CallbackError::BadSignature);
        }
        check_fresh(&signed.timestamp, request.now).map_err(|_| CallbackError::Stale)?;
        // Both Tokens may be the same string: the ReceiveId then tells the channels apart.
        let mut first_error = None;
        for channel in candidates {
            let crypt = self.crypt(channel).expect("filtered on a configured channel");
            match crypt.decrypt(&encrypt, self.receive_id(channel)) {
                Ok(plain) => return Ok((channel, plain)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(match first_error {
            Some(CryptoError::DecodeBase64) => CallbackError::Malformed("the encrypted payload is not base64".into()),
            // Signed with our Token yet not ours to open: a wrong EncodingAESKey, or
            // another corp's / bot's payload (the ReceiveId).
            _ => CallbackError::BadSignature,
        })
    }

    /// Verifies and decodes a request on a channel-specific route.
    pub fn decode_on(&self, channel: Channel, request: &RawRequest<'_>) -> Result<Inbound, CallbackError> {
        let (channel, plain) = self.open(Some(channel), request)?;
        Self::parse(channel, request, plain)
    }

    /// Verifies and decodes a request on a route shared by both channels.
    pub fn decode(&self, request: &RawRequest<'_>) -> Result<(Channel, Inbound), CallbackError> {
        let (channel, plain) = self.open(None, request)?;
        Ok((channel, Self::parse(channel, request, plain)?))
    }

    fn parse(channel: Channel, request: &RawRequest<'_>, plain: String) -> Result<Inbound, CallbackError> {
        match (request.method, channel) {
            ("GET", _) => Ok(Inbound::Verify { echo: plain }),
            (_, Channel::App) => parse_app(&plain),
            (_, Channel::Bot) => parse_bot(&plain),
        }
    }

    /// An encrypted passive reply on `channel` carrying `plaintext` (the app: a reply XML
    /// such as [`super::update_button_plaintext`]; the bot: a reply JSON such as a stream
    /// chunk or `update_template_card`), signed with the callback's nonce (notes Q1).
    /// `None` if the channel is not configured.
    pub fn passive_reply(&self, channel: Channel, plaintext: &str, nonce: &str) -> Option<RawResponse> {
        let crypt = self.crypt(channel)?;
        let timestamp = self.clock.now().secs().to_string();
        Some(match channel {
            Channel::App => RawResponse {
                status: 200,
                content_type: "application/xml",
                body: app_reply_xml(crypt, plaintext, &self.credentials.corp_id, &timestamp, nonce).into_bytes(),
            },
            Channel::Bot => RawResponse {
                status: 200,
                content_type: "application/json",
                body: bot_reply_json(crypt, plaintext, &timestamp, nonce).to_string().into_bytes(),
            },
        })
    }

    /// The nonce of a callback's query, for [`WeComCodec::passive_reply`].
    pub fn nonce_of(query: &str) -> Option<String> {
        signed(query).ok().map(|s| s.nonce)
    }
}

fn empty_ok() -> RawResponse {
    RawResponse { status: 200, content_type: TEXT, body: Vec::new() }
}

fn delivery(delivery_id: Option<String>, event: ImEvent) -> EventDelivery {
    EventDelivery { delivery_id, installation: None, event }
}

#[async_trait::async_trait]
impl CallbackCodec for WeComCodec {
    fn decode_click(&self, request: &RawRequest<'_>) -> Result<Click, CallbackError> {
        let Inbound::CardAction(event) = self.decode(request)?.1 else {
            return Err(CallbackError::Unsupported("not a template card event".into()));
        };
        let (action, incident) = parse_button_key(&event.event_key).ok_or_else(|| CallbackError::Unsupported(format!("button key {:?}", event.event_key)))?;
        Ok(Click {
            user: ImUserId::new(event.user),
            incident_id: IncidentId::new(incident),
            action,
            chat_id: event.chat_id.map(ChatId::new),
            delivery_id: Some(event.dedupe_key),
            installation: None,
            reply_to: event.reply.map(|r| r.encode()),
        })
    }

    /// An empty 200: the platform updates the card with the click's `ResponseCode` /
    /// `response_url` (`Click::reply_to`). WeCom shows no text from a click answer.
    fn click_reply(&self, _message: &str, _card: Option<&Card>) -> RawResponse {
        empty_ok()
    }

    /// Keeps the click's `ResponseCode`: the engine's card update that follows uses it to
    /// change every member's card (it is the freshest code, and single-use, notes Q2).
    async fn after_click(&self, click: &Click, _message: &str) {
        let (Some(store), Some(ReplyHandle::ResponseCode(code))) = (&self.store, click.reply_to.as_deref().and_then(ReplyHandle::parse)) else { return };
        let key = super::platform::code_key(&self.credentials, click.incident_id.as_str());
        if let Err(e) = store.put_ephemeral(&key, &code, super::platform::CODE_TTL, self.clock.now()).await {
            tracing::warn!(error = %e, "could not keep a WeCom click's response code; the next change sends new cards");
        }
    }

    fn decode_event(&self, request: &RawRequest<'_>) -> Result<EventDelivery, CallbackError> {
        Ok(match self.decode(request)?.1 {
            Inbound::Verify { echo } => delivery(None, ImEvent::Handshake(RawResponse { status: 200, content_type: TEXT, body: echo.into_bytes() })),
            Inbound::Message(m) => {
                let dedupe = Some(format!("bot-msg:{}", m.msgid));
                let Some(chat) = m.chat_id.clone() else {
                    return Ok(delivery(dedupe, ImEvent::Ignored("1:1 message to the smart bot".into())));
                };
                let message = ChatMessage { id: message_ref(&m), at: m.create_time.unwrap_or(request.now), author: ImUserId::new(&m.user), text: m.text };
                // In groups the bot is sent @mentions only (notes Q1).
                delivery(dedupe, ImEvent::Message { chat: ChatId::new(chat), message, mentions_bot: true })
            }
            // Decoded as a click by `decode_click`, which the events route tries next.
            Inbound::CardAction(e) => delivery(Some(e.dedupe_key), ImEvent::Ignored("template card event".into())),
            // Every poll is answered: no dedupe.
            Inbound::StreamRefresh(p) => delivery(None, ImEvent::Ignored(format!("stream_refresh:{}", p.stream_id))),
            Inbound::Ignored { kind, dedupe_key } => delivery(dedupe_key, ImEvent::Ignored(kind)),
        })
    }

    /// An empty 200: "直接返回200（即以空串为返回包）" for the app (notes Q2), an empty reply
    /// for the bot (notes Q1).
    fn event_ack(&self) -> RawResponse {
        empty_ok()
    }

    /// The smart bot's stream (`stream`): its start for a question the assistant will
    /// answer, the text so far for a refresh, encrypted and signed like every bot reply.
    /// The request is verified again: nothing unsigned is answered with a stream.
    async fn event_answer(&self, request: &RawRequest<'_>, answer_queued: bool) -> Option<RawResponse> {
        let store = self.store.as_ref()?;
        let (Channel::Bot, inbound) = self.decode(request).ok()? else { return None };
        let nonce = Self::nonce_of(request.query)?;
        let scope = super::stream_scope(&self.credentials, self.integration.as_ref());
        match super::stream::passive_answer(store.as_ref(), &scope, &inbound, answer_queued, request.now).await {
            Ok(plaintext) => self.passive_reply(Channel::Bot, &plaintext?, &nonce),
            Err(e) => {
                tracing::warn!(corp_id = %self.credentials.corp_id, error = %e, "could not read the smart bot's stream; answering empty");
                None
            }
        }
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
