//! Image layers ⇄ directories: unpacking a Docker/OCI layer tar into a directory (the overlayfs
//! lowerdir a layer becomes), and packing a directory back into a deterministic layer tar
//! (commit, build, export).
//!
//! This module owns:
//! - [`decompress`]: sniffs gzip / zstd / plain tar from the first bytes of a blob;
//! - [`unpack_layer`]: applies an uncompressed layer tar to an empty directory, converting
//!   Docker whiteouts (`.wh.name`, `.wh..wh..opq`) to overlayfs form (a 0/0 character device,
//!   the `trusted.overlay.opaque=y` xattr) and computing the layer's diff ID on the way;
//! - [`pack_dir`]: the reverse, optionally turning overlayfs whiteouts back into `.wh.` entries.
//!
//! # Safety model
//!
//! A layer is untrusted input: nothing it contains may create, write, chmod, chown or utime
//! anything outside the destination directory.
//!
//! - Entry paths and hardlink targets are cleaned lexically first: leading `/` is stripped (as
//!   Docker does: `/etc/x` means `etc/x`), `.` and empty components are dropped, and a `..` that
//!   would climb above the layer root is an error ([`UnpackError::Escape`]).
//! - The parent directory of every entry is then opened with
//!   `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` relative to a directory fd of the
//!   destination. Symlinks inside the layer (absolute ones and `..` chains included) resolve as
//!   if the destination were `/`, which is exactly how the container will see them; the kernel
//!   guarantees the result is inside the destination. This needs Linux ≥ 5.6.
//! - The final component is only ever touched through that parent fd with `*at` calls that do
//!   not follow it: files are created `O_CREAT | O_EXCL | O_NOFOLLOW`, directories are opened
//!   `O_NOFOLLOW`, ownership and times use `AT_SYMLINK_NOFOLLOW`, symlinks are never chmod-ed,
//!   hardlinks use `linkat` without `AT_SYMLINK_FOLLOW` between two in-root parent fds. Where a
//!   syscall has no `*at` form (xattrs on non-files, chmod of device nodes) the object is
//!   named as `/proc/self/fd/<parent fd>/<name>` or through an `O_PATH | O_NOFOLLOW` fd, which
//!   re-resolves nothing.
//! - [`pack_dir`] walks the source the same way (directory fds, `O_NOFOLLOW`, no symlink is
//!   ever followed).
//!
//! Overlay metadata (`trusted.overlay.*`) found as xattrs in a layer tar is ignored: only
//! whiteout entries may produce it, so a layer cannot plant redirects or metacopy markers.

mod digest;
mod extract;
mod pack;
pub(crate) mod resolve;
#[cfg(test)]
mod tests;
mod whiteout;

use std::io::{self, Cursor, Read};
use std::path::PathBuf;

pub(crate) use extract::extract_tar;
pub use extract::unpack_layer;
pub(crate) use pack::{pack_contents, pack_entry};
pub use pack::{pack_dir, pack_dir_excluding};

/// The compression a layer blob was found to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Wraps `r` in the decompressor its first bytes call for: gzip (`1f 8b`), zstd
/// (`28 b5 2f fd`), anything else is passed through as an uncompressed tar. Concatenated gzip
/// members and zstd frames are read as one stream.
pub fn decompress<R: Read + Send + 'static>(
    mut r: R,
) -> io::Result<(Compression, Box<dyn Read + Send>)> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < magic.len() {
        match r.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = &magic[..n];
    let stream = Cursor::new(head.to_vec()).chain(r);
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        (
            Compression::Gzip,
            Box::new(flate2::read::MultiGzDecoder::new(stream)),
        )
    } else if head == [0x28, 0xb5, 0x2f, 0xfd] {
        (
            Compression::Zstd,
            Box::new(zstd::stream::read::Decoder::new(stream)?),
        )
    } else {
        (Compression::None, Box::new(stream))
    })
}

/// How a plain tar is extracted into a directory (`docker cp` into a container).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Fail rather than replace a directory with a non-directory or the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Give every entry this owner (uid, gid) instead of the one in the tar.
    pub chown: Option<(u32, u32)>,
}

/// What [`unpack_layer`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnpackStats {
    /// `sha256:<hex>` of the uncompressed tar stream, every byte read including the end-of-archive
    /// blocks and anything after them: the layer's diff ID.
    pub diff_id: String,
    /// Sum of the sizes of the regular files written.
    pub size: u64,
    /// Number of tar entries applied (PAX/GNU extension headers not counted).
    pub entries: u64,
}

/// How [`pack_dir`] writes the tar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PackOptions {
    /// `src` is an overlayfs layer (or upper) directory: 0/0 character devices become `.wh.name`
    /// entries, directories with `trusted.overlay.opaque=y` get a `.wh..wh..opq` entry, and no
    /// `trusted.overlay.*` xattr is written.
    pub overlay_whiteouts: bool,
}

/// What [`pack_dir`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackStats {
    /// `sha256:<hex>` of the bytes written: the diff ID of the packed layer.
    pub diff_id: String,
    /// Number of bytes written (the tar's length).
    pub size: u64,
}

/// Why a layer could not be unpacked or packed.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The entry (or its hardlink target) would land outside the layer.
    #[error("layer entry {entry:?} {reason}; refusing to unpack")]
    Escape { entry: String, reason: String },
    /// The entry makes no sense (a file replacing the layer root, a bad whiteout name…).
    #[error("layer entry {entry:?} is invalid: {reason}")]
    Invalid { entry: String, reason: String },
    /// The entry's tar type is not one a layer may contain (GNU sparse, tape volume…).
    #[error("layer entry {entry:?} has unsupported type {kind}; refusing to unpack")]
    Unsupported { entry: String, kind: String },
    /// A filesystem operation for this entry failed.
    #[error("layer entry {entry:?}: cannot {op}: {source}")]
    Io {
        entry: String,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The tar stream itself is malformed, truncated, or could not be read or written.
    #[error("layer tar stream: {0}")]
    Tar(#[source] io::Error),
    /// The destination (unpack) or source (pack) directory could not be opened.
    #[error("layer directory {path}: {source}")]
    Dir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Attaches the entry name and the failed operation to a low-level error.
trait Context<T> {
    fn ctx(self, entry: &str, op: &'static str) -> Result<T, UnpackError>;
}

impl<T, E: Into<io::Error>> Context<T> for Result<T, E> {
    fn ctx(self, entry: &str, op: &'static str) -> Result<T, UnpackError> {
        self.map_err(|e| UnpackError::Io {
            entry: entry.to_owned(),
            op,
            source: e.into(),
        })
    }
}
