//! What the tenant already knows, for the assistant's answers and post-mortems (issue 13,
//! item 6): the runbooks matching the incident (by its labels) and the question (by its
//! words), and the most similar past incidents of the same tenant, with how they ended and
//! their latest post-mortem summary, so the model can say "this looks like inc_… last week".
//!
//! Bounded work: the runbooks are capped per tenant (`runbook::MAX_PER_TENANT`); past
//! incidents are looked for among the tenant's [`PAST_WINDOW`] newest only (the store lists
//! them newest first), and only the few shown get their timeline end and post-mortems read.
//! Everything here is the tenant's own data and goes inside the data fence: a runbook's body
//! is written by people too.

use super::context::{estimate_tokens, quote};
use crate::{Engine, EngineError};
use std::fmt::Write;
use warroom_core::runbook::{self, Runbook, RunbookId};
use warroom_core::similar::{most_similar, Likeness};
use warroom_core::*;

/// How many of the tenant's newest incidents are compared with this one.
pub const PAST_WINDOW: usize = 200;
/// Past incidents shown at most.
pub const MAX_PAST: usize = 3;
/// A question must share at least this score with a runbook (one title word, or two body words).
const MIN_QUESTION_SCORE: u32 = 2;
const EXCERPT_CHARS: usize = 800;
const PM_SUMMARY_CHARS: usize = 400;
/// Timeline entries read from the end of a past incident's, to find who resolved it.
const PAST_TIMELINE_TAIL: usize = 50;

/// A runbook as the model sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CitedRunbook {
    pub id: RunbookId,
    pub title: String,
    pub summary: String,
    /// The body's paragraph closest to the question, if any shares its words.
    pub excerpt: Option<String>,
    /// Why it is shown: `labels service=checkout` or `question words: checkout, latency`.
    pub why: String,
}

/// A past incident as the model sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PastIncident {
    pub id: IncidentId,
    pub title: String,
    pub status: Status,
    pub opened: Timestamp,
    pub last_change: Timestamp,
    /// Who changed its status last (the one who resolved it, when it is resolved).
    pub closed_by: Option<String>,
    pub postmortem_summary: Option<String>,
    pub likeness: Likeness,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Knowledge {
    pub runbooks: Vec<CitedRunbook>,
    pub past: Vec<PastIncident>,
}

/// The runbooks to show: the one matching the labels, then the one best matching the
/// question's words (if another), each with the excerpt closest to the question.
pub fn cite_runbooks(runbooks: &[Runbook], incident: &Incident, question: Option<&str>) -> Vec<CitedRunbook> {
    let cite = |r: &Runbook, why: String| CitedRunbook {
        id: r.id.clone(),
        title: r.title.clone(),
        summary: r.effective_summary(),
        excerpt: question.and_then(|q| r.excerpt(q, EXCERPT_CHARS)),
        why,
    };
    let mut out = Vec::new();
    if let Some(r) = runbook::best_for_labels(runbooks, &incident.labels) {
        let selectors: Vec<String> = r.selectors.iter().map(ToString::to_string).collect();
        out.push(cite(r, format!("labels {}", selectors.join(", "))));
    }
    if let Some(q) = question {
        let best = runbooks
            .iter()
            .map(|r| (r, r.question_score(q)))
            .filter(|(r, m)| m.score >= MIN_QUESTION_SCORE && !out.iter().any(|c: &CitedRunbook| c.id == r.id))
            .max_by(|(a, ma), (b, mb)| ma.score.cmp(&mb.score).then(b.id.cmp(&a.id)));
        if let Some((r, m)) = best {
            out.push(cite(r, format!("question words: {}", m.words.join(", "))));
        }
    }
    out
}

fn actor_name(actor: &Actor) -> String {
    match actor {
        Actor::System => "Warroom".into(),
        Actor::Member { name, .. } => name.clone(),
        Actor::ImUser { id, .. } => id.clone(),
        Actor::Source { name } => format!("the source ({name})"),
        Actor::ApiKey { label } => format!("API key {label}"),
    }
}

impl Engine {
    /// The runbooks and past incidents for `incident` (and the question, for an answer).
    pub(crate) async fn knowledge(&self, incident: &Incident, question: Option<&str>) -> Result<Knowledge, EngineError> {
        let tenant = &incident.tenant_id;
        let runbooks = self.store.list_runbooks(tenant).await?;
        let mut window = Vec::with_capacity(PAST_WINDOW);
        let mut cursor: Option<String> = None;
        while window.len() < PAST_WINDOW {
            let page = self.store.list_incidents(tenant, cursor.as_deref(), PAST_WINDOW - window.len()).await?;
            window.extend(page.incidents);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut past = Vec::new();
        for (p, likeness) in most_similar(incident, &window, MAX_PAST) {
            let tail = self.store.list_newest_timeline(tenant, &p.id, PAST_TIMELINE_TAIL).await?;
            let closed_by = tail.items.iter().rev().find(|e| e.action == TimelineAction::StatusChanged).map(|e| actor_name(&e.actor));
            let postmortem_summary =
                self.store.list_postmortems(tenant, &p.id).await?.last().map(|pm| runbook::cut(pm.review.summary.trim(), PM_SUMMARY_CHARS));
            past.push(PastIncident {
                id: p.id.clone(),
                title: p.title.clone(),
                status: p.status,
                opened: p.created_at,
                last_change: p.updated_at,
                closed_by,
                postmortem_summary,
                likeness,
            });
        }
        Ok(Knowledge { runbooks: cite_runbooks(&runbooks, incident, question), past })
    }
}

/// The knowledge as lines for the fenced material, within `budget` tokens (runbooks first,
/// then past incidents; whatever does not fit is left out whole), and what was shown.
pub fn render(knowledge: &Knowledge, budget: u32) -> (String, Knowledge) {
    let mut out = String::new();
    let mut shown = Knowledge::default();
    let mut used = 0u32;
    let mut fits = |block: &str| {
        let cost = estimate_tokens(block) + 1;
        let ok = used + cost <= budget;
        if ok {
            used += cost;
        }
        ok
    };
    for r in &knowledge.runbooks {
        let mut block = format!("Runbook {} \"{}\" (matched by {}):\n  Summary: {}\n", r.id, quote(&r.title), quote(&r.why), quote(&r.summary));
        if let Some(e) = &r.excerpt {
            let _ = writeln!(block, "  Relevant part: {}", quote(&e.split_whitespace().collect::<Vec<_>>().join(" ")));
        }
        if fits(&block) {
            out.push_str(&block);
            shown.runbooks.push(r.clone());
        }
    }
    for p in &knowledge.past {
        let mut block = format!(
            "Past incident {} \"{}\": status {}, opened {}, last change {}{}",
            p.id,
            quote(&p.title),
            p.status,
            p.opened.to_rfc3339(),
            p.last_change.to_rfc3339(),
            p.closed_by.as_deref().map(|w| format!(", last status change by {}", quote(w))).unwrap_or_default()
        );
        let why = if p.likeness.same_service { "same service" } else { "similar labels or title" };
        let _ = writeln!(block, " ({why}, likeness {:.1})", p.likeness.score);
        if let Some(s) = &p.postmortem_summary {
            let _ = writeln!(block, "  Its post-mortem summary: {}", quote(s));
        }
        if fits(&block) {
            out.push_str(&block);
            shown.past.push(p.clone());
        }
    }
    (out, shown)
}

#[cfg(test)]
#[path = "knowledge_tests.rs"]
mod tests;
