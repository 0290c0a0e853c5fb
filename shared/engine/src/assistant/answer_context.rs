//! The answer's prompt from what is stored: the newest of the captured transcript (or the
//! platform's history, when it has one), the newest timeline entries, the tenant's runbooks
//! and similar past incidents. Only as many messages and entries are read as the budget
//! could hold (`context::max_lines`), so building it costs the same in a room of 300
//! messages as in one of 20,000 (`infra/bench`, `context_scale`).

use super::answer::{without_mentions, PROMPT_BUDGET};
use super::context::{self, Prompt};
use crate::{Engine, EngineError};
use warroom_core::{ChatMessage, Incident, MessageId};

impl Engine {
    /// The prompt answering `message`; `history`: the platform's, where it has one.
    pub async fn answer_prompt(&self, incident: &Incident, history: Option<Vec<ChatMessage>>, message: &MessageId) -> Result<Prompt, EngineError> {
        let (tenant, id) = (&incident.tenant_id, &incident.id);
        let (transcript, older_messages) = match history {
            Some(history) => (history, false),
            None => {
                let newest = self.store.list_newest_chat_messages(tenant, id, context::max_lines(PROMPT_BUDGET)).await?;
                (newest.items, newest.older)
            }
        };
        // The question is usually among the newest; else one point read by its id.
        let asked = match transcript.iter().find(|m| m.id == message.as_str()) {
            Some(m) => m.text.clone(),
            None => self.store.get_chat_message(tenant, id, message.as_str()).await?.map(|m| m.text).unwrap_or_default(),
        };
        let question = without_mentions(&asked);
        let timeline = self.store.list_newest_timeline(tenant, id, context::max_lines(PROMPT_BUDGET / 4)).await?;
        let knowledge = self.knowledge(incident, Some(&question)).await?;
        let inputs =
            context::Inputs { incident, timeline: &timeline.items, older_timeline: timeline.older, chat: &transcript, older_messages, knowledge: &knowledge };
        Ok(context::build_with(&inputs, &question, PROMPT_BUDGET))
    }
}
