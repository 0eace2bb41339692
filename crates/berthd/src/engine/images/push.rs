//! `POST /images/{name}/push`: uploading an image (or every tag of a repository).
//!
//! Each layer blob goes up exactly as stored (its digest is what the config's layers
//! were verified against at load or pull time, so the manifest can name it): skipped when
//! the registry has it (`HEAD`), mounted from another repository of the same registry that
//! an image with this layer was pulled from or pushed to, or uploaded (one `PUT`, or
//! `PATCH` chunks then `PUT` for big blobs). Then the config, then a Docker schema 2
//! manifest under the tag; its digest becomes a repo digest of the image.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use berth_api::images::JsonMessage;
use berth_api::ApiError;
use berth_image::{mediatypes, Reference};
use berth_registry::manifest::docker_manifest;
use berth_registry::{Access, Credentials, Descriptor, Mount, ProgressFn, Repository};
use berth_store::LayerRecord;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};

use super::store_err;
use crate::engine::registry::{registry_err, short_id, Progress};
use crate::engine::Engine;

/// Layers uploaded at once.
const PARALLEL_UPLOADS: usize = 3;
/// An upload reports progress at most this often (bytes).
const PROGRESS_STEP: u64 = 512 << 10;

/// What `POST /images/{name}/push` asks for.
pub struct PushOptions {
    /// The repository (possibly with a tag).
    pub name: String,
    /// `tag`; without it (and without a tag in `name`) every tag of the repository.
    pub tag: Option<String>,
    pub creds: Credentials,
}

impl Engine {
    /// Pushes the image(s), streaming progress on `progress`.
    pub async fn push_image(
        self: &Arc<Self>,
        opts: PushOptions,
        progress: &Progress,
    ) -> Result<(), ApiError> {
        let r = Reference::parse(&opts.name).map_err(|e| ApiError::invalid(e.to_string()))?;
        if r.digest().is_some() {
            return Err(ApiError::invalid(format!(
                "cannot push a digest reference ({}): push a tag",
                opts.name
            )));
        }
        let tag = opts
            .tag
            .as_deref()
            .filter(|t| !t.is_empty())
            .or(r.tag())
            .map(str::to_string);
        let targets = self.push_targets(&r, tag.as_deref())?;
        if targets.is_empty() {
            let shown = match &tag {
                Some(t) => format!("{}:{t}", r.familiar_name()),
                None => r.familiar_name(),
            };
            return Err(ApiError::not_found(format!(
                "An image does not exist locally with the tag: {shown}"
            )));
        }
        progress
            .send(JsonMessage::status(format!(
                "The push refers to repository [{}]",
                r.name()
            )))
            .await?;
        let repo = self
            .registries()
            .repository(r.domain(), r.path(), &opts.creds, Access::Push)
            .await
            .map_err(registry_err)?;
        for (tag, id) in targets {
            self.push_one(&repo, &r, &tag, &id, progress).await?;
        }
        Ok(())
    }

    /// (tag, image ID) pairs to push: one tag, or every tag of the repository.
    fn push_targets(
        &self,
        r: &Reference,
        tag: Option<&str>,
    ) -> Result<Vec<(String, String)>, ApiError> {
        let db = self.db();
        if let Some(t) = tag {
            let id = db
                .image_by_tag(&format!("{}:{t}", r.name()))
                .map_err(store_err)?;
            return Ok(id.map(|id| vec![(t.to_string(), id)]).unwrap_or_default());
        }
        let prefix = format!("{}:", r.name());
        let mut out = Vec::new();
        for img in db.images().map_err(store_err)? {
            for name in db.tags_of(&img.id).map_err(store_err)? {
                if let Some(t) = name.strip_prefix(&prefix) {
                    out.push((t.to_string(), img.id.clone()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn push_one(
        self: &Arc<Self>,
        repo: &Repository,
        r: &Reference,
        tag: &str,
        id: &str,
        progress: &Progress,
    ) -> Result<(), ApiError> {
        let db = self.db();
        let image = db
            .image(id)
            .map_err(store_err)?
            .ok_or_else(|| ApiError::not_found(format!("No such image: {id}")))?;
        let mut layers = Vec::new();
        for chain in &image.layers {
            let l = db.layer(chain).map_err(store_err)?.ok_or_else(|| {
                ApiError::internal(format!("image {id}: layer {chain} is not recorded"))
            })?;
            layers.push(l);
        }
        for l in &layers {
            progress.status(&short_id(&l.diff_id), "Preparing").await?;
        }
        let descriptors: Vec<Descriptor> = futures_util::stream::iter(layers)
            .map(|l| self.push_layer(repo, r, l, progress))
            .buffered(PARALLEL_UPLOADS)
            .try_collect()
            .await?;

        let config_path = self.images.content.path(id).map_err(store_err)?;
        let config = std::fs::read(&config_path)
            .map_err(|e| ApiError::internal(format!("image {id}: cannot read its config: {e}")))?;
        let config_desc = Descriptor {
            media_type: mediatypes::DOCKER_CONFIG.to_string(),
            digest: id.to_string(),
            size: config.len() as u64,
            urls: Vec::new(),
            platform: None,
        };
        repo.push_small_blob(id, Bytes::from(config))
            .await
            .map_err(registry_err)?;
        let manifest = docker_manifest(&config_desc, &descriptors);
        let size = manifest.len();
        let digest = repo
            .put_manifest(tag, mediatypes::DOCKER_MANIFEST, Bytes::from(manifest))
            .await
            .map_err(registry_err)?;
        {
            let _guard = self.images.commit.lock().await;
            if db.image(id).map_err(store_err)?.is_some() {
                db.set_repo_digest(&format!("{}@{digest}", r.name()), id)
                    .map_err(store_err)?;
            }
        }
        progress
            .send(JsonMessage::status(format!(
                "{tag}: digest: {digest} size: {size}"
            )))
            .await?;
        progress
            .send(JsonMessage {
                aux: Some(serde_json::json!({"Tag": tag, "Digest": digest, "Size": size})),
                ..JsonMessage::default()
            })
            .await?;
        self.image_event(
            "push",
            &format!("{}:{tag}", r.familiar_name()),
            Some(&r.familiar_name()),
        );
        Ok(())
    }

    /// Makes sure the registry has one layer blob; returns its manifest entry.
    async fn push_layer(
        &self,
        repo: &Repository,
        r: &Reference,
        l: LayerRecord,
        progress: &Progress,
    ) -> Result<Descriptor, ApiError> {
        let id = short_id(&l.diff_id);
        let desc = Descriptor {
            media_type: l.media_type.clone(),
            digest: l.blob_digest.clone(),
            size: l.blob_size as u64,
            urls: Vec::new(),
            platform: None,
        };
        if repo
            .blob_exists(&l.blob_digest)
            .await
            .map_err(registry_err)?
        {
            progress.status(&id, "Layer already exists").await?;
            return Ok(desc);
        }
        let mut location = None;
        for from in self.mount_sources(&l.chain_id, r)? {
            match repo.mount_blob(&l.blob_digest, &from).await {
                Ok(Mount::Mounted) => {
                    progress.status(&id, format!("Mounted from {from}")).await?;
                    return Ok(desc);
                }
                Ok(Mount::Upload(loc)) => {
                    location = Some(loc);
                    break;
                }
                Err(e) => tracing::debug!(from, error = %e, "cross-repository mount failed"),
            }
        }
        let location = match location {
            Some(l) => l,
            None => repo.start_upload().await.map_err(registry_err)?,
        };
        let path = self
            .images
            .content
            .path(&l.blob_digest)
            .map_err(store_err)?;
        if !path.exists() {
            return Err(ApiError::internal(format!(
                "layer blob {} is missing from the content store: pull or load the image again",
                l.blob_digest
            )));
        }
        let total = desc.size;
        let reported = Arc::new(AtomicU64::new(0));
        let (p, bar_id) = (progress.clone(), id.clone());
        let on_bytes: ProgressFn = Arc::new(move |n| {
            let last = reported.load(Ordering::Relaxed);
            if n >= last + PROGRESS_STEP || n == total {
                reported.store(n, Ordering::Relaxed);
                p.bar(&bar_id, "Pushing", n, total);
            }
        });
        repo.upload_blob(location, &path, &l.blob_digest, total, on_bytes)
            .await
            .map_err(registry_err)?;
        progress.status(&id, "Pushed").await?;
        Ok(desc)
    }

    /// Other repositories of the same registry known to hold this layer: those an image
    /// with it was pulled from or pushed to (its repo digests).
    fn mount_sources(&self, chain_id: &str, target: &Reference) -> Result<Vec<String>, ApiError> {
        let db = self.db();
        let mut out: Vec<String> = Vec::new();
        for img in db.images().map_err(store_err)? {
            if !img.layers.iter().any(|c| c == chain_id) {
                continue;
            }
            for d in db.digests_of(&img.id).map_err(store_err)? {
                let Ok(src) = Reference::parse(&d) else {
                    continue;
                };
                if src.domain() == target.domain()
                    && src.path() != target.path()
                    && !out.iter().any(|p| p == src.path())
                {
                    out.push(src.path().to_string());
                }
            }
        }
        Ok(out)
    }
}
