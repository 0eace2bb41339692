//! Image references (`registry:5000/repo/name:tag@sha256:…`), parsed and normalized the way
//! docker's `distribution/reference` package does, with its error messages: `berth tag` and
//! `berth import` check their arguments before asking the daemon.

use std::fmt;

/// Docker Hub, the domain of a name without one.
const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// A normalized, named reference (`docker.io/library/busybox:latest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `registry.example.com:5000`, `[::1]:5000`.
    pub domain: String,
    /// `library/busybox`, `org/team/app`.
    pub path: String,
    pub tag: Option<String>,
    /// `sha256:…`
    pub digest: Option<String>,
}

/// Why a reference does not parse; the message is docker's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError(pub String);

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReferenceError {}

fn err(msg: impl Into<String>) -> ReferenceError {
    ReferenceError(msg.into())
}

const INVALID_FORMAT: &str = "invalid reference format";

impl Reference {
    /// docker's `ParseNormalizedNamed`: a name as a user types it (`busybox`,
    /// `me/app:v1`, `localhost:5000/x@sha256:…`) made fully qualified.
    pub fn parse_normalized_named(s: &str) -> Result<Self, ReferenceError> {
        if is_full_id(s) {
            return Err(err(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote_name = remainder.split_once(':').map_or(&*remainder, |(n, _)| n);
        if remote_name.to_lowercase() != remote_name {
            return Err(err(format!(
                "{INVALID_FORMAT}: repository name ({remote_name}) must be lowercase"
            )));
        }
        parse(&format!("{domain}/{remainder}"))
    }

    /// `domain/path`: the full repository name.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The name as docker shows it: `busybox` rather than `docker.io/library/busybox`.
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }
}

/// docker's `ParseAnyReference` as a check: a full image ID, a digest (`sha256:…`), or
/// a name that [`Reference::parse_normalized_named`] accepts.
pub fn check_any_reference(s: &str) -> Result<(), ReferenceError> {
    if is_full_id(s) || parse_digest(s).is_ok() {
        return Ok(());
    }
    Reference::parse_normalized_named(s).map(|_| ())
}

/// 64 lowercase hex digits: an image ID without its algorithm.
fn is_full_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `docker.io` and `library/` for names without a registry.
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, remainder) = match name.split_once('/') {
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
    let remainder = if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        format!("{OFFICIAL_REPO_PREFIX}{remainder}")
    } else {
        remainder
    };
    (domain, remainder)
}

/// docker's `reference.Parse` for a name that has a domain.
fn parse(s: &str) -> Result<Reference, ReferenceError> {
    let Some((name, tag, digest)) = split_reference(s) else {
        if s.is_empty() {
            return Err(err("repository name must have at least one component"));
        }
        if split_reference(&s.to_lowercase()).is_some() {
            return Err(err(format!(
                "{INVALID_FORMAT}: repository name must be lowercase"
            )));
        }
        return Err(err(INVALID_FORMAT));
    };
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(err(format!(
            "repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )));
    }
    let (domain, path) = match name.split_once('/') {
        Some((d, p)) if is_domain(d) && is_path(p) => (d.to_string(), p.to_string()),
        _ => (String::new(), name.to_string()),
    };
    if let Some(d) = digest {
        parse_digest(d)?;
    }
    Ok(Reference {
        domain,
        path,
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
    })
}

/// Matches docker's anchored `ReferenceRegexp`: `name[:tag][@digest]`, split into its
/// parts, or None.
fn split_reference(s: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => {
            if !is_digest_shape(d) {
                return None;
            }
            (r, Some(d))
        }
        None => (s, None),
    };
    // A tag holds no ':' or '/', so it follows the last ':' if no '/' comes after it.
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag {
        if !is_tag(t) {
            return None;
        }
    }
    is_name(name).then_some((name, tag, digest))
}

/// `[domain/]path-component[/path-component]*`
fn is_name(s: &str) -> bool {
    if is_path(s) {
        return true;
    }
    match s.split_once('/') {
        Some((d, p)) => is_domain(d) && is_path(p),
        None => false,
    }
}

/// `path-component ('/' path-component)*`
fn is_path(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `[a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
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
        let sep = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        debug_assert!(i > sep);
    }
}

/// `host[:port]`, host a dotted DNS-ish name or a bracketed IPv6 address.
fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(p) => ("x", Some(p)),
                None => return false,
            },
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    host.split('.').all(|c| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

/// `[\w][\w.-]{0,127}`
fn is_tag(s: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|c| word(*c) || *c == b'.' || *c == b'-')
}

/// `algorithm:hex` with docker's grammar (hex at least 32 digits).
fn is_digest_shape(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// go-digest's `Parse`: a well-formed digest of a known algorithm and length.
fn parse_digest(s: &str) -> Result<(), ReferenceError> {
    let Some((alg, hex)) = s
        .split_once(':')
        .filter(|(a, h)| !a.is_empty() && !h.is_empty())
    else {
        return Err(err("invalid checksum digest format"));
    };
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(err("unsupported digest algorithm")),
    };
    if hex.len() != len
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(err("invalid checksum digest length"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(s: &str) -> Reference {
        Reference::parse_normalized_named(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn fails(s: &str) -> String {
        Reference::parse_normalized_named(s).unwrap_err().0
    }

    #[test]
    fn normalizes_names() {
        let r = named("busybox");
        assert_eq!(
            (r.domain.as_str(), r.path.as_str()),
            ("docker.io", "library/busybox")
        );
        assert_eq!((&r.tag, &r.digest), (&None, &None));
        assert_eq!(r.familiar_name(), "busybox");

        let r = named("me/app:v1.2-rc_3");
        assert_eq!(r.name(), "docker.io/me/app");
        assert_eq!(r.familiar_name(), "me/app");
        assert_eq!(r.tag.as_deref(), Some("v1.2-rc_3"));

        let r = named("docker.io/library/t1");
        assert_eq!(r.familiar_name(), "t1");
        assert_eq!(named("index.docker.io/foo").familiar_name(), "foo");
        assert_eq!(
            named("docker.io/library/a/b").familiar_name(),
            "library/a/b"
        );

        let r = named("localhost:5000/x/y:latest");
        assert_eq!(r.domain, "localhost:5000");
        assert_eq!(r.familiar_name(), "localhost:5000/x/y");
        assert_eq!(named("localhost/x").domain, "localhost");
        assert_eq!(
            named("example.com/foo/bar").familiar_name(),
            "example.com/foo/bar"
        );
        assert_eq!(named("[::1]:5000/foo:v").domain, "[::1]:5000");
        assert_eq!(named("a__b.c---d/e_f").path, "a__b.c---d/e_f");

        let d = format!("sha256:{}", "a".repeat(64));
        let r = named(&format!("foo@{d}"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        let r = named(&format!("foo:v1@{d}"));
        assert_eq!((r.tag.as_deref(), r.digest.is_some()), (Some("v1"), true));
    }

    #[test]
    fn rejects_like_docker() {
        assert_eq!(
            fails("Foo"),
            "invalid reference format: repository name (library/Foo) must be lowercase"
        );
        assert_eq!(fails("busy box"), "invalid reference format");
        assert_eq!(fails("foo:-bad"), "invalid reference format");
        assert_eq!(fails("foo:"), "invalid reference format");
        assert_eq!(fails("foo/"), "invalid reference format");
        assert_eq!(fails("a//b"), "invalid reference format");
        assert_eq!(fails("-foo"), "invalid reference format");
        assert_eq!(
            fails(&format!("foo:{}", "t".repeat(129))),
            "invalid reference format"
        );
        let hex = "a".repeat(64);
        assert_eq!(
            fails(&hex),
            format!("invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings")
        );
        assert_eq!(
            fails(&format!("foo@sha256:{}", "a".repeat(40))),
            "invalid checksum digest length"
        );
        assert_eq!(
            fails(&format!("foo@md5:{}", "a".repeat(32))),
            "unsupported digest algorithm"
        );
        assert_eq!(
            fails(&"a".repeat(256)),
            "repository name must not be more than 255 characters"
        );
        // An upper-case registry is a domain, and domains may have capitals.
        assert_eq!(named("Example.com/foo").domain, "Example.com");
        assert_eq!(
            fails("example.com/Foo"),
            "invalid reference format: repository name (Foo) must be lowercase"
        );
    }

    #[test]
    fn any_reference_accepts_ids_and_digests() {
        assert!(check_any_reference(&"a".repeat(64)).is_ok());
        assert!(check_any_reference(&format!("sha256:{}", "b".repeat(64))).is_ok());
        assert!(check_any_reference("26e1e9a0e45b").is_ok());
        assert!(check_any_reference("busybox:latest").is_ok());
        assert!(check_any_reference("busy box").is_err());
    }
}
