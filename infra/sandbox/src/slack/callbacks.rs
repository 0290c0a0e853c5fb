//! What Slack sends to the app: Events API deliveries, block_actions clicks, the URL handshake,
//! all signed with the app's signing secret per request signing v0 (reference §2), plus the
//! `response_url` endpoint the clicks point back at.
//!
//! Payload shapes: the event wrapper as in docs.slack.dev/reference/events/message.channels
//! (`token`, `team_id`, `api_app_id`, `event`, `type: "event_callback"`, `authorizations`,
//! `event_id: "Ev…"`, `event_time`); block_actions as in slackapi/bolt-python
//! tests/scenario_tests/test_block_actions.py (`type`, `user{id,username,name,team_id}`,
//! `api_app_id`, `token`, `container{type,message_ts,channel_id,is_ephemeral}`, `trigger_id`,
//! `team{id,domain}`, `channel{id,name}`, `response_url`, `actions[{action_id,block_id,text,
//! value,type,action_ts}]`, sent as `payload=<url-encoded JSON>`); url_verification as in
//! api.slack.com/events/url_verification (`token`, `challenge`, `type`).

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::state::{random_alnum, random_digits, unix_now, Message, ResponseUrl, State};
use super::{signature_v0, SlackSandbox};

#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("delivery failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("no such workspace: {0}")]
    UnknownTeam(String),
    #[error("no such channel in that workspace: {0}")]
    UnknownChannel(String),
    #[error("no such user in that workspace: {0}")]
    UnknownUser(String),
    #[error("channel {0} is archived")]
    Archived(String),
    #[error("no message {ts} in channel {channel}")]
    MessageNotFound { channel: String, ts: String },
    #[error("the message has no element with action_id {0}")]
    NoSuchAction(String),
    #[error("no event was sent with id {0}")]
    UnknownEvent(String),
}

type Sent = Result<reqwest::Response, CallbackError>;

/// `response_url` limits: "up to 5 times within 30 minutes" (UNCERTAIN, see state.rs).
const RESPONSE_URL_USES: u32 = 5;
const RESPONSE_URL_TTL: Duration = Duration::from_secs(30 * 60);

impl State {
    fn envelope(&mut self, team_id: &str, mut event: Value) -> Result<Value, CallbackError> {
        let ws = self.workspace(team_id).ok_or_else(|| CallbackError::UnknownTeam(team_id.into()))?;
        let bot_user_id = ws.bot_user_id.clone();
        if event.get("event_ts").is_none() {
            let ts = event.get("ts").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| self.next_ts());
            event["event_ts"] = json!(ts);
        }
        let event_id = format!("Ev{}", random_alnum(10).to_uppercase());
        let envelope = json!({
            "token": self.verification_token, "team_id": team_id, "context_team_id": team_id,
            "context_enterprise_id": Value::Null, "api_app_id": self.app_id, "event": event,
            "type": "event_callback", "event_id": event_id, "event_time": unix_now(),
            "authorizations": [{"enterprise_id": Value::Null, "team_id": team_id, "user_id": bot_user_id,
                "is_bot": true, "is_enterprise_install": false}],
            "is_ext_shared_channel": false, "event_context": format!("4-{}", random_alnum(40)),
        });
        self.events.insert(event_id.clone(), (envelope.clone(), 0));
        self.event_order.push(event_id);
        Ok(envelope)
    }

    fn team_channel(&self, team_id: &str, channel_id: &str) -> Result<(), CallbackError> {
        self.workspace(team_id).ok_or_else(|| CallbackError::UnknownTeam(team_id.into()))?;
        match self.channels.get(channel_id) {
            Some(c) if c.team_id == team_id => Ok(()),
            _ => Err(CallbackError::UnknownChannel(channel_id.into())),
        }
    }
}

/// The interactive element with `action_id` in a message's blocks (actions blocks' elements,
/// section accessories), with its block's `block_id`.
fn find_element(blocks: &Value, action_id: &str) -> Option<(Option<String>, Value)> {
    for block in blocks.as_array()? {
        let block_id = block.get("block_id").and_then(Value::as_str).map(str::to_string);
        let mut candidates: Vec<&Value> = block.get("elements").and_then(Value::as_array).map(|e| e.iter().collect()).unwrap_or_default();
        candidates.extend(block.get("accessory"));
        if let Some(el) = candidates.into_iter().find(|e| e.get("action_id").and_then(Value::as_str) == Some(action_id)) {
            return Some((block_id, el.clone()));
        }
    }
    None
}

impl SlackSandbox {
    /// `v0=hex(HMAC-SHA256(signing_secret, "v0:{timestamp}:{body}"))` with this app's secret.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let secret = self.with_state(|st| st.cfg.signing_secret.clone());
        signature_v0(&secret, timestamp, body)
    }

    async fn signed_post(&self, url: &str, content_type: &str, body: String, extra: &[(&str, String)]) -> Sent {
        let ts = unix_now().to_string();
        let sig = self.sign(&ts, body.as_bytes());
        let mut req = self.http.post(url).header("content-type", content_type).header("x-slack-request-timestamp", ts).header("x-slack-signature", sig);
        for (k, v) in extra {
            req = req.header(*k, v.as_str());
        }
        Ok(req.body(body).send().await?)
    }

    /// Wraps `event` in the `event_callback` envelope (a fresh, unique `event_id`) and POSTs it
    /// as JSON, signed. The envelope is kept for [`Self::send_event_retry`] / [`Self::sent_events`].
    pub async fn send_event(&self, url: &str, team_id: &str, event: Value) -> Sent {
        let envelope = self.with_state(|st| st.envelope(team_id, event))?;
        self.signed_post(url, "application/json", envelope.to_string(), &[]).await
    }

    /// Re-delivers a sent envelope unchanged (same `event_id`), freshly signed, with
    /// `X-Slack-Retry-Num` (1, then 2, … per event) and `X-Slack-Retry-Reason: http_timeout`.
    pub async fn send_event_retry(&self, url: &str, event_id: &str) -> Sent {
        let (envelope, num) = self.with_state(|st| {
            let (env, retries) = st.events.get_mut(event_id).ok_or_else(|| CallbackError::UnknownEvent(event_id.into()))?;
            *retries += 1;
            Ok::<_, CallbackError>((env.clone(), *retries))
        })?;
        let extra = [("x-slack-retry-num", num.to_string()), ("x-slack-retry-reason", "http_timeout".to_string())];
        self.signed_post(url, "application/json", envelope.to_string(), &extra).await
    }

    /// Every envelope sent, oldest first.
    pub fn sent_events(&self) -> Vec<Value> {
        self.with_state(|st| st.event_order.iter().filter_map(|id| st.events.get(id).map(|(e, _)| e.clone())).collect())
    }

    pub fn last_event_id(&self) -> Option<String> {
        self.with_state(|st| st.event_order.last().cloned())
    }

    /// A user clicks the button `action_id` on message `message_ts`: POSTs
    /// `payload=<block_actions JSON>` (form-encoded, signed). The message must exist in the
    /// channel and, when it has blocks, contain an element with that `action_id`; `value` is sent
    /// as given. Its `response_url` points at this sandbox (`POST /response/{id}`).
    #[allow(clippy::too_many_arguments)]
    pub async fn click_button(&self, url: &str, team_id: &str, user_id: &str, channel_id: &str, message_ts: &str, action_id: &str, value: &str) -> Sent {
        let payload = self.with_state(|st| -> Result<Value, CallbackError> {
            st.team_channel(team_id, channel_id)?;
            let user = st.user_in_team(user_id, team_id).ok_or_else(|| CallbackError::UnknownUser(user_id.into()))?;
            let user_name = user.name.clone();
            let domain = st.workspace(team_id).map(|w| w.domain.clone()).unwrap_or_default();
            let c = &st.channels[channel_id];
            let not_found = || CallbackError::MessageNotFound { channel: channel_id.into(), ts: message_ts.into() };
            let msg = c.messages.iter().find(|m| m.ts == message_ts).ok_or_else(not_found)?;
            let (block_id, element) = match &msg.blocks {
                Some(blocks) => find_element(blocks, action_id).ok_or_else(|| CallbackError::NoSuchAction(action_id.into()))?,
                None => (None, Value::Null),
            };
            let message = st.message_json(team_id, msg);
            let channel_name = c.name.clone();
            let response_id = random_alnum(24);
            let ru = ResponseUrl { channel_id: channel_id.into(), message_ts: message_ts.into(), uses: 0, issued: Instant::now() };
            st.response_urls.insert(response_id.clone(), ru);
            let mut action = json!({"action_id": action_id, "block_id": block_id.unwrap_or_else(|| random_alnum(5)),
                "value": value, "type": "button", "action_ts": st.next_ts()});
            if let Some(text) = element.get("text") {
                action["text"] = text.clone();
            }
            Ok(json!({
                "type": "block_actions",
                "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
                "api_app_id": st.app_id, "token": st.verification_token,
                "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": false},
                "trigger_id": format!("{}.{}.{}", random_digits(13), random_digits(13), random_alnum(32).to_lowercase()),
                "team": {"id": team_id, "domain": domain}, "enterprise": Value::Null, "is_enterprise_install": false,
                "channel": {"id": channel_id, "name": channel_name}, "message": message, "state": {"values": {}},
                "response_url": format!("{}/response/{response_id}", st.base_url.trim_end_matches('/')),
                "actions": [action],
            }))
        })?;
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap_or_default();
        self.signed_post(url, "application/x-www-form-urlencoded", body, &[]).await
    }

    /// A person writes in a channel: the message is stored (a public channel is joined first,
    /// as the client does) and the `message` event is delivered, shaped like the docs'
    /// message.channels example (`channel_type` "channel", or "group" for a private channel).
    pub async fn post_human_message(&self, url: &str, team_id: &str, channel_id: &str, user_id: &str, text: &str) -> Sent {
        let event = self.with_state(|st| -> Result<Value, CallbackError> {
            st.team_channel(team_id, channel_id)?;
            st.user_in_team(user_id, team_id).ok_or_else(|| CallbackError::UnknownUser(user_id.into()))?;
            let ts = st.next_ts();
            let c = st.channels.get_mut(channel_id).expect("checked");
            if c.is_archived {
                return Err(CallbackError::Archived(channel_id.into()));
            }
            if !c.members.iter().any(|m| m == user_id) {
                if c.is_private {
                    return Err(CallbackError::UnknownChannel(channel_id.into()));
                }
                c.members.push(user_id.into());
            }
            let m = Message {
                ts: ts.clone(),
                user: Some(user_id.into()),
                bot_id: None,
                text: text.into(),
                blocks: None,
                edited: None,
                thread_ts: None,
                reactions: Vec::new(),
                streaming: false,
            };
            c.messages.push(m);
            let channel_type = if c.is_private { "group" } else { "channel" };
            Ok(json!({"type": "message", "channel": channel_id, "user": user_id, "text": text, "ts": ts,
                "event_ts": ts, "channel_type": channel_type, "team": team_id, "client_msg_id": random_alnum(32).to_lowercase()}))
        })?;
        self.send_event(url, team_id, event).await
    }

    /// Someone in the workspace (its owner) archives the channel: it becomes archived and the
    /// event is delivered, `{"type":"channel_archive","channel","user"}`
    /// (api.slack.com/events/channel_archive), or `group_archive` for a private channel
    /// (api.slack.com/events/group_archive).
    pub async fn archive_from_inside(&self, url: &str, channel_id: &str) -> Sent {
        let (team_id, event) = self.with_state(|st| -> Result<(String, Value), CallbackError> {
            let c = st.channels.get(channel_id).ok_or_else(|| CallbackError::UnknownChannel(channel_id.into()))?;
            let team_id = c.team_id.clone();
            let owner = st.workspace(&team_id).map(|w| w.owner_id.clone()).unwrap_or_default();
            let ts = st.next_ts();
            let c = st.channels.get_mut(channel_id).expect("checked");
            c.is_archived = true;
            let event = if c.is_private {
                json!({"type": "group_archive", "channel": channel_id, "event_ts": ts})
            } else {
                json!({"type": "channel_archive", "channel": channel_id, "user": owner, "event_ts": ts})
            };
            Ok((team_id, event))
        })?;
        self.send_event(url, &team_id, event).await
    }

    /// The Request URL handshake; returns the challenge sent and the app's answer (which should
    /// echo it: text/plain, `challenge=…` or `{"challenge":"…"}`).
    pub async fn url_verification(&self, url: &str) -> Result<(String, reqwest::Response), CallbackError> {
        let challenge = random_alnum(52);
        let token = self.with_state(|st| st.verification_token.clone());
        let body = json!({"token": token, "challenge": challenge, "type": "url_verification"});
        let resp = self.signed_post(url, "application/json", body.to_string(), &[]).await?;
        Ok((challenge, resp))
    }
}

/// `POST /response/{id}`: records the JSON body (`ephemeral_replies()`) and applies it:
/// `replace_original` rewrites the clicked message, `delete_original` removes it,
/// `response_type: "in_channel"` posts a new bot message; otherwise it is ephemeral. Answers
/// `{"ok":true}` (UNCERTAIN: the exact answer body is not in the reference); an unknown id is
/// 404, a spent or expired one 404 `used_url` / `expired_url` (UNCERTAIN).
pub(crate) async fn response_url(AxState(sb): AxState<SlackSandbox>, Path(id): Path<String>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    sb.with_state(|st| {
        let Some(ru) = st.response_urls.get_mut(&id) else {
            return (StatusCode::NOT_FOUND, "no_such_url").into_response();
        };
        if ru.issued.elapsed() > RESPONSE_URL_TTL {
            return (StatusCode::NOT_FOUND, json!({"ok": false, "error": "expired_url"}).to_string()).into_response();
        }
        if ru.uses >= RESPONSE_URL_USES {
            return (StatusCode::NOT_FOUND, json!({"ok": false, "error": "used_url"}).to_string()).into_response();
        }
        ru.uses += 1;
        let (channel_id, message_ts) = (ru.channel_id.clone(), ru.message_ts.clone());
        st.response_posts.push(body.clone());
        let flag = |k: &str| body.get(k).and_then(Value::as_bool).unwrap_or(false);
        let text = body.get("text").and_then(Value::as_str).map(str::to_string);
        let blocks = body.get("blocks").filter(|b| b.as_array().is_some_and(|a| !a.is_empty())).cloned();
        let team_id = st.channels.get(&channel_id).map(|c| c.team_id.clone()).unwrap_or_default();
        let (bot_user, bot_id) = st.workspace(&team_id).map(|w| (w.bot_user_id.clone(), w.bot_id.clone())).unwrap_or_default();
        let new_ts = st.next_ts();
        if let Some(c) = st.channels.get_mut(&channel_id) {
            if flag("delete_original") {
                c.messages.retain(|m| m.ts != message_ts);
            } else if flag("replace_original") {
                if let Some(m) = c.messages.iter_mut().find(|m| m.ts == message_ts) {
                    m.text = text.unwrap_or_default();
                    m.blocks = blocks;
                }
            } else if body.get("response_type").and_then(Value::as_str) == Some("in_channel") {
                let m = Message {
                    ts: new_ts,
                    user: Some(bot_user),
                    bot_id: Some(bot_id),
                    text: text.unwrap_or_default(),
                    blocks,
                    edited: None,
                    thread_ts: None,
                    reactions: Vec::new(),
                    streaming: false,
                };
                c.messages.push(m);
            }
        }
        (StatusCode::OK, [("content-type", "application/json")], json!({"ok": true}).to_string()).into_response()
    })
}
