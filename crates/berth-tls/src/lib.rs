//! TLS for berth's TCP endpoints.
//!
//! This crate owns everything certificate-related:
//!
//! * **Generation** ([`init`], [`issue_client`]): a private CA, a server
//!   certificate and client certificates, following Docker's "protect the
//!   daemon socket" layout and file names (`ca.pem`, `ca-key.pem`,
//!   `server-cert.pem`, `server-key.pem`, `cert.pem`, `key.pem`). Keys are
//!   ECDSA P-256 and certificates carry the extensions Go's `crypto/tls` (the
//!   docker CLI) expects. Files are written atomically with private keys at
//!   mode 0600. This backs `berth tls init`.
//! * **rustls configurations** ([`server_config`], [`client_config`]) for
//!   berthd's listeners and berth's client, with Docker's `--tls` (encrypt
//!   only) and `--tlsverify` (verify the peer) semantics.
//!
//! Only the ring crypto provider is used, passed explicitly to every
//! configuration, so no process-wide default provider has to be installed.
//! All failures are reported as [`TlsError`], whose messages name the file
//! involved and say what to do.

mod config;
mod error;
mod fsutil;
mod generate;
mod pem;

use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;

pub use config::{accept_any_server_cert, client_config, server_config};
pub use error::TlsError;
pub use generate::{
    init, issue_client, InitOptions, InitReport, IssueReport, CA_CERT, CA_KEY, CLIENT_CERT,
    CLIENT_KEY, MAX_DAYS, SERVER_CERT, SERVER_KEY,
};

/// The ring crypto provider, shared by every configuration this crate builds.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}
