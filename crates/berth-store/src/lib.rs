//! # berth-store
//!
//! What berthd keeps on disk under its data root (default `/var/lib/berth`):
//!
//! - [`DataRoot`]: the directory itself, its layout, and the exclusive lock that keeps a
//!   second daemon off the same data root;
//! - [`Db`]: `berth.db`, the SQLite metadata database (WAL, bundled SQLite) with its schema
//!   versioning — the one source of truth for engine objects.
//!
//! - [`ContentStore`]: blobs by sha256 digest (`blobs/sha256/<hex>`), visible only once verified;
//! - [`LayerStore`]: each image layer unpacked once into `layers/<chain-id hex>/`, ready to be
//!   an overlayfs lowerdir, shared by every image that has it;
//! - [`unpack`]: turning layer tars into directories (and back) without ever touching
//!   anything outside the target;
//! - [`archive`]: a container's root filesystem ⇄ tar streams (`docker cp`, `export`), every
//!   path resolved inside the container.
//!
//! Images, tags and layers are rows in [`Db`]; which layers and blobs may go is decided there
//! (reference counting through `image_layers`). This crate knows nothing of HTTP or of the
//! Docker API's shapes.

pub mod archive;
mod build_cache; // builder step cache (issue #8)
mod check;
mod containers;
mod content;
mod db;
mod images;
mod layers;
mod networks;
pub mod overlay;
mod root;
pub mod unpack;
mod volumes;

pub use build_cache::CacheEntry;
pub use check::{check_images, CheckReport};
pub use containers::ContainerRecord;
pub use content::{parse_digest, ContentStore, HashingReader, HashingWriter};
pub use db::{Db, SCHEMA_VERSION};
pub use images::{ImageRecord, LayerRecord};
pub use layers::{LayerStore, TempLayer, UnpackedLayer};
pub use networks::{EndpointRecord, NetworkRecord, SandboxRecord};
pub use root::DataRoot;
pub use volumes::{MountRecord, VolumeRecord};

/// Errors from the data root and the metadata database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data root {path}: {source}")]
    CreateRoot {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("data root {path} is in use by another berthd (pid {pid}); stop it first, or start this one with a different --data-root")]
    Locked {
        path: std::path::PathBuf,
        pid: String,
    },
    #[error("cannot lock data root {path}: {source}")]
    Lock {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("metadata database {path}: {source}")]
    Sqlite {
        path: std::path::PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("invalid digest {0:?}: expected sha256:<64 lowercase hex digits>")]
    InvalidDigest(String),
    #[error("content does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error(transparent)]
    Unpack(#[from] unpack::UnpackError),
    #[error("metadata database {path} has schema version {found}, newer than this berth understands ({known}); upgrade berth or use another --data-root")]
    SchemaTooNew {
        path: std::path::PathBuf,
        found: i64,
        known: i64,
    },
}

impl StoreError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
