//! The AI post-mortem of an incident (issue 13, item 4): a structured review drafted by the
//! tenant's model from the incident, its timeline and the war room's chat, kept in versions
//! (regenerating never overwrites), served as JSON and as Markdown.

use crate::ids::{IncidentId, TenantId};
use crate::ports::model::{ModelInfo, TokenUsage};
use crate::time::Timestamp;
use crate::timeline::Actor;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// One version of an incident's post-mortem, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Postmortem {
    pub tenant_id: TenantId,
    pub incident_id: IncidentId,
    /// 1, 2, …: a new request writes the next one; earlier ones are kept.
    pub version: u32,
    pub created_at: Timestamp,
    pub requested_by: Actor,
    pub model: ModelInfo,
    /// The instructions' version (`PROMPT_VERSION` of the engine's post-mortem prompt).
    pub prompt_version: String,
    /// As the provider counted them; `None` when it did not say.
    pub usage: Option<TokenUsage>,
    pub latency_ms: u64,
    pub material: Material,
    pub review: Review,
    /// What Warroom changed in the model's draft, and why (a name found nowhere in the
    /// material removed, a field missing); empty when it took the draft as it was.
    #[serde(default)]
    pub corrections: Vec<String>,
}

/// What the model was shown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    pub chat_messages: usize,
    /// Older messages cut to fit the prompt (the newest are kept).
    pub omitted_messages: usize,
    pub timeline_entries: usize,
    pub omitted_timeline: usize,
    /// `history` (read from the platform) or `captured` (what Warroom stored).
    pub transcript: String,
}

/// Models write `null` for "nothing" where a string or a list is asked for: read as empty.
fn lenient<'de, D: serde::Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The review itself. Every list may be empty; nothing in it is Warroom's own opinion.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    #[serde(default, deserialize_with = "lenient")]
    pub summary: String,
    #[serde(default, deserialize_with = "lenient")]
    pub impact: String,
    #[serde(default, deserialize_with = "lenient")]
    pub timeline: Vec<KeyEvent>,
    #[serde(default, deserialize_with = "lenient")]
    pub decisions: Vec<Decision>,
    #[serde(default, deserialize_with = "lenient")]
    pub root_cause: RootCause,
    #[serde(default, deserialize_with = "lenient")]
    pub went_well: Vec<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub went_badly: Vec<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub action_items: Vec<ActionItem>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvent {
    /// As the material gives it (an RFC 3339 time, or a clock time from the chat).
    #[serde(default, deserialize_with = "lenient")]
    pub at: String,
    #[serde(default, deserialize_with = "lenient")]
    pub event: String,
    #[serde(default)]
    pub who: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    #[serde(default, deserialize_with = "lenient")]
    pub decision: String,
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCause {
    #[serde(default, deserialize_with = "lenient")]
    pub text: String,
    /// Confirmed in the chat; otherwise it is a hypothesis and shown as one.
    #[serde(default, deserialize_with = "lenient")]
    pub confirmed: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    #[serde(default, deserialize_with = "lenient")]
    pub item: String,
    #[serde(default)]
    pub owner: Option<String>,
}

impl Review {
    /// Every person the review names in a field meant for a person.
    pub fn named_people(&self) -> Vec<&str> {
        let events = self.timeline.iter().filter_map(|e| e.who.as_deref());
        let decisions = self.decisions.iter().filter_map(|d| d.by.as_deref());
        let owners = self.action_items.iter().filter_map(|a| a.owner.as_deref());
        events.chain(decisions).chain(owners).collect()
    }
}

/// Markdown text is ours around theirs: a line of theirs cannot start a heading or a list
/// of ours, nor inject HTML into a renderer that allows it.
fn inline(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.replace('<', "&lt;").replace('>', "&gt;")
}

impl Postmortem {
    /// The review as a Markdown document, headed by the incident's title.
    pub fn markdown(&self, title: &str) -> String {
        let r = &self.review;
        let mut out = String::new();
        let _ = writeln!(out, "# Post-mortem: {}\n", inline(title));
        let _ = writeln!(
            out,
            "_Version {} · {} · drafted by {} {} (prompt {}) from {} chat messages and {} timeline entries{}. AI-generated: review before publishing._\n",
            self.version,
            self.created_at.to_rfc3339(),
            inline(&self.model.provider),
            inline(&self.model.model),
            self.prompt_version,
            self.material.chat_messages,
            self.material.timeline_entries,
            if self.material.omitted_messages > 0 { format!("; {} older messages were not read", self.material.omitted_messages) } else { String::new() },
        );
        let _ = writeln!(out, "## Summary\n\n{}\n", inline(&r.summary));
        let _ = writeln!(out, "## Impact\n\n{}\n", inline(or_unknown(&r.impact)));
        let _ = writeln!(out, "## Timeline\n");
        list(&mut out, r.timeline.iter().map(|e| format!("**{}** {}{}", inline(&e.at), inline(&e.event), by(e.who.as_deref()))));
        let _ = writeln!(out, "## Key decisions\n");
        list(&mut out, r.decisions.iter().map(|d| format!("{}{}", inline(&d.decision), by(d.by.as_deref()))));
        let status = if r.root_cause.confirmed { "confirmed in the war room" } else { "hypothesis, not confirmed" };
        let _ = writeln!(out, "## Root cause ({status})\n\n{}\n", inline(or_unknown(&r.root_cause.text)));
        let _ = writeln!(out, "## What went well\n");
        list(&mut out, r.went_well.iter().map(|s| inline(s)));
        let _ = writeln!(out, "## What did not go well\n");
        list(&mut out, r.went_badly.iter().map(|s| inline(s)));
        let _ = writeln!(out, "## Action items\n");
        list(&mut out, r.action_items.iter().map(|a| format!("[ ] {} — owner: {}", inline(&a.item), a.owner.as_deref().map_or("unassigned".into(), inline))));
        if !self.corrections.is_empty() {
            let _ = writeln!(out, "## Corrections made by Warroom\n");
            list(&mut out, self.corrections.iter().map(|s| inline(s)));
        }
        out
    }
}

fn or_unknown(s: &str) -> &str {
    if s.trim().is_empty() {
        "Not established in the war room."
    } else {
        s
    }
}

fn by(who: Option<&str>) -> String {
    who.map(|w| format!(" ({})", inline(w))).unwrap_or_default()
}

fn list(out: &mut String, items: impl Iterator<Item = String>) {
    let mut any = false;
    for item in items {
        any = true;
        let _ = writeln!(out, "- {item}");
    }
    if !any {
        let _ = writeln!(out, "- None recorded.");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Postmortem {
        Postmortem {
            tenant_id: "t".into(),
            incident_id: "inc".into(),
            version: 2,
            created_at: Timestamp(1_700_000_000_000),
            requested_by: Actor::System,
            model: ModelInfo { provider: "openai-compatible".into(), model: "m".into() },
            prompt_version: "pm-1".into(),
            usage: None,
            latency_ms: 5,
            material: Material { chat_messages: 3, timeline_entries: 4, transcript: "captured".into(), ..Default::default() },
            review: Review {
                summary: "DB failover.\n# not a heading <script>".into(),
                action_items: vec![ActionItem { item: "add alarm".into(), owner: Some("alice".into()) }, ActionItem { item: "docs".into(), owner: None }],
                ..Default::default()
            },
            corrections: vec![],
        }
    }

    #[test]
    fn the_markdown_keeps_their_text_on_its_line_and_says_what_is_missing() {
        let md = sample().markdown("DB <down>");
        assert!(md.starts_with("# Post-mortem: DB &lt;down&gt;\n"), "{md}");
        assert!(md.contains("DB failover. # not a heading &lt;script&gt;"), "{md}");
        assert!(md.contains("## Root cause (hypothesis, not confirmed)\n\nNot established in the war room."), "{md}");
        assert!(md.contains("- [ ] add alarm — owner: alice\n- [ ] docs — owner: unassigned"), "{md}");
        assert!(md.contains("## Key decisions\n\n- None recorded."), "{md}");
        assert!(!md.contains("Corrections"), "{md}");
    }

    #[test]
    fn the_people_a_review_names_are_listed_from_every_field_meant_for_a_person() {
        let mut r = sample().review;
        r.decisions.push(Decision { decision: "fail over".into(), by: Some("bob".into()) });
        r.timeline.push(KeyEvent { at: "10:00".into(), event: "paged".into(), who: Some("carol".into()) });
        assert_eq!(r.named_people(), vec!["carol", "bob", "alice"]);
    }
}
