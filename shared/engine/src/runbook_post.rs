//! The runbook matching an incident's labels, posted once in its war room when the room
//! opens (issue 13, item 6): its summary and a link to the whole of it.
//!
//! Once, whatever happens to the reconcile job: the post is a notice (`send_once`: a marker
//! before and after the post, and a lost answer looked for in the chat before posting
//! again), the timeline entry is written under a dedupe claim, and a marker per incident
//! says the question is settled (posted, or nothing matched) so later passes read nothing
//! but that marker. Only a room that is ready (its card posted) gets it.

use crate::notice::{notice_key, Notice};
use crate::{Engine, EngineError};
use std::time::Duration;
use warroom_core::runbook::{self, Runbook};
use warroom_core::*;

/// Longer than any room stays open: past it, a pass would look again (and find the notice sent).
const SETTLED_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

fn settled_key(incident: &Incident) -> String {
    format!("runbook-settled:{}:{}", incident.tenant_id, incident.id)
}

/// Where the whole runbook can be read (the management API; Markdown with `?format=markdown`).
pub fn runbook_path(id: &runbook::RunbookId) -> String {
    format!("/api/v1/runbooks/{id}")
}

/// What the room is shown: the title, the summary, the link.
pub(crate) fn room_text(r: &Runbook, public_url: &str) -> String {
    let title = r.title.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "Runbook for this incident: {title}\n{}\nRead it: {}{}?format=markdown",
        r.effective_summary(),
        public_url.trim_end_matches('/'),
        runbook_path(&r.id)
    )
}

impl Engine {
    /// Posts the matching runbook in the room, once. A passing failure (a busy chat bucket,
    /// an outage) goes up so the job runs again; a permanent one is logged and settles it.
    pub(crate) async fn post_runbook(&self, platform: &dyn ImPlatform, integration: &Integration, incident: &Incident) -> Result<(), EngineError> {
        let (Some(chat), Some(_), WarRoomState::Open) = (&incident.war_room.chat_id, &incident.war_room.card_message_id, incident.war_room.state) else {
            return Ok(());
        };
        let settled = settled_key(incident);
        if self.store.get_ephemeral(&settled, self.clock.now()).await?.is_some() {
            return Ok(());
        }
        let runbooks = self.store.list_runbooks(&incident.tenant_id).await?;
        let Some(found) = runbook::best_for_labels(&runbooks, &incident.labels) else {
            self.store.put_ephemeral(&settled, "none", SETTLED_TTL, self.clock.now()).await?;
            return Ok(());
        };
        let text = room_text(found, &self.config.public_url);
        let key = notice_key("rb", &[incident.id.as_str()]);
        match self.send_once(platform, &Notice { integration: &integration.id, chat, text: &text, key: &key }).await {
            Ok(()) => {}
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                tracing::warn!(incident = %incident.id, error = %e, "the matching runbook could not be posted in the room");
                self.store.put_ephemeral(&settled, "failed", SETTLED_TTL, self.clock.now()).await?;
                return Ok(());
            }
        }
        if self.store.claim_dedupe(&format!("runbook-noted:{}:{}", incident.tenant_id, incident.id), SETTLED_TTL, self.clock.now()).await? {
            let selectors: Vec<String> = found.selectors.iter().map(ToString::to_string).collect();
            let detail = format!("runbook {} ({}) posted in the room: its selectors {} match the labels", found.id, found.title, selectors.join(", "));
            self.note(incident, Actor::System, TimelineAction::RunbookPosted, detail).await;
        }
        self.store.put_ephemeral(&settled, found.id.as_str(), SETTLED_TTL, self.clock.now()).await?;
        Ok(())
    }
}
