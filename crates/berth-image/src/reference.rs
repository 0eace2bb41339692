//! Image references, as Docker's `distribution/reference` parses them
//! (`ParseNormalizedNamed`, `FamiliarString`, `TagNameOnly`).
//!
//! `busybox` is `docker.io/library/busybox`, `user/app` is
//! `docker.io/user/app`; the first path component is a registry domain only
//! when it contains `.` or `:`, is `localhost`, or has an uppercase letter.

use std::fmt;

const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";
/// Longest repository path Docker accepts (`NameTotalLengthMax`).
const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Longest tag Docker accepts.
const TAG_LENGTH_MAX: usize = 128;

/// A parsed, normalized image reference: `domain/path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// Why a string is not an image reference. The messages are Docker's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    Uppercase(String),
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    #[error("repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")]
    NameTooLong,
    #[error("invalid checksum digest format")]
    DigestFormat,
    #[error("invalid checksum digest length")]
    DigestLength,
    #[error("unsupported digest algorithm")]
    DigestAlgorithm,
}

impl Reference {
    /// Parses and normalizes a reference the way `docker pull`, `docker tag`
    /// and the Engine API do.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if s.len() == 64 && is_lower_hex(s) {
            return Err(ReferenceError::HexName(s.to_string()));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder.split(':').next().unwrap_or_default();
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::Uppercase(remote.to_string()));
        }
        let (name_tag, digest) = match remainder.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (remainder.as_str(), None),
        };
        let (path, tag) = split_tag(name_tag);
        let well_formed = valid_domain(&domain)
            && path.split('/').all(valid_path_component)
            && tag.is_none_or(valid_tag)
            && digest.is_none_or(digest_matches_grammar);
        if !well_formed {
            return Err(ReferenceError::InvalidFormat);
        }
        if path.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(ReferenceError::NameTooLong);
        }
        if let Some(d) = digest {
            validate_digest(d)?;
        }
        Ok(Reference {
            domain,
            path: path.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }

    /// Adds the `latest` tag when the reference has neither tag nor digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// The registry domain, e.g. `docker.io` or `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, e.g. `sha256:<64 hex>`.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The full repository name: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository name as users write it: `busybox`, `user/app`,
    /// `localhost:5000/x`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }

    /// The reference as users write it: `busybox:latest`,
    /// `busybox@sha256:...`.
    pub fn familiar_string(&self) -> String {
        self.with_suffix(self.familiar_name())
    }

    fn with_suffix(&self, mut name: String) -> String {
        if let Some(tag) = &self.tag {
            name.push(':');
            name.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            name.push('@');
            name.push_str(digest);
        }
        name
    }
}

impl fmt::Display for Reference {
    /// The full form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.with_suffix(self.name()))
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Whether `s` could be an image ID or a unique ID prefix: lowercase hex of
/// at most 64 digits, optionally after `sha256:`. A full 64-digit hex string
/// is never a name ([`Reference::parse`] rejects it); a shorter one can be
/// both (`abc` is also `docker.io/library/abc`), and Docker tries the name
/// first, then the ID prefix.
pub fn is_image_id_like(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    !hex.is_empty() && hex.len() <= 64 && is_lower_hex(hex)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `splitDockerDomain`: the registry domain and the rest of the reference.
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// Splits `path[:tag]`; a `:` belongs to the tag only after the last `/`.
fn split_tag(name: &str) -> (&str, Option<&str>) {
    match name.rfind(':') {
        Some(i) if name.rfind('/').is_none_or(|slash| slash < i) => {
            (&name[..i], Some(&name[i + 1..]))
        }
        _ => (name, None),
    }
}

/// `host[:port]`, host being DNS-like labels or a bracketed IPv6 address.
fn valid_domain(domain: &str) -> bool {
    let (host_ok, port) = match domain.strip_prefix('[') {
        Some(inner) => {
            let Some((addr, after)) = inner.split_once(']') else {
                return false;
            };
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(p) => Some(p),
                    None => return false,
                },
            };
            let addr_ok =
                !addr.is_empty() && addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
            (addr_ok, port)
        }
        None => match domain.split_once(':') {
            Some((host, port)) => (valid_host(host), Some(port)),
            None => (valid_host(domain), None),
        },
    };
    host_ok && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// Dot-separated labels of alphanumerics and inner dashes.
fn valid_host(host: &str) -> bool {
    host.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

/// `[a-z0-9]+` runs joined by one `.`, one `_`, `__`, or any number of `-`.
fn valid_path_component(component: &str) -> bool {
    let b = component.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep_start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &component[sep_start..i];
        let sep_ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !sep_ok {
            return false;
        }
    }
}

/// `[\w][\w.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= TAG_LENGTH_MAX
        && word(b[0])
        && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `algorithm:hex` where algorithm is `[A-Za-z][A-Za-z0-9]*` parts joined by
/// one of `-_+.`, and hex has at least 32 digits.
fn digest_matches_grammar(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = algorithm.split(['-', '_', '+', '.']).all(|part| {
        let b = part.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    algorithm_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// What go-digest's `Digest.Validate` checks once the grammar matched.
fn validate_digest(digest: &str) -> Result<(), ReferenceError> {
    let (algorithm, hex) = digest.split_once(':').ok_or(ReferenceError::DigestFormat)?;
    let size = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(ReferenceError::DigestAlgorithm),
    };
    if hex.len() != size {
        return Err(ReferenceError::DigestLength);
    }
    if !is_lower_hex(hex) {
        return Err(ReferenceError::DigestFormat);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(s: &str) -> Reference {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        Reference::parse(s).expect_err(s).to_string()
    }

    #[test]
    fn normalizes_docker_hub_names() {
        let cases = [
            ("busybox", "docker.io/library/busybox", "busybox"),
            ("user/app", "docker.io/user/app", "user/app"),
            ("docker.io/busybox", "docker.io/library/busybox", "busybox"),
            (
                "index.docker.io/busybox",
                "docker.io/library/busybox",
                "busybox",
            ),
            (
                "docker.io/library/busybox",
                "docker.io/library/busybox",
                "busybox",
            ),
            ("index.docker.io/user/app", "docker.io/user/app", "user/app"),
            ("library/busybox", "docker.io/library/busybox", "busybox"),
            (
                "docker.io/library/a/b",
                "docker.io/library/a/b",
                "library/a/b",
            ),
            ("a/b/c/d", "docker.io/a/b/c/d", "a/b/c/d"),
        ];
        for (input, name, familiar) in cases {
            let r = parse(input);
            assert_eq!(r.name(), name, "{input}");
            assert_eq!(r.familiar_name(), familiar, "{input}");
            assert_eq!(r.tag(), None);
        }
    }

    #[test]
    fn recognizes_registry_domains() {
        let cases = [
            ("localhost/x", "localhost", "x"),
            ("localhost:5000/x", "localhost:5000", "x"),
            ("registry.example.com/a/b", "registry.example.com", "a/b"),
            (
                "registry.example.com:443/a",
                "registry.example.com:443",
                "a",
            ),
            ("[::1]:5000/app", "[::1]:5000", "app"),
            ("[fe80::1]/app", "[fe80::1]", "app"),
            ("Foo/bar", "Foo", "bar"),
            ("my-registry.local/x", "my-registry.local", "x"),
        ];
        for (input, domain, path) in cases {
            let r = parse(input);
            assert_eq!((r.domain(), r.path()), (domain, path), "{input}");
            assert_eq!(r.familiar_name(), input, "{input}");
        }
    }

    #[test]
    fn tags_and_digests() {
        let r = parse("registry.example.com/a/b:v1.2-rc_3");
        assert_eq!(r.tag(), Some("v1.2-rc_3"));
        assert_eq!(r.to_string(), "registry.example.com/a/b:v1.2-rc_3");

        let r = parse("localhost:5000/x:Tag.With.Dots");
        assert_eq!(r.domain(), "localhost:5000");
        assert_eq!(r.tag(), Some("Tag.With.Dots"));

        let d = format!("sha256:{HEX}");
        let r = parse(&format!("busybox@{d}"));
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(r.tag(), None);
        assert_eq!(r.familiar_string(), format!("busybox@{d}"));
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{d}"));

        let r = parse(&format!("user/app:1.0@{d}"));
        assert_eq!(r.tag(), Some("1.0"));
        assert_eq!(r.familiar_string(), format!("user/app:1.0@{d}"));

        // A port-looking suffix without a slash is a tag on docker.io.
        let r = parse("localhost:5000");
        assert_eq!(r.name(), "docker.io/library/localhost");
        assert_eq!(r.tag(), Some("5000"));
    }

    #[test]
    fn default_tag_and_display() {
        let r = parse("busybox").with_default_tag();
        assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
        assert_eq!(r.familiar_string(), "busybox:latest");
        assert_eq!(parse("busybox:1").with_default_tag().tag(), Some("1"));
        let digested = parse(&format!("busybox@sha256:{HEX}")).with_default_tag();
        assert_eq!(digested.tag(), None);
        assert_eq!(
            "user/app:x".parse::<Reference>().unwrap().familiar_string(),
            "user/app:x"
        );
    }

    #[test]
    fn path_separators() {
        for ok in [
            "a.b",
            "a_b",
            "a__b",
            "a-b",
            "a---b",
            "a1.b2_c3__d4-e5",
            "0abc",
        ] {
            assert_eq!(parse(ok).path(), format!("library/{ok}"), "{ok}");
        }
        for bad in [
            "a..b", "a___b", "a._b", "a-_b", "-ab", "ab-", ".ab", "a/", "/a", "a//b", "",
        ] {
            assert_eq!(err(bad), "invalid reference format", "{bad:?}");
        }
    }

    #[test]
    fn rejects_bad_formats() {
        for bad in [
            "busybox:",
            "busybox:-tag",
            "busybox:.tag",
            "busybox:ta g",
            "busybox@",
            "busybox@sha256:abc",
            "busybox@sha256",
            "bad_domain.com:port/x",
            "-bad.com/x",
            "bad-.com/x",
            "[::1/x",
            "[]/x",
            "[::1]x/y",
            "a b",
            "busybox:tag:tag",
            "a:b/c",
        ] {
            assert_eq!(err(bad), "invalid reference format", "{bad:?}");
        }
    }

    #[test]
    fn uppercase_names_are_rejected() {
        assert_eq!(
            err("Busybox"),
            "invalid reference format: repository name (library/Busybox) must be lowercase"
        );
        assert_eq!(
            err("user/App:latest"),
            "invalid reference format: repository name (user/App) must be lowercase"
        );
        assert_eq!(
            err("localhost:5000/Foo"),
            "invalid reference format: repository name (Foo) must be lowercase"
        );
    }

    #[test]
    fn hex_names_are_rejected() {
        assert_eq!(
            err(HEX),
            format!("invalid repository name ({HEX}), cannot specify 64-byte hexadecimal strings")
        );
        // Shorter hex strings are valid names.
        assert_eq!(parse(&HEX[..12]).familiar_name(), &HEX[..12]);
    }

    #[test]
    fn digest_validation() {
        let upper = HEX.to_uppercase();
        assert_eq!(
            err(&format!("a@sha256:{upper}")),
            "invalid checksum digest format"
        );
        assert_eq!(
            err(&format!("a@sha256:{}", &HEX[..40])),
            "invalid checksum digest length"
        );
        assert_eq!(
            err(&format!("a@md5:{}", &HEX[..32])),
            "unsupported digest algorithm"
        );
        let sha512 = format!("a@sha512:{HEX}{HEX}");
        assert_eq!(parse(&sha512).digest().map(str::len), Some(135));
    }

    #[test]
    fn length_limits() {
        let path = "a".repeat(NAME_TOTAL_LENGTH_MAX - "library/".len());
        assert_eq!(parse(&path).path().len(), NAME_TOTAL_LENGTH_MAX);
        assert_eq!(
            err(&format!("{path}a")),
            "repository name must not be more than 255 characters"
        );
        let tag = "t".repeat(TAG_LENGTH_MAX);
        assert_eq!(parse(&format!("a:{tag}")).tag(), Some(tag.as_str()));
        assert_eq!(err(&format!("a:{tag}t")), "invalid reference format");
    }

    #[test]
    fn image_id_like() {
        assert!(is_image_id_like(HEX));
        assert!(is_image_id_like(&format!("sha256:{HEX}")));
        assert!(is_image_id_like("abc123"));
        assert!(is_image_id_like("sha256:ab"));
        assert!(!is_image_id_like("sha256:"));
        assert!(!is_image_id_like(""));
        assert!(!is_image_id_like("busybox"));
        assert!(!is_image_id_like("ABC"));
        assert!(!is_image_id_like(&format!("{HEX}0")));
    }
}
