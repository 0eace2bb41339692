//! The crate's single error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while generating certificates or building
/// TLS configurations. Every message names the file involved and, where
/// there is one, says what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error("cannot read TLS {what} {}: {source}{}", path.display(), read_hint(source))]
    Read {
        /// What the file was supposed to hold ("certificate", "key", ...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// A file was readable but is not valid PEM.
    #[error("cannot parse TLS {what} {}: {reason}; expected a PEM file", path.display())]
    Pem {
        /// What the file was supposed to hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why parsing failed.
        reason: String,
    },

    /// A PEM file holds no `CERTIFICATE` block.
    #[error(
        "no certificate found in {}; expected a PEM file with a \"BEGIN CERTIFICATE\" block",
        path.display()
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },

    /// A PEM file holds no (unencrypted) private key.
    #[error(
        "no private key found in {}; expected an unencrypted PEM \"PRIVATE KEY\", \
         \"EC PRIVATE KEY\" or \"RSA PRIVATE KEY\" block",
        path.display()
    )]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },

    /// A certificate cannot be used as a trust anchor or issuer.
    #[error("cannot use {} as a certificate authority: {reason}", path.display())]
    InvalidCa {
        /// The CA certificate file.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },

    /// The CA key cannot be used to sign certificates.
    #[error(
        "cannot sign with CA key {}: {reason}; berth signs with unencrypted PKCS#8 keys \
         (\"BEGIN PRIVATE KEY\"), convert yours with \
         `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pkcs8`",
        path.display()
    )]
    CaKey {
        /// The CA key file.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },

    /// The CA key does not belong to the CA certificate.
    #[error(
        "CA key {} does not belong to CA certificate {}: {reason}",
        key.display(),
        cert.display()
    )]
    CaMismatch {
        /// The CA certificate file.
        cert: PathBuf,
        /// The CA key file.
        key: PathBuf,
        /// What the check reported.
        reason: String,
    },

    /// A certificate and a key do not form a usable identity.
    #[error(
        "cannot use TLS certificate {} with key {}: {source}",
        cert.display(),
        key.display()
    )]
    Identity {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls reported.
        source: rustls::Error,
    },

    /// The client-certificate verifier could not be built from the CA file.
    #[error("cannot verify client certificates with {}: {source}", path.display())]
    ClientVerifier {
        /// The CA certificate file.
        path: PathBuf,
        /// What rustls reported.
        source: rustls::server::VerifierBuilderError,
    },

    /// Verifying the server was requested without a CA to verify against.
    #[error(
        "verifying the server certificate needs a CA certificate; pass --tlscacert \
         (or put ca.pem in the certificate directory)"
    )]
    MissingCa,

    /// rustls rejected the protocol configuration.
    #[error("cannot build the TLS {side} configuration: {source}")]
    Config {
        /// "server" or "client".
        side: &'static str,
        /// What rustls reported.
        source: rustls::Error,
    },

    /// A file that would be written already exists.
    #[error("refusing to overwrite {}: it already exists; {hint}", path.display())]
    Exists {
        /// The existing file.
        path: PathBuf,
        /// How to proceed.
        hint: &'static str,
    },

    /// The output directory could not be created.
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// A generated file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// A requested server name is neither a DNS name nor an IP address.
    #[error(
        "invalid server name {name:?}: {reason}; pass DNS names (berth.example.com) \
         or IP addresses (192.0.2.10)"
    )]
    InvalidHostname {
        /// The name as given.
        name: String,
        /// Why it was rejected.
        reason: String,
    },

    /// An empty client name was given.
    #[error("the client certificate name must not be empty")]
    EmptyClientName,

    /// The requested validity is out of range.
    #[error(
        "invalid certificate validity of {days} days; pass a number of days between 1 and {max}"
    )]
    InvalidDays {
        /// The requested number of days.
        days: u32,
        /// The largest accepted number of days.
        max: u32,
    },

    /// rcgen failed to generate a key or certificate.
    #[error("cannot generate the {what}: {source}")]
    Generate {
        /// The key or certificate being generated.
        what: &'static str,
        /// What rcgen reported.
        source: rcgen::Error,
    },
}

/// What to tell the user after a failed read, based on the error kind.
fn read_hint(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::NotFound => "; generate one with `berth tls init`",
        io::ErrorKind::PermissionDenied => "; check the file's permissions",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_error_names_file_and_remedy() {
        let err = TlsError::Read {
            what: "key",
            path: PathBuf::from("/x/key.pem"),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        let msg = err.to_string();
        assert!(msg.starts_with("cannot read TLS key /x/key.pem: "), "{msg}");
        assert!(
            msg.ends_with("; generate one with `berth tls init`"),
            "{msg}"
        );
    }

    #[test]
    fn no_certificate_names_file() {
        let err = TlsError::NoCertificate {
            path: PathBuf::from("/x/ca.pem"),
        };
        assert!(err
            .to_string()
            .starts_with("no certificate found in /x/ca.pem"));
    }
}
