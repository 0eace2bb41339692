//! The content store: blobs addressed by their sha256 digest under `<root>/blobs/sha256/`.
//!
//! A blob becomes visible only complete and verified: it is written (or moved) into
//! `<root>/blobs/tmp/`, hashed, fsynced, checked against the digest it claims to be, and then
//! renamed to its final name. Readers never see a partial blob.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::StoreError;

/// A `sha256:<64 hex>` digest, checked for shape.
pub fn parse_digest(d: &str) -> Result<&str, StoreError> {
    let hex = d
        .strip_prefix("sha256:")
        .filter(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
        .ok_or_else(|| StoreError::InvalidDigest(d.to_string()))?;
    Ok(hex)
}

/// Content-addressed blob storage.
#[derive(Debug, Clone)]
pub struct ContentStore {
    dir: PathBuf,
    tmp: PathBuf,
}

impl ContentStore {
    /// Opens the store under `root` (creating `blobs/sha256` and `blobs/tmp`) and clears
    /// leftovers of interrupted writes.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let dir = root.join("blobs/sha256");
        let tmp = root.join("blobs/tmp");
        for d in [&dir, &tmp] {
            std::fs::create_dir_all(d).map_err(|e| StoreError::io(d, e))?;
        }
        for entry in std::fs::read_dir(&tmp).map_err(|e| StoreError::io(&tmp, e))? {
            let p = entry.map_err(|e| StoreError::io(&tmp, e))?.path();
            tracing::info!(path = %p.display(), "removing unfinished blob from an earlier run");
            let _ = std::fs::remove_file(&p);
        }
        Ok(Self { dir, tmp })
    }

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn path(&self, digest: &str) -> Result<PathBuf, StoreError> {
        Ok(self.dir.join(parse_digest(digest)?))
    }

    pub fn exists(&self, digest: &str) -> bool {
        self.path(digest).map(|p| p.exists()).unwrap_or(false)
    }

    /// Size of a stored blob.
    pub fn size(&self, digest: &str) -> Result<u64, StoreError> {
        let p = self.path(digest)?;
        std::fs::metadata(&p)
            .map(|m| m.len())
            .map_err(|e| StoreError::io(&p, e))
    }

    /// A fresh temp path on the store's filesystem (for writers that stream into a file
    /// first and [`commit_file`](Self::commit_file) it afterwards).
    pub fn temp_path(&self) -> PathBuf {
        self.tmp.join(format!(
            "ingest-{}",
            hex::encode(rand::random::<[u8; 12]>())
        ))
    }

    /// Streams `r` into the store; returns (digest, size). With `expected`, a mismatch is an
    /// error and nothing is stored.
    pub fn write(
        &self,
        r: &mut dyn Read,
        expected: Option<&str>,
    ) -> Result<(String, u64), StoreError> {
        let tmp = self.temp_path();
        let result = (|| {
            let mut f = File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
            let mut hw = HashingWriter::new(&mut f);
            io::copy(r, &mut hw).map_err(|e| StoreError::io(&tmp, e))?;
            let (digest, size) = hw.finish();
            f.sync_all().map_err(|e| StoreError::io(&tmp, e))?;
            self.publish(&tmp, &digest, expected)?;
            Ok((digest, size))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Moves an existing file (on the same filesystem) into the store under `digest`, which
    /// the caller computed while writing or reading it. The file is fsynced first.
    pub fn commit_file(&self, file: &Path, digest: &str) -> Result<(), StoreError> {
        File::open(file)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(file, e))?;
        self.publish(file, digest, Some(digest))
    }

    fn publish(&self, tmp: &Path, digest: &str, expected: Option<&str>) -> Result<(), StoreError> {
        if let Some(want) = expected {
            if want != digest {
                return Err(StoreError::DigestMismatch {
                    expected: want.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        let dest = self.path(digest)?;
        std::fs::rename(tmp, &dest).map_err(|e| StoreError::io(&dest, e))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Removes a blob; a missing one is not an error.
    pub fn delete(&self, digest: &str) -> Result<(), StoreError> {
        let p = self.path(digest)?;
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&p, e)),
        }
    }

    /// Every stored digest (for consistency checks and tests).
    pub fn list(&self) -> Result<Vec<String>, StoreError> {
        list_digest_dir(&self.dir)
    }
}

/// The entries of a directory named by sha256 hex, as sorted `sha256:<hex>` digests.
pub(crate) fn list_digest_dir(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let e = e.map_err(|e| StoreError::io(dir, e))?;
        out.push(format!("sha256:{}", e.file_name().to_string_lossy()));
    }
    out.sort();
    Ok(out)
}

/// A writer that hashes what passes through.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }
    /// (digest, bytes written)
    pub fn finish(self) -> (String, u64) {
        (
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.size,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what passes through.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }
    /// Reads the rest of the stream, then returns (digest, bytes read).
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.size,
        ))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn write_verifies_and_publishes() {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(dir.path()).unwrap();
        let (d, n) = cs.write(&mut &b"hello"[..], None).unwrap();
        assert_eq!((d.as_str(), n), (HELLO, 5));
        assert!(cs.exists(HELLO));
        assert_eq!(std::fs::read(cs.path(HELLO).unwrap()).unwrap(), b"hello");
        let wrong = format!("sha256:{}", "0".repeat(64));
        let err = cs.write(&mut &b"other"[..], Some(&wrong)).unwrap_err();
        assert!(matches!(err, StoreError::DigestMismatch { .. }), "{err}");
        // Nothing half-written is left behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join("blobs/tmp"))
                .unwrap()
                .count(),
            0
        );
        assert_eq!(cs.list().unwrap(), vec![HELLO.to_string()]);
        cs.delete(HELLO).unwrap();
        cs.delete(HELLO).unwrap();
        assert!(cs.list().unwrap().is_empty());
    }

    #[test]
    fn rejects_malformed_digests() {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(dir.path()).unwrap();
        for bad in ["sha256:../../etc/passwd", "md5:abc", "sha256:ABC", ""] {
            assert!(cs.path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn leftovers_are_cleared_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(dir.path()).unwrap();
        std::fs::write(cs.temp_path(), b"partial").unwrap();
        ContentStore::open(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("blobs/tmp"))
                .unwrap()
                .count(),
            0
        );
    }
}
