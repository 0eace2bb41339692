//! Client errors; their messages are what the CLI prints.

/// What went wrong talking to a daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nobody answered at the address (or the TLS handshake failed).
    #[error("Cannot connect to the berth daemon at {endpoint}: {reason}. Is berthd running? Start it with `berthd` (as root), or choose another daemon with -H, BERTH_HOST/DOCKER_HOST or --context.")]
    Connect { endpoint: String, reason: String },
    /// The daemon answered with an error.
    #[error("Error response from daemon: {message}")]
    Api { status: u16, message: String },
    /// TLS material could not be loaded.
    #[error(transparent)]
    Tls(#[from] berth_tls::TlsError),
    #[error("invalid request: {0}")]
    Request(String),
    #[error("connection to the daemon failed: {0}")]
    Transport(String),
    #[error("unexpected response from the daemon: {0}")]
    Decode(String),
}

impl ClientError {
    /// The HTTP status of a daemon error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}
