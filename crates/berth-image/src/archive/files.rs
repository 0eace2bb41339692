//! Finding and reading files inside an extracted archive without leaving it.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use serde::de::DeserializeOwned;

use super::ArchiveError;

/// Metadata files (manifests, indexes, configs) larger than this are
/// rejected instead of read into memory.
const METADATA_LIMIT: u64 = 32 << 20;

/// The archive directory, canonicalized.
pub(super) struct Root {
    path: PathBuf,
}

impl Root {
    pub(super) fn new(dir: &Path) -> Result<Root, ArchiveError> {
        let path = fs::canonicalize(dir).map_err(|source| io_error(dir, source))?;
        Ok(Root { path })
    }

    /// Whether the top-level entry `name` exists (even as a broken link).
    pub(super) fn has(&self, name: &str) -> bool {
        self.path.join(name).symlink_metadata().is_ok()
    }

    /// Resolves `rel`, as written in `referrer`, to a regular file inside the
    /// archive, following symlinks that stay inside.
    pub(super) fn resolve(&self, referrer: &str, rel: &str) -> Result<PathBuf, ArchiveError> {
        let unsafe_path = || ArchiveError::UnsafePath {
            referrer: referrer.to_string(),
            path: rel.to_string(),
        };
        let relative = Path::new(rel);
        let plain = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if rel.is_empty() || !plain {
            return Err(unsafe_path());
        }
        let real = match fs::canonicalize(self.path.join(relative)) {
            Ok(real) => real,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ArchiveError::MissingFile {
                    referrer: referrer.to_string(),
                    path: rel.to_string(),
                })
            }
            Err(e) => return Err(io_error(&self.path.join(relative), e)),
        };
        if !real.starts_with(&self.path) {
            return Err(unsafe_path());
        }
        if !real.is_file() {
            return Err(ArchiveError::NotAFile {
                referrer: referrer.to_string(),
                path: rel.to_string(),
            });
        }
        Ok(real)
    }

    /// Resolves the blob of `digest` (`sha256:<hex>`) in `blobs/sha256/`.
    pub(super) fn blob(&self, referrer: &str, digest: &str) -> Result<PathBuf, ArchiveError> {
        self.resolve(referrer, &blob_path(digest)?)
    }
}

/// `blobs/sha256/<hex>` for a `sha256:<hex>` digest.
pub(super) fn blob_path(digest: &str) -> Result<String, ArchiveError> {
    match digest.split_once(':') {
        Some(("sha256", hex))
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(format!("blobs/sha256/{hex}"))
        }
        _ => Err(ArchiveError::UnsupportedDigest(digest.to_string())),
    }
}

/// The digest a `blobs/<algorithm>/<hex>` path names, if it is one.
pub(super) fn digest_of_blob_path(rel: &str) -> Option<String> {
    match rel.split('/').collect::<Vec<_>>()[..] {
        ["blobs", algorithm, hex] if !algorithm.is_empty() && !hex.is_empty() => {
            Some(format!("{algorithm}:{hex}"))
        }
        _ => None,
    }
}

/// Reads a metadata file, refusing files over [`METADATA_LIMIT`].
pub(super) fn read_metadata(path: &Path, name: &str) -> Result<Vec<u8>, ArchiveError> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut bytes = Vec::new();
    file.take(METADATA_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    if bytes.len() as u64 > METADATA_LIMIT {
        return Err(ArchiveError::TooLarge {
            file: name.to_string(),
            limit: METADATA_LIMIT,
        });
    }
    Ok(bytes)
}

pub(super) fn parse_json<T: DeserializeOwned>(bytes: &[u8], name: &str) -> Result<T, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|source| ArchiveError::Json {
        file: name.to_string(),
        source,
    })
}

pub(super) fn io_error(path: &Path, source: io::Error) -> ArchiveError {
    ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolves_only_inside() {
        let outside = tempfile::NamedTempFile::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("a")).unwrap();
        fs::create_dir_all(d.join("b")).unwrap();
        fs::write(d.join("a/layer.tar"), b"x").unwrap();
        symlink("../a/layer.tar", d.join("b/layer.tar")).unwrap();
        symlink(outside.path(), d.join("out")).unwrap();
        symlink("missing", d.join("dangling")).unwrap();
        let root = Root::new(d).unwrap();
        let real = fs::canonicalize(d.join("a/layer.tar")).unwrap();
        assert_eq!(root.resolve("m", "a/layer.tar").unwrap(), real);
        assert_eq!(root.resolve("m", "./b/layer.tar").unwrap(), real);
        let err = |rel: &str| root.resolve("manifest.json", rel).unwrap_err().to_string();
        let outside_msg = "which is outside the archive";
        assert!(err("../x").contains(outside_msg));
        assert!(err("a/../a/layer.tar").contains(outside_msg));
        assert!(err("/etc/passwd").contains(outside_msg));
        assert!(err("").contains(outside_msg));
        assert!(err("out").contains(outside_msg));
        assert_eq!(err("nope"), "manifest.json references missing file nope");
        assert_eq!(
            err("dangling"),
            "manifest.json references missing file dangling"
        );
        assert_eq!(
            err("a"),
            "manifest.json references a, which is not a regular file"
        );
        assert!(root.has("dangling") && !root.has("nope"));
    }

    #[test]
    fn blob_paths() {
        let hex = "ab".repeat(32);
        assert_eq!(
            blob_path(&format!("sha256:{hex}")).unwrap(),
            format!("blobs/sha256/{hex}")
        );
        for bad in ["sha256:abc", "sha512:ab", "sha256:../../etc", "nope"] {
            assert!(blob_path(bad).is_err(), "{bad}");
        }
        assert_eq!(
            digest_of_blob_path("blobs/sha256/ab").as_deref(),
            Some("sha256:ab")
        );
        assert_eq!(digest_of_blob_path("abc/layer.tar"), None);
        assert_eq!(digest_of_blob_path("blobs/sha256/ab/c"), None);
    }

    #[test]
    fn metadata_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let file = File::create(&path).unwrap();
        file.set_len(METADATA_LIMIT + 1).unwrap();
        let err = read_metadata(&path, "big.json").unwrap_err().to_string();
        assert!(err.starts_with("big.json is over"), "{err}");
    }
}
