//! The post-mortem job: gathers the material (the incident, its timeline, the room's chat
//! from the platform's history while the room is open, the captured transcript after),
//! asks the tenant's model for a draft, checks it, stores it as the next version and says
//! so in the room. One request writes one version however often its job runs.

use super::postmortem::{self, PROMPT_VERSION};
use crate::{Engine, EngineError};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};
use warroom_core::postmortem::Postmortem;
use warroom_core::*;

/// What a draft may take: a review is longer than an answer (the adapter allows up to four
/// times the deployment's per-answer cap).
const OUTPUT_TOKENS: u32 = 3_000;
/// Authors whose names are looked up (one read each); past that, their IM ids are shown.
const MAX_NAMED_AUTHORS: usize = 200;
const DONE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Post-mortems per tenant: at most this many a minute (Flashduty allows 5 a minute per
/// account), five at once.
pub const PER_MINUTE: u32 = 5;

pub fn bucket(tenant: &TenantId) -> ratelimit::BucketSpec {
    ratelimit::BucketSpec::within(format!("postmortem.{tenant}"), PER_MINUTE, Duration::from_secs(60), PER_MINUTE)
}

fn done_key(incident: &IncidentId, request: &str) -> String {
    format!("postmortem-done:{incident}:{request}")
}

/// Where the review can be read.
pub fn postmortem_path(incident: &IncidentId) -> String {
    format!("/api/v1/incidents/{incident}/postmortem")
}

/// Who asked and where: from the job.
pub(crate) struct Request<'a> {
    pub requested_by: Option<&'a Actor>,
    pub chat: Option<&'a ChatId>,
    pub id: &'a str,
}

impl Engine {
    pub(crate) async fn write_postmortem(&self, tenant: &TenantId, incident_id: &IncidentId, request: Request<'_>) -> Result<(), EngineError> {
        let Some(incident) = self.store.get_incident(tenant, incident_id).await? else { return Ok(()) };
        let done = done_key(&incident.id, request.id);
        if self.store.get_ephemeral(&done, self.clock.now()).await?.is_some() {
            return Ok(());
        }
        let model = match (&self.models, self.store.get_tenant(tenant).await?) {
            (Some(models), Some(t)) => match models.for_tenant(&t) {
                Ok(model) => model,
                Err(e) => return self.postmortem_failed(&incident, &request, &format!("the model settings cannot be used: {e}")).await,
            },
            _ => None,
        };
        let Some(model) = model else {
            return self.postmortem_failed(&incident, &request, "no model is configured (WARROOM_MODEL_BASE_URL, WARROOM_MODEL, WARROOM_MODEL_API_KEY)").await;
        };
        let (chat, older_messages, transcript) = self.postmortem_chat(&incident).await?;
        let names = self.author_names(&incident, &chat).await?;
        // The newest the budget could hold, not the whole timeline: the cost stays flat.
        let timeline = self.store.list_newest_timeline(tenant, &incident.id, super::context::max_lines(postmortem::BUDGET * 3 / 10)).await?;
        let knowledge = self.knowledge(&incident, None).await?;
        let inputs = super::context::Inputs {
            incident: &incident,
            timeline: &timeline.items,
            older_timeline: timeline.older,
            chat: &chat,
            older_messages,
            knowledge: &knowledge,
        };
        let draft = postmortem::build_with(&inputs, &names, transcript);
        let ask = ChatRequest {
            messages: vec![ChatTurn::system(draft.system.clone()), ChatTurn::user(draft.user.clone())],
            max_output_tokens: OUTPUT_TOKENS,
            temperature: Some(0.1),
        };
        let started = Instant::now();
        let completion = model.complete(&ask).await;
        crate::assistant::record_model_call(&model.describe(), completion.as_ref().map(|c| c.usage), started.elapsed());
        let completion = match completion {
            Ok(c) => c,
            Err(e) if e.is_retryable() => return Err(EngineError::Model(e)),
            Err(e) => return self.postmortem_failed(&incident, &request, &format!("the model refused: {e}")).await,
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        let mut review = match postmortem::parse(&completion.text, completion.finish == FinishReason::Length) {
            Ok(r) => r,
            Err(e) => return self.postmortem_failed(&incident, &request, &e.to_string()).await,
        };
        let corrections = postmortem::ground(&mut review, &draft);
        let versions = self.store.list_postmortems(tenant, &incident.id).await?;
        let pm = Postmortem {
            tenant_id: tenant.clone(),
            incident_id: incident.id.clone(),
            version: versions.last().map_or(1, |v| v.version + 1),
            created_at: self.clock.now(),
            requested_by: request.requested_by.cloned().unwrap_or(Actor::System),
            model: model.describe(),
            prompt_version: PROMPT_VERSION.into(),
            usage: completion.usage,
            latency_ms,
            material: draft.material,
            review,
            corrections,
        };
        // Two drafts racing for one number: the loser's job runs again and takes the next.
        self.store.put_postmortem(&pm).await.map_err(|e| match e {
            StoreError::AlreadyExists { what } => {
                EngineError::Store(StoreError::Unavailable { message: format!("{what} was written meanwhile: drafting again"), retryable: true })
            }
            other => EngineError::Store(other),
        })?;
        self.store.put_ephemeral(&done, &pm.version.to_string(), DONE_TTL, self.clock.now()).await?;
        let usage = pm.usage.map_or("usage not reported".to_string(), |u| format!("{} tokens in, {} out", u.input, u.output));
        let detail = format!(
            "post-mortem version {} drafted by {} {} (prompt {PROMPT_VERSION}) in {latency_ms} ms: {usage}; from {} chat messages ({}; {} older left out) and {} timeline entries; {} correction(s); read it at {}",
            pm.version,
            pm.model.provider,
            pm.model.model,
            pm.material.chat_messages,
            pm.material.transcript,
            pm.material.omitted_messages,
            pm.material.timeline_entries,
            pm.corrections.len(),
            postmortem_path(&incident.id)
        );
        self.note(&incident, pm.requested_by.clone(), TimelineAction::PostmortemWritten, detail).await;
        let text = format!(
            "Post-mortem draft v{} is ready (AI-generated: review it before sharing).\n{}\nRead it: {}{}?format=markdown",
            pm.version,
            pm.review.summary.trim(),
            self.config.public_url.trim_end_matches('/'),
            postmortem_path(&incident.id)
        );
        self.tell_room(&incident, &text, &format!("pm-{}", pm.version)).await
    }

    /// The chat: the platform's history while the room is open (with what Warroom captured
    /// that the history lacks), the captured transcript otherwise (taken when the room was
    /// dismissed). A history that cannot be read now falls back to the captured one. Of
    /// the captured transcript, only the newest the prompt could hold are read; the flag
    /// says older ones exist.
    async fn postmortem_chat(&self, incident: &Incident) -> Result<(Vec<ChatMessage>, bool, &'static str), EngineError> {
        let newest = self.store.list_newest_chat_messages(&incident.tenant_id, &incident.id, super::context::max_lines(postmortem::BUDGET)).await?;
        let (captured, older) = (newest.items, newest.older);
        let (Some(chat), Some(integration_id), WarRoomState::Open) = (&incident.war_room.chat_id, &incident.war_room.integration_id, incident.war_room.state)
        else {
            return Ok((captured, older, "captured"));
        };
        let Some(integration) = self.store.get_integration(integration_id).await? else { return Ok((captured, older, "captured")) };
        let platform = self.platforms.for_integration(&integration)?;
        if !platform.capabilities().history {
            return Ok((captured, older, "captured"));
        }
        self.throttle(platform.as_ref(), ApiFamily::Read, Some(chat)).await?;
        match platform.chat_history(chat).await {
            Ok(mut history) => {
                let seen: BTreeSet<String> = history.iter().map(|m| m.id.clone()).collect();
                history.extend(captured.into_iter().filter(|m| !seen.contains(&m.id)));
                history.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
                Ok((history, false, "history"))
            }
            Err(e) if e.is_retryable() => Err(e.into()),
            Err(e) => {
                tracing::info!(incident = %incident.id, error = %e, "history unreadable: the post-mortem uses the captured transcript");
                Ok((captured, older, "captured"))
            }
        }
    }

    /// Members' names for the chat's authors, through the links of the room's integration.
    async fn author_names(&self, incident: &Incident, chat: &[ChatMessage]) -> Result<HashMap<String, String>, EngineError> {
        let mut names = HashMap::new();
        let Some(integration) = &incident.war_room.integration_id else { return Ok(names) };
        let authors: BTreeSet<&ImUserId> = chat.iter().map(|m| &m.author).collect();
        for author in authors.into_iter().take(MAX_NAMED_AUTHORS) {
            let Some(link) = self.store.link_by_im_user(&incident.tenant_id, integration, author).await? else { continue };
            if let Some(member) = self.store.get_member(&incident.tenant_id, &link.member_id).await? {
                names.insert(author.to_string(), member.name);
            }
        }
        Ok(names)
    }

    async fn postmortem_failed(&self, incident: &Incident, request: &Request<'_>, why: &str) -> Result<(), EngineError> {
        let by = request.requested_by.cloned().unwrap_or(Actor::System);
        self.note(incident, by, TimelineAction::PostmortemFailed, format!("the post-mortem could not be drafted: {why}")).await;
        if request.chat.is_some() {
            let key = format!("pm-failed-{}", request.id);
            self.tell_room(incident, &format!("The post-mortem could not be drafted: {why}."), &key).await?;
        }
        self.store.put_ephemeral(&done_key(&incident.id, request.id), "failed", DONE_TTL, self.clock.now()).await?;
        Ok(())
    }

    /// A notice in the incident's open room, as a job of its own (it waits for the chat's
    /// rate limit without holding the post-mortem up). No open room: nothing to say it in.
    async fn tell_room(&self, incident: &Incident, text: &str, key: &str) -> Result<(), EngineError> {
        let (Some(chat), WarRoomState::Open) = (&incident.war_room.chat_id, incident.war_room.state) else { return Ok(()) };
        let key = crate::notice::notice_key(key, &[incident.id.as_str()]);
        let kind = JobKind::Notice { incident_id: incident.id.clone(), chat_id: chat.clone(), text: text.to_string(), key: key.clone() };
        self.queue.send(&Job::new(incident.tenant_id.clone(), kind, key)).await?;
        Ok(())
    }
}

/// Why a post-mortem request was not queued.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("post-mortems are limited to {PER_MINUTE} a minute per tenant: try again in {} s", .retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Engine {
    /// Queues the next post-mortem version of an incident (the API, "@bot postmortem", the
    /// tenant's on-resolve setting); returns the request's id. Limited per tenant.
    pub async fn request_postmortem(&self, incident: &Incident, requested_by: Actor, chat: Option<ChatId>) -> Result<String, RequestError> {
        if let ratelimit::Take::Wait(retry_after) =
            self.store.take_tokens(&bucket(&incident.tenant_id), 1, self.clock.now()).await.map_err(EngineError::from)?
        {
            return Err(RequestError::RateLimited { retry_after });
        }
        let request = format!("pmr_{}", warroom_core::ids::random_suffix());
        let kind = JobKind::PostMortem { incident_id: incident.id.clone(), requested_by: Some(requested_by), chat_id: chat, request: request.clone() };
        self.queue.send(&Job::new(incident.tenant_id.clone(), kind, request.clone())).await.map_err(EngineError::from)?;
        Ok(request)
    }
}

impl Engine {
    /// The tenant's "post-mortem on resolve": queued when an incident stops being open (its
    /// room, if any, is dismissed later; its transcript is captured first). A refusal is
    /// recorded, not raised: the status change it follows has happened.
    pub(crate) async fn postmortem_on_close(&self, tenant: &Tenant, was_open: bool, saved: &Incident) -> Result<(), EngineError> {
        if !(tenant.settings.postmortem_on_resolve && was_open && !saved.status.is_open()) {
            return Ok(());
        }
        let chat = saved.war_room.chat_id.clone().filter(|_| saved.war_room.state == WarRoomState::Open);
        match self.request_postmortem(saved, Actor::System, chat).await {
            Ok(_) => Ok(()),
            Err(RequestError::RateLimited { retry_after }) => {
                let why = format!(
                    "not drafted on resolve: post-mortems are limited to {PER_MINUTE} a minute (the next in {} s); ask for it with POST {}",
                    retry_after.as_secs().max(1),
                    postmortem_path(&saved.id)
                );
                self.note(saved, Actor::System, TimelineAction::PostmortemFailed, why).await;
                Ok(())
            }
            Err(RequestError::Engine(e)) => Err(e),
        }
    }
}
