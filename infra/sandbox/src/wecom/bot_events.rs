//! Smart-bot callbacks (notes Q1; docs 100719, 101027, 101031, 101033, 101138): JSON body
//! `{"encrypt"}` only, ReceiveId "", to the bot's URL with `?msg_signature&timestamp&nonce`.
//!
//! - [`WeComSandbox::mention_bot`]: a member @-mentions the bot in a group (`msgtype:text`,
//!   `text.content` = "@BotName …", a `response_url` usable once within 1 h);
//! - [`WeComSandbox::click_bot_card`]: a member clicks a bot card (`msgtype:event`,
//!   `event.eventtype:template_card_event`);
//! - [`WeComSandbox::poll_stream`]: WeCom asks for a stream's next chunk (`msgtype:stream`),
//!   until the reply says `finish:true`, for at most 6 min from the user's message.
//!
//! The encrypted passive JSON reply is opened and applied: `stream` (content replaces the
//! earlier content), `template_card`, `stream_with_template_card`, `text`, and
//! `{"response_type":"update_template_card","userids"?,"template_card"}` for clicks
//! (no `userids`: the card changes for everyone).

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use super::callbacks::{open_passive, seal, with_query, CallbackError, Delivery, Endpoint, Keys, Passive};
use super::state::{alnum, BotCode, ChatMessage, Sender, State, Stream};
use super::WeComSandbox;

/// notes Q1: "for at most 6 min from the user's message".
pub const STREAM_WINDOW: Duration = Duration::from_secs(6 * 60);

/// One bot callback and what its passive reply did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BotExchange {
    pub passive: Passive,
    /// The decrypted reply as JSON.
    pub reply: Option<Value>,
    /// What was applied: `stream`, `template_card`, `stream_with_template_card`, `text`,
    /// `update_template_card`.
    pub applied: Option<String>,
    /// The callback's `response_url` (none for stream polls).
    pub response_url: Option<String>,
    pub msgid: String,
    pub delivery: Delivery,
}

fn bot_message(bot_id: &str, msgtype: &str, content: Value, at: Duration) -> ChatMessage {
    ChatMessage {
        id: format!("msg{}", alnum(24)),
        sender: Sender::Bot(bot_id.to_string()),
        msgtype: msgtype.to_string(),
        content,
        per_user: Default::default(),
        updates: 0,
        at,
    }
}

/// Upserts the stream `reply.stream` started by `user`'s message at `started_at`.
fn apply_stream(st: &mut State, agent_id: i64, bot_id: &str, chatid: &str, user: &str, started_at: Duration, stream: &Value) -> bool {
    let Some(id) = stream["id"].as_str().map(str::to_string) else { return false };
    let content = stream["content"].as_str().unwrap_or_default().to_string();
    let finish = stream["finish"].as_bool().unwrap_or(false);
    let now = st.now();
    let shown = json!({"id": id, "content": content, "finish": finish});
    if let Some(s) = st.streams.iter_mut().find(|s| s.id == id && s.agent_id == agent_id) {
        s.shown.push(content.clone());
        s.content = content;
        s.finish = finish;
        let message_id = s.message_id.clone();
        let chat = s.chatid.clone();
        if let Some(m) = st.chat_mut(&chat).and_then(|c| c.messages.iter_mut().find(|m| m.id == message_id)) {
            m.content = shown;
            m.updates += 1;
        }
        return true;
    }
    let message = bot_message(bot_id, "stream", shown, now);
    let message_id = message.id.clone();
    st.bot_chat(chatid, user).messages.push(message);
    let shown = vec![content.clone()];
    st.streams.push(Stream { id, agent_id, chatid: chatid.to_string(), user: user.to_string(), content, finish, polls: 0, shown, started_at, message_id });
    true
}

/// Applies a decrypted bot reply in `chatid`; `task_id` is the clicked card's (for updates).
fn apply_reply(st: &mut State, agent_id: i64, chatid: &str, user: &str, started_at: Duration, task_id: Option<&str>, reply: &Value) -> Option<String> {
    let bot_id = st.apps.get(&agent_id).map(|a| a.bot_id.clone()).unwrap_or_default();
    let now = st.now();
    if reply["response_type"] == "update_template_card" {
        let mut card = reply["template_card"].clone();
        let users: Vec<String> = reply["userids"].as_array().into_iter().flatten().filter_map(|u| u.as_str().map(str::to_string)).collect();
        let task = task_id?;
        let chat = st.chat_mut(chatid)?;
        let m = chat.messages.iter_mut().rev().find(|m| m.msgtype == "template_card" && m.content["task_id"] == task)?;
        // "task_id 只在发消息时候有效，更新消息的时候无效" (notes Q1): the card keeps its own.
        if card.is_object() {
            card["task_id"] = json!(task);
        }
        if users.is_empty() {
            m.content = card;
            m.per_user.clear();
        } else {
            users.into_iter().for_each(|u| {
                m.per_user.insert(u, card.clone());
            });
        }
        m.updates += 1;
        return Some("update_template_card".into());
    }
    let msgtype = reply["msgtype"].as_str()?.to_string();
    match msgtype.as_str() {
        "stream" => apply_stream(st, agent_id, &bot_id, chatid, user, started_at, &reply["stream"]).then_some(msgtype),
        "template_card" | "text" => {
            let m = bot_message(&bot_id, &msgtype, reply[msgtype.as_str()].clone(), now);
            st.bot_chat(chatid, user).messages.push(m);
            Some(msgtype)
        }
        "stream_with_template_card" => {
            apply_stream(st, agent_id, &bot_id, chatid, user, started_at, &reply["stream"]);
            let m = bot_message(&bot_id, "template_card", reply["template_card"].clone(), now);
            st.bot_chat(chatid, user).messages.push(m);
            Some(msgtype)
        }
        _ => None,
    }
}

struct Outgoing {
    agent_id: i64,
    kind: &'static str,
    payload: Value,
    chatid: String,
    user: String,
    started_at: Duration,
    task_id: Option<String>,
    response_url: Option<String>,
    msgid: String,
    /// Apply the passive reply to the sandbox's world (not for a refresh sent by hand).
    apply: bool,
}

impl WeComSandbox {
    /// Registers a fresh `response_url` code for `user` in `chatid`.
    fn response_url(&self, st: &mut State, agent_id: i64, chatid: &str, user: &str) -> String {
        let code = alnum(43);
        let issued_at = st.now();
        st.bot_codes.insert(code.clone(), BotCode { agent_id, chatid: chatid.to_string(), user: user.to_string(), issued_at, used_at: None });
        format!("{}/cgi-bin/aibot/response?response_code={code}", st.base_url)
    }

    async fn send_bot(&self, url: &str, out: Outgoing) -> Result<BotExchange, CallbackError> {
        let app = self.app(out.agent_id)?;
        let keys = Keys::of(&app, Endpoint::Bot(out.agent_id));
        let plaintext = out.payload.to_string();
        let tamper = self.take_tamper();
        let sealed = seal(&keys, &plaintext, tamper)?;
        let delivery = Delivery {
            agent_id: out.agent_id,
            channel: "bot",
            kind: out.kind.to_string(),
            method: "POST".into(),
            url: with_query(url, &sealed.query()),
            body: json!({"encrypt": sealed.encrypt}).to_string(),
            plaintext,
            tamper,
        };
        let (status, body) = self.send(delivery.clone()).await?;
        let passive = open_passive(&keys, Endpoint::Bot(out.agent_id), status, body);
        let reply: Option<Value> = passive.plaintext.as_deref().and_then(|p| serde_json::from_str(p).ok());
        let applied = reply.as_ref().filter(|_| out.apply).and_then(|r| {
            let mut st = self.lock();
            apply_reply(&mut st, out.agent_id, &out.chatid, &out.user, out.started_at, out.task_id.as_deref(), r)
        });
        Ok(BotExchange { passive, reply, applied, response_url: out.response_url, msgid: out.msgid, delivery })
    }

    /// `user` writes "@BotName `text`" in group `chatid`; the callback goes to `url`.
    pub async fn mention_bot(&self, url: &str, agent_id: i64, chatid: &str, user: &str, text: &str) -> Result<BotExchange, CallbackError> {
        let app = self.app(agent_id)?;
        let content = format!("@{} {text}", app.bot_name);
        let msgid = alnum(32);
        let (response_url, started_at) = {
            let mut st = self.lock();
            let now = st.now();
            let chat = st.bot_chat(chatid, user);
            if !chat.members.iter().any(|m| m == user) {
                chat.members.push(user.to_string());
            }
            let m = ChatMessage {
                id: msgid.clone(),
                sender: Sender::User(user.to_string()),
                msgtype: "text".into(),
                content: json!({"content": content}),
                per_user: Default::default(),
                updates: 0,
                at: now,
            };
            chat.messages.push(m);
            (self.response_url(&mut st, agent_id, chatid, user), now)
        };
        let payload = json!({
            "msgid": msgid, "aibotid": app.bot_id, "chatid": chatid, "chattype": "group",
            "from": {"userid": user}, "response_url": response_url, "msgtype": "text", "text": {"content": content},
        });
        let out = Outgoing {
            agent_id,
            kind: "text",
            payload,
            chatid: chatid.into(),
            user: user.into(),
            started_at,
            task_id: None,
            response_url: Some(response_url),
            msgid,
            apply: true,
        };
        let exchange = self.send_bot(url, out).await?;
        self.poll_if_streaming(url, agent_id, &exchange);
        Ok(exchange)
    }

    /// `user` clicks the button `event_key` of the bot card `task_id` in group `chatid`.
    pub async fn click_bot_card(
        &self,
        url: &str,
        agent_id: i64,
        chatid: &str,
        user: &str,
        task_id: &str,
        event_key: &str,
    ) -> Result<BotExchange, CallbackError> {
        let app = self.app(agent_id)?;
        let msgid = alnum(32);
        let (response_url, now, create_time, card_type) = {
            let mut st = self.lock();
            let now = st.now();
            let card_type = st
                .chat(chatid)
                .and_then(|c| c.messages.iter().rev().find(|m| m.msgtype == "template_card" && m.content["task_id"] == task_id))
                .and_then(|m| m.content["card_type"].as_str().map(str::to_string))
                .unwrap_or_else(|| "button_interaction".into());
            (self.response_url(&mut st, agent_id, chatid, user), now, st.wall(now).as_secs(), card_type)
        };
        let payload = json!({
            "msgid": msgid, "create_time": create_time, "aibotid": app.bot_id, "chatid": chatid, "chattype": "group",
            "from": {"userid": user}, "response_url": response_url, "msgtype": "event",
            "event": {"eventtype": "template_card_event", "template_card_event": {"card_type": card_type, "event_key": event_key, "task_id": task_id}},
        });
        let out = Outgoing {
            agent_id,
            kind: "template_card_event",
            payload,
            chatid: chatid.into(),
            user: user.into(),
            started_at: now,
            task_id: Some(task_id.into()),
            response_url: Some(response_url),
            msgid,
            apply: true,
        };
        self.send_bot(url, out).await
    }

    /// WeCom asks the bundle for the next chunk of stream `stream_id` (refused once it is
    /// finished, or 6 min after the user's message, notes Q1).
    pub async fn poll_stream(&self, url: &str, agent_id: i64, stream_id: &str) -> Result<BotExchange, CallbackError> {
        let app = self.app(agent_id)?;
        let stream = {
            let mut st = self.lock();
            let now = st.now();
            let s =
                st.streams.iter_mut().find(|s| s.id == stream_id && s.agent_id == agent_id).ok_or_else(|| CallbackError::UnknownStream(stream_id.into()))?;
            if s.finish {
                return Err(CallbackError::StreamFinished(stream_id.into()));
            }
            if now >= s.started_at + STREAM_WINDOW {
                return Err(CallbackError::StreamExpired(stream_id.into()));
            }
            s.polls += 1;
            s.clone()
        };
        let msgid = alnum(32);
        let payload = json!({
            "msgid": msgid, "aibotid": app.bot_id, "chatid": stream.chatid, "chattype": "group",
            "from": {"userid": stream.user}, "msgtype": "stream", "stream": {"id": stream.id},
        });
        let out = Outgoing {
            agent_id,
            kind: "stream",
            payload,
            chatid: stream.chatid,
            user: stream.user,
            started_at: stream.started_at,
            task_id: None,
            response_url: None,
            msgid,
            apply: true,
        };
        self.send_bot(url, out).await
    }

    /// A stream-refresh callback for any `stream_id`, signed and encrypted as WeCom sends one,
    /// whether or not the sandbox knows the stream (WeCom only asks for streams it was
    /// given: this is for a bundle's answer to a replayed or expired id). Nothing is applied.
    pub async fn send_stream_refresh(&self, url: &str, agent_id: i64, stream_id: &str, chatid: &str, user: &str) -> Result<BotExchange, CallbackError> {
        let app = self.app(agent_id)?;
        let msgid = alnum(32);
        let payload = json!({
            "msgid": msgid, "aibotid": app.bot_id, "chatid": chatid, "chattype": "group",
            "from": {"userid": user}, "msgtype": "stream", "stream": {"id": stream_id},
        });
        let started_at = self.lock().now();
        let out = Outgoing {
            agent_id,
            kind: "stream",
            payload,
            chatid: chatid.into(),
            user: user.into(),
            started_at,
            task_id: None,
            response_url: None,
            msgid,
            apply: false,
        };
        self.send_bot(url, out).await
    }

    /// How many stream polls were sent for `stream_id`, and whether it finished.
    pub fn stream_state(&self, stream_id: &str) -> Option<(u32, bool)> {
        self.lock().streams.iter().find(|s| s.id == stream_id).map(|s| (s.polls, s.finish))
    }
}
