//! The incident state machine: which action is allowed in which status.
//!
//! ```text
//! triggered ──ack──▶ acknowledged ──resolve──▶ resolved ──close──▶ closed (terminal)
//!     │  ▲                 │                      │
//!     │  └─────reopen──────┼──────────────────────┘
//!     └──── resolve / close / snooze (open statuses only) ────▶
//! ```

use crate::incident::{Incident, Status};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Acknowledge,
    /// Silence the incident until the given time; its status is unchanged.
    Snooze {
        until: Timestamp,
    },
    Resolve,
    Close,
    /// The source says it fires again after being resolved.
    Reopen,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Snooze { .. } => "snooze",
            Action::Resolve => "resolve",
            Action::Close => "close",
            Action::Reopen => "reopen",
        }
    }
}

/// Why an action was refused. None of these is retryable: the incident is where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the incident is already {0}")]
    AlreadyInState(Status),
    #[error("the incident is {0}; only open incidents can be acknowledged or snoozed")]
    NotOpen(Status),
    #[error("the incident is {0}; only a resolved incident can be reopened")]
    NotResolved(Status),
    #[error("the incident is closed; nothing can change it any more")]
    Closed,
    #[error("a snooze must end in the future")]
    SnoozeNotInFuture,
}

/// What an allowed action changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub from: Status,
    pub to: Status,
    pub snoozed_until: Option<Timestamp>,
}

/// Decides the next status without touching anything.
pub fn next_status(status: Status, action: Action, now: Timestamp) -> Result<Status, TransitionError> {
    use Status::*;
    if status == Closed {
        return Err(TransitionError::Closed);
    }
    match action {
        Action::Acknowledge => match status {
            Triggered => Ok(Acknowledged),
            Acknowledged => Err(TransitionError::AlreadyInState(Acknowledged)),
            other => Err(TransitionError::NotOpen(other)),
        },
        Action::Snooze { until } => {
            if !status.is_open() {
                Err(TransitionError::NotOpen(status))
            } else if until <= now {
                Err(TransitionError::SnoozeNotInFuture)
            } else {
                Ok(status)
            }
        }
        Action::Resolve => match status {
            Resolved => Err(TransitionError::AlreadyInState(Resolved)),
            _ => Ok(Resolved),
        },
        Action::Close => Ok(Closed),
        Action::Reopen => match status {
            Resolved => Ok(Triggered),
            other => Err(TransitionError::NotResolved(other)),
        },
    }
}

impl Incident {
    /// Applies an action in memory; the caller persists it with a version check.
    pub fn apply(&mut self, action: Action, now: Timestamp) -> Result<Change, TransitionError> {
        let from = self.status;
        let to = next_status(from, action, now)?;
        self.status = to;
        self.snoozed_until = match action {
            Action::Snooze { until } => Some(until),
            // Leaving the open statuses (or coming back) ends any snooze.
            Action::Resolve | Action::Close | Action::Reopen => None,
            Action::Acknowledge => self.snoozed_until,
        };
        self.updated_at = now;
        Ok(Change { from, to, snoozed_until: self.snoozed_until })
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
