//! The worker's job handler: runs the job, and turns failures into the queue's language.
//! Rate limits defer the job by the time asked; passing failures back off exponentially;
//! on the last attempt the give-up is written to the timeline before the job goes to the
//! dead-letter queue (from where the API can redrive it).

use crate::{Engine, EngineError};
use async_trait::async_trait;
use std::time::Duration;
use warroom_core::{Actor, Delivery, ImError, IncidentId, Job, JobHandler, JobKind, Outcome, TimelineAction};

/// Failed attempts (not deferrals for rate limits: those count as receives but are no
/// failure) before a job is given up on and parked in the dead-letter queue.
pub const MAX_ATTEMPTS: u32 = 5;
/// How long a job's failure count is kept.
const ATTEMPTS_TTL: Duration = Duration::from_secs(24 * 3600);

/// Extra wait for a rate-limited job, growing with how often it has already waited. The
/// bucket says when the NEXT token frees, but many jobs wait for it at once: without a
/// spread they all wake together, one wins, the rest come back again and again (the
/// benchmark saw a job received 100 times in 5 s, which runs into the redrive limit).
/// Random, so they spread out; bounded, so a lone waiter is not held up for nothing.
fn contention_jitter(receives: u32) -> Duration {
    use rand::Rng;
    // A job waiting for its own reservation comes back once or twice; only a job that
    // keeps being refused (the platform's own 429s) is spread out.
    if receives <= 3 {
        return Duration::ZERO;
    }
    let cap_ms = (u64::from(receives) * 25).min(2_000);
    Duration::from_millis(rand::rng().random_range(0..=cap_ms))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempt.min(8)).min(300))
}

impl Engine {
    async fn run(&self, job: &Job) -> Result<(), EngineError> {
        let tenant = &job.tenant_id;
        match &job.kind {
            JobKind::Reconcile { incident_id } => self.reconcile(tenant, incident_id).await,
            JobKind::SyncStatus { incident_id } => self.sync_status(tenant, incident_id).await,
            JobKind::LinkUsers { integration_id, member_ids } => match self.link_members(tenant, integration_id, member_ids).await {
                Ok(report) => self.store_link_run(job, &serde_json::to_value(&report).unwrap_or_default()).await,
                Err(e) if e.is_retryable() => Err(e),
                // A run that cannot succeed still ends with an answer for whoever polls it.
                Err(e) => self.store_link_run(job, &serde_json::json!({ "error": e.to_string() })).await,
            },
            JobKind::Timer { incident_id, due } => {
                if self.clock.now() < *due {
                    return Err(EngineError::Platform(ImError::RateLimited { retry_after: self.clock.now().until(*due) }));
                }
                let job = Job::new(tenant.clone(), JobKind::Reconcile { incident_id: incident_id.clone() }, format!("timer-{}", due.millis()));
                self.queue.send(&job).await?;
                Ok(())
            }
            JobKind::AnswerMention { incident_id, chat_id, message_id } => self.answer_mention(tenant, incident_id, chat_id, message_id).await,
            JobKind::Notice { incident_id, chat_id, text, key } => self.send_queued_notice(tenant, incident_id, chat_id, text, key).await,
            JobKind::PostMortem { incident_id, requested_by, chat_id, request } => {
                let request = crate::assistant::postmortem_job::Request { requested_by: requested_by.as_ref(), chat: chat_id.as_ref(), id: request };
                self.write_postmortem(tenant, incident_id, request).await
            }
        }
    }

    /// Where `GET …/links/runs/{run}` finds the outcome of a one-click link run.
    async fn store_link_run(&self, job: &Job, report: &serde_json::Value) -> Result<(), EngineError> {
        let JobKind::LinkUsers { integration_id, .. } = &job.kind else { return Ok(()) };
        let key = format!("linkrun:{integration_id}:{}", job.dedup_key);
        self.store.put_ephemeral(&key, &report.to_string(), Duration::from_secs(24 * 3600), self.clock.now()).await?;
        Ok(())
    }

    async fn give_up(&self, job: &Job, error: &EngineError, attempts: u32) {
        if matches!(job.kind, JobKind::LinkUsers { .. }) {
            let report = serde_json::json!({ "error": format!("gave up after {attempts} attempts: {error}") });
            if let Err(e) = self.store_link_run(job, &report).await {
                tracing::error!(error = %e, "could not store the failed link run");
            }
        }
        let Some(incident_id) = incident_of(job) else { return };
        let Ok(Some(incident)) = self.store.get_incident(&job.tenant_id, incident_id).await else { return };
        let action = if matches!(job.kind, JobKind::SyncStatus { .. }) { TimelineAction::SyncFailed } else { TimelineAction::GivenUp };
        let detail =
            format!("gave up after {attempts} attempts: {error}. The job is in the dead-letter queue; redrive it from the API once the cause is fixed");
        self.note(&incident, Actor::System, action, detail).await;
    }
}

fn incident_of(job: &Job) -> Option<&IncidentId> {
    match &job.kind {
        JobKind::Reconcile { incident_id }
        | JobKind::SyncStatus { incident_id }
        | JobKind::AnswerMention { incident_id, .. }
        | JobKind::PostMortem { incident_id, .. }
        | JobKind::Notice { incident_id, .. }
        | JobKind::Timer { incident_id, .. } => Some(incident_id),
        JobKind::LinkUsers { .. } => None,
    }
}

impl Engine {
    /// Counts one more failed attempt of this message and returns the count. The queue's
    /// receive count cannot tell failures from rate-limit deferrals, so failures are
    /// counted here; a store hiccup counts as the first failure rather than stopping.
    async fn count_failure(&self, delivery: &Delivery) -> u32 {
        let key = format!("attempts:{}", delivery.message_id);
        let now = self.clock.now();
        let before = self.store.get_ephemeral(&key, now).await.ok().flatten().and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        let after = before + 1;
        if let Err(e) = self.store.put_ephemeral(&key, &after.to_string(), ATTEMPTS_TTL, now).await {
            tracing::warn!(error = %e, "could not count the job's failure");
        }
        after
    }
}

#[async_trait]
impl JobHandler for Engine {
    async fn handle(&self, job: &Job, delivery: &Delivery) -> Outcome {
        // Reservations belong to the job's group: one job of it runs at a time.
        let (result, own_slot) = crate::throttle::OWN_SLOT
            .scope(std::cell::Cell::new(false), async {
                let result = crate::throttle::HOLDER.scope(job.group(), self.run(job)).await;
                (result, crate::throttle::OWN_SLOT.with(|own| own.get()))
            })
            .await;
        let error = match result {
            Ok(()) => return Outcome::Done,
            Err(e) => e,
        };
        if let EngineError::Platform(ImError::RateLimited { retry_after }) = &error {
            // Back at its own booked slot exactly; the platform's own refusals are spread out.
            let jitter = if own_slot { Duration::ZERO } else { contention_jitter(delivery.receive_count) };
            return Outcome::Defer(*retry_after + jitter);
        }
        // The source said when to come back (`Retry-After`): then, not by our backoff, and,
        // like an IM rate limit, a deferral rather than a failed attempt.
        if let EngineError::Sync(warroom_core::SyncError { retryable: true, retry_after: Some(wait), .. }) = &error {
            tracing::info!(kind = ?job.kind, wait_ms = wait.as_millis() as u64, "the source asks to come back later");
            return Outcome::Defer((*wait).max(Duration::from_millis(1)));
        }
        // The model said when to come back: a deferral, not a failed attempt.
        if let EngineError::Model(warroom_core::ModelError::RateLimited { retry_after: Some(wait) }) = &error {
            return Outcome::Defer((*wait).max(Duration::from_millis(1)));
        }
        if !error.is_retryable() {
            // Recorded where it matters (timeline, integration); retrying cannot help.
            tracing::warn!(kind = ?job.kind, error = %error, "job failed for good");
            return Outcome::Done;
        }
        let attempt = self.count_failure(delivery).await;
        tracing::warn!(kind = ?job.kind, attempt, error = %error, "job failed; will retry");
        if attempt >= MAX_ATTEMPTS {
            self.give_up(job, &error, attempt).await;
            return match self.queue.dead_letter(delivery).await {
                // Counted as given up by the batch (once, not also as processed).
                Ok(()) => Outcome::GaveUp,
                // Could not park it: keep it, and try again later rather than lose it.
                Err(e) => Outcome::Retry(format!("could not move the job to the dead-letter queue: {e}")),
            };
        }
        if attempt == 1 && matches!(job.kind, JobKind::SyncStatus { .. }) {
            if let Some(id) = incident_of(job) {
                if let Ok(Some(incident)) = self.store.get_incident(&job.tenant_id, id).await {
                    self.note(&incident, Actor::System, TimelineAction::SyncFailed, format!("{error}; retrying with backoff")).await;
                }
            }
        }
        Outcome::Defer(backoff(attempt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(20), Duration::from_secs(256));
    }
}
