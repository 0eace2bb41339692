//! `-v`/`Binds` entries (moby `volume/mounts/linux_parser.go` `ParseMountRaw`).

use std::path::PathBuf;

use crate::error::SpecError;
use crate::process::clean_path;

/// Where a `Binds` entry's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindSource {
    /// `/host/path:/ctr`: a bind mount of a host path.
    HostPath(PathBuf),
    /// `name:/ctr`: a named volume (the caller creates it and passes its path back in
    /// `SpecInput::extra_mounts`).
    Volume(String),
    /// `/ctr` alone: an anonymous volume (likewise the caller's).
    Anonymous,
}

/// A parsed `Binds` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindSpec {
    pub source: BindSource,
    /// Cleaned absolute path in the container.
    pub destination: String,
    pub read_only: bool,
    /// `shared`, `rslave`, ... (`None`: Docker's default, `rprivate`).
    pub propagation: Option<String>,
    /// `nocopy`: do not copy the image's content into a new volume.
    pub no_copy: bool,
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

pub(crate) fn is_propagation(mode: &str) -> bool {
    PROPAGATIONS.contains(&mode)
}

/// Mode options, checked like Docker: each kind (rw/ro, z/Z, propagation, nocopy,
/// consistency) at most once. `None` when invalid.
fn parse_mode(mode: &str) -> Option<(bool, Option<String>, bool)> {
    let (mut read_only, mut propagation, mut no_copy) = (false, None, false);
    if mode.is_empty() {
        return Some((read_only, propagation, no_copy));
    }
    let mut counts = [0u8; 5];
    for o in mode.split(',') {
        let kind = match o {
            "rw" | "ro" => {
                read_only = o == "ro";
                0
            }
            "z" | "Z" => 1,
            p if is_propagation(p) => {
                propagation = Some(p.to_string());
                2
            }
            "nocopy" => {
                no_copy = true;
                3
            }
            "consistent" | "cached" | "delegated" => 4,
            _ => return None,
        };
        counts[kind] += 1;
    }
    counts
        .iter()
        .all(|c| *c <= 1)
        .then_some((read_only, propagation, no_copy))
}

/// `[source:]destination[:mode]`, mode a comma list of `ro`/`rw`, `z`/`Z`, a propagation,
/// `nocopy` and a consistency. Sources starting with `/` are host paths, others volume
/// names. Docker's errors: `invalid volume specification: '...'`, `invalid mode: ...`.
pub fn parse_bind(raw: &str) -> Result<BindSpec, SpecError> {
    let spec_err = || SpecError::invalid(format!("invalid volume specification: '{raw}'"));
    let parts: Vec<&str> = raw.splitn(4, ':').collect();
    if parts[0].is_empty() {
        return Err(spec_err());
    }
    let (source, target, mode) = match parts[..] {
        [target] => ("", target, ""),
        [_, second] if parse_mode(second).is_some() => return Err(spec_err()),
        [source, target] => (source, target, ""),
        [source, target, mode] => (source, target, mode),
        _ => return Err(spec_err()),
    };
    let (read_only, propagation, no_copy) =
        parse_mode(mode).ok_or_else(|| SpecError::invalid(format!("invalid mode: {mode}")))?;
    let detail = |kind: &str, what: String| {
        SpecError::invalid(format!(
            "invalid volume specification: '{raw}': invalid mount config for type \"{kind}\": {what}"
        ))
    };
    let kind = if source.starts_with('/') {
        "bind"
    } else {
        "volume"
    };
    if !target.starts_with('/') {
        return Err(detail(
            kind,
            format!("invalid mount path: '{target}' mount path must be absolute"),
        ));
    }
    let destination = clean_path(target);
    if destination == "/" {
        return Err(SpecError::invalid(format!(
            "invalid volume specification: '{raw}': invalid specification: destination can't be '/'"
        )));
    }
    let source = if source.is_empty() {
        BindSource::Anonymous
    } else if source.starts_with('/') {
        if no_copy {
            return Err(detail(
                kind,
                "field VolumeOptions must not be specified".into(),
            ));
        }
        BindSource::HostPath(PathBuf::from(clean_path(source)))
    } else {
        if propagation.is_some() {
            return Err(detail(
                kind,
                "field BindOptions must not be specified".into(),
            ));
        }
        validate_volume_name(source)?;
        BindSource::Volume(source.to_string())
    };
    Ok(BindSpec {
        source,
        destination,
        read_only,
        propagation,
        no_copy,
    })
}

/// Local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn validate_volume_name(name: &str) -> Result<(), SpecError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest: Vec<char> = chars.collect();
    let rest_ok = !rest.is_empty()
        && rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok {
        return Ok(());
    }
    Err(SpecError::invalid(format!(
        "\"{name}\" includes invalid characters for a local volume name, only \
         \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host \
         directory, use absolute path"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> BindSpec {
        parse_bind(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn err(raw: &str) -> String {
        parse_bind(raw).unwrap_err().to_string()
    }

    #[test]
    fn host_paths() {
        let b = ok("/host/dir/:/data//x");
        assert_eq!(b.source, BindSource::HostPath("/host/dir".into()));
        assert_eq!(b.destination, "/data/x");
        assert!(!b.read_only && b.propagation.is_none());
        let b = ok("/h:/c:ro,rshared");
        assert!(b.read_only);
        assert_eq!(b.propagation.as_deref(), Some("rshared"));
        let b = ok("/h:/c:Z,rw,slave,cached");
        assert!(!b.read_only);
        assert_eq!(b.propagation.as_deref(), Some("slave"));
    }

    #[test]
    fn volumes() {
        assert_eq!(ok("/data").source, BindSource::Anonymous);
        let b = ok("mydata:/data:ro,nocopy");
        assert_eq!(b.source, BindSource::Volume("mydata".into()));
        assert!(b.read_only && b.no_copy);
    }

    #[test]
    fn dockers_errors() {
        assert_eq!(err(":/x"), "invalid volume specification: ':/x'");
        assert_eq!(err("/x:ro"), "invalid volume specification: '/x:ro'");
        assert_eq!(
            err("/a:/b:c:d"),
            "invalid volume specification: '/a:/b:c:d'"
        );
        assert_eq!(err("/a:/b:rx"), "invalid mode: rx");
        assert_eq!(err("/a:/b:ro,rw"), "invalid mode: ro,rw");
        assert_eq!(err("/a:/b:shared,slave"), "invalid mode: shared,slave");
        assert_eq!(
            err("/a:rel"),
            "invalid volume specification: '/a:rel': invalid mount config for type \"bind\": \
             invalid mount path: 'rel' mount path must be absolute"
        );
        assert!(err("/a:/").contains("destination can't be '/'"));
        assert!(err("/a:/b:nocopy").contains("field VolumeOptions must not be specified"));
        assert!(err("vol:/b:shared").contains("field BindOptions must not be specified"));
        assert!(err("v@l:/b").contains("includes invalid characters for a local volume name"));
        assert!(err("v:/b").contains("includes invalid characters"));
    }
}
