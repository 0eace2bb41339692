//! `POST /images/create?fromImage=…`: pulling from a registry.
//!
//! The manifest is resolved first (mirrors and insecure endpoints tried in order; an index
//! narrowed to the wanted platform), so "not found" and "unauthorized" are HTTP errors
//! before any progress is streamed. Then the config is fetched, layers whose chain ID the
//! store has are skipped ("Already exists"), and the others are downloaded a few at a time
//! into the content store's temp area — hashed as they stream and checked against their
//! digest — and unpacked into the layer store's temp area, where each must match the
//! config's diff ID. Only then is anything committed, under the image commit lock, as in
//! `load`. A pull that fails or whose client goes away leaves no blob, layer or record:
//! temp files and directories are removed as the pull unwinds, and at start-up otherwise.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use berth_api::images::JsonMessage;
use berth_api::ApiError;
use berth_image::{chain_ids, mediatypes, Reference};
use berth_registry::manifest::ImageManifest;
use berth_registry::{
    Credentials, Descriptor, FetchedManifest, Manifest, PlatformSpec, RegistryError, Repository,
};
use berth_store::{ImageRecord, LayerRecord, TempLayer, UnpackedLayer};
use futures_util::{StreamExt, TryStreamExt};

use super::{media_type, now_unix, store_err, RemoveOnDrop};
use crate::engine::registry::{registry_err, short_id, Progress};
use crate::engine::Engine;

/// Layers downloaded at once.
const PARALLEL_DOWNLOADS: usize = 3;
/// Largest image config accepted.
const MAX_CONFIG_SIZE: u64 = 8 << 20;
/// A download reports progress at most this often (bytes).
const PROGRESS_STEP: u64 = 512 << 10;

/// What `POST /images/create?fromImage=…` asks for.
pub struct PullOptions {
    /// `fromImage`: a name, possibly with tag or digest.
    pub image: String,
    /// `tag`: a tag or a digest; empty with an untagged name means every tag.
    pub tag: Option<String>,
    /// `platform`: `os[/arch[/variant]]`.
    pub platform: Option<String>,
    pub creds: Credentials,
}

/// A layer to download.
struct Wanted {
    index: usize,
    desc: Descriptor,
    diff_id: String,
    chain_id: String,
}

/// A layer downloaded and unpacked, not yet committed.
struct Fetched {
    wanted: Wanted,
    blob: RemoveOnDrop,
    temp: TempLayer,
    unpacked: UnpackedLayer,
}

impl Engine {
    /// Pulls an image (or every tag of a repository), streaming progress on `progress`.
    /// Errors before the first message are the request's errors.
    pub async fn pull_image(
        self: &Arc<Self>,
        opts: PullOptions,
        progress: &Progress,
    ) -> Result<(), ApiError> {
        let r = pull_reference(&opts.image, opts.tag.as_deref())?;
        let platform = match opts.platform.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => PlatformSpec::parse(p).map_err(registry_err)?,
            None => PlatformSpec::host(),
        };
        if r.tag().is_some() || r.digest().is_some() {
            let updated = self.pull_one(&r, &platform, &opts.creds, progress).await?;
            return finish(progress, &r.familiar_string(), updated).await;
        }
        // Every tag: the tag list is the first thing that may fail.
        let repo = self
            .registries()
            .repository(
                r.domain(),
                r.path(),
                &opts.creds,
                berth_registry::Access::Pull,
            )
            .await
            .map_err(|e| pull_error(e, &r))?;
        let mut tags = repo.tags().await.map_err(|e| pull_error(e, &r))?;
        tags.sort();
        let mut updated = false;
        for tag in tags {
            let tagged = pull_reference(&r.name(), Some(&tag))?;
            updated |= self
                .pull_one(&tagged, &platform, &opts.creds, progress)
                .await?;
        }
        finish(progress, &r.familiar_name(), updated).await
    }

    /// Pulls one tag or digest; returns whether anything changed.
    async fn pull_one(
        self: &Arc<Self>,
        r: &Reference,
        platform: &PlatformSpec,
        creds: &Credentials,
        progress: &Progress,
    ) -> Result<bool, ApiError> {
        let wanted = r.digest().or(r.tag()).unwrap_or("latest");
        let (repo, top) = self
            .registries()
            .resolve_manifest(r.domain(), r.path(), wanted, creds)
            .await
            .map_err(|e| pull_error(e, r))?;
        let manifest = self.image_manifest(&repo, &top, platform, r).await?;
        progress
            .status(wanted, format!("Pulling from {}", r.path()))
            .await?;

        let config = self.fetch_config(&repo, &manifest.config).await?;
        let diff_ids = diff_ids_of(&config)?;
        if diff_ids.len() != manifest.layers.len() {
            return Err(ApiError::invalid(format!(
                "image config {} lists {} layers but manifest {} has {}",
                manifest.config.digest,
                diff_ids.len(),
                top.digest,
                manifest.layers.len()
            )));
        }
        let chains = chain_ids(&diff_ids);
        let mut todo = Vec::new();
        for (i, desc) in manifest.layers.iter().enumerate() {
            let id = short_id(&desc.digest);
            if self.db().layer(&chains[i]).map_err(store_err)?.is_some() {
                progress.status(&id, "Already exists").await?;
                continue;
            }
            if !mediatypes::is_layer(&desc.media_type) {
                return Err(ApiError::invalid(format!(
                    "layer {} has media type {:?}, which berth cannot unpack",
                    desc.digest, desc.media_type
                )));
            }
            progress.status(&id, "Pulling fs layer").await?;
            todo.push(Wanted {
                index: i,
                desc: desc.clone(),
                diff_id: diff_ids[i].clone(),
                chain_id: chains[i].clone(),
            });
        }
        let fetched: Vec<Fetched> = futures_util::stream::iter(todo)
            .map(|w| self.fetch_layer(&repo, w, progress))
            .buffer_unordered(PARALLEL_DOWNLOADS)
            .try_collect()
            .await?;
        let id = manifest.config.digest.clone();
        let changed = self
            .commit_pull(r, &top.digest, &id, &config, &chains, fetched)
            .await?;
        progress
            .send(JsonMessage::status(format!("Digest: {}", top.digest)))
            .await?;
        Ok(changed)
    }

    /// The single-image manifest `top` is or, for an index, the one for `platform`.
    async fn image_manifest(
        &self,
        repo: &Repository,
        top: &FetchedManifest,
        platform: &PlatformSpec,
        r: &Reference,
    ) -> Result<ImageManifest, ApiError> {
        let invalid = |e: RegistryError| ApiError::invalid(e.to_string());
        match top.parse().map_err(invalid)? {
            Manifest::Image(m) => Ok(m),
            Manifest::Index(index) => {
                let entry = index.select(platform).map_err(registry_err)?;
                let m = repo
                    .manifest(&entry.digest)
                    .await
                    .map_err(|e| pull_error(e, r))?;
                match m.parse().map_err(invalid)? {
                    Manifest::Image(m) => Ok(m),
                    Manifest::Index(_) => Err(ApiError::invalid(format!(
                        "manifest list {} points to another manifest list ({}): nested indexes are not supported",
                        top.digest, entry.digest
                    ))),
                }
            }
        }
    }

    /// Downloads the image config (verified against its digest) and parses it.
    async fn fetch_config(
        &self,
        repo: &Repository,
        desc: &Descriptor,
    ) -> Result<Vec<u8>, ApiError> {
        if desc.size > MAX_CONFIG_SIZE {
            return Err(ApiError::invalid(format!(
                "image config {} is {} bytes, more than berth accepts ({MAX_CONFIG_SIZE})",
                desc.digest, desc.size
            )));
        }
        if self.images.content.exists(&desc.digest) {
            let path = self.images.content.path(&desc.digest).map_err(store_err)?;
            return std::fs::read(&path)
                .map_err(|e| ApiError::internal(format!("cannot read {}: {e}", path.display())));
        }
        let tmp = RemoveOnDrop(self.images.content.temp_path());
        repo.fetch_blob(&desc.digest, Some(desc.size), &tmp.0, &|_| {})
            .await
            .map_err(registry_err)?;
        std::fs::read(&tmp.0)
            .map_err(|e| ApiError::internal(format!("cannot read the image config: {e}")))
    }

    /// Downloads one layer blob and unpacks it into the layer store's temp area.
    async fn fetch_layer(
        self: &Arc<Self>,
        repo: &Repository,
        w: Wanted,
        progress: &Progress,
    ) -> Result<Fetched, ApiError> {
        let id = short_id(&w.desc.digest);
        let blob = RemoveOnDrop(self.images.content.temp_path());
        let total = w.desc.size;
        let reported = AtomicU64::new(0);
        let on_bytes = |n: u64| {
            let last = reported.load(Ordering::Relaxed);
            if n >= last + PROGRESS_STEP || n == total {
                reported.store(n, Ordering::Relaxed);
                progress.bar(&id, "Downloading", n, total);
            }
        };
        repo.fetch_blob(&w.desc.digest, Some(total), &blob.0, &on_bytes)
            .await
            .map_err(registry_err)?;
        progress.status(&id, "Verifying Checksum").await?;
        progress.status(&id, "Download complete").await?;
        progress.bar(&id, "Extracting", total, total);
        let engine = self.clone();
        let path: PathBuf = blob.0.clone();
        let (temp, unpacked) =
            tokio::task::spawn_blocking(move || engine.images.layers.unpack_file(&path))
                .await
                .map_err(|e| ApiError::internal(format!("unpack task failed: {e}")))?
                .map_err(|e| ApiError::invalid(format!("layer {}: {e}", w.desc.digest)))?;
        if unpacked.diff_id != w.diff_id {
            return Err(ApiError::invalid(format!(
                "layer {} does not match the image config: expected diff ID {}, got {}",
                w.desc.digest, w.diff_id, unpacked.diff_id
            )));
        }
        progress.status(&id, "Pull complete").await?;
        Ok(Fetched {
            wanted: w,
            blob,
            temp,
            unpacked,
        })
    }

    /// Commits blobs, layers, config, image, tag and repo digest; returns whether the
    /// reference now names a different image than before.
    async fn commit_pull(
        &self,
        r: &Reference,
        manifest_digest: &str,
        id: &str,
        config: &[u8],
        chains: &[String],
        mut fetched: Vec<Fetched>,
    ) -> Result<bool, ApiError> {
        fetched.sort_by_key(|f| f.wanted.index);
        let _guard = self.images.commit.lock().await;
        let db = self.db();
        let content = &self.images.content;
        for f in fetched {
            if db.layer(&f.wanted.chain_id).map_err(store_err)?.is_some() {
                continue; // another pull committed it meanwhile
            }
            if !content.exists(&f.unpacked.blob_digest) {
                content
                    .commit_file(&f.blob.0, &f.unpacked.blob_digest)
                    .map_err(store_err)?;
            }
            self.images
                .layers
                .publish(f.temp, &f.wanted.chain_id)
                .map_err(store_err)?;
            db.insert_layer(&LayerRecord {
                chain_id: f.wanted.chain_id.clone(),
                diff_id: f.unpacked.diff_id.clone(),
                parent: f.wanted.index.checked_sub(1).map(|p| chains[p].clone()),
                blob_digest: f.unpacked.blob_digest.clone(),
                media_type: media_type(f.unpacked.compression).to_string(),
                blob_size: f.unpacked.blob_size as i64,
                size: f.unpacked.size as i64,
            })
            .map_err(store_err)?;
        }
        if !content.exists(id) {
            content
                .write(&mut &config[..], Some(id))
                .map_err(store_err)?;
        }
        let mut size = 0;
        for c in chains {
            size += db.layer(c).map_err(store_err)?.map(|l| l.size).unwrap_or(0);
        }
        let cfg: serde_json::Value = serde_json::from_slice(config).unwrap_or_default();
        let now = now_unix();
        let new_image = db
            .insert_image(&ImageRecord {
                id: id.to_string(),
                created: created_unix(&cfg),
                size,
                added: now,
                last_tag_time: None,
                layers: chains.to_vec(),
            })
            .map_err(store_err)?;
        let digest_name = format!("{}@{manifest_digest}", r.name());
        let had_digest = db.image_by_digest(&digest_name).map_err(store_err)?;
        db.set_repo_digest(&digest_name, id).map_err(store_err)?;
        let changed = match r.tag() {
            Some(_) => {
                let name = r.to_string();
                let before = db.image_by_tag(&name).map_err(store_err)?;
                db.set_tag(&name, id, now).map_err(store_err)?;
                before.as_deref() != Some(id)
            }
            None => new_image || had_digest.as_deref() != Some(id),
        };
        self.image_event("pull", &r.familiar_string(), Some(&r.familiar_name()));
        Ok(changed)
    }
}

/// `fromImage` and `tag` → the reference to pull (`tag` may be a digest, as the docker
/// CLI sends `name@digest`).
fn pull_reference(image: &str, tag: Option<&str>) -> Result<Reference, ApiError> {
    let base = Reference::parse(image).map_err(|e| ApiError::invalid(e.to_string()))?;
    let full = match tag.filter(|t| !t.is_empty()) {
        Some(t) if t.contains(':') => format!("{}@{t}", base.name()),
        Some(t) => format!("{}:{t}", base.name()),
        None => return Ok(base),
    };
    Reference::parse(&full).map_err(|e| ApiError::invalid(e.to_string()))
}

/// dockerd's wording for a pull that found nothing (`translatePullError`).
fn pull_error(e: RegistryError, r: &Reference) -> ApiError {
    let message = match e.code() {
        Some("MANIFEST_UNKNOWN") => {
            format!("manifest for {} not found: {e}", r.familiar_string())
        }
        Some("NAME_UNKNOWN") => format!("repository {} not found: {e}", r.familiar_name()),
        Some("DENIED") => format!(
            "pull access denied for {}, repository does not exist or may require 'docker login': {e}",
            r.familiar_name()
        ),
        // Not 401: the docker CLI would answer that with an interactive login prompt,
        // and dockerd never sends it for a pull either.
        _ if e.is_unauthorized() => {
            return ApiError::new(berth_api::ErrorKind::Internal, e.to_string())
        }
        _ => return registry_err(e),
    };
    let mut err = registry_err(e);
    err.message = message;
    err
}

/// The last line: `Status: Downloaded newer image for …` or `… Image is up to date …`.
async fn finish(progress: &Progress, name: &str, updated: bool) -> Result<(), ApiError> {
    let text = if updated {
        format!("Status: Downloaded newer image for {name}")
    } else {
        format!("Status: Image is up to date for {name}")
    };
    progress.send(JsonMessage::status(text)).await
}

fn diff_ids_of(config: &[u8]) -> Result<Vec<String>, ApiError> {
    let cfg: serde_json::Value = serde_json::from_slice(config)
        .map_err(|e| ApiError::invalid(format!("the image config is not valid JSON: {e}")))?;
    let ids = cfg["rootfs"]["diff_ids"]
        .as_array()
        .ok_or_else(|| ApiError::invalid("the image config has no rootfs.diff_ids"))?;
    ids.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| ApiError::invalid("the image config has a non-string diff ID"))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_from_the_query() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            pull_reference("busybox", Some("1.36")).unwrap().to_string(),
            "docker.io/library/busybox:1.36"
        );
        assert_eq!(
            pull_reference("127.0.0.1:5000/x/y", Some(&d))
                .unwrap()
                .to_string(),
            format!("127.0.0.1:5000/x/y@{d}")
        );
        let all = pull_reference("busybox", None).unwrap();
        assert!(all.tag().is_none() && all.digest().is_none());
        assert_eq!(
            pull_reference("busybox:1", Some("")).unwrap().tag(),
            Some("1")
        );
        assert!(pull_reference("Bad", None).is_err());
    }

    #[test]
    fn not_found_reads_like_dockerd() {
        let r = pull_reference("127.0.0.1:5000/test/bb", Some("nope")).unwrap();
        let e = RegistryError::Registry {
            status: 404,
            errors: vec![berth_registry::ErrorEntry {
                code: "MANIFEST_UNKNOWN".into(),
                message: "manifest unknown".into(),
            }],
        };
        let api = pull_error(e, &r);
        assert_eq!(api.kind, berth_api::ErrorKind::NotFound);
        assert_eq!(
            api.message,
            "manifest for 127.0.0.1:5000/test/bb:nope not found: manifest unknown: manifest unknown"
        );
    }
}
