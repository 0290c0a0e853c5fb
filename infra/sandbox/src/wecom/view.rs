//! A read-only view of the sandbox's world — apps (without secrets), users, chats with their
//! messages, every user's template cards, bot streams and dropped messages — for tests and the
//! local stack's sandbox page, which can render a WeCom war room from it.

use serde::Serialize;
use serde_json::Value;

use super::state::{Chat, ChatMessage, Dropped, Sender, State, UserCard};
use super::WeComSandbox;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SandboxView {
    pub apps: Vec<AppView>,
    pub users: Vec<UserView>,
    pub chats: Vec<ChatView>,
    pub cards: Vec<CardView>,
    pub streams: Vec<StreamView>,
    pub dropped: Vec<Dropped>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppView {
    pub corp_id: String,
    pub agent_id: i64,
    pub callback_url: Option<String>,
    pub bot_id: String,
    pub bot_name: String,
    pub bot_url: Option<String>,
    pub trusted_ips: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UserView {
    pub userid: String,
    pub name: String,
    pub mobile: Option<String>,
    pub biz_mail: Option<String>,
    pub email: Option<String>,
    pub visible: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChatView {
    pub chatid: String,
    /// The creating app's agent id; `None` for a group known only through the bot.
    pub app: Option<i64>,
    pub name: String,
    pub owner: String,
    pub members: Vec<String>,
    /// Oldest first.
    pub messages: Vec<MessageView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageView {
    pub id: String,
    pub sender: Sender,
    pub msgtype: String,
    pub content: Value,
    /// Plain reading: `content`, a card's main title, or a textcard's title.
    pub text: String,
    /// Bot cards replaced for some users only.
    pub per_user: std::collections::BTreeMap<String, Value>,
    pub updates: u32,
    pub at_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CardView {
    pub msgid: String,
    pub agent_id: i64,
    pub userid: String,
    pub task_id: String,
    pub card_type: String,
    pub card: Value,
    /// Set by `button.replace_name` / `update_button`: the buttons became this label.
    pub replace_name: Option<String>,
    pub updates: Vec<Value>,
    pub at_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamView {
    pub id: String,
    pub agent_id: i64,
    pub chatid: String,
    pub user: String,
    pub content: String,
    pub finish: bool,
    pub polls: u32,
    /// What it showed, reply by reply (the typewriter as WeCom's client saw it).
    pub shown: Vec<String>,
}

fn message_view(st: &State, m: &ChatMessage) -> MessageView {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let text = [&m.content["content"], &m.content["main_title"]["title"], &m.content["title"]].into_iter().map(s).find(|t| !t.is_empty()).unwrap_or_default();
    MessageView {
        id: m.id.clone(),
        sender: m.sender.clone(),
        msgtype: m.msgtype.clone(),
        content: m.content.clone(),
        text,
        per_user: m.per_user.clone(),
        updates: m.updates,
        at_ms: st.wall(m.at).as_millis() as u64,
    }
}

fn chat_view(st: &State, c: &Chat) -> ChatView {
    ChatView {
        chatid: c.chatid.clone(),
        app: c.app,
        name: c.name.clone(),
        owner: c.owner.clone(),
        members: c.members.clone(),
        messages: c.messages.iter().map(|m| message_view(st, m)).collect(),
    }
}

fn card_view(st: &State, c: &UserCard) -> CardView {
    CardView {
        msgid: c.msgid.clone(),
        agent_id: c.agent_id,
        userid: c.userid.clone(),
        task_id: c.task_id.clone(),
        card_type: c.card_type.clone(),
        card: c.card.clone(),
        replace_name: c.replace_name.clone(),
        updates: c.updates.clone(),
        at_ms: st.wall(c.at).as_millis() as u64,
    }
}

impl WeComSandbox {
    /// The whole world.
    pub fn view(&self) -> SandboxView {
        let st = self.lock();
        let apps = st
            .apps
            .values()
            .map(|a| AppView {
                corp_id: a.corp_id.clone(),
                agent_id: a.agent_id,
                callback_url: a.callback_url.clone(),
                bot_id: a.bot_id.clone(),
                bot_name: a.bot_name.clone(),
                bot_url: a.bot_url.clone(),
                trusted_ips: a.trusted_ips.as_ref().map(|ips| ips.iter().cloned().collect()),
            })
            .collect();
        let users = st
            .users
            .iter()
            .map(|u| UserView {
                userid: u.userid.clone(),
                name: u.name.clone(),
                mobile: u.mobile.clone(),
                biz_mail: u.biz_mail.clone(),
                email: u.email.clone(),
                visible: u.visible,
            })
            .collect();
        let streams = st
            .streams
            .iter()
            .map(|s| StreamView {
                id: s.id.clone(),
                agent_id: s.agent_id,
                chatid: s.chatid.clone(),
                user: s.user.clone(),
                content: s.content.clone(),
                finish: s.finish,
                polls: s.polls,
                shown: s.shown.clone(),
            })
            .collect();
        SandboxView {
            apps,
            users,
            chats: st.chats.iter().map(|c| chat_view(&st, c)).collect(),
            cards: st.cards.iter().map(|c| card_view(&st, c)).collect(),
            streams,
            dropped: st.dropped.clone(),
        }
    }

    pub fn chats(&self) -> Vec<ChatView> {
        let st = self.lock();
        st.chats.iter().map(|c| chat_view(&st, c)).collect()
    }

    pub fn chat(&self, chatid: &str) -> Option<ChatView> {
        let st = self.lock();
        st.chat(chatid).map(|c| chat_view(&st, c))
    }

    /// `userid`'s cards, oldest first.
    pub fn cards_of(&self, userid: &str) -> Vec<CardView> {
        let st = self.lock();
        st.cards.iter().filter(|c| c.userid == userid).map(|c| card_view(&st, c)).collect()
    }

    /// Non-card app messages `userid` received: `(msgtype, body)`.
    pub fn direct_messages(&self, userid: &str) -> Vec<(String, Value)> {
        self.lock().direct.iter().filter(|(u, _, _)| u == userid).map(|(_, t, b)| (t.clone(), b.clone())).collect()
    }

    /// Whether a response code was used (`None`: unknown).
    pub fn response_code_used(&self, code: &str) -> Option<bool> {
        self.lock().codes.get(code).map(|c| c.used_at.is_some())
    }
}
