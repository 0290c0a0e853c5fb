//! Runbooks (issue 13, item 6): a tenant's own instructions, in Markdown, for incidents
//! whose labels match the runbook's selectors (`service=checkout`). Posted once in a war
//! room when it opens, and shown to the assistant when a question's words match.
//!
//! Matching is plain and explainable, no model: an incident matches a runbook when every
//! selector equals one of its labels (a runbook without selectors matches no incident); a
//! question is scored by the words it shares with the title (three points each) and the
//! body (one point each), see [`crate::similar::terms`].

use crate::ids::TenantId;
use crate::similar::terms;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// At most this many runbooks per tenant: every room opening and every answer reads them all.
pub const MAX_PER_TENANT: usize = 100;
pub const MAX_TITLE_CHARS: usize = 200;
/// A runbook's body, in characters (JSON Schema's `maxLength` counts the same way).
pub const MAX_BODY_CHARS: usize = 16_000;
pub const MAX_SUMMARY_CHARS: usize = 500;
pub const MAX_SELECTORS: usize = 20;
pub const MAX_SELECTOR_KEY: usize = 128;
pub const MAX_SELECTOR_VALUE: usize = 256;

/// A runbook's id: `rb_` and 16 characters when Warroom makes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunbookId(pub String);

impl RunbookId {
    pub fn generate() -> Self {
        Self(format!("rb_{}", crate::ids::random_suffix()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunbookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for RunbookId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// `key=value`: matches an incident whose label `key` is exactly `value`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Selector {
    pub key: String,
    pub value: String,
}

/// Why a selector is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a label selector: expected key=value, the key 1 to {MAX_SELECTOR_KEY} of A-Z a-z 0-9 _ . / -, the value 1 to {MAX_SELECTOR_VALUE} characters without control characters")]
pub struct BadSelector(pub String);

/// The pattern the API documents for a selector, exactly what [`Selector::parse`] takes
/// (control characters are Unicode's `Cc`, as Rust's `char::is_control` says).
pub const SELECTOR_PATTERN: &str = r"^[A-Za-z0-9_./-]{1,128}=[^\x00-\x1f\x7f-\x9f]{1,256}$";

impl Selector {
    /// A selector as [`SELECTOR_PATTERN`] says; lengths in characters, as the pattern counts.
    pub fn parse(text: &str) -> Result<Selector, BadSelector> {
        let bad = || BadSelector(text.chars().take(300).collect());
        let (key, value) = text.split_once('=').ok_or_else(bad)?;
        let key_ok = (1..=MAX_SELECTOR_KEY).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_./-".contains(&b));
        let value_ok = (1..=MAX_SELECTOR_VALUE).contains(&value.chars().count()) && !value.chars().any(char::is_control);
        if !(key_ok && value_ok) {
            return Err(bad());
        }
        Ok(Selector { key: key.to_owned(), value: value.to_owned() })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        labels.get(&self.key).is_some_and(|v| *v == self.value)
    }
}

impl TryFrom<String> for Selector {
    type Error = BadSelector;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Selector::parse(&value)
    }
}

impl From<Selector> for String {
    fn from(s: Selector) -> String {
        format!("{}={}", s.key, s.value)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// A runbook as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runbook {
    pub tenant_id: TenantId,
    pub id: RunbookId,
    pub title: String,
    /// Markdown, at most [`MAX_BODY_CHARS`].
    pub body: String,
    /// All must match an incident's labels; none: matched to questions only.
    #[serde(default)]
    pub selectors: Vec<Selector>,
    /// What the room is shown; `None`: the body's first paragraph.
    #[serde(default)]
    pub summary: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// 0 before it is first stored; each write stores the next.
    pub version: u64,
}

impl Runbook {
    /// True when the runbook has selectors and every one matches a label.
    pub fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.selectors.is_empty() && self.selectors.iter().all(|s| s.matches(labels))
    }

    /// The summary as given, else the body's first paragraph (headings skipped), cut to
    /// [`MAX_SUMMARY_CHARS`].
    pub fn effective_summary(&self) -> String {
        if let Some(s) = self.summary.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            return s.to_string();
        }
        let paragraph = paragraphs(&self.body).into_iter().find(|p| !p.starts_with('#')).unwrap_or_default();
        cut(&paragraph.split_whitespace().collect::<Vec<_>>().join(" "), MAX_SUMMARY_CHARS)
    }

    /// How well the runbook answers a question: shared words, the title's counting three
    /// times the body's. Zero: nothing in common.
    pub fn question_score(&self, question: &str) -> QuestionMatch {
        let asked = terms(question);
        let title = terms(&self.title);
        let body = terms(&self.body);
        let in_title: BTreeSet<String> = asked.intersection(&title).cloned().collect();
        let in_body: BTreeSet<String> = asked.intersection(&body).cloned().collect();
        let score = 3 * in_title.len() as u32 + in_body.len() as u32;
        QuestionMatch { score, words: in_title.union(&in_body).cloned().collect() }
    }

    /// The body's paragraph sharing the most words with the question (the first on a tie),
    /// cut to `max_chars`; `None` when no paragraph shares any.
    pub fn excerpt(&self, question: &str, max_chars: usize) -> Option<String> {
        let asked = terms(question);
        let mut best: Option<(usize, String)> = None;
        for p in paragraphs(&self.body) {
            let hits = terms(&p).intersection(&asked).count();
            if hits > 0 && best.as_ref().is_none_or(|(h, _)| hits > *h) {
                best = Some((hits, p));
            }
        }
        best.map(|(_, p)| cut(&p, max_chars))
    }
}

/// Why a question matched a runbook: its score and the words shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionMatch {
    pub score: u32,
    pub words: Vec<String>,
}

/// Blocks separated by blank lines, trimmed.
fn paragraphs(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in body.lines() {
        if line.trim().is_empty() {
            if !current.trim().is_empty() {
                out.push(current.trim().to_string());
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// At most `max` characters, with an ellipsis when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The runbook whose selectors match the labels, the most specific first (most
/// selectors), then the most recently updated, then by id: one answer however many match.
pub fn best_for_labels<'a>(runbooks: &'a [Runbook], labels: &BTreeMap<String, String>) -> Option<&'a Runbook> {
    runbooks
        .iter()
        .filter(|r| r.matches_labels(labels))
        .max_by(|a, b| a.selectors.len().cmp(&b.selectors.len()).then(a.updated_at.cmp(&b.updated_at)).then(b.id.cmp(&a.id)))
}

#[cfg(test)]
#[path = "runbook_tests.rs"]
mod tests;
