//! The crate's error type.

/// Why formatting failed.
///
/// Both template variants print docker's `template parsing error: ` prefix:
/// docker/cli wraps execution failures with the same words as parse
/// failures, and scripts match on them.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The template text does not parse (syntax error, unknown function).
    #[error("template parsing error: {0}")]
    Parse(String),
    /// The template parsed but failed while executing against an item
    /// (wrong argument type, field access on a string, ...).
    #[error("template parsing error: {0}")]
    Execute(String),
    /// Writing the rendered output failed.
    #[error("write error: {0}")]
    Io(#[from] std::io::Error),
}
