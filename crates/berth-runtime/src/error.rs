//! The crate's one error type and its classification.

use std::io;

/// How the caller should report a [`SpecError`] (the API layer maps this to an HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The container's options are invalid (Docker answers 400).
    InvalidArgument,
    /// Something the options name does not exist: a user or group in the image, a host
    /// device. Docker finds these at start and answers 500; note that a 404 from *create*
    /// makes the docker CLI try to pull the image.
    NotFound,
    /// The host or the caller let us down (Docker answers 500).
    Internal,
}

/// Why a spec could not be built or written. Messages are Docker's where Docker has one.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl SpecError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SpecError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            SpecError::NotFound(_) => ErrorKind::NotFound,
            SpecError::Internal(_) | SpecError::Io { .. } => ErrorKind::Internal,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        SpecError::InvalidArgument(message.into())
    }

    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        SpecError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Builder errors from `oci-spec` cannot happen with the values we set; report them as ours.
impl From<oci_spec::OciSpecError> for SpecError {
    fn from(e: oci_spec::OciSpecError) -> Self {
        SpecError::Internal(format!("building the OCI spec: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(SpecError::invalid("x").kind(), ErrorKind::InvalidArgument);
        assert_eq!(SpecError::NotFound("x".into()).kind(), ErrorKind::NotFound);
        let e = SpecError::io("writing config.json", io::Error::other("disk full"));
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(e.to_string(), "writing config.json: disk full");
    }
}
