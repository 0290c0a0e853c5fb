//! The fake's `ImPlatform`: each call is logged, may fail before it acts (`fail_next`,
//! `fail_always`) or after (`lose_answer_next`), and keeps the rules the real platforms keep.

use super::*;
use async_trait::async_trait;

impl State {
    /// A call that took effect answers `Transient` if its answer is to be lost.
    fn settle<T>(&mut self, op: FakeOp, result: ImResult<T>) -> ImResult<T> {
        match result {
            Ok(_) if self.failures.lose_answer.remove(&op) => {
                self.failures.lost += 1;
                Err(ImError::Transient(format!("{op:?}: timed out after the platform acted")))
            }
            other => other,
        }
    }

    /// The bot's text message saying exactly `text` in the chat, if any.
    fn bot_text(&mut self, chat: &ChatId, text: &str) -> Option<MessageId> {
        let is_it = |m: &FakeMessage| m.author.as_str() == BOT && matches!(&m.kind, FakeMessageKind::Text(t) if t == text);
        self.find(chat.as_str())?.messages.iter().find(|m| is_it(m)).map(|m| m.id.clone())
    }

    /// The bot's card of `incident` in the chat, if any.
    fn card_of_incident(&mut self, chat: &ChatId, incident: &str) -> Option<MessageId> {
        let is_it = |m: &FakeMessage| m.author.as_str() == BOT && matches!(&m.kind, FakeMessageKind::Card(c) if c.incident_id == incident);
        self.find(chat.as_str())?.messages.iter().find(|m| is_it(m)).map(|m| m.id.clone())
    }
}

#[async_trait]
impl ImPlatform for FakePlatform {
    fn platform(&self) -> Platform {
        self.lock().platform
    }
    fn capabilities(&self) -> Capabilities {
        self.lock().capabilities
    }

    fn buckets(&self, family: ApiFamily, chat: Option<&ChatId>) -> Vec<BucketSpec> {
        let (p, rate) = {
            let s = self.lock();
            (s.platform, s.chat_rate)
        };
        let mut b = vec![BucketSpec::per(format!("fake.{p}.app"), 50, Duration::from_secs(1))];
        if let (ApiFamily::Message, Some(chat)) = (family, chat) {
            b.push(BucketSpec::per(format!("fake.{p}.chat.{chat}"), rate, Duration::from_secs(1)));
        }
        b
    }

    async fn granted_scopes(&self) -> ImResult<Vec<String>> {
        let s = self.enter(FakeOp::GrantedScopes, "granted_scopes".into())?;
        Ok(s.granted_scopes.clone())
    }

    async fn create_chat(&self, request: &CreateChat) -> ImResult<CreatedChat> {
        let call = format!("create_chat name={} key={}", request.name, request.idempotency_key);
        let mut s = self.enter(FakeOp::CreateChat, call)?;
        let p = s.platform;
        let answer = |id: ChatId| CreatedChat { url: Some(format!("https://fake.{p}.example/chats/{id}")), chat_id: id };
        // Like Feishu's `uuid`: the same key answers the same chat, whatever became of it.
        // Without `idempotent_create` keys are ignored, so a retry meets `name_taken`.
        let idempotent = s.capabilities.idempotent_create;
        if let Some(id) = s.keys.get(&request.idempotency_key).filter(|_| idempotent) {
            let found = Ok(answer(id.clone()));
            return s.settle(FakeOp::CreateChat, found);
        }
        // Like Slack: a name is required, and unique among live chats.
        if request.name.trim().is_empty() {
            return Err(rejected("invalid_name_required", "a chat needs a name"));
        } else if s.chats.iter().any(|c| !c.disbanded && c.name == request.name) {
            return Err(rejected("name_taken", format!("a chat named {} exists", request.name)));
        }
        s.next_chat += 1;
        let id = ChatId(format!("C{:04}", s.next_chat));
        #[rustfmt::skip]
        s.chats.push(FakeChat { id: id.clone(), name: request.name.clone(), topic: request.topic.clone(),
            private: request.private, members: BTreeSet::new(), disbanded: false, bot_left: false, messages: vec![] });
        if idempotent {
            s.keys.insert(request.idempotency_key.clone(), id.clone());
        }
        s.settle(FakeOp::CreateChat, Ok(answer(id)))
    }

    async fn add_members(&self, chat: &ChatId, users: &[ImUserId]) -> ImResult<InviteResult> {
        let names: Vec<&str> = users.iter().map(ImUserId::as_str).collect();
        let mut s = self.enter(FakeOp::AddMembers, format!("add_members {chat} [{}]", names.join(",")))?;
        s.usable(chat)?;
        let mut result = InviteResult::default();
        let mut seen = BTreeSet::new();
        for user in users.iter().filter(|u| seen.insert(*u)) {
            let known = s.users.iter().any(|u| &u.id == user);
            match s.failures.invite.get(user).cloned() {
                _ if !known => result.failed.push((user.clone(), ImError::UserNotFound)),
                Some(err) => result.failed.push((user.clone(), err)),
                // Already a member counts as invited: the goal state holds (Slack's
                // `already_in_channel` is success to us).
                None => {
                    s.usable(chat)?.members.insert(user.clone());
                    result.invited.push(user.clone());
                }
            }
        }
        s.settle(FakeOp::AddMembers, Ok(result))
    }

    async fn post_card(&self, chat: &ChatId, card: &Card) -> ImResult<MessageId> {
        let mut s = self.enter(FakeOp::PostCard, format!("post_card {chat}"))?;
        s.usable(chat)?;
        if s.card_dedupe == CardDedupe::IdempotencyKey {
            if let Some(id) = s.card_of_incident(chat, &card.incident_id) {
                return s.settle(FakeOp::PostCard, Ok(id));
            }
        }
        let id = s.push(chat.as_str(), BOT.into(), FakeMessageKind::Card(card.clone()));
        s.settle(FakeOp::PostCard, Ok(id))
    }

    async fn find_card(&self, chat: &ChatId, card: &Card) -> ImResult<Option<MessageId>> {
        let mut s = self.enter(FakeOp::FindCard, format!("find_card {chat} {}", card.incident_id))?;
        s.usable(chat)?;
        let found = match s.card_dedupe {
            CardDedupe::Lookup => s.card_of_incident(chat, &card.incident_id),
            CardDedupe::IdempotencyKey | CardDedupe::Neither => None,
        };
        s.settle(FakeOp::FindCard, Ok(found))
    }

    async fn update_card(&self, chat: &ChatId, message: &MessageId, card: &Card) -> ImResult<()> {
        let mut s = self.enter(FakeOp::UpdateCard, format!("update_card {chat} {message}"))?;
        s.require(s.capabilities.update_card, "card updates")?;
        let c = s.usable(chat)?;
        let result = match c.messages.iter_mut().find(|m| &m.id == message) {
            None => Err(rejected("message_not_found", format!("no message {message} in {chat}"))),
            Some(m) if m.author.as_str() != BOT => Err(rejected("cant_update_message", "not the bot's message")),
            Some(FakeMessage { kind: FakeMessageKind::Text(_), .. }) => Err(rejected("cant_update_message", "not a card")),
            Some(m) => {
                (m.kind, m.edits) = (FakeMessageKind::Card(card.clone()), m.edits + 1);
                Ok(())
            }
        };
        s.settle(FakeOp::UpdateCard, result)
    }

    /// An answer's text replaced (failures are injected as `UpdateCard`).
    async fn edit_answer(&self, chat: &ChatId, message: &MessageId, text: &str) -> ImResult<()> {
        let mut s = self.enter(FakeOp::UpdateCard, format!("edit_answer {chat} {message}"))?;
        s.require(s.capabilities.edit_answers, "answer edits")?;
        let c = s.usable(chat)?;
        let result = match c.messages.iter_mut().find(|m| &m.id == message) {
            None => Err(rejected("message_not_found", format!("no message {message} in {chat}"))),
            Some(m) if m.author.as_str() != BOT => Err(rejected("cant_update_message", "not the bot's message")),
            Some(m) => {
                (m.kind, m.edits) = (FakeMessageKind::Text(text.into()), m.edits + 1);
                Ok(())
            }
        };
        s.settle(FakeOp::UpdateCard, result)
    }

    async fn send_text(&self, chat: &ChatId, text: &str) -> ImResult<MessageId> {
        let mut s = self.enter(FakeOp::SendText, format!("send_text {chat}"))?;
        s.usable(chat)?;
        if text.trim().is_empty() {
            return Err(rejected("no_text", "empty message"));
        }
        let id = s.push(chat.as_str(), BOT.into(), FakeMessageKind::Text(text.into()));
        s.settle(FakeOp::SendText, Ok(id))
    }

    /// A text like `send_text` (failures are injected as `SendText`). With
    /// `CardDedupe::IdempotencyKey` (Feishu's `uuid`) the same text posted again answers the
    /// bot's message already there.
    async fn send_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<MessageId> {
        let mut s = self.enter(FakeOp::SendText, format!("send_text {chat} key={key}"))?;
        s.usable(chat)?;
        if text.trim().is_empty() {
            return Err(rejected("no_text", "empty message"));
        }
        if let Some(id) = s.bot_text(chat, text).filter(|_| s.card_dedupe == CardDedupe::IdempotencyKey) {
            return s.settle(FakeOp::SendText, Ok(id));
        }
        let id = s.push(chat.as_str(), BOT.into(), FakeMessageKind::Text(text.into()));
        s.settle(FakeOp::SendText, Ok(id))
    }

    /// Like Slack's history: finds the bot's text (with `CardDedupe::Lookup` only).
    async fn find_notice(&self, chat: &ChatId, text: &str, key: &str) -> ImResult<Option<MessageId>> {
        let mut s = self.enter(FakeOp::FindNotice, format!("find_notice {chat} {key}"))?;
        s.usable(chat)?;
        let found = if s.card_dedupe == CardDedupe::Lookup { s.bot_text(chat, text) } else { None };
        s.settle(FakeOp::FindNotice, Ok(found))
    }

    /// Idempotent: dismissing a chat already disbanded (by the app or a human) is Ok, where
    /// Slack would answer `already_archived`; the goal state holds, so retries must not fail.
    /// Without `dismiss` the bot leaves instead, as the port says.
    async fn dismiss_chat(&self, chat: &ChatId) -> ImResult<()> {
        let mut s = self.enter(FakeOp::DismissChat, format!("dismiss_chat {chat}"))?;
        let can_dismiss = s.capabilities.dismiss;
        let c = s.find(chat.as_str()).ok_or(ImError::ChatGone)?;
        *(if can_dismiss { &mut c.disbanded } else { &mut c.bot_left }) = true;
        s.settle(FakeOp::DismissChat, Ok(()))
    }

    async fn lookup_by_email(&self, email: &str) -> ImResult<Option<ImUserId>> {
        let s = self.enter(FakeOp::LookupEmail, format!("lookup_by_email {email}"))?;
        s.require(s.capabilities.lookup_by_email, "lookup by email")?;
        let hit = s.users.iter().find(|u| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email)));
        Ok(hit.map(|u| u.id.clone()))
    }

    async fn lookup_by_phone(&self, phone: &str) -> ImResult<Option<ImUserId>> {
        let s = self.enter(FakeOp::LookupPhone, format!("lookup_by_phone {phone}"))?;
        s.require(s.capabilities.lookup_by_phone, "lookup by phone")?;
        Ok(s.users.iter().find(|u| u.phone.as_deref() == Some(phone)).map(|u| u.id.clone()))
    }

    async fn list_bot_chats(&self) -> ImResult<Vec<ChatSummary>> {
        let s = self.enter(FakeOp::ListChats, "list_bot_chats".into())?;
        let live = s.chats.iter().filter(|c| !c.disbanded && !c.bot_left);
        Ok(live.map(|c| ChatSummary { chat_id: c.id.clone(), name: c.name.clone() }).collect())
    }

    /// Text messages only (the bot's and the humans'), oldest first. A disbanded chat has
    /// no history: Feishu deletes it on disband.
    async fn chat_history(&self, chat: &ChatId) -> ImResult<Vec<ChatMessage>> {
        let mut s = self.enter(FakeOp::History, format!("chat_history {chat}"))?;
        s.require(s.capabilities.history, "history API")?;
        let c = s.usable(chat)?;
        let text = |m: &FakeMessage| match &m.kind {
            FakeMessageKind::Text(text) => Some(ChatMessage { id: m.id.to_string(), at: m.at, author: m.author.clone(), text: text.clone() }),
            FakeMessageKind::Card(_) => None,
        };
        let history = c.messages.iter().filter_map(text).collect();
        s.settle(FakeOp::History, Ok(history))
    }

    async fn set_topic(&self, chat: &ChatId, topic: &str) -> ImResult<()> {
        let mut s = self.enter(FakeOp::SetTopic, format!("set_topic {chat}"))?;
        s.usable(chat)?.topic = topic.to_string();
        s.settle(FakeOp::SetTopic, Ok(()))
    }
}
