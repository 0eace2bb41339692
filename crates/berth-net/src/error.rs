//! The crate's error type: one enum, a few kinds the daemon maps to HTTP statuses.

use std::path::PathBuf;

/// Errors from host network plumbing.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A malformed subnet, address, port spec or option.
    #[error("{0}")]
    Invalid(String),
    /// An address pool or port range has nothing left.
    #[error("{0}")]
    Exhausted(String),
    /// A host port or address is already taken.
    #[error("{0}")]
    InUse(String),
    /// A link, parent interface or namespace that should exist does not.
    #[error("{0}")]
    NotFound(String),
    /// A netlink request the kernel refused.
    #[error("netlink: {context}: {message}")]
    Netlink { context: String, message: String },
    /// A namespace or file operation failed.
    #[error("{context} {path}: {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// `nft` / `iptables` refused the rules.
    #[error("firewall ({backend}): {message}")]
    Firewall {
        backend: &'static str,
        message: String,
    },
    /// Anything else that went wrong inside the host (a thread died, a syscall failed).
    #[error("{0}")]
    Internal(String),
}

impl NetError {
    pub(crate) fn netlink(context: impl Into<String>, e: rtnetlink::Error) -> Self {
        NetError::Netlink {
            context: context.into(),
            message: e.to_string(),
        }
    }

    pub(crate) fn io(
        context: &'static str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> Self {
        NetError::Io {
            context,
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = NetError> = std::result::Result<T, E>;
