//! Network namespaces as files: a new namespace is made on a throw-away thread
//! (`unshare(CLONE_NEWNET)` affects only the calling thread) and kept alive by bind-mounting
//! that thread's `/proc/thread-self/ns/net` onto a file berth owns. Work inside a namespace
//! runs on a fresh thread that `setns`es into it, so the daemon's own (tokio) threads never
//! change namespace.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

use crate::error::{NetError, Result};

/// Creates a new, empty network namespace pinned at `path` (its parent is created).
/// Only `lo` exists in it, down.
pub fn create(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| NetError::io("cannot create", dir, e))?;
    }
    File::create(path).map_err(|e| NetError::io("cannot create", path, e))?;
    let target = path.to_path_buf();
    let made = std::thread::spawn(move || -> Result<()> {
        unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| NetError::Internal(format!("cannot create a network namespace: {e}")))?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| {
            NetError::io(
                "cannot bind-mount the network namespace on",
                &target,
                e.into(),
            )
        })
    })
    .join()
    .map_err(|_| NetError::Internal("the namespace thread panicked".into()))?;
    if made.is_err() {
        let _ = std::fs::remove_file(path);
    }
    made
}

/// Unpins and deletes a namespace file; a missing file is fine. The namespace itself goes
/// when its last process and link are gone.
pub fn remove(path: &Path) -> Result<()> {
    let _ = umount2(path, MntFlags::MNT_DETACH);
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetError::io("cannot remove", path, e)),
    }
}

/// Whether `path` is a pinned namespace (a bind mount of an nsfs inode).
pub fn is_pinned(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
        .unwrap_or(false)
}

/// Runs `f` on a new thread inside the namespace at `ns` (the daemon's own namespace when
/// None), and waits for it without blocking the async runtime.
pub async fn run_in<T, F>(ns: Option<PathBuf>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("berth-netns".into())
        .spawn(move || {
            let _ = tx.send(enter(ns.as_deref()).and_then(|()| f()));
        })
        .map_err(|e| NetError::Internal(format!("cannot start a thread: {e}")))?;
    rx.await
        .map_err(|_| NetError::Internal("the namespace thread panicked".into()))?
}

/// Moves the calling thread into the namespace at `ns` (no-op for None). Only for threads
/// made for the purpose.
pub(crate) fn enter(ns: Option<&Path>) -> Result<()> {
    let Some(path) = ns else { return Ok(()) };
    let f = File::open(path).map_err(|e| NetError::io("cannot open", path, e))?;
    setns(f.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| NetError::io("cannot enter the network namespace", path, e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    #[tokio::test]
    async fn create_enter_remove() {
        if !root() {
            eprintln!("skipped: needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let ns = dir.path().join("netns/t1");
        create(&ns).unwrap();
        assert!(is_pinned(&ns));
        let own = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        let inside = run_in(Some(ns.clone()), || {
            Ok(std::fs::read_link("/proc/thread-self/ns/net").unwrap())
        })
        .await
        .unwrap();
        assert_ne!(own, inside);
        assert_eq!(own, std::fs::read_link("/proc/thread-self/ns/net").unwrap());
        remove(&ns).unwrap();
        assert!(!ns.exists());
        remove(&ns).unwrap();
    }
}
