//! What can go wrong talking to a registry. Messages follow dockerd's wording where users
//! know it (`manifest unknown: manifest unknown`, `no basic auth credentials`, `login attempt
//! to … failed with status: 401 Unauthorized`) and otherwise say what failed and what to do.

use serde::Deserialize;

/// One entry of a registry's error body (`{"errors": [{"code", "message", "detail"}]}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorEntry {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl std::fmt::Display for ErrorEntry {
    /// distribution's `errcode.Error`: `manifest unknown: manifest unknown`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code.replace('_', " ").to_lowercase();
        match (code.is_empty(), self.message.is_empty()) {
            (false, false) => write!(f, "{code}: {}", self.message),
            (false, true) => f.write_str(&code),
            _ => f.write_str(&self.message),
        }
    }
}

/// Errors of the registry client.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No connection could be made (DNS, refused, timeout, TLS handshake).
    #[error("{method} \"{url}\": cannot reach {host}: {reason}")]
    Unreachable {
        method: String,
        url: String,
        host: String,
        reason: String,
    },
    /// The connection broke while a request or response was under way.
    #[error("{method} \"{url}\": {reason}")]
    Transport {
        method: String,
        url: String,
        reason: String,
    },
    /// The registry answered with an error body.
    #[error("{}", render_entries(.errors))]
    Registry {
        status: u16,
        errors: Vec<ErrorEntry>,
    },
    /// The registry answered with a status the protocol does not allow here.
    #[error("{method} \"{url}\": unexpected status {status}{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    Status {
        method: String,
        url: String,
        status: u16,
        body: String,
    },
    /// The registry wants credentials we do not have (dockerd's wording for Basic auth).
    #[error("{method} \"{url}\": no basic auth credentials")]
    NoCredentials { method: String, url: String },
    /// The registry refused the credentials we sent.
    #[error("{method} \"{url}\": unauthorized: {message}")]
    Unauthorized {
        method: String,
        url: String,
        message: String,
    },
    /// `/auth`: the registry did not accept the login.
    #[error("login attempt to {url} failed with status: {status}")]
    LoginFailed { url: String, status: String },
    /// The token server refused or failed.
    #[error("cannot get a token from {realm}: {message}")]
    Token { realm: String, message: String },
    /// Downloaded bytes do not match the digest they were asked for.
    #[error("{what} {expected} failed verification: its content has digest {actual} (the registry or a proxy corrupted it; pull again)")]
    DigestMismatch {
        what: &'static str,
        expected: String,
        actual: String,
    },
    #[error("{0}")]
    InvalidManifest(String),
    #[error("no matching manifest for {0} in the manifest list entries")]
    NoMatchingPlatform(String),
    #[error("invalid platform {0:?}: use os[/arch[/variant]], e.g. linux/amd64")]
    InvalidPlatform(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("invalid registry configuration: {0}")]
    Config(String),
    #[error("TLS settings for {host}: {message}")]
    Tls { host: String, message: String },
}

fn render_entries(errors: &[ErrorEntry]) -> String {
    match errors {
        [] => "the registry answered with an empty error".to_string(),
        [one] => one.to_string(),
        many => {
            let lines: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("errors:\n{}\n", lines.join("\n"))
        }
    }
}

impl RegistryError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RegistryError::Io {
            context: context.into(),
            source,
        }
    }

    /// The registry error code of the first entry (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            RegistryError::Registry { errors, .. } => errors.first().map(|e| e.code.as_str()),
            _ => None,
        }
    }

    /// Whether the thing asked for does not exist (HTTP 404 to an API client).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code(),
            Some("MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "BLOB_UNKNOWN")
        ) || matches!(self, RegistryError::Registry { status: 404, .. })
            || matches!(self, RegistryError::NoMatchingPlatform(_))
    }

    /// Whether credentials were missing or refused (HTTP 401 to an API client).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            RegistryError::NoCredentials { .. }
                | RegistryError::Unauthorized { .. }
                | RegistryError::LoginFailed { .. }
                | RegistryError::Token { .. }
        ) || matches!(self.code(), Some("UNAUTHORIZED" | "DENIED"))
    }

    /// Whether the registry could not be reached at all (try the next endpoint).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, RegistryError::Unreachable { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_distribution() {
        let e = RegistryError::Registry {
            status: 404,
            errors: vec![ErrorEntry {
                code: "MANIFEST_UNKNOWN".into(),
                message: "manifest unknown".into(),
            }],
        };
        assert_eq!(e.to_string(), "manifest unknown: manifest unknown");
        assert!(e.is_not_found() && !e.is_unauthorized());
        let e = RegistryError::Registry {
            status: 401,
            errors: vec![
                ErrorEntry {
                    code: "UNAUTHORIZED".into(),
                    message: "authentication required".into(),
                },
                ErrorEntry {
                    code: "DENIED".into(),
                    message: String::new(),
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "errors:\nunauthorized: authentication required\ndenied\n"
        );
        assert!(e.is_unauthorized());
    }
}
