//! Docker whiteout entries ⇄ overlayfs whiteouts.
//!
//! In a layer tar, `dir/.wh.name` deletes `dir/name` from the layers below, and
//! `dir/.wh..wh..opq` hides everything below `dir`. overlayfs spells the first as a 0/0
//! character device named `name` and the second as the xattr `trusted.overlay.opaque=y`.

use std::io;
use std::os::fd::AsFd;

use rustix::fs::{AtFlags, FileType, Gid, Mode, Stat, Uid, XattrFlags};

/// Prefix of a whiteout entry's name.
pub(super) const PREFIX: &[u8] = b".wh.";
/// Name of the entry that makes its directory opaque.
pub(super) const OPAQUE: &[u8] = b".wh..wh..opq";
/// Prefix of aufs metadata entries (`.wh..wh.plnk`, `.wh..wh.aufs`), which are skipped.
const META_PREFIX: &[u8] = b".wh..wh.";

/// The xattr overlayfs reads to treat a directory as opaque.
pub(super) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// Prefix of every xattr overlayfs keeps for itself.
pub(super) const OVERLAY_XATTR_PREFIX: &str = "trusted.overlay.";

/// What a whiteout-looking final path component means.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Whiteout<'a> {
    /// `.wh..wh..opq`: the parent directory is opaque.
    Opaque,
    /// `.wh..wh.*` other than the above: aufs bookkeeping, ignored.
    Meta,
    /// `.wh.<name>`: `<name>` is deleted.
    Remove(&'a [u8]),
}

/// Classifies the final component of an entry path; `None` for ordinary names.
pub(super) fn classify(name: &[u8]) -> Option<Whiteout<'_>> {
    if name == OPAQUE {
        Some(Whiteout::Opaque)
    } else if name.starts_with(META_PREFIX) {
        Some(Whiteout::Meta)
    } else {
        name.strip_prefix(PREFIX).map(Whiteout::Remove)
    }
}

/// Creates the overlayfs whiteout for `name` in `dir`: a 0/0 character device, mode 0, owned
/// by `uid:gid`. `name` must not exist.
pub(super) fn make(dir: impl AsFd, name: &[u8], uid: u32, gid: u32) -> io::Result<()> {
    let dir = dir.as_fd();
    rustix::fs::mknodat(dir, name, FileType::CharacterDevice, Mode::empty(), 0)?;
    rustix::fs::chownat(
        dir,
        name,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

/// Marks the (opened) directory opaque for overlayfs.
pub(super) fn mark_opaque(dir: impl AsFd) -> io::Result<()> {
    rustix::fs::fsetxattr(dir, OPAQUE_XATTR, b"y", XattrFlags::empty())?;
    Ok(())
}

/// Whether `st` is an overlayfs whiteout (a 0/0 character device).
pub(super) fn is_whiteout(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_names() {
        assert_eq!(classify(b".wh..wh..opq"), Some(Whiteout::Opaque));
        assert_eq!(classify(b".wh..wh.plnk"), Some(Whiteout::Meta));
        assert_eq!(classify(b".wh.foo"), Some(Whiteout::Remove(b"foo")));
        assert_eq!(classify(b".wh."), Some(Whiteout::Remove(b"")));
        assert_eq!(classify(b"foo"), None);
        assert_eq!(classify(b".whfoo"), None);
    }
}
