//! The AI assistant in the war room (issue 13): what it is shown (`context`) and how its
//! answer reaches the room (`answer`).

pub mod answer;
pub mod context;
pub mod postmortem;
pub mod postmortem_job;
