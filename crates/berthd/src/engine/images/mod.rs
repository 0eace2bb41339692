//! The image store as the engine sees it: name resolution, and one file per verb
//! (`import`, `load`, `save`, `tag`, `remove`, `list`, `inspect`, `history`, `prune`, `df`,
//! `pull`, `push`).
//!
//! Bytes live in berth-store's [`ContentStore`] (configs, layer blobs) and [`LayerStore`]
//! (unpacked layers); records in [`Db`](berth_store::Db). Heavy work (unpacking, hashing,
//! archive streaming) runs on blocking threads; metadata commits and garbage collection
//! are serialised by one lock, so a layer is never freed while another image adopts it.

mod df;
mod history;
mod import;
mod inspect;
mod list;
mod load;
mod prune;
mod pull;
mod push;
mod remove;
mod save;
mod tag;

use std::collections::HashMap;
use std::path::PathBuf;

use berth_api::models::EventMessageTypeEnum;
use berth_api::ApiError;
use berth_image::Reference;
use berth_store::{ContentStore, ImageRecord, LayerStore, StoreError};

pub use import::ImportOptions;
pub use list::ListOptions;
pub use pull::PullOptions;
pub use push::PushOptions;

use super::Engine;

/// The image subsystem's state inside the engine.
pub struct Images {
    pub(crate) content: ContentStore,
    pub(crate) layers: LayerStore,
    /// Scratch space on the data root's filesystem (uploads, extracted archives).
    tmp: PathBuf,
    /// Serialises metadata commits and garbage collection.
    pub(crate) commit: tokio::sync::Mutex<()>,
}

impl Images {
    pub fn open(root: &std::path::Path) -> Result<Self, StoreError> {
        let tmp = root.join("tmp");
        if tmp.exists() {
            tracing::info!(path = %tmp.display(), "removing temporary files from an earlier run");
            std::fs::remove_dir_all(&tmp).map_err(|e| StoreError::Io {
                path: tmp.clone(),
                source: e,
            })?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| StoreError::Io {
            path: tmp.clone(),
            source: e,
        })?;
        Ok(Self {
            content: ContentStore::open(root)?,
            layers: LayerStore::open(root)?,
            tmp,
            commit: tokio::sync::Mutex::new(()),
        })
    }

    /// Start-up consistency check: removes what a crash left unreferenced, logs each
    /// repair, and reports damage it cannot repair.
    pub fn check(&self, db: &berth_store::Db) -> Result<(), StoreError> {
        let report = berth_store::check_images(db, &self.content, &self.layers, true)?;
        for line in &report.removed {
            tracing::info!("image store check: {line}");
        }
        for line in &report.problems {
            tracing::error!("image store check: {line}");
        }
        Ok(())
    }

    /// The layer directories of an image, topmost first (overlay lowerdirs).
    pub(crate) fn layer_dirs(
        &self,
        img: &berth_store::ImageRecord,
    ) -> Result<Vec<PathBuf>, ApiError> {
        img.layers
            .iter()
            .rev()
            .map(|chain| self.layers.path(chain).map_err(store_err))
            .collect()
    }

    /// A fresh scratch directory, removed on drop.
    fn scratch(&self, prefix: &str) -> Result<tempfile::TempDir, ApiError> {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&self.tmp)
            .map_err(|e| ApiError::internal(format!("cannot create a scratch directory: {e}")))
    }
}

/// Maps store errors onto API errors (the store's messages are already user-facing).
pub fn store_err(e: StoreError) -> ApiError {
    match e {
        StoreError::DigestMismatch { .. }
        | StoreError::Unpack(_)
        | StoreError::InvalidDigest(_) => ApiError::invalid(e.to_string()),
        other => ApiError::internal(other.to_string()),
    }
}

/// `docker.io/library/busybox:latest` → `busybox:latest` (how Docker shows names).
pub fn familiar(full: &str) -> String {
    Reference::parse(full)
        .map(|r| r.familiar_string())
        .unwrap_or_else(|_| full.to_string())
}

/// A file removed when this guard drops (unless it was moved away first).
pub(crate) struct RemoveOnDrop(pub PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The media type a stored layer blob gets, by its compression.
pub fn media_type(c: berth_store::unpack::Compression) -> &'static str {
    use berth_store::unpack::Compression;
    match c {
        Compression::None => berth_image::mediatypes::DOCKER_LAYER,
        Compression::Gzip => berth_image::mediatypes::DOCKER_LAYER_GZIP,
        Compression::Zstd => berth_image::mediatypes::OCI_LAYER_ZSTD,
    }
}

/// The compression a stored layer blob has, by its media type.
pub fn compression_of(media_type: &str) -> berth_store::unpack::Compression {
    use berth_store::unpack::Compression;
    if media_type.ends_with("gzip") {
        Compression::Gzip
    } else if media_type.ends_with("zstd") {
        Compression::Zstd
    } else {
        Compression::None
    }
}

pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 with nanoseconds, Docker's time format in inspect output.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string())
}

impl Engine {
    /// Finds an image by full ID, tag or digest reference, or unique ID prefix — in
    /// dockerd's order. Unknown → 404 "No such image: NAME".
    pub fn resolve_image(&self, name: &str) -> Result<ImageRecord, ApiError> {
        let db = self.db();
        let not_found = || ApiError::not_found(format!("No such image: {name}"));
        if let Some(hex) = name.strip_prefix("sha256:") {
            if hex.len() == 64 {
                return db.image(name).map_err(store_err)?.ok_or_else(not_found);
            }
        }
        if let Ok(r) = Reference::parse(name) {
            let id = match r.digest() {
                Some(_) => db.image_by_digest(&r.to_string()).map_err(store_err)?,
                None => db
                    .image_by_tag(&r.with_default_tag().to_string())
                    .map_err(store_err)?,
            };
            if let Some(id) = id {
                return db.image(&id).map_err(store_err)?.ok_or_else(not_found);
            }
        }
        let matches = db.images_by_prefix(name).map_err(store_err)?;
        match matches.len() {
            0 => Err(not_found()),
            1 => db
                .image(&matches[0])
                .map_err(store_err)?
                .ok_or_else(not_found),
            _ => Err(ApiError::invalid(format!(
                "image ID prefix {name:?} is ambiguous ({} images match): use more characters",
                matches.len()
            ))),
        }
    }

    /// An image's tags and repo digests in the familiar form the API shows.
    pub fn image_names(&self, id: &str) -> Result<(Vec<String>, Vec<String>), ApiError> {
        let db = self.db();
        let show = |names: Vec<String>| names.iter().map(|n| familiar(n)).collect();
        Ok((
            show(db.tags_of(id).map_err(store_err)?),
            show(db.digests_of(id).map_err(store_err)?),
        ))
    }

    /// The stored config of an image, as JSON.
    pub fn image_config(&self, id: &str) -> Result<serde_json::Value, ApiError> {
        let path = self.images.content.path(id).map_err(store_err)?;
        let bytes = std::fs::read(&path)
            .map_err(|e| ApiError::internal(format!("image {id}: cannot read its config: {e}")))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::internal(format!("image {id}: corrupt config: {e}")))
    }

    pub(crate) fn image_event(&self, action: &str, id: &str, name: Option<&str>) {
        let mut attrs = HashMap::new();
        if let Some(n) = name {
            attrs.insert("name".to_string(), n.to_string());
        }
        self.events
            .publish(EventMessageTypeEnum::IMAGE, action, id, attrs);
    }
}
