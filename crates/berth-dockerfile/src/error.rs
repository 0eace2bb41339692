//! The one error type of this crate.

/// A Dockerfile error at a position (1-based line and column of the source text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Dockerfile parse error line {line}, column {column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            column,
            message: message.into(),
        }
    }
}
