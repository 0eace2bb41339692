//! A container's root filesystem seen from the host, for `docker cp` (both ways) and
//! `docker export`: stat a path, tar a path, extract a tar into a directory, tar everything.
//!
//! # Safety model
//!
//! The container controls every file in its root filesystem, symlinks included. Every path
//! the client names is resolved with `openat2(RESOLVE_IN_ROOT)` against a directory fd of the
//! container's root ([`ContainerRoot`]), so `/escape -> /` or `../../..` resolve as the
//! container itself would resolve them and never reach a host file (CVE-2018-15664,
//! CVE-2019-14271). The final component is then only touched through its parent fd without
//! being followed; tars are written by walking directory fds with `O_NOFOLLOW`, and tars are
//! extracted by `unpack`'s in-root extractor (see its module docs), rooted at the container's
//! root and prefixed with the destination directory.
//!
//! # Path semantics (dockerd's `ResolvePath` / `StatPath`)
//!
//! A path is taken as absolute in the container and cleaned lexically, keeping a trailing `/`
//! or `/.`. Every component but the last is followed; the last is not, unless the path ends in
//! `/` or `/.`. A tar of `/a/b` names its entries `b`, `b/...`; of `/a/b/.`, `.`, `./...`; of
//! `/`, `/` and `/...` (dockerd's names: the docker CLI rebases them). Extraction follows every
//! component, the last included, which must be a directory.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, OFlags, Stat};
use rustix::io::Errno;

use crate::overlay::{mount_detached, OverlayDirs};
use crate::unpack::resolve::{open_in_root, LayerPath, Root};
use crate::unpack::{extract_tar, pack_contents, pack_entry, ExtractOptions, UnpackError};
use crate::StoreError;

/// Why a container path operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The path (or a directory on the way) does not exist.
    #[error("no such file or directory")]
    NotFound,
    /// A component that must be a directory is not one (or the extraction point is not).
    #[error("not a directory")]
    NotADirectory,
    /// The path is invalid (NUL byte, symlink loop).
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing the tar failed.
    #[error(transparent)]
    Tar(#[from] UnpackError),
    #[error("{0}")]
    Io(io::Error),
}

impl From<io::Error> for ArchiveError {
    fn from(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(c) if c == Errno::NOENT.raw_os_error() => ArchiveError::NotFound,
            Some(c) if c == Errno::NOTDIR.raw_os_error() => ArchiveError::NotADirectory,
            Some(c) if c == Errno::LOOP.raw_os_error() => {
                ArchiveError::Invalid("too many levels of symbolic links".into())
            }
            _ => ArchiveError::Io(e),
        }
    }
}

impl From<Errno> for ArchiveError {
    fn from(e: Errno) -> Self {
        io::Error::from(e).into()
    }
}

/// What `docker cp` shows of a path: dockerd's `ContainerPathStat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// The last element of the requested path (`/` for the root, `.` for `/x/.`).
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode` bits (type bits high, permissions low), which the docker CLI reads.
    pub mode: u32,
    /// Modification time: seconds and nanoseconds since the epoch.
    pub mtime: (i64, u32),
    /// For a symlink: its target fully resolved inside the container, absolute.
    pub link_target: String,
}

/// A path as the client gave it, split the way dockerd's `ResolvePath` splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CpPath {
    /// Everything but the last element, followed fully.
    dir: LayerPath,
    /// The last element: empty when the path ends in `/` (or is `/`), `.` when in `/.`.
    base: Vec<u8>,
    /// Go's `filepath.Base` of the absolute path.
    name: String,
}

impl CpPath {
    fn parse(raw: &str) -> Result<Self, ArchiveError> {
        if raw.contains('\0') {
            return Err(ArchiveError::Invalid("the path contains a NUL byte".into()));
        }
        // filepath.Join("/", raw): lexical clean, `..` stops at the root.
        let mut parts: Vec<&str> = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                p => parts.push(p),
            }
        }
        // Go's filepath.Base(raw) == "." (`x/.`, `x/./`, `.`): the directory itself.
        let trailing_dot =
            raw.trim_end_matches('/').rsplit('/').next() == Some(".") || raw.is_empty();
        let (dir_parts, base): (&[&str], Vec<u8>) = if trailing_dot {
            (&parts[..], b".".to_vec())
        } else if raw.ends_with('/') || parts.is_empty() {
            (&parts[..], Vec::new())
        } else {
            let (last, dir) = parts.split_last().expect("not empty");
            (dir, last.as_bytes().to_vec())
        };
        let name = if trailing_dot {
            ".".to_string()
        } else {
            parts.last().map_or("/", |s| s).to_string()
        };
        let dir = LayerPath::clean(dir_parts.join("/").as_bytes())
            .map_err(|_| ArchiveError::Invalid("invalid path".into()))?;
        Ok(CpPath { dir, base, name })
    }

    /// The whole path, every component to be followed.
    fn full(&self) -> LayerPath {
        match self.base.as_slice() {
            b"" | b"." => self.dir.clone(),
            base => self.dir.join(base),
        }
    }
}

/// A path resolved in the container: its parent directory open, the last element by name.
struct Resolved {
    dir: OwnedFd,
    /// `.` for the directory itself.
    base: Vec<u8>,
    path: CpPath,
}

/// An open container root filesystem. Holds a directory fd of its root; for a detached
/// mount (a stopped container) that fd is what keeps the mount alive, and dropping the
/// handle unmounts it.
pub struct ContainerRoot {
    fd: OwnedFd,
    /// Where the root is in berthd's mount namespace (`/` for a detached mount), to turn
    /// `/proc/self/fd` links back into container paths.
    host_path: PathBuf,
}

impl ContainerRoot {
    /// The root filesystem mounted at `path` (a running container's `rootfs`).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| StoreError::io(path, e.into()))?;
        Self::from_fd(fd).map_err(|e| StoreError::io(path, e))
    }

    /// The overlay of `dirs` mounted detached: only this handle can reach it, and nothing is
    /// left mounted after it drops (see [`mount_detached`]).
    pub fn mount(dirs: &OverlayDirs) -> Result<Self, StoreError> {
        let fd = mount_detached(dirs)?;
        Self::from_fd(fd).map_err(|e| StoreError::io(&dirs.upper, e))
    }

    fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        let host_path = fd_path(&fd)?;
        Ok(Self { fd, host_path })
    }

    /// Whether the root is an overlayfs (a mounted container root, not a bare directory).
    pub fn is_overlay(&self) -> bool {
        const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
        rustix::fs::fstatfs(&self.fd)
            .map(|s| s.f_type == OVERLAYFS_SUPER_MAGIC)
            .unwrap_or(false)
    }

    /// `/proc/self/fd/<root fd>`: the root as a path, for code that resolves paths in a
    /// root directory itself (valid while this handle lives).
    pub fn proc_path(&self) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    fn resolve(&self, raw: &str) -> Result<Resolved, ArchiveError> {
        let path = CpPath::parse(raw)?;
        let dir = open_in_root(&self.fd, &path.dir, OFlags::RDONLY | OFlags::DIRECTORY)?;
        let base = if path.base.is_empty() {
            b".".to_vec()
        } else {
            path.base.clone()
        };
        Ok(Resolved { dir, base, path })
    }

    /// dockerd's `StatPath`: the last element is not followed unless the path ends in `/`
    /// or `/.`.
    pub fn stat(&self, raw: &str) -> Result<PathStat, ArchiveError> {
        let r = self.resolve(raw)?;
        let st = rustix::fs::statat(&r.dir, r.base.as_slice(), AtFlags::SYMLINK_NOFOLLOW)?;
        let link_target = if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            self.link_target(&r)?
        } else {
            String::new()
        };
        Ok(PathStat {
            name: r.path.name.clone(),
            size: st.st_size,
            mode: go_file_mode(&st),
            mtime: (st.st_mtime, st.st_mtime_nsec as u32),
            link_target,
        })
    }

    /// The symlink `r` fully resolved in the container, as an absolute container path; a
    /// dangling one is resolved as far as it exists, the rest appended lexically.
    fn link_target(&self, r: &Resolved) -> Result<String, ArchiveError> {
        match open_in_root(&self.fd, &r.path.full(), OFlags::PATH) {
            Ok(fd) => Ok(String::from_utf8_lossy(&self.container_path(&fd)?).into_owned()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let target = rustix::fs::readlinkat(&r.dir, r.base.as_slice(), Vec::new())?;
                let target = target.as_bytes();
                let joined = if target.starts_with(b"/") {
                    target.to_vec()
                } else {
                    let dir = self.container_path(&r.dir)?;
                    [&dir[..], b"/", target].concat()
                };
                let clean = LayerPath::clean(&joined).unwrap_or_default();
                Ok(format!("/{}", String::from_utf8_lossy(clean.as_bytes())))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The container path of an fd opened inside this root (absolute, raw bytes).
    fn container_path(&self, fd: &OwnedFd) -> io::Result<Vec<u8>> {
        let p = fd_path(fd)?;
        let rel = p.strip_prefix(&self.host_path).map_err(|_| {
            io::Error::other(format!(
                "{} is not inside the container root {}",
                p.display(),
                self.host_path.display()
            ))
        })?;
        Ok([b"/", rel.as_os_str().as_bytes()].concat())
    }

    /// Writes a tar of the path to `out` (stat it first: this resolves again). Entries are
    /// named after the requested path's last element.
    pub fn archive<W: Write>(&self, raw: &str, out: W) -> Result<(), ArchiveError> {
        let r = self.resolve(raw)?;
        let name: &[u8] = match r.path.name.as_str() {
            "/" => b"",
            n => n.as_bytes(),
        };
        pack_entry(&r.dir, &r.base, name, out)?;
        Ok(())
    }

    /// Extracts the tar `tar` into the directory `raw` (every component followed, in the
    /// container). Returns the number of entries applied.
    pub fn extract<R: Read>(
        &self,
        raw: &str,
        tar: R,
        opts: ExtractOptions,
    ) -> Result<u64, ArchiveError> {
        let path = CpPath::parse(raw)?;
        let target = open_in_root(&self.fd, &path.full(), OFlags::PATH)?;
        let st = rustix::fs::fstat(&target)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return Err(ArchiveError::NotADirectory);
        }
        let prefix = self.container_path(&target)?;
        let prefix = LayerPath::clean(&prefix)
            .map_err(|_| ArchiveError::Invalid("invalid destination".into()))?;
        let root = Root::with_prefix(rustix::io::fcntl_dupfd_cloexec(&self.fd, 0)?, prefix);
        Ok(extract_tar(tar, root, opts)?.entries)
    }

    /// Writes a tar of the whole root filesystem (`docker export`), names relative.
    pub fn export<W: Write>(&self, out: W) -> Result<(), ArchiveError> {
        pack_contents(&self.fd, out)?;
        Ok(())
    }
}

/// Where `fd` is, as `/proc/self/fd` says.
fn fd_path(fd: impl AsFd) -> io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()))
}

/// Go's `os.FileMode` for a stat: permission bits plus Go's type and special bits.
pub fn go_file_mode(st: &Stat) -> u32 {
    const DIR: u32 = 1 << 31;
    const SYMLINK: u32 = 1 << 27;
    const DEVICE: u32 = 1 << 26;
    const NAMED_PIPE: u32 = 1 << 25;
    const SOCKET: u32 = 1 << 24;
    const SETUID: u32 = 1 << 23;
    const SETGID: u32 = 1 << 22;
    const CHAR_DEVICE: u32 = 1 << 21;
    const STICKY: u32 = 1 << 20;
    let raw = st.st_mode;
    let mut mode = raw & 0o777;
    mode |= match FileType::from_raw_mode(raw) {
        FileType::Directory => DIR,
        FileType::Symlink => SYMLINK,
        FileType::BlockDevice => DEVICE,
        FileType::CharacterDevice => DEVICE | CHAR_DEVICE,
        FileType::Fifo => NAMED_PIPE,
        FileType::Socket => SOCKET,
        _ => 0,
    };
    for (bit, go) in [(0o4000, SETUID), (0o2000, SETGID), (0o1000, STICKY)] {
        if raw & bit != 0 {
            mode |= go;
        }
    }
    mode
}

#[cfg(test)]
mod tests;
