//! The AI assistant in the war room (issue 13): what it is shown (`context`).

pub mod context;
