//! Layer paths and their resolution inside the layer root.
//!
//! A [`LayerPath`] is an entry name cleaned lexically; a [`Root`] opens directories by such a
//! path with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so that symlinks met on the way
//! resolve as if the root were `/` and can never lead outside it.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// An entry path made safe to resolve: relative, `/`-separated, with no empty, `.` or `..`
/// component. The empty path is the layer root.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LayerPath(Vec<u8>);

/// Why a raw tar path cannot become a [`LayerPath`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CleanError {
    /// A `..` would climb above the layer root.
    ClimbsOut,
    /// The path contains a NUL byte.
    Nul,
}

impl LayerPath {
    /// Strips leading `/`, drops empty and `.` components and applies `..` lexically.
    pub(crate) fn clean(raw: &[u8]) -> Result<Self, CleanError> {
        if raw.contains(&0) {
            return Err(CleanError::Nul);
        }
        let mut parts: Vec<&[u8]> = Vec::new();
        for part in raw.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    parts.pop().ok_or(CleanError::ClimbsOut)?;
                }
                part => parts.push(part),
            }
        }
        Ok(LayerPath(parts.join(&b'/')))
    }

    pub(crate) fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The parent directory and the final component; `None` for the root.
    pub(crate) fn split(&self) -> Option<(LayerPath, &[u8])> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => (LayerPath(self.0[..i].to_vec()), &self.0[i + 1..]),
            None => (LayerPath::default(), &self.0[..]),
        })
    }

    pub(crate) fn join(&self, name: &[u8]) -> LayerPath {
        if self.is_root() {
            return LayerPath(name.to_vec());
        }
        LayerPath([&self.0[..], b"/", name].concat())
    }

    pub(crate) fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.0.split(|&b| b == b'/').filter(|c| !c.is_empty())
    }

    /// The path as bytes (empty for the root).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// This path below `prefix`.
    pub(crate) fn under(&self, prefix: &LayerPath) -> LayerPath {
        if self.is_root() {
            return prefix.clone();
        }
        prefix.join(&self.0)
    }

    /// The path to hand to `openat2`: `.` for the root.
    pub(crate) fn as_os_str(&self) -> &OsStr {
        OsStr::from_bytes(if self.is_root() { b"." } else { &self.0 })
    }
}

impl fmt::Display for LayerPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_os_str().as_bytes()))
    }
}

/// How many times to retry `openat2` when the kernel reports a concurrent rename or mount
/// (`EAGAIN`, possible with `RESOLVE_IN_ROOT`) before giving up.
const OPENAT2_RETRIES: usize = 128;

/// A directory fd every layer path is resolved against, and the directory (relative to it)
/// that layer paths are below: empty for a layer, the destination for `docker cp`.
pub(crate) struct Root {
    fd: OwnedFd,
    prefix: LayerPath,
}

impl Root {
    pub(super) fn open(dir: &Path) -> io::Result<Self> {
        let fd = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root {
            fd,
            prefix: LayerPath::default(),
        })
    }

    /// Paths resolve in `root` (symlinks as if it were `/`), each below `prefix`.
    pub(crate) fn with_prefix(root: OwnedFd, prefix: LayerPath) -> Self {
        Root { fd: root, prefix }
    }

    /// Opens directory `path` (below the prefix), following symlinks on the way as if the
    /// root were `/`.
    pub(crate) fn open_dir(&self, path: &LayerPath) -> io::Result<OwnedFd> {
        open_in_root(
            &self.fd,
            &path.under(&self.prefix),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        )
    }

    /// Opens directory `path`, creating missing components (mode 0755) under in-root resolved
    /// parents, like `mkdir -p` run inside a chroot of the layer.
    pub(super) fn create_dir_all(&self, path: &LayerPath) -> io::Result<OwnedFd> {
        match self.open_dir(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            result => return result,
        }
        let mut prefix = LayerPath::default();
        let mut dir = self.open_dir(&prefix)?;
        for name in path.components() {
            prefix = prefix.join(name);
            dir = match self.open_dir(&prefix) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    self.open_dir(&prefix)?
                }
                result => result?,
            };
        }
        Ok(dir)
    }
}

/// Opens `path` in `root` with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: every
/// symlink met resolves as if `root` were `/`, so the result is always inside it.
pub(crate) fn open_in_root(
    root: impl AsFd,
    path: &LayerPath,
    flags: OFlags,
) -> io::Result<OwnedFd> {
    let root = root.as_fd();
    for _ in 0..OPENAT2_RETRIES {
        match rustix::fs::openat2(
            root,
            path.as_os_str(),
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(Errno::AGAIN) => continue,
            Err(Errno::NOSYS) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "openat2 is not available; resolving paths safely needs Linux 5.6 or later",
                ))
            }
            result => return result.map_err(io::Error::from),
        }
    }
    Err(io::Error::other(
        "openat2 kept failing with EAGAIN (concurrent renames or mounts)",
    ))
}

/// `/proc/self/fd/<dir>/<name>`: names the entry `name` of an already resolved directory
/// without resolving any other path component again. Used for the calls that have no `*at`
/// form (xattrs, recursive removal); with their no-follow variants the final component is not
/// followed either.
pub(crate) fn proc_path(dir: BorrowedFd<'_>, name: &[u8]) -> PathBuf {
    let mut path = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    path.push(OsStr::from_bytes(name));
    path
}

/// `/proc/self/fd/<fd>`: the object an `O_PATH` fd refers to, for calls (chmod) that only
/// exist in a path form.
pub(super) fn proc_fd_path(fd: impl AsFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> Result<String, CleanError> {
        LayerPath::clean(s.as_bytes()).map(|p| String::from_utf8(p.0).unwrap())
    }

    #[test]
    fn clean_strips_root_dots_and_slashes() {
        assert_eq!(clean("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(clean("./a//b/./c/").unwrap(), "a/b/c");
        assert_eq!(clean("a/../b").unwrap(), "b");
        assert_eq!(clean("./").unwrap(), "");
        assert_eq!(clean("/").unwrap(), "");
    }

    #[test]
    fn clean_rejects_climbing_and_nul() {
        assert_eq!(clean("../x"), Err(CleanError::ClimbsOut));
        assert_eq!(clean("a/../../x"), Err(CleanError::ClimbsOut));
        assert_eq!(clean("/../x"), Err(CleanError::ClimbsOut));
        assert_eq!(clean("a\0b"), Err(CleanError::Nul));
    }

    #[test]
    fn split_gives_parent_and_name() {
        let p = LayerPath::clean(b"a/b/c").unwrap();
        let (parent, name) = p.split().unwrap();
        assert_eq!(parent.0, b"a/b");
        assert_eq!(name, b"c");
        let p = LayerPath::clean(b"top").unwrap();
        let (parent, name) = p.split().unwrap();
        assert!(parent.is_root());
        assert_eq!(name, b"top");
        assert!(LayerPath::default().split().is_none());
    }
}
