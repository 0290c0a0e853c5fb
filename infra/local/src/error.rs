//! What ends the process early: one sentence for a person, and the exit code.

use std::fmt;

/// Exit code for a mistake on the command line.
pub const EXIT_USAGE: i32 = 2;
/// Exit code for everything else that stops the stack from starting or running.
pub const EXIT_FAILURE: i32 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalError {
    /// One line, no trailing period needed; printed after `warroom-local: `.
    pub message: String,
    pub exit_code: i32,
}

impl LocalError {
    pub fn new(message: impl Into<String>) -> Self {
        let message: String = message.into();
        // One line, whatever the cause's text looks like.
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        Self { message, exit_code: EXIT_FAILURE }
    }
}

impl fmt::Display for LocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LocalError {}

pub type LocalResult<T> = Result<T, LocalError>;
