//! Words and likeness, for matching runbooks to questions and past incidents to the
//! current one (issue 13, item 6). Simple on purpose: shared words and shared labels, each
//! worth a fixed number of points, so a person can see why two incidents were paired.

use crate::incident::Incident;
use std::collections::BTreeSet;

/// Words too common to say anything about an incident.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "has", "have", "how", "i", "in", "is", "it", "its", "of", "on", "or",
    "should", "that", "the", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why", "with", "you", "incident", "alert",
];

/// The distinct lower-case words of a text: runs of letters and digits, at least two
/// characters (one is enough for a CJK character, which is a word by itself), stop words out.
pub fn terms(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut word = String::new();
    let mut flush = |word: &mut String| {
        let long_enough = word.chars().count() >= 2 || word.chars().any(is_cjk);
        if long_enough && !STOP_WORDS.contains(&word.as_str()) {
            out.insert(std::mem::take(word));
        }
        word.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            flush(&mut word);
            word.push(c);
            flush(&mut word);
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else {
            flush(&mut word);
        }
    }
    flush(&mut word);
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Labels that name the thing that broke rather than where it ran: the ones worth a point.
/// (`instance`, `pod`, `job`… change from one incident to the next of the same kind.)
const VOLATILE_LABELS: &[&str] =
    &["instance", "pod", "pod_name", "container_id", "job", "endpoint", "fingerprint", "receiver", "host", "hostname", "node", "ip"];

/// Why two incidents look alike.
#[derive(Clone, Debug, PartialEq)]
pub struct Likeness {
    pub score: f32,
    pub same_service: bool,
    /// `key=value` labels both carry (the volatile ones aside).
    pub shared_labels: Vec<String>,
    /// Share of title words in common (Jaccard), 0..=1.
    pub title_overlap: f32,
}

/// The least score worth showing: the same service, or a very similar title, or two
/// shared labels.
pub const MIN_SCORE: f32 = 2.0;

/// How much `past` looks like `now`: 3 points for the same `service` label, 1 for each
/// other stable label they share (at most 3), up to 4 for the share of title words.
pub fn likeness(now: &Incident, past: &Incident) -> Likeness {
    let same_service = matches!((now.labels.get("service"), past.labels.get("service")), (Some(a), Some(b)) if a == b);
    let shared_labels: Vec<String> = now
        .labels
        .iter()
        .filter(|(k, v)| k.as_str() != "service" && !VOLATILE_LABELS.contains(&k.as_str()) && past.labels.get(*k) == Some(*v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let (a, b) = (terms(&now.title), terms(&past.title));
    let union = a.union(&b).count();
    let title_overlap = if union == 0 { 0.0 } else { a.intersection(&b).count() as f32 / union as f32 };
    let score = if same_service { 3.0 } else { 0.0 } + shared_labels.len().min(3) as f32 + 4.0 * title_overlap;
    Likeness { score, same_service, shared_labels, title_overlap }
}

/// The `max` past incidents most like `now` (itself and other tenants' never), best first,
/// ties to the newer; only those scoring at least [`MIN_SCORE`].
pub fn most_similar<'a>(now: &Incident, past: &'a [Incident], max: usize) -> Vec<(&'a Incident, Likeness)> {
    let mut scored: Vec<(&Incident, Likeness)> =
        past.iter().filter(|p| p.tenant_id == now.tenant_id && p.id != now.id).map(|p| (p, likeness(now, p))).filter(|(_, l)| l.score >= MIN_SCORE).collect();
    scored.sort_by(|(a, la), (b, lb)| lb.score.total_cmp(&la.score).then(b.created_at.cmp(&a.created_at)));
    scored.truncate(max);
    scored
}

#[cfg(test)]
#[path = "similar_tests.rs"]
mod tests;
