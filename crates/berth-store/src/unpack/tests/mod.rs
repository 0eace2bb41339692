//! Tests for layer unpacking and packing. They run as root: mknod, chown, `trusted.*` and
//! `security.*` xattrs and overlay mounts need it. Every tar is built in memory here.

mod breakout;
mod compression;
mod roundtrip;
mod semantics;
mod whiteouts;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

use super::{unpack_layer, UnpackError, UnpackStats};

/// The mtime [`TarBuf`] gives every entry.
pub(super) const MTIME: u64 = 1_600_000_000;

pub(super) fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Builds tar streams with arbitrary (hostile) names, link names, types and PAX records.
pub(super) struct TarBuf(tar::Builder<Vec<u8>>);

impl TarBuf {
    pub(super) fn new() -> Self {
        TarBuf(tar::Builder::new(Vec::new()))
    }

    /// Appends an entry with raw `name` and `link`, owned by root, mtime [`MTIME`].
    pub(super) fn entry(
        self,
        kind: EntryType,
        name: &str,
        link: &str,
        mode: u32,
        data: &[u8],
    ) -> Self {
        let mut header = Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_mtime(MTIME);
        header.set_uid(0);
        header.set_gid(0);
        self.raw(header, name, link, data, &[])
    }

    /// Appends `header` with `name`, `link` (PAX records when longer than the ustar fields),
    /// the extra PAX `records`, and `data`.
    pub(super) fn raw(
        mut self,
        mut header: Header,
        name: &str,
        link: &str,
        data: &[u8],
        records: &[(&str, &[u8])],
    ) -> Self {
        let mut pax: Vec<(&str, &[u8])> = records.to_vec();
        let old = header.as_old_mut();
        for (field, key, value) in [
            (&mut old.name, "path", name),
            (&mut old.linkname, "linkpath", link),
        ] {
            let n = value.len().min(field.len());
            field[..n].copy_from_slice(&value.as_bytes()[..n]);
            if value.len() > field.len() {
                pax.push((key, value.as_bytes()));
            }
        }
        if !pax.is_empty() {
            self.0.append_pax_extensions(pax).unwrap();
        }
        header.set_size(data.len() as u64);
        header.set_cksum();
        self.0.append(&header, data).unwrap();
        self
    }

    pub(super) fn file(self, name: &str, data: &str) -> Self {
        self.entry(EntryType::Regular, name, "", 0o644, data.as_bytes())
    }

    pub(super) fn dir(self, name: &str) -> Self {
        self.entry(EntryType::Directory, name, "", 0o755, b"")
    }

    pub(super) fn symlink(self, name: &str, target: &str) -> Self {
        self.entry(EntryType::Symlink, name, target, 0o777, b"")
    }

    pub(super) fn hardlink(self, name: &str, target: &str) -> Self {
        self.entry(EntryType::Link, name, target, 0o644, b"")
    }

    pub(super) fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

/// What the tests compare of a filesystem object.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Node {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    mtime: (i64, i64),
    rdev: u64,
    /// File contents or symlink target.
    data: Vec<u8>,
    xattrs: BTreeMap<String, Vec<u8>>,
    /// For hardlinked non-directories, the first path (in sorted order) of the inode.
    link_group: Option<String>,
}

/// Every object under a directory, by relative path (`.` for the directory itself).
pub(super) type Tree = BTreeMap<String, Node>;

/// Scans `root` without following symlinks. `skip` names a top-level entry left out with its
/// contents; with `seconds`, mtimes are compared to the second (tar precision).
pub(super) fn scan(root: &Path, skip: Option<&str>, seconds: bool) -> Tree {
    fn walk(
        root: &Path,
        rel: &Path,
        skip: Option<&str>,
        seconds: bool,
        out: &mut Tree,
        inodes: &mut BTreeMap<(u64, u64), String>,
    ) {
        let path = root.join(rel);
        let md = fs::symlink_metadata(&path).unwrap();
        let ft = md.file_type();
        let name = if rel.as_os_str().is_empty() {
            ".".to_owned()
        } else {
            rel.to_string_lossy().into_owned()
        };
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_file() {
            "file"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else if ft.is_fifo() {
            "fifo"
        } else {
            "other"
        };
        let data = match kind {
            "file" => fs::read(&path).unwrap(),
            "symlink" => fs::read_link(&path)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes(),
            _ => Vec::new(),
        };
        let xattrs = xattr::list(&path)
            .unwrap()
            .map(|k| {
                let v = xattr::get(&path, &k).unwrap().unwrap_or_default();
                (k.to_string_lossy().into_owned(), v)
            })
            .collect();
        let link_group = (!ft.is_dir() && md.nlink() > 1).then(|| {
            inodes
                .entry((md.dev(), md.ino()))
                .or_insert_with(|| name.clone())
                .clone()
        });
        out.insert(
            name,
            Node {
                kind,
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                nlink: md.nlink(),
                mtime: (md.mtime(), if seconds { 0 } else { md.mtime_nsec() }),
                rdev: md.rdev(),
                data,
                xattrs,
                link_group,
            },
        );
        if ft.is_dir() {
            let mut children: Vec<_> = fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            children.sort();
            for child in children {
                if rel.as_os_str().is_empty() && Some(child.to_str().unwrap_or_default()) == skip {
                    continue;
                }
                walk(root, &rel.join(child), skip, seconds, out, inodes);
            }
        }
    }
    let mut out = Tree::new();
    walk(
        root,
        Path::new(""),
        skip,
        seconds,
        &mut out,
        &mut BTreeMap::new(),
    );
    out
}

/// A temp dir holding an empty `dest` to unpack into and a `victim` directory (with a file)
/// that no layer may touch.
pub(super) struct Sandbox {
    _tmp: tempfile::TempDir,
    pub(super) base: PathBuf,
    pub(super) dest: PathBuf,
    pub(super) victim: PathBuf,
    before: Tree,
}

impl Sandbox {
    pub(super) fn new() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("berth-unpack-")
            .tempdir()
            .unwrap();
        let base = tmp.path().to_owned();
        let dest = base.join("dest");
        let victim = base.join("victim");
        fs::create_dir(&dest).unwrap();
        fs::create_dir(&victim).unwrap();
        fs::create_dir(victim.join("sub")).unwrap();
        fs::write(victim.join("file"), "victim data\n").unwrap();
        rustix::fs::chmod(victim.join("file"), rustix::fs::Mode::from_raw_mode(0o640)).unwrap();
        let before = scan(&base, Some("dest"), false);
        Sandbox {
            _tmp: tmp,
            base,
            dest,
            victim,
            before,
        }
    }

    /// The victim directory's absolute path.
    pub(super) fn victim_abs(&self) -> String {
        self.victim.to_str().unwrap().to_owned()
    }

    /// The victim directory's path relative to `/`: where an in-root resolution of its
    /// absolute path lands inside `dest`.
    pub(super) fn victim_rel(&self) -> String {
        self.victim_abs().trim_start_matches('/').to_owned()
    }

    pub(super) fn unpack(&self, tar: &[u8]) -> Result<UnpackStats, UnpackError> {
        unpack_layer(tar, &self.dest)
    }

    /// Nothing outside `dest` changed: the victim is identical byte for byte, mode for mode,
    /// and no entry appeared next to it.
    pub(super) fn assert_untouched(&self) {
        assert_eq!(scan(&self.base, Some("dest"), false), self.before);
    }
}
