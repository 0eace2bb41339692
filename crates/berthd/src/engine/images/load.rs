//! `POST /images/load`: images from a `docker save` archive (Docker or OCI layout, plain or
//! compressed). The archive is extracted safely into scratch space, the layers not yet
//! known are unpacked in parallel and verified against the configs' diff IDs, and only
//! then is anything committed.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use berth_api::images::JsonMessage;
use berth_api::ApiError;
use berth_image::{chain_ids, ArchiveImage, Reference};
use berth_store::{ImageRecord, LayerRecord, UnpackedLayer};

use super::{media_type, now_unix, store_err};
use crate::engine::Engine;

/// A layer the archive brings that this daemon lacks.
struct Pending {
    chain_id: String,
    parent: Option<String>,
    diff_id: String,
    path: PathBuf,
    /// The blob digest an OCI manifest promises, checked after unpacking.
    digest: Option<String>,
}

impl Engine {
    /// Loads every image in the archive read from `body`; returns the lines to report.
    pub async fn load_images(
        self: &Arc<Self>,
        body: Box<dyn Read + Send>,
    ) -> Result<Vec<JsonMessage>, ApiError> {
        let scratch = self.images.scratch("load-")?;
        let dir = scratch.path().join("archive");
        let engine = self.clone();
        let (archive, unpacked) = tokio::task::spawn_blocking(move || {
            std::fs::create_dir(&dir).map_err(|e| ApiError::internal(e.to_string()))?;
            let (_, reader) = berth_store::unpack::decompress(body)
                .map_err(|e| ApiError::invalid(format!("cannot read the archive: {e}")))?;
            berth_store::unpack::unpack_layer(reader, &dir)
                .map_err(|e| ApiError::invalid(format!("invalid image archive: {e}")))?;
            let archive =
                berth_image::read_archive(&dir).map_err(|e| ApiError::invalid(e.to_string()))?;
            let pending = engine.pending_layers(&archive)?;
            let unpacked = engine.unpack_parallel(pending)?;
            Ok::<_, ApiError>((archive, unpacked))
        })
        .await
        .map_err(|e| ApiError::internal(format!("load task failed: {e}")))??;

        let _guard = self.images.commit.lock().await;
        let db = self.db();
        let images = &self.images;
        for (p, temp, u) in unpacked {
            if db.layer(&p.chain_id).map_err(store_err)?.is_some() {
                continue; // another load committed it meanwhile
            }
            store_blob(self, &p.path, &u.blob_digest)?;
            images
                .layers
                .publish(temp, &p.chain_id)
                .map_err(store_err)?;
            db.insert_layer(&LayerRecord {
                chain_id: p.chain_id.clone(),
                diff_id: u.diff_id.clone(),
                parent: p.parent.clone(),
                blob_digest: u.blob_digest.clone(),
                media_type: media_type(u.compression).to_string(),
                blob_size: u.blob_size as i64,
                size: u.size as i64,
            })
            .map_err(store_err)?;
        }
        let now = now_unix();
        let mut out = Vec::new();
        for img in &archive {
            let (config, diff_ids) = read_config(img)?;
            let chains = chain_ids(&diff_ids);
            let mut size = 0;
            for c in &chains {
                size += db.layer(c).map_err(store_err)?.map(|l| l.size).unwrap_or(0);
            }
            let mut f = std::fs::File::open(&img.config_path)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            let (id, _) = images
                .content
                .write(&mut f, Some(&img.config_digest))
                .map_err(store_err)?;
            db.insert_image(&ImageRecord {
                id: id.clone(),
                created: created_unix(&config),
                size,
                added: now,
                last_tag_time: None,
                layers: chains,
            })
            .map_err(store_err)?;
            self.image_event("load", &id, None);
            if img.repo_tags.is_empty() {
                out.push(JsonMessage::stream(format!("Loaded image ID: {id}\n")));
            }
            for tag in &img.repo_tags {
                let r = Reference::parse(tag)
                    .map_err(|e| {
                        ApiError::invalid(format!("archive names an invalid tag {tag:?}: {e}"))
                    })?
                    .with_default_tag();
                if let Some(old) = db.set_tag(&r.to_string(), &id, now).map_err(store_err)? {
                    out.push(JsonMessage::stream(format!(
                        "The image {} already exists, renaming the old one with ID {old} to empty string\n",
                        r.familiar_string()
                    )));
                }
                self.image_event("tag", &id, Some(&r.familiar_string()));
                out.push(JsonMessage::stream(format!(
                    "Loaded image: {}\n",
                    r.familiar_string()
                )));
            }
        }
        drop(scratch);
        Ok(out)
    }

    /// The layers of `archive` this daemon does not have yet, each once.
    fn pending_layers(&self, archive: &[ArchiveImage]) -> Result<Vec<Pending>, ApiError> {
        let db = self.db();
        let mut seen = HashSet::new();
        let mut pending = Vec::new();
        for img in archive {
            let (_, diff_ids) = read_config(img)?;
            if diff_ids.len() != img.layers.len() {
                return Err(ApiError::invalid(format!(
                    "image config {} lists {} layers but the archive has {}",
                    img.config_digest,
                    diff_ids.len(),
                    img.layers.len()
                )));
            }
            let chains = chain_ids(&diff_ids);
            for (i, layer) in img.layers.iter().enumerate() {
                let chain = &chains[i];
                if !seen.insert(chain.clone()) || db.layer(chain).map_err(store_err)?.is_some() {
                    continue;
                }
                pending.push(Pending {
                    chain_id: chain.clone(),
                    parent: i.checked_sub(1).map(|p| chains[p].clone()),
                    diff_id: diff_ids[i].clone(),
                    path: layer.path.clone(),
                    digest: layer.digest.clone(),
                });
            }
        }
        Ok(pending)
    }

    /// Unpacks layers on a few threads at once; every diff ID (and OCI digest) is checked.
    fn unpack_parallel(
        &self,
        pending: Vec<Pending>,
    ) -> Result<Vec<(Pending, berth_store::TempLayer, UnpackedLayer)>, ApiError> {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 4);
        let queue = Mutex::new(pending.into_iter().collect::<Vec<_>>());
        let done = Mutex::new(Vec::new());
        let first_error = Mutex::new(None::<ApiError>);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    if first_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .is_some()
                    {
                        return;
                    }
                    let Some(p) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                        return;
                    };
                    match self.unpack_one(&p) {
                        Ok((t, u)) => done
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((p, t, u)),
                        Err(e) => {
                            first_error
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e);
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        Ok(done.into_inner().unwrap_or_else(|p| p.into_inner()))
    }

    fn unpack_one(&self, p: &Pending) -> Result<(berth_store::TempLayer, UnpackedLayer), ApiError> {
        let (temp, u) = self
            .images
            .layers
            .unpack_file(&p.path)
            .map_err(|e| ApiError::invalid(format!("layer {}: {e}", p.diff_id)))?;
        if u.diff_id != p.diff_id {
            return Err(ApiError::invalid(format!(
                "layer does not match the image config: expected diff ID {}, the archive's layer has {}",
                p.diff_id, u.diff_id
            )));
        }
        if let Some(d) = &p.digest {
            if *d != u.blob_digest {
                return Err(ApiError::invalid(format!(
                    "layer blob {} does not match its digest (got {})",
                    d, u.blob_digest
                )));
            }
        }
        Ok((temp, u))
    }
}

/// Moves (or, for a symlinked archive entry, copies) a layer blob into the content store.
fn store_blob(engine: &Engine, path: &Path, digest: &str) -> Result<(), ApiError> {
    let content = &engine.images.content;
    if content.exists(digest) {
        return Ok(());
    }
    let is_link = std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    if is_link {
        let mut f = std::fs::File::open(path).map_err(|e| ApiError::internal(e.to_string()))?;
        content.write(&mut f, Some(digest)).map_err(store_err)?;
    } else {
        content.commit_file(path, digest).map_err(store_err)?;
    }
    Ok(())
}

fn read_config(img: &ArchiveImage) -> Result<(serde_json::Value, Vec<String>), ApiError> {
    let bytes = std::fs::read(&img.config_path).map_err(|e| {
        ApiError::invalid(format!(
            "cannot read image config {}: {e}",
            img.config_path.display()
        ))
    })?;
    let cfg: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::invalid(format!(
            "image config {} is not valid JSON: {e}",
            img.config_digest
        ))
    })?;
    let diff_ids: Vec<String> = cfg["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok((cfg, diff_ids))
}

fn created_unix(cfg: &serde_json::Value) -> i64 {
    cfg["created"]
        .as_str()
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| t.unix_timestamp())
        .unwrap_or(0)
}
