//! The data root directory, its layout and its lock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::StoreError;

/// Name of the lock file inside the data root; it holds the owning daemon's pid.
const LOCK_FILE: &str = "berth.lock";

/// An opened data root. While this value lives, the process holds an exclusive `flock` on
/// `<root>/berth.lock`, so a second berthd on the same root is refused; the kernel drops the
/// lock when the process dies, so a crash never leaves a stale lock behind.
#[derive(Debug)]
pub struct DataRoot {
    path: PathBuf,
    _lock: Flock<File>,
}

impl DataRoot {
    /// Creates the data root (mode 0711, like dockerd's) if needed and locks it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(path)
            .map_err(|source| StoreError::CreateRoot {
                path: path.to_path_buf(),
                source,
            })?;
        let path = path
            .canonicalize()
            .map_err(|source| StoreError::CreateRoot {
                path: path.to_path_buf(),
                source,
            })?;
        let lock_path = path.join(LOCK_FILE);
        let lock_err = |source| StoreError::Lock {
            path: lock_path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(lock_err)?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                return Err(StoreError::Locked {
                    path,
                    pid: pid.trim().to_string(),
                });
            }
            Err((_, errno)) => return Err(lock_err(errno.into())),
        };
        lock.set_len(0).map_err(lock_err)?;
        lock.seek(SeekFrom::Start(0)).map_err(lock_err)?;
        write!(lock, "{}", std::process::id()).map_err(lock_err)?;
        Ok(Self { path, _lock: lock })
    }

    /// The (canonical) data root path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<root>/berth.db`, the metadata database.
    pub fn db_path(&self) -> PathBuf {
        self.path.join("berth.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_is_refused_until_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let first = DataRoot::open(&root).unwrap();
        let err = DataRoot::open(&root).unwrap_err();
        match &err {
            StoreError::Locked { pid, .. } => assert_eq!(*pid, std::process::id().to_string()),
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(err.to_string().contains("--data-root"));
        drop(first);
        DataRoot::open(&root).unwrap();
    }
}
