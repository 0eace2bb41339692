//! Packing a directory into a deterministic layer tar: entries sorted by name, each directory
//! before its contents, numeric owners only, mtimes in whole seconds (as Docker writes them),
//! hardlinks detected by (device, inode), xattrs as PAX `SCHILY.xattr.*` records, names and link
//! targets longer than the ustar fields as PAX `path` / `linkpath` records. No atime or ctime,
//! no user or group names: the same tree always packs to the same bytes.

use std::collections::hash_map::{Entry, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use tar::{EntryType, Header};

use super::digest::HashWriter;
use super::resolve::proc_path;
use super::whiteout;
use super::{Context, PackOptions, PackStats, UnpackError};

const BUF_SIZE: usize = 256 * 1024;

/// Writes a layer tar of the tree under `src` (not including `src` itself) to `out`.
///
/// Symlinks are never followed (they are archived verbatim); sockets are skipped, as tar cannot
/// hold them. With [`PackOptions::overlay_whiteouts`], overlayfs whiteouts and opaque
/// directories become Docker whiteout entries.
pub fn pack_dir<W: Write>(src: &Path, out: W, opts: PackOptions) -> Result<PackStats, UnpackError> {
    pack_dir_excluding(src, out, opts, &|_| false)
}

/// [`pack_dir`], leaving out every entry (and everything below it) whose archive path
/// (relative, no trailing `/`) `exclude` returns true for.
pub fn pack_dir_excluding<W: Write>(
    src: &Path,
    out: W,
    opts: PackOptions,
    exclude: &dyn Fn(&[u8]) -> bool,
) -> Result<PackStats, UnpackError> {
    let root = rustix::fs::open(
        src,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| UnpackError::Dir {
        path: src.to_owned(),
        source: e.into(),
    })?;
    let mut packer = Packer::new(out, opts, exclude);
    packer.dir_contents(&root, b"", ".")?;
    packer.finish()
}

/// Writes the entry `base` of the directory `dir` — recursively when it is a directory — with
/// archive path `name`: what `docker cp` sends. `base` may be `.` (the directory itself). An
/// empty `name` stands for the root (`/`): the directory is written as `/`, its contents as
/// `/x`, as dockerd names them.
pub(crate) fn pack_entry<W: Write>(
    dir: &OwnedFd,
    base: &[u8],
    name: &[u8],
    out: W,
) -> Result<PackStats, UnpackError> {
    let mut packer = Packer::new(out, PackOptions::default(), &|_| false);
    packer.entry(dir, base, name.to_vec())?;
    packer.finish()
}

/// Writes everything under the directory `dir` (not `dir` itself), names relative: what
/// `docker export` sends.
pub(crate) fn pack_contents<W: Write>(dir: &OwnedFd, out: W) -> Result<PackStats, UnpackError> {
    let mut packer = Packer::new(out, PackOptions::default(), &|_| false);
    packer.dir_contents(dir, b"", ".")?;
    packer.finish()
}

struct Packer<'a, W: Write> {
    tar: tar::Builder<BufWriter<HashWriter<W>>>,
    opts: PackOptions,
    exclude: &'a dyn Fn(&[u8]) -> bool,
    /// The first path archived for each (device, inode) that has more than one link.
    links: HashMap<(u64, u64), Vec<u8>>,
}

/// PAX `SCHILY.xattr.*` records, sorted.
type Xattrs = Vec<(String, Vec<u8>)>;

impl<'a, W: Write> Packer<'a, W> {
    fn new(out: W, opts: PackOptions, exclude: &'a dyn Fn(&[u8]) -> bool) -> Self {
        Packer {
            tar: tar::Builder::new(BufWriter::with_capacity(BUF_SIZE, HashWriter::new(out))),
            opts,
            exclude,
            links: HashMap::new(),
        }
    }

    fn finish(self) -> Result<PackStats, UnpackError> {
        let hashing = self
            .tar
            .into_inner()
            .map_err(UnpackError::Tar)?
            .into_inner()
            .map_err(|e| UnpackError::Tar(e.into_error()))?;
        let (diff_id, size) = hashing.finish().map_err(UnpackError::Tar)?;
        Ok(PackStats { diff_id, size })
    }

    /// Archives the entries of `dir` (whose archive path is `prefix`, empty or ending in `/`).
    fn dir_contents(
        &mut self,
        dir: &OwnedFd,
        prefix: &[u8],
        name: &str,
    ) -> Result<(), UnpackError> {
        let mut names = Vec::new();
        for item in Dir::read_from(dir).ctx(name, "read the directory")? {
            let item = item.ctx(name, "read the directory")?;
            let base = item.file_name().to_bytes();
            if base != b"." && base != b".." {
                names.push(base.to_vec());
            }
        }
        names.sort_unstable();
        for base in names {
            self.entry(dir, &base, [prefix, &base].concat())?;
        }
        Ok(())
    }

    fn entry(&mut self, dir: &OwnedFd, base: &[u8], path: Vec<u8>) -> Result<(), UnpackError> {
        if (self.exclude)(&path) {
            return Ok(());
        }
        let name = String::from_utf8_lossy(&path).into_owned();
        let st = rustix::fs::statat(dir, base, AtFlags::SYMLINK_NOFOLLOW).ctx(&name, "stat it")?;
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => return self.dir(dir, base, path, &name, &st),
            _ if self.opts.overlay_whiteouts && whiteout::is_whiteout(&st) => {
                let wh = [&path[..path.len() - base.len()], whiteout::PREFIX, base].concat();
                let mut header = header(EntryType::Regular, &st);
                header.set_mode(0o600);
                return self.append(header, &wh, None, &[], io::empty(), &name);
            }
            FileType::RegularFile => EntryType::Regular,
            FileType::Symlink => EntryType::Symlink,
            FileType::CharacterDevice => EntryType::Char,
            FileType::BlockDevice => EntryType::Block,
            FileType::Fifo => EntryType::Fifo,
            // Sockets (and anything unknown) cannot be archived; Docker skips them too.
            _ => return Ok(()),
        };
        if st.st_nlink > 1 {
            match self.links.entry((st.st_dev, st.st_ino)) {
                Entry::Occupied(first) => {
                    let first = first.get().clone();
                    let header = header(EntryType::Link, &st);
                    return self.append(header, &path, Some(&first), &[], io::empty(), &name);
                }
                Entry::Vacant(slot) => {
                    slot.insert(path.clone());
                }
            }
        }
        let (xattrs, _) = self.xattrs(dir, base, &name)?;
        let mut header = header(kind, &st);
        match kind {
            EntryType::Regular => {
                let fd = rustix::fs::openat(
                    dir,
                    base,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .ctx(&name, "open the file")?;
                let now = rustix::fs::fstat(&fd).ctx(&name, "open the file")?;
                if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
                    return Err(io::Error::other("it was replaced while being packed"))
                        .ctx(&name, "open the file");
                }
                let size = u64::try_from(st.st_size).unwrap_or_default();
                header.set_size(size);
                let capacity = usize::try_from(size).unwrap_or(BUF_SIZE).clamp(1, BUF_SIZE);
                let data = BufReader::with_capacity(
                    capacity,
                    Exact {
                        inner: File::from(fd),
                        left: size,
                    },
                );
                self.append(header, &path, None, &xattrs, data, &name)
            }
            EntryType::Symlink => {
                let target =
                    rustix::fs::readlinkat(dir, base, Vec::new()).ctx(&name, "read the symlink")?;
                self.append(
                    header,
                    &path,
                    Some(target.as_bytes()),
                    &xattrs,
                    io::empty(),
                    &name,
                )
            }
            EntryType::Char | EntryType::Block => {
                header
                    .set_device_major(rustix::fs::major(st.st_rdev))
                    .ctx(&name, "record its device number")?;
                header
                    .set_device_minor(rustix::fs::minor(st.st_rdev))
                    .ctx(&name, "record its device number")?;
                self.append(header, &path, None, &xattrs, io::empty(), &name)
            }
            _ => self.append(header, &path, None, &xattrs, io::empty(), &name),
        }
    }

    fn dir(
        &mut self,
        parent: &OwnedFd,
        base: &[u8],
        mut path: Vec<u8>,
        name: &str,
        st: &Stat,
    ) -> Result<(), UnpackError> {
        let (xattrs, opaque) = self.xattrs(parent, base, name)?;
        path.push(b'/');
        self.append(
            header(EntryType::Directory, st),
            &path,
            None,
            &xattrs,
            io::empty(),
            name,
        )?;
        if opaque {
            let mut header = header(EntryType::Regular, st);
            header.set_mode(st.st_mode & 0o777);
            let wh = [&path[..], whiteout::OPAQUE].concat();
            self.append(header, &wh, None, &[], io::empty(), name)?;
        }
        let dir = rustix::fs::openat(
            parent,
            base,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ctx(name, "open the directory")?;
        self.dir_contents(&dir, &path, name)
    }

    /// The xattrs of `base` in `dir` as PAX records, and whether it is marked overlay-opaque.
    /// With `overlay_whiteouts`, `trusted.overlay.*` xattrs are overlayfs bookkeeping and are
    /// not archived.
    fn xattrs(
        &self,
        dir: &OwnedFd,
        base: &[u8],
        name: &str,
    ) -> Result<(Xattrs, bool), UnpackError> {
        let path = proc_path(dir.as_fd(), base);
        let keys = match xattr::list(&path) {
            Ok(keys) => keys,
            Err(e) if e.raw_os_error() == Some(Errno::OPNOTSUPP.raw_os_error()) => {
                return Ok((Vec::new(), false))
            }
            Err(e) => return Err(e).ctx(name, "list its extended attributes"),
        };
        let mut records = Vec::new();
        let mut opaque = false;
        for key in keys {
            let Some(value) = xattr::get(&path, &key).ctx(name, "read an extended attribute")?
            else {
                continue;
            };
            let Some(key) = key.to_str() else {
                return Err(UnpackError::Invalid {
                    entry: name.to_owned(),
                    reason: format!("extended attribute name {key:?} is not UTF-8"),
                });
            };
            if self.opts.overlay_whiteouts && key.starts_with(whiteout::OVERLAY_XATTR_PREFIX) {
                opaque |= key == whiteout::OPAQUE_XATTR && value == b"y";
                continue;
            }
            records.push((format!("SCHILY.xattr.{key}"), value));
        }
        records.sort_unstable();
        Ok((records, opaque))
    }

    /// Writes one entry: PAX records first if any, then the header (with the name and link
    /// target set, truncated when a PAX record carries the full value), then the data.
    fn append(
        &mut self,
        mut header: Header,
        path: &[u8],
        link: Option<&[u8]>,
        xattrs: &[(String, Vec<u8>)],
        data: impl Read,
        name: &str,
    ) -> Result<(), UnpackError> {
        let mut pax: Vec<(&str, &[u8])> = Vec::new();
        let fields = header.as_old_mut();
        if set_field(&mut fields.name, path) {
            pax.push(("path", path));
        }
        if let Some(link) = link {
            if set_field(&mut fields.linkname, link) {
                pax.push(("linkpath", link));
            }
        }
        pax.extend(xattrs.iter().map(|(k, v)| (k.as_str(), v.as_slice())));
        if !pax.is_empty() {
            self.tar
                .append_pax_extensions(pax)
                .map_err(UnpackError::Tar)?;
        }
        header.set_cksum();
        self.tar.append(&header, data).ctx(name, "archive it")
    }
}

/// The common header of every entry: type, permission bits, numeric owner, mtime in seconds.
fn header(kind: EntryType, st: &Stat) -> Header {
    let mut header = Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(st.st_mode & 0o7777);
    header.set_uid(st.st_uid.into());
    header.set_gid(st.st_gid.into());
    header.set_mtime(u64::try_from(st.st_mtime).unwrap_or_default());
    header.set_size(0);
    header
}

/// Copies `value` into a NUL-padded header field, truncated; returns whether it did not fit.
fn set_field(field: &mut [u8], value: &[u8]) -> bool {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
    value.len() > field.len()
}

/// Reads exactly `left` bytes, the size already written in the header, or fails: a file that
/// shrinks while being packed must not produce a corrupt tar (one that grows is cut).
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while being packed",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
