//! Docker's error body and the one mapping from error kinds to HTTP status codes.

use serde::{Deserialize, Serialize};

/// The JSON body of every error response: `{"message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
}

/// The small set of error classes the engine reports (moby's `errdefs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    NotModified,
    PayloadTooLarge,
    NotImplemented,
    Unavailable,
    Internal,
}

impl ErrorKind {
    /// The HTTP status for this kind; the only place this mapping is made.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidArgument => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::NotModified => 304,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::NotImplemented => 501,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

/// An error as the API returns it: a kind (→ status) and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            message: self.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_dockers_shape() {
        let e = ApiError::not_found("page not found");
        assert_eq!(e.kind.status(), 404);
        assert_eq!(
            serde_json::to_string(&e.body()).unwrap(),
            r#"{"message":"page not found"}"#
        );
    }
}
