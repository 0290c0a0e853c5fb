//! The 50 incidents' lives: who responds, which status changes come when, by a card click or
//! from the source. Fixed, so every run asks for the same end state.

use super::common::event;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Mutex;
use warroom_core::Status;

pub const INCIDENTS: usize = 50;
/// Rounds of status changes after the rooms were opened; the queue settles after each.
pub const ROUNDS: usize = 2;
/// In the last incident's title, chat name and card: the fault layer fails those calls
/// every time while it is on, so its jobs are given up on.
pub const DOOMED: &str = "doomed";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A card click by Ada or Bob.
    Click(&'static str),
    /// A webhook from the source.
    Source,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub index: usize,
    pub round: usize,
    pub via: Via,
    pub status: Status,
}

pub struct Life {
    pub id: String,
    pub responders: Vec<&'static str>,
    pub steps: Vec<Step>,
    pub doomed: bool,
    /// Steps meant as clicks that went through the source instead (no card to click).
    pub fell_back: Mutex<BTreeSet<usize>>,
}

impl Life {
    pub fn final_status(&self) -> Status {
        self.steps.last().map(|s| s.status).unwrap_or(Status::Triggered)
    }

    /// Rooms are dismissed as soon as their incident is resolved (or closed).
    pub fn dismissed(&self) -> bool {
        self.steps.iter().any(|s| !s.status.is_open())
    }

    pub fn opening(&self) -> Value {
        event(&self.id, "triggered", 0, &self.responders)
    }

    /// The source's webhook for `step` (its time orders it after the earlier ones).
    pub fn event(&self, step: &Step) -> Value {
        event(&self.id, step.status.as_str(), 10 * (step.index as i64 + 1), &self.responders)
    }
}

pub fn lives() -> Vec<Life> {
    use Status::*;
    use Via::*;
    (0..INCIDENTS)
        .map(|n| {
            let doomed = n == INCIDENTS - 1;
            let id = if doomed { format!("{DOOMED}-{n}") } else { format!("f{n}") };
            let mut responders = vec!["Ada", "Bob"];
            if n % 10 == 3 {
                // No account on the platform: the chat is told, the rest goes on.
                responders.push("Dee");
            }
            let changes: Vec<(usize, Via, Status)> = match (doomed, n % 6) {
                (true, _) => vec![(1, Source, Acknowledged)],
                (_, 0) => vec![],
                (_, 1) => vec![(1, Click("Ada"), Acknowledged)],
                (_, 2) => vec![(1, Source, Acknowledged), (2, Click("Bob"), Resolved)],
                (_, 3) => vec![(1, Click("Ada"), Acknowledged), (2, Source, Resolved), (2, Source, Closed)],
                (_, 4) => vec![(1, Click("Bob"), Resolved), (2, Source, Closed)],
                _ => vec![(1, Click("Ada"), Acknowledged), (2, Click("Bob"), Resolved)],
            };
            let steps = changes.into_iter().enumerate().map(|(index, (round, via, status))| Step { index, round, via, status }).collect();
            Life { id, responders, steps, doomed, fell_back: Mutex::default() }
        })
        .collect()
}
