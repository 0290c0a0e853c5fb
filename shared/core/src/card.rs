//! The platform-neutral status card: what the war room shows about its incident.
//! Each platform renders it (Block Kit, Feishu card JSON, ...).

use crate::incident::{Incident, Severity, Status};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The snooze choices offered on the card.
pub const SNOOZE_CHOICES: [Duration; 3] = [Duration::from_secs(30 * 60), Duration::from_secs(2 * 60 * 60), Duration::from_secs(8 * 60 * 60)];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CardAction {
    Acknowledge,
    Resolve,
    /// Snooze for this many minutes (one of `SNOOZE_CHOICES`).
    Snooze {
        minutes: u32,
    },
}

impl CardAction {
    /// The value carried in a button's payload: `ack`, `resolve`, `snooze:30`.
    pub fn to_value(self) -> String {
        match self {
            CardAction::Acknowledge => "ack".into(),
            CardAction::Resolve => "resolve".into(),
            CardAction::Snooze { minutes } => format!("snooze:{minutes}"),
        }
    }
    /// Parses a button value; only the offered snooze durations are accepted.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "ack" => Some(CardAction::Acknowledge),
            "resolve" => Some(CardAction::Resolve),
            _ => {
                let minutes: u32 = value.strip_prefix("snooze:")?.parse().ok()?;
                SNOOZE_CHOICES.iter().any(|d| d.as_secs() == u64::from(minutes) * 60).then_some(CardAction::Snooze { minutes })
            }
        }
    }
    pub fn label(self) -> String {
        match self {
            CardAction::Acknowledge => "Acknowledge".into(),
            CardAction::Resolve => "Resolve".into(),
            CardAction::Snooze { minutes } if minutes % 60 == 0 => format!("Snooze {}h", minutes / 60),
            CardAction::Snooze { minutes } => format!("Snooze {minutes}m"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub incident_id: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    pub snoozed_until: Option<Timestamp>,
    /// Label / value rows (description, labels, responders).
    pub fields: Vec<(String, String)>,
    /// Buttons allowed in the current status.
    pub actions: Vec<CardAction>,
    pub url: Option<String>,
}

impl Card {
    pub fn for_incident(incident: &Incident, now: Timestamp) -> Self {
        let mut actions = Vec::new();
        if incident.status == Status::Triggered {
            actions.push(CardAction::Acknowledge);
        }
        if incident.status.is_open() {
            actions.push(CardAction::Resolve);
            actions.extend(SNOOZE_CHOICES.iter().map(|d| CardAction::Snooze { minutes: (d.as_secs() / 60) as u32 }));
        }
        let mut fields = Vec::new();
        if !incident.description.is_empty() {
            fields.push(("Description".to_string(), incident.description.clone()));
        }
        let responders: Vec<String> =
            incident.responders.iter().filter_map(|r| r.name.clone().or_else(|| r.email.clone()).or_else(|| r.phone.clone())).collect();
        if !responders.is_empty() {
            fields.push(("Responders".to_string(), responders.join(", ")));
        }
        if !incident.labels.is_empty() {
            let labels: Vec<String> = incident.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            fields.push(("Labels".to_string(), labels.join(", ")));
        }
        Self {
            incident_id: incident.id.to_string(),
            title: incident.title.clone(),
            status: incident.status,
            severity: incident.severity,
            snoozed_until: incident.snoozed_until.filter(|t| *t > now),
            fields,
            actions,
            url: incident.url.clone(),
        }
    }

    /// One line for platforms without cards, and for notifications.
    pub fn summary(&self) -> String {
        let mut s = format!("[{}] {} — {}", severity_word(self.severity), self.title, self.status);
        if let Some(until) = self.snoozed_until {
            s.push_str(&format!(" (snoozed until {until})"));
        }
        s
    }

    /// A stable fingerprint of what the card shows; the reconciler re-renders when it changes.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        // FNV-1a: tiny, stable across builds, enough to notice a change.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in json.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

#[cfg(test)]
#[path = "card_tests.rs"]
mod tests;
