//! `GET /images/get` and `GET /images/{name}/get`: images as a `docker save` archive
//! (OCI layout plus Docker's manifest.json), streamed as it is written.

use std::sync::Arc;

use berth_api::ApiError;
use berth_image::{Reference, SaveImage, SaveLayer};

use super::{compression_of, familiar, store_err};
use crate::engine::Engine;

impl Engine {
    /// Resolves every name first (an unknown one fails the request before any byte is
    /// sent), then streams the archive through the returned reader.
    pub fn save_images(
        self: &Arc<Self>,
        names: &[String],
    ) -> Result<tokio::io::DuplexStream, ApiError> {
        if names.is_empty() {
            return Err(ApiError::invalid("no images to save: name at least one"));
        }
        let db = self.db();
        let mut images: Vec<SaveImage> = Vec::new();
        let mut ids = Vec::new();
        for name in names {
            let img = self.resolve_image(name)?;
            // Named by tag: the archive carries that tag. By ID: no name, like dockerd.
            let tag = Reference::parse(name)
                .ok()
                .map(|r| r.with_default_tag().to_string())
                .filter(|full| {
                    db.image_by_tag(full).ok().flatten().as_deref() == Some(img.id.as_str())
                });
            if let Some(pos) = ids.iter().position(|i| *i == img.id) {
                if let Some(t) = tag {
                    let existing: &mut SaveImage = &mut images[pos];
                    let t = familiar(&t);
                    if !existing.repo_tags.contains(&t) {
                        existing.repo_tags.push(t);
                    }
                }
                continue;
            }
            let config = std::fs::read(self.images.content.path(&img.id).map_err(store_err)?)
                .map_err(|e| {
                    ApiError::internal(format!("image {}: cannot read its config: {e}", img.id))
                })?;
            let mut layers = Vec::new();
            for chain in &img.layers {
                let l = db.layer(chain).map_err(store_err)?.ok_or_else(|| {
                    ApiError::internal(format!("image {}: layer {chain} is missing", img.id))
                })?;
                layers.push(SaveLayer {
                    path: self
                        .images
                        .content
                        .path(&l.blob_digest)
                        .map_err(store_err)?,
                    diff_id: l.diff_id.clone(),
                    compressed: archive_compression(compression_of(&l.media_type)),
                });
            }
            ids.push(img.id.clone());
            images.push(SaveImage {
                config,
                repo_tags: tag.map(|t| vec![familiar(&t)]).unwrap_or_default(),
                layers,
            });
        }
        for id in &ids {
            self.image_event("save", id, None);
        }
        let (writer, reader) = tokio::io::duplex(256 * 1024);
        let bridge = tokio_util::io::SyncIoBridge::new(writer);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = berth_image::write_archive(bridge, &images) {
                // The client sees the stream end early; the tar is then visibly truncated.
                tracing::warn!(error = %e, "image save stopped");
            }
        });
        Ok(reader)
    }
}

fn archive_compression(c: berth_store::unpack::Compression) -> berth_image::Compression {
    match c {
        berth_store::unpack::Compression::None => berth_image::Compression::None,
        berth_store::unpack::Compression::Gzip => berth_image::Compression::Gzip,
        berth_store::unpack::Compression::Zstd => berth_image::Compression::Zstd,
    }
}
