//! A read-only view of the sandbox's world — scene groups with their members, messages and
//! cards, and the org's users — for tests and the local stack's sandbox web page, which can
//! render a DingTalk war room from it (as it renders Feishu's `ChatView`s).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::state::{Card, Group, Message, State, StreamUpdate};
use super::DingTalkSandbox;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SandboxView {
    pub groups: Vec<GroupView>,
    pub users: Vec<UserView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UserView {
    pub user_id: String,
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupView {
    pub open_conversation_id: String,
    pub chat_id: String,
    /// The app (client id) that created it.
    pub app: String,
    pub title: String,
    pub template_id: String,
    pub owner: String,
    /// The template's group robot, installed in the group.
    pub robot_code: String,
    /// `userid`s, the owner first.
    pub members: Vec<String>,
    pub disbanded: bool,
    /// Oldest first: robot sends and users' @-messages.
    pub messages: Vec<MessageView>,
    /// Cards delivered to the group, oldest first.
    pub cards: Vec<CardView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageView {
    /// `processQueryKey` (robot) or `msgId` (users).
    pub id: String,
    /// The robot code or the user's `userid`.
    pub sender: String,
    pub from_robot: bool,
    /// `sampleText`, `sampleMarkdown`, … or `text` for a user's message.
    pub msg_key: String,
    /// `msgParam`, parsed.
    pub param: Value,
    /// Plain reading: `content`, or `title` and `text`.
    pub text: String,
    pub at_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CardView {
    pub out_track_id: String,
    pub template_id: String,
    pub group: Option<String>,
    /// `cardParamMap`, as last set (all strings).
    pub card_data: BTreeMap<String, String>,
    /// Per-user private `cardParamMap`s.
    pub private_data: BTreeMap<String, BTreeMap<String, String>>,
    pub callback_route_key: Option<String>,
    /// Updates by API or by a click's answer.
    pub updated_count: u32,
    pub created_at_ms: u64,
    /// AI-card streaming updates (`PUT /v1.0/card/streaming`), oldest first.
    pub streamed: Vec<StreamUpdate>,
    /// Ended by `isFinalize` / `isError`.
    pub finalized: bool,
}

/// The whole world as the view shows it.
pub fn view(sb: &DingTalkSandbox) -> SandboxView {
    let st = sb.lock();
    let users =
        st.users.iter().map(|u| UserView { user_id: u.user_id.clone(), name: u.name.clone(), mobile: u.mobile.clone(), email: u.email.clone() }).collect();
    SandboxView { groups: st.groups.iter().map(|g| group_view(&st, g)).collect(), users }
}

fn group_view(st: &State, g: &Group) -> GroupView {
    let cards = st.cards.iter().filter(|c| c.group.as_deref() == Some(g.open_conversation_id.as_str())).map(|c| card_view(st, c)).collect();
    GroupView {
        open_conversation_id: g.open_conversation_id.clone(),
        chat_id: g.chat_id.clone(),
        app: g.app.clone(),
        title: g.title.clone(),
        template_id: g.template_id.clone(),
        owner: g.owner.clone(),
        robot_code: g.robot_code.clone(),
        members: g.members.clone(),
        disbanded: g.disbanded,
        messages: g.messages.iter().map(|m| message_view(st, m)).collect(),
        cards,
    }
}

fn message_view(st: &State, m: &Message) -> MessageView {
    let s = |k: &str| m.param[k].as_str().unwrap_or_default().to_string();
    let text = match (s("content"), s("title"), s("text")) {
        (content, _, _) if !content.is_empty() => content,
        (_, title, text) if !title.is_empty() && !text.is_empty() => format!("{title}\n{text}"),
        (_, title, text) => format!("{title}{text}"),
    };
    MessageView {
        id: m.id.clone(),
        sender: m.sender.clone(),
        from_robot: m.from_robot,
        msg_key: m.msg_key.clone(),
        param: m.param.clone(),
        text,
        at_ms: st.wall_ms(m.at) as u64,
    }
}

fn card_view(st: &State, c: &Card) -> CardView {
    CardView {
        out_track_id: c.out_track_id.clone(),
        template_id: c.template_id.clone(),
        group: c.group.clone(),
        card_data: c.card_data.clone(),
        private_data: c.private_data.clone(),
        callback_route_key: c.callback_route_key.clone(),
        updated_count: c.updated_count,
        created_at_ms: st.wall_ms(c.created_at) as u64,
        streamed: c.streamed.clone(),
        finalized: c.finalized,
    }
}

impl DingTalkSandbox {
    /// See [`view`].
    pub fn view(&self) -> SandboxView {
        view(self)
    }

    pub fn groups(&self) -> Vec<GroupView> {
        let st = self.lock();
        st.groups.iter().map(|g| group_view(&st, g)).collect()
    }

    pub fn group(&self, open_conversation_id: &str) -> Option<GroupView> {
        let st = self.lock();
        st.group(open_conversation_id).map(|g| group_view(&st, g))
    }

    /// A card wherever it is (delivered or not).
    pub fn card(&self, out_track_id: &str) -> Option<CardView> {
        let st = self.lock();
        st.card(out_track_id).map(|c| card_view(&st, c))
    }
}
