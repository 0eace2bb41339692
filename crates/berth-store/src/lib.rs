//! # berth-store
//!
//! What berthd keeps on disk under its data root (default `/var/lib/berth`):
//!
//! - [`DataRoot`]: the directory itself, its layout, and the exclusive lock that keeps a
//!   second daemon off the same data root;
//! - [`Db`]: `berth.db`, the SQLite metadata database (WAL, bundled SQLite) with its schema
//!   versioning — the one source of truth for engine objects.
//!
//! Later layers (content store, layer snapshots, GC) live here too. This crate knows nothing
//! of HTTP or of the Docker API's shapes.

mod db;
mod root;

pub use db::{Db, SCHEMA_VERSION};
pub use root::DataRoot;

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
    #[error("metadata database {path} has schema version {found}, newer than this berth understands ({known}); upgrade berth or use another --data-root")]
    SchemaTooNew {
        path: std::path::PathBuf,
        found: i64,
        known: i64,
    },
}
