//! `POST /images/create?fromSrc=-`: a rootfs tarball becomes a one-layer image.

use std::io::Read;
use std::sync::Arc;

use berth_api::ApiError;
use berth_image::{apply_changes, ContainerConfig, Reference};
use berth_store::{ImageRecord, LayerRecord};

use super::{media_type, now_unix, rfc3339, store_err, RemoveOnDrop};
use crate::engine::Engine;

/// Options of an import (docker import's flags).
#[derive(Debug, Default, Clone)]
pub struct ImportOptions {
    pub repo: Option<String>,
    pub tag: Option<String>,
    pub message: Option<String>,
    /// Dockerfile-like `--change` instructions.
    pub changes: Vec<String>,
}

impl Engine {
    /// Imports the tarball read from `body` (plain, gzip or zstd); returns the image ID.
    pub async fn import_image(
        self: &Arc<Self>,
        body: Box<dyn Read + Send>,
        opts: ImportOptions,
    ) -> Result<String, ApiError> {
        // Check everything the request says before reading the (possibly huge) body.
        let target = match opts.repo.as_deref().filter(|r| !r.is_empty()) {
            None => None,
            Some(repo) => {
                let full = match opts.tag.as_deref().filter(|t| !t.is_empty()) {
                    Some(t) => format!("{repo}:{t}"),
                    None => repo.to_string(),
                };
                let r = Reference::parse(&full).map_err(|e| ApiError::invalid(e.to_string()))?;
                if r.digest().is_some() {
                    return Err(ApiError::invalid(
                        "cannot import to a digest reference; give a tag",
                    ));
                }
                Some(r.with_default_tag())
            }
        };
        let mut container_config = ContainerConfig::default();
        apply_changes(&mut container_config, &opts.changes)
            .map_err(|e| ApiError::invalid(e.to_string()))?;

        let engine = self.clone();
        let (blob, temp_layer, unpacked) = tokio::task::spawn_blocking(move || {
            let mut body = body;
            let images = &engine.images;
            let blob = RemoveOnDrop(images.content.temp_path());
            let mut f = std::fs::File::create(&blob.0)
                .map_err(|e| ApiError::internal(format!("cannot store the upload: {e}")))?;
            std::io::copy(&mut body, &mut f).map_err(|e| {
                ApiError::invalid(format!("reading the uploaded tarball failed: {e}"))
            })?;
            drop(f);
            let (temp, unpacked) = images.layers.unpack_file(&blob.0).map_err(|e| {
                ApiError::invalid(format!(
                    "the uploaded file is not a valid layer tarball: {e}"
                ))
            })?;
            Ok::<_, ApiError>((blob, temp, unpacked))
        })
        .await
        .map_err(|e| ApiError::internal(format!("import task failed: {e}")))??;

        let now = now_unix();
        let created = rfc3339(now);
        let comment = opts
            .message
            .clone()
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| "Imported from -".into());
        let config = serde_json::json!({
            "architecture": crate::host::go_arch(std::env::consts::ARCH),
            "os": "linux",
            "created": created,
            "config": container_config,
            "rootfs": {"type": "layers", "diff_ids": [unpacked.diff_id]},
            "history": [{"created": created, "comment": comment}],
        });
        let config_bytes =
            serde_json::to_vec(&config).map_err(|e| ApiError::internal(e.to_string()))?;

        let _guard = self.images.commit.lock().await;
        let db = self.db();
        let images = &self.images;
        let chain_id = unpacked.diff_id.clone();
        if db.layer(&chain_id).map_err(store_err)?.is_none() {
            images
                .content
                .commit_file(&blob.0, &unpacked.blob_digest)
                .map_err(store_err)?;
            images
                .layers
                .publish(temp_layer, &chain_id)
                .map_err(store_err)?;
            db.insert_layer(&LayerRecord {
                chain_id: chain_id.clone(),
                diff_id: unpacked.diff_id.clone(),
                parent: None,
                blob_digest: unpacked.blob_digest.clone(),
                media_type: media_type(unpacked.compression).to_string(),
                blob_size: unpacked.blob_size as i64,
                size: unpacked.size as i64,
            })
            .map_err(store_err)?;
        }
        let (id, _) = images
            .content
            .write(&mut &config_bytes[..], None)
            .map_err(store_err)?;
        db.insert_image(&ImageRecord {
            id: id.clone(),
            created: now,
            size: unpacked.size as i64,
            added: now,
            last_tag_time: None,
            layers: vec![chain_id],
        })
        .map_err(store_err)?;
        self.image_event("import", &id, None);
        if let Some(r) = target {
            db.set_tag(&r.to_string(), &id, now).map_err(store_err)?;
            self.image_event("tag", &id, Some(&r.familiar_string()));
        }
        Ok(id)
    }
}
