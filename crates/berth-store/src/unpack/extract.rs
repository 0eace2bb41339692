//! Applying a layer tar to a directory. See the module docs for the safety model: every entry
//! is created through its parent directory opened in-root ([`Root`]), by final-component `*at`
//! calls that never follow it.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Timespec, Timestamps, Uid, XattrFlags};
use rustix::io::Errno;
use tar::EntryType;

use super::digest::HashReader;
use super::resolve::{proc_fd_path, proc_path, CleanError, LayerPath, Root};
use super::whiteout::{self, Whiteout};
use super::{Context, ExtractOptions, UnpackError, UnpackStats};

/// Read buffer for the tar stream and copy buffer for file contents.
const BUF_SIZE: usize = 256 * 1024;

/// Unpacks the uncompressed layer tar `tar` into `dest`, an existing empty directory.
///
/// Whiteouts are converted to overlayfs form, ownership, modes, xattrs and mtimes are preserved,
/// and nothing is ever created or changed outside `dest` (see the module docs). On error `dest`
/// is left half-populated for the caller to remove. The diff ID covers every byte of `tar` up
/// to EOF, so the stream is drained after the end-of-archive marker.
pub fn unpack_layer<R: Read>(tar: R, dest: &Path) -> Result<UnpackStats, UnpackError> {
    let root = Root::open(dest).map_err(|source| UnpackError::Dir {
        path: dest.to_owned(),
        source,
    })?;
    apply_tar(tar, root, TarKind::Layer)
}

/// Extracts a plain (non-layer) tar below `root`'s prefix, as `docker cp` does: no whiteout
/// conversion, a `.` entry does not touch the destination, and `opts` say whether a
/// directory may replace a non-directory (or the reverse) and whose owner entries get.
pub(crate) fn extract_tar<R: Read>(
    tar: R,
    root: Root,
    opts: ExtractOptions,
) -> Result<UnpackStats, UnpackError> {
    apply_tar(tar, root, TarKind::Copy(opts))
}

/// What kind of tar is applied.
#[derive(Clone, Copy)]
enum TarKind {
    /// An image layer: whiteouts become overlayfs ones, the root entry sets the root's metadata.
    Layer,
    /// Files copied into a container.
    Copy(ExtractOptions),
}

fn apply_tar<R: Read>(tar: R, root: Root, mode: TarKind) -> Result<UnpackStats, UnpackError> {
    let mut archive = tar::Archive::new(BufReader::with_capacity(BUF_SIZE, HashReader::new(tar)));
    let mut x = Extractor {
        root,
        mode,
        dir_times: Vec::new(),
        buf: vec![0; BUF_SIZE],
        size: 0,
        entries: 0,
    };
    for entry in archive.entries().map_err(UnpackError::Tar)? {
        x.apply(&mut entry.map_err(UnpackError::Tar)?)?;
    }
    x.set_dir_times()?;
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(UnpackError::Tar)?;
    Ok(UnpackStats {
        diff_id: rest.into_inner().finish(),
        size: x.size,
        entries: x.entries,
    })
}

struct Extractor {
    root: Root,
    mode: TarKind,
    /// Directory mtimes, applied last: creating entries inside a directory changes its mtime.
    dir_times: Vec<(LayerPath, Timespec)>,
    buf: Vec<u8>,
    size: u64,
    entries: u64,
}

/// An entry's final component inside its parent directory, opened in-root.
struct At<'a> {
    dir: OwnedFd,
    name: &'a [u8],
}

/// The metadata of an entry, from its header and PAX records.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Timespec,
    xattrs: Vec<(OsString, Vec<u8>)>,
}

fn invalid(entry: &str, reason: impl Into<String>) -> UnpackError {
    UnpackError::Invalid {
        entry: entry.to_owned(),
        reason: reason.into(),
    }
}

impl Extractor {
    fn apply<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        self.entries += 1;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let path = LayerPath::clean(&raw).map_err(|e| match e {
            CleanError::ClimbsOut => UnpackError::Escape {
                entry: name.clone(),
                reason: "climbs out of the layer with \"..\"".into(),
            },
            CleanError::Nul => invalid(&name, "its path contains a NUL byte"),
        })?;
        let layer = matches!(self.mode, TarKind::Layer);
        // aufs metadata (`.wh..wh.plnk/…`, `.wh..wh.aufs`) is skipped whole, as Docker does.
        if layer
            && path
                .components()
                .next()
                .is_some_and(|first| whiteout::classify(first) == Some(Whiteout::Meta))
        {
            return Ok(());
        }
        if !matches!(
            kind,
            EntryType::Regular
                | EntryType::Directory
                | EntryType::Symlink
                | EntryType::Link
                | EntryType::Char
                | EntryType::Block
                | EntryType::Fifo
        ) {
            return Err(UnpackError::Unsupported {
                entry: name,
                kind: format!("{kind:?}"),
            });
        }
        let mut meta = Meta::read(entry, &name)?;
        if let TarKind::Copy(ExtractOptions {
            chown: Some((uid, gid)),
            ..
        }) = self.mode
        {
            (meta.uid, meta.gid) = (uid, gid);
        }

        let Some((parent, base)) = path.split() else {
            if kind != EntryType::Directory {
                return Err(invalid(
                    &name,
                    "only a directory can stand for the layer root",
                ));
            }
            if !layer {
                // `docker cp dir/. ctr:/dest`: the destination keeps its own metadata.
                return Ok(());
            }
            let dir = self
                .root
                .open_dir(&path)
                .ctx(&name, "open the layer root")?;
            set_fd_meta(&dir, &meta, &name)?;
            self.dir_times.push((path, meta.mtime));
            return Ok(());
        };
        if let Some(wh) = whiteout::classify(base).filter(|_| layer) {
            return self.whiteout(&name, &parent, wh, &meta);
        }
        let at = At {
            dir: self
                .root
                .create_dir_all(&parent)
                .ctx(&name, "create its parent directories")?,
            name: base,
        };
        if let TarKind::Copy(ExtractOptions {
            no_overwrite_dir_non_dir: true,
            ..
        }) = self.mode
        {
            refuse_dir_non_dir(&at, kind == EntryType::Directory, &name)?;
        }
        match kind {
            EntryType::Directory => {
                if !clear(&at, true).ctx(&name, "replace what is there")? {
                    rustix::fs::mkdirat(&at.dir, at.name, Mode::from_raw_mode(0o700))
                        .ctx(&name, "create the directory")?;
                }
                let dir = rustix::fs::openat(
                    &at.dir,
                    at.name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .ctx(&name, "open the directory")?;
                set_fd_meta(&dir, &meta, &name)?;
                self.dir_times.push((path.clone(), meta.mtime));
                Ok(())
            }
            EntryType::Regular => self.file(entry, &name, &at, &meta),
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid(&name, "symlink without a target"))?;
                clear(&at, false).ctx(&name, "replace what is there")?;
                rustix::fs::symlinkat(OsStr::from_bytes(&target), &at.dir, at.name)
                    .ctx(&name, "create the symlink")?;
                set_at_meta(&at, &meta, &name, true)
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid(&name, "hardlink without a target"))?;
                self.hardlink(&name, &at, &target)
            }
            _ => {
                let header = entry.header();
                let (raw_major, raw_minor) = header
                    .as_ustar()
                    .map(|h| (h.dev_major, h.dev_minor))
                    .or_else(|| header.as_gnu().map(|h| (h.dev_major, h.dev_minor)))
                    .unwrap_or_default();
                let dev = |raw: [u8; 8], parsed| {
                    numeric(&raw, parsed)
                        .map(Option::unwrap_or_default)
                        .map_err(|e| invalid(&name, format!("bad device number: {e}")))
                };
                let file_type = match kind {
                    EntryType::Char => FileType::CharacterDevice,
                    EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let dev = rustix::fs::makedev(
                    dev(raw_major, header.device_major())?,
                    dev(raw_minor, header.device_minor())?,
                );
                clear(&at, false).ctx(&name, "replace what is there")?;
                rustix::fs::mknodat(
                    &at.dir,
                    at.name,
                    file_type,
                    Mode::from_raw_mode(meta.mode),
                    dev,
                )
                .ctx(&name, "create the device node")?;
                set_at_meta(&at, &meta, &name, false)
            }
        }
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
        at: &At<'_>,
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        clear(at, false).ctx(name, "replace what is there")?;
        let fd = rustix::fs::openat(
            &at.dir,
            at.name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .ctx(name, "create the file")?;
        let mut file = File::from(fd);
        let expected = entry.size();
        let written = copy(entry, &mut file, &mut self.buf).ctx(name, "write the file")?;
        if written != expected {
            return Err(UnpackError::Tar(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("entry {name:?} is truncated ({written} of {expected} bytes)"),
            )));
        }
        self.size += written;
        set_fd_meta(&file, meta, name)?;
        rustix::fs::futimens(&file, &times(meta.mtime)).ctx(name, "set its modification time")
    }

    fn hardlink(&self, name: &str, at: &At<'_>, target_raw: &[u8]) -> Result<(), UnpackError> {
        let target = LayerPath::clean(target_raw).map_err(|e| match e {
            CleanError::ClimbsOut => UnpackError::Escape {
                entry: name.to_owned(),
                reason: format!(
                    "is a hardlink to {:?}, which climbs out of the layer with \"..\"",
                    String::from_utf8_lossy(target_raw)
                ),
            },
            CleanError::Nul => invalid(name, "its hardlink target contains a NUL byte"),
        })?;
        let Some((target_parent, target_name)) = target.split() else {
            return Err(invalid(name, "it is a hardlink to the layer root"));
        };
        let target_dir = self
            .root
            .open_dir(&target_parent)
            .ctx(name, "find its hardlink target")?;
        let target_st = rustix::fs::statat(&target_dir, target_name, AtFlags::SYMLINK_NOFOLLOW)
            .ctx(name, "find its hardlink target")?;
        if FileType::from_raw_mode(target_st.st_mode) == FileType::Directory {
            return Err(invalid(name, "it is a hardlink to a directory"));
        }
        if let Ok(st) = rustix::fs::statat(&at.dir, at.name, AtFlags::SYMLINK_NOFOLLOW) {
            if (st.st_dev, st.st_ino) == (target_st.st_dev, target_st.st_ino) {
                return Ok(());
            }
        }
        clear(at, false).ctx(name, "replace what is there")?;
        // No AT_SYMLINK_FOLLOW: a hardlink to a symlink links the symlink itself.
        rustix::fs::linkat(&target_dir, target_name, &at.dir, at.name, AtFlags::empty())
            .ctx(name, "create the hardlink")
    }

    fn whiteout(
        &mut self,
        name: &str,
        parent: &LayerPath,
        wh: Whiteout<'_>,
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        match wh {
            Whiteout::Meta => Ok(()),
            Whiteout::Opaque => {
                let dir = self
                    .root
                    .create_dir_all(parent)
                    .ctx(name, "create its directory")?;
                whiteout::mark_opaque(&dir).ctx(name, "mark its directory opaque")
            }
            Whiteout::Remove(hidden) => {
                if matches!(hidden, b"" | b"." | b"..") {
                    return Err(invalid(name, "a whiteout must name a file"));
                }
                let at = At {
                    dir: self
                        .root
                        .create_dir_all(parent)
                        .ctx(name, "create its parent directories")?,
                    name: hidden,
                };
                clear(&at, false).ctx(name, "replace what is there")?;
                whiteout::make(&at.dir, hidden, meta.uid, meta.gid)
                    .ctx(name, "create the whiteout")?;
                rustix::fs::utimensat(
                    &at.dir,
                    hidden,
                    &times(meta.mtime),
                    AtFlags::SYMLINK_NOFOLLOW,
                )
                .ctx(name, "set its modification time")
            }
        }
    }

    /// Applies the recorded directory mtimes, skipping directories a later entry replaced.
    fn set_dir_times(&mut self) -> Result<(), UnpackError> {
        for (path, mtime) in std::mem::take(&mut self.dir_times) {
            let name = path.to_string();
            let Some((parent, base)) = path.split() else {
                let dir = self
                    .root
                    .open_dir(&path)
                    .ctx(&name, "open the layer root")?;
                rustix::fs::futimens(&dir, &times(mtime))
                    .ctx(&name, "set its modification time")?;
                continue;
            };
            let dir = match self.root.open_dir(&parent) {
                Ok(dir) => dir,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e).ctx(&name, "open its parent directory"),
            };
            match rustix::fs::statat(&dir, base, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                    rustix::fs::utimensat(&dir, base, &times(mtime), AtFlags::SYMLINK_NOFOLLOW)
                        .ctx(&name, "set its modification time")?
                }
                Ok(_) | Err(Errno::NOENT) => {}
                Err(e) => return Err(e).ctx(&name, "stat it"),
            }
        }
        Ok(())
    }
}

impl Meta {
    fn read<R: Read>(entry: &mut tar::Entry<'_, R>, name: &str) -> Result<Meta, UnpackError> {
        let header = entry.header();
        let raw = header.as_old();
        let bad = |field: &str, e: io::Error| invalid(name, format!("bad {field} in header: {e}"));
        let id = |field: &str, raw: &[u8], v: io::Result<u64>| {
            let v = numeric(raw, v).map_err(|e| bad(field, e))?;
            u32::try_from(v).map_err(|_| invalid(name, format!("{field} {v} is out of range")))
        };
        let mode = numeric(&raw.mode, header.mode()).map_err(|e| bad("mode", e))? & 0o7777;
        let uid = id("uid", &raw.uid, header.uid())?;
        let gid = id("gid", &raw.gid, header.gid())?;
        let secs = numeric(&raw.mtime, header.mtime()).map_err(|e| bad("mtime", e))?;
        let mut mtime = Timespec {
            tv_sec: i64::try_from(secs).unwrap_or(i64::MAX),
            tv_nsec: 0,
        };
        let mut xattrs = Vec::new();
        if let Some(pax) = entry.pax_extensions().map_err(UnpackError::Tar)? {
            for record in pax {
                let record = record.map_err(|e| bad("PAX record", e))?;
                let key = record.key_bytes();
                if key == b"mtime" {
                    if let Some(t) = parse_pax_time(record.value_bytes()) {
                        mtime = t;
                    }
                } else if let Some(attr) = key.strip_prefix(b"SCHILY.xattr.") {
                    if attr.starts_with(whiteout::OVERLAY_XATTR_PREFIX.as_bytes()) {
                        tracing::warn!(
                            entry = name,
                            xattr = %String::from_utf8_lossy(attr),
                            "ignoring overlayfs xattr in layer tar"
                        );
                        continue;
                    }
                    xattrs.push((
                        OsStr::from_bytes(attr).to_owned(),
                        record.value_bytes().to_vec(),
                    ));
                }
            }
        }
        Ok(Meta {
            mode,
            uid,
            gid,
            mtime,
            xattrs,
        })
    }
}

/// A numeric header field as parsed by the tar crate, except that an empty one (all NULs or
/// spaces) reads as 0, as Go's archive/tar — which wrote most layers — reads it.
fn numeric<T: Default>(raw: &[u8], parsed: io::Result<T>) -> io::Result<T> {
    match parsed {
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(T::default()),
        parsed => parsed,
    }
}

/// Parses a PAX time (`[-]seconds[.fraction]`).
fn parse_pax_time(value: &[u8]) -> Option<Timespec> {
    let s = std::str::from_utf8(value).ok()?;
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if secs.is_empty() || !digits(secs) || !digits(frac) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let nanos: i64 = format!("{:0<9}", &frac[..frac.len().min(9)]).parse().ok()?;
    Some(match (negative, nanos) {
        (false, _) => Timespec {
            tv_sec: secs,
            tv_nsec: nanos,
        },
        (true, 0) => Timespec {
            tv_sec: -secs,
            tv_nsec: 0,
        },
        (true, _) => Timespec {
            tv_sec: -secs - 1,
            tv_nsec: 1_000_000_000 - nanos,
        },
    })
}

fn times(mtime: Timespec) -> Timestamps {
    Timestamps {
        last_access: mtime,
        last_modification: mtime,
    }
}

/// Makes room for a new entry at `at`: a later tar entry replaces an earlier one with the same
/// path. An existing directory is kept (returning `true`) when `keep_dir`, else removed with its
/// contents; anything else is unlinked.
fn clear(at: &At<'_>, keep_dir: bool) -> io::Result<bool> {
    match rustix::fs::statat(&at.dir, at.name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(e.into()),
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
            if !keep_dir {
                // std's remove_dir_all never follows symlinks below the directory.
                std::fs::remove_dir_all(proc_path(at.dir.as_fd(), at.name))?;
            }
            Ok(keep_dir)
        }
        Ok(_) => {
            rustix::fs::unlinkat(&at.dir, at.name, AtFlags::empty())?;
            Ok(false)
        }
    }
}

/// `noOverwriteDirNonDir`: an existing directory may not be replaced by a non-directory, nor
/// an existing non-directory by a directory.
fn refuse_dir_non_dir(at: &At<'_>, entry_is_dir: bool, name: &str) -> Result<(), UnpackError> {
    let existing_is_dir = match rustix::fs::statat(&at.dir, at.name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e).ctx(name, "stat what is there"),
        Ok(st) => FileType::from_raw_mode(st.st_mode) == FileType::Directory,
    };
    match (existing_is_dir, entry_is_dir) {
        (true, false) => Err(invalid(
            name,
            "cannot overwrite a directory with a non-directory",
        )),
        (false, true) => Err(invalid(
            name,
            "cannot overwrite a non-directory with a directory",
        )),
        _ => Ok(()),
    }
}

/// Copies an entry's contents into the file through the reusable buffer.
fn copy(mut from: impl Read, to: &mut File, buf: &mut [u8]) -> io::Result<u64> {
    let mut total = 0;
    loop {
        match from.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                to.write_all(&buf[..n])?;
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Owner, mode and xattrs of an entry open as `fd` (regular files and directories). Owner
/// first: chown clears setuid/setgid bits and `security.capability`.
fn set_fd_meta(fd: impl AsFd, meta: &Meta, name: &str) -> Result<(), UnpackError> {
    let fd = fd.as_fd();
    rustix::fs::fchown(
        fd,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
    )
    .ctx(name, "set its owner")?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(meta.mode)).ctx(name, "set its mode")?;
    for (key, value) in &meta.xattrs {
        let result = rustix::fs::fsetxattr(fd, key.as_os_str(), value, XattrFlags::empty());
        xattr_result(result.map_err(io::Error::from), key, name, false)?;
    }
    Ok(())
}

/// Owner, mode, xattrs and mtime of a symlink or device node, without following it.
fn set_at_meta(at: &At<'_>, meta: &Meta, name: &str, symlink: bool) -> Result<(), UnpackError> {
    rustix::fs::chownat(
        &at.dir,
        at.name,
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .ctx(name, "set its owner")?;
    if !symlink {
        // No fchmodat(AT_SYMLINK_NOFOLLOW) on Linux before fchmodat2; chmod the inode an
        // O_PATH|O_NOFOLLOW fd refers to instead.
        let node = rustix::fs::openat(
            &at.dir,
            at.name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ctx(name, "set its mode")?;
        let st = rustix::fs::fstat(&node).ctx(name, "set its mode")?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            return Err(invalid(
                name,
                "it turned into a symlink while being unpacked",
            ));
        }
        rustix::fs::chmod(proc_fd_path(&node), Mode::from_raw_mode(meta.mode))
            .ctx(name, "set its mode")?;
    }
    let path = proc_path(at.dir.as_fd(), at.name);
    for (key, value) in &meta.xattrs {
        xattr_result(xattr::set(&path, key, value), key, name, true)?;
    }
    rustix::fs::utimensat(
        &at.dir,
        at.name,
        &times(meta.mtime),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .ctx(name, "set its modification time")
}

/// An xattr the filesystem does not support (`EOPNOTSUPP`) is skipped, as Docker does, and so
/// is a `user.*` xattr on a symlink or device node, which the kernel refuses (`EPERM`). Any
/// other failure fails the layer.
fn xattr_result(
    result: io::Result<()>,
    key: &OsStr,
    name: &str,
    special: bool,
) -> Result<(), UnpackError> {
    let Err(e) = result else {
        return Ok(());
    };
    let code = e.raw_os_error();
    let unsupported = code == Some(Errno::OPNOTSUPP.raw_os_error());
    let user_on_special =
        special && code == Some(Errno::PERM.raw_os_error()) && key.as_bytes().starts_with(b"user.");
    if unsupported || user_on_special {
        tracing::warn!(
            entry = name,
            xattr = %key.to_string_lossy(),
            error = %e,
            "skipping extended attribute the filesystem refuses"
        );
        return Ok(());
    }
    Err(UnpackError::Io {
        entry: name.to_owned(),
        op: "set an extended attribute",
        source: io::Error::new(e.kind(), format!("{}: {e}", key.to_string_lossy())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times() {
        let t = parse_pax_time(b"1700000000.5").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (1_700_000_000, 500_000_000));
        let t = parse_pax_time(b"1700000000.1234567891").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (1_700_000_000, 123_456_789));
        let t = parse_pax_time(b"42").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (42, 0));
        let t = parse_pax_time(b"-1.25").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (-2, 750_000_000));
        assert!(parse_pax_time(b"x").is_none());
        assert!(parse_pax_time(b".5").is_none());
        assert!(parse_pax_time(b"1.+5").is_none());
    }
}
