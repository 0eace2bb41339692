//! Errors that carry their own exit status and exact wording.

use std::fmt;

/// A failure printed verbatim (no `berth: ` prefix) with a chosen exit code: docker's
/// `cli.StatusError`. An empty message prints nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusError {
    pub code: u8,
    pub message: String,
}

impl StatusError {
    /// Exit status 1 with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }

    pub fn with_code(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StatusError {}
