//! The crate's one error type.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// The container's cgroup directory is not there (not running, or already cleaned up).
    #[error("cgroup {0} does not exist")]
    NotFound(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: unexpected content {content:?}")]
    Parse { path: PathBuf, content: String },
    /// A limit the kernel cannot express (e.g. a v2 swap limit without a memory limit).
    #[error("{0}")]
    Invalid(String),
    #[error("timed out waiting for the cgroup to become {0}")]
    Timeout(&'static str),
}

pub type Result<T> = std::result::Result<T, CgroupError>;
