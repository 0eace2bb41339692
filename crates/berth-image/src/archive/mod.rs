//! `docker save` / `docker load` archives.
//!
//! Reading works on an archive the caller has already extracted into a
//! directory; writing streams a tar. Both formats are handled: Docker's
//! `manifest.json` (+ `repositories`), and the OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/...`). Docker 25+ writes both
//! in one archive, and so does [`write_archive`].

mod files;
mod oci;
mod read;
mod write;

use std::io;
use std::path::PathBuf;

use crate::reference::ReferenceError;

pub use read::{read_archive, ArchiveImage, ArchiveLayer};
pub use write::{write_archive, SaveImage, SaveLayer};

const MANIFEST_JSON: &str = "manifest.json";
const INDEX_JSON: &str = "index.json";
const OCI_LAYOUT: &str = "oci-layout";
const REPOSITORIES: &str = "repositories";
/// Full image name, e.g. `docker.io/library/busybox:latest`.
const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// Tag (as Docker writes it) or full reference.
const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// What is wrong with an archive, or with the images given to save.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive has no manifest.json or index.json: not a docker save / OCI archive")]
    NotAnArchive,
    #[error(
        "archive has a `repositories` file but no manifest.json: the pre-1.10 docker save \
         format is not supported; save the image again with docker 1.10 or newer"
    )]
    LegacyFormat,
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing the archive: {0}")]
    Write(#[source] io::Error),
    #[error("{file} is not valid: {source}")]
    Json {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file} is over {limit} bytes, too large to be image metadata")]
    TooLarge { file: String, limit: u64 },
    #[error("{referrer} references missing file {path}")]
    MissingFile { referrer: String, path: String },
    #[error(
        "{referrer} references {path}, which is outside the archive \
         (absolute, `..`, or a symlink pointing out)"
    )]
    UnsafePath { referrer: String, path: String },
    #[error("{referrer} references {path}, which is not a regular file")]
    NotAFile { referrer: String, path: String },
    #[error("{path} has digest {actual} but {referrer} says {expected}: the archive is corrupt")]
    DigestMismatch {
        referrer: String,
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{path} is {actual} bytes but {referrer} says {expected}: the archive is corrupt")]
    SizeMismatch {
        referrer: String,
        path: String,
        expected: u64,
        actual: u64,
    },
    #[error("unsupported digest {0:?}: expected sha256:<64 lowercase hex digits>")]
    UnsupportedDigest(String),
    #[error("{referrer} lists {digest} of media type {media_type:?}, which is not an image manifest or index")]
    UnsupportedMediaType {
        referrer: String,
        digest: String,
        media_type: String,
    },
    #[error("{referrer} lists layer {digest} of media type {media_type:?}, which is not a layer berth can unpack (tar, tar+gzip or tar+zstd)")]
    UnsupportedLayerMediaType {
        referrer: String,
        digest: String,
        media_type: String,
    },
    #[error("image index {digest} has no {platform} image in this archive")]
    NoMatchingPlatform { digest: String, platform: String },
    #[error("image indexes nested too deeply under {digest}")]
    TooDeep { digest: String },
    #[error(
        "image config {config} has {diff_ids} layers (rootfs.diff_ids) but {referrer} lists {layers}"
    )]
    LayerCount {
        referrer: String,
        config: String,
        diff_ids: usize,
        layers: usize,
    },
    #[error("image config {config}: layer {index} is {given} but rootfs.diff_ids[{index}] is {expected}")]
    LayerMismatch {
        config: String,
        index: usize,
        given: String,
        expected: String,
    },
    #[error("layer {} has diff_id {actual}, expected {expected}: the layer file is corrupt", path.display())]
    DiffIdMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("invalid tag {tag:?} in {referrer}: {source}")]
    InvalidTag {
        referrer: String,
        tag: String,
        #[source]
        source: ReferenceError,
    },
    #[error("invalid tag {tag:?} in {referrer}: a name:tag reference is needed")]
    NotATag { referrer: String, tag: String },
}

#[cfg(test)]
mod tests;
