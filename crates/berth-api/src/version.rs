//! API versions: the range berthd serves and the check of a request's `/vX.Y` prefix.

use std::fmt;
use std::str::FromStr;

/// Lowest API version berthd answers (Docker 1.12 era clients; dockerd's own minimum).
pub const MIN_API_VERSION: ApiVersion = ApiVersion::new(1, 24);
/// Highest API version berthd answers; also what `/version` reports as `ApiVersion`.
pub const MAX_API_VERSION: ApiVersion = ApiVersion::new(1, 47);

/// A Docker API version, `major.minor` (e.g. `1.41`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

/// Why a requested API version cannot be served; the messages are dockerd's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("client version {0} is too new. Maximum supported API version is {MAX_API_VERSION}")]
    TooNew(ApiVersion),
    #[error("client version {0} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version")]
    TooOld(ApiVersion),
    #[error("invalid API version {0:?}: expected MAJOR.MINOR, e.g. 1.41")]
    Malformed(String),
}

impl ApiVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// Checks that this version lies in the served range.
    pub fn check_supported(self) -> Result<Self, VersionError> {
        if self > MAX_API_VERSION {
            Err(VersionError::TooNew(self))
        } else if self < MIN_API_VERSION {
            Err(VersionError::TooOld(self))
        } else {
            Ok(self)
        }
    }

    /// Splits a request path into its version prefix and the rest:
    /// `/v1.41/containers/json` → `(Some("1.41"), "/containers/json")`.
    /// A path without a prefix is returned unchanged with `None`.
    pub fn split_path(path: &str) -> (Option<&str>, &str) {
        let Some(rest) = path.strip_prefix("/v") else {
            return (None, path);
        };
        let end = rest.find('/').unwrap_or(rest.len());
        let candidate = &rest[..end];
        // Only treat it as a version when it looks like digits and dots; `/volumes` must not
        // be mistaken for one.
        if !candidate.is_empty() && candidate.chars().all(|c| c.is_ascii_digit() || c == '.') {
            let tail = &rest[end..];
            (Some(candidate), if tail.is_empty() { "/" } else { tail })
        } else {
            (None, path)
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for ApiVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || VersionError::Malformed(s.to_string());
        let (major, minor) = s.split_once('.').ok_or_else(bad)?;
        Ok(Self {
            major: major.parse().map_err(|_| bad())?,
            minor: minor.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let v: ApiVersion = "1.41".parse().unwrap();
        assert_eq!(v, ApiVersion::new(1, 41));
        assert!(ApiVersion::new(1, 9) < ApiVersion::new(1, 41));
        assert!("1".parse::<ApiVersion>().is_err());
        assert!("1.x".parse::<ApiVersion>().is_err());
    }

    #[test]
    fn range_check_uses_dockerd_messages() {
        let err = ApiVersion::new(1, 99).check_supported().unwrap_err();
        assert_eq!(
            err.to_string(),
            "client version 1.99 is too new. Maximum supported API version is 1.47"
        );
        let err = ApiVersion::new(1, 12).check_supported().unwrap_err();
        assert!(err
            .to_string()
            .starts_with("client version 1.12 is too old."));
        assert!(ApiVersion::new(1, 41).check_supported().is_ok());
    }

    #[test]
    fn splits_prefix() {
        assert_eq!(
            ApiVersion::split_path("/v1.41/containers/json"),
            (Some("1.41"), "/containers/json")
        );
        assert_eq!(ApiVersion::split_path("/v1.41"), (Some("1.41"), "/"));
        assert_eq!(ApiVersion::split_path("/volumes"), (None, "/volumes"));
        assert_eq!(ApiVersion::split_path("/_ping"), (None, "/_ping"));
    }
}
