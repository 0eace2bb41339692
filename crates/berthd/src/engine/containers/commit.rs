//! `POST /commit` (`docker commit`): a new image made of the container's image plus one
//! layer holding what the container changed.
//!
//! The layer is the container's overlay upper directory packed as an OCI layer tar
//! (overlayfs whiteouts become `.wh.name` entries, opaque directories `.wh..wh..opq`), minus
//! the empty mount-point placeholders the runtime created (see `changes`). It then goes
//! through the image store exactly like an imported layer: stored as an uncompressed blob
//! (the bytes its diff ID names, for `save` and `push`) and unpacked once into a layer
//! directory, so containers of the new image mount it like any other. A container that
//! changed nothing gives no layer, only a history entry marked `empty_layer`, as in dockerd.
//!
//! The image config is the parent's (architecture, OS, history, layers) with the
//! container's config — or the one in the request body — after the `changes` (`-c`
//! Dockerfile instructions), merged with the container's config the way dockerd merges it.
//!
//! Not yet: `pause` is accepted but the container is not frozen while its upper directory is
//! read (berth has no pause yet); files being written meanwhile may be caught half-written.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_api::ApiError;
use berth_image::{apply_changes, chain_ids, ContainerConfig, History, ImageConfig, Reference};
use berth_store::unpack::{pack_dir_excluding, PackOptions};
use berth_store::{ImageRecord, LayerRecord};

use super::changes;
use crate::engine::images::{now_unix, rfc3339, store_err, RemoveOnDrop};
use crate::engine::Engine;

/// The diff ID of a tar with no entries (two zero blocks): dockerd's "empty layer".
const EMPTY_LAYER: &str = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// Options of a commit (docker commit's flags).
#[derive(Debug, Default, Clone)]
pub struct CommitOptions {
    pub container: String,
    pub repo: Option<String>,
    pub tag: Option<String>,
    pub comment: String,
    pub author: String,
    /// Dockerfile-like `--change` instructions.
    pub changes: Vec<String>,
    /// The request body's config, replacing the container's as the base of the changes.
    pub config: Option<serde_json::Value>,
}

impl Engine {
    /// Commits a container; returns the new image's ID.
    pub async fn commit_container(
        self: &Arc<Self>,
        opts: CommitOptions,
    ) -> Result<String, ApiError> {
        let c = self.resolve_container(&opts.container)?;
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
                        "refusing to create a tag with a digest reference",
                    ));
                }
                Some(r.with_default_tag())
            }
        };
        let stored: serde_json::Value = serde_json::from_str(&c.config)
            .map_err(|e| ApiError::internal(format!("container config: {e}")))?;
        let container_cfg: ContainerConfig = serde_json::from_value(normalize(stored))
            .map_err(|e| ApiError::internal(format!("container config: {e}")))?;
        let mut config = match opts.config.clone() {
            Some(v) => serde_json::from_value::<ContainerConfig>(normalize(v))
                .map_err(|e| ApiError::invalid(format!("invalid config: {e}")))?,
            None => container_cfg.clone(),
        };
        apply_changes(&mut config, &opts.changes).map_err(|e| ApiError::invalid(e.to_string()))?;
        merge(&mut config, &container_cfg);

        let image = self.container_image(&c)?;
        let parent: ImageConfig = serde_json::from_value(self.image_config(&image.id)?)
            .map_err(|e| ApiError::internal(format!("image {}: {e}", image.id)))?;
        let (upper, lowers) = self.container_layers(&c)?;

        // Pack the upper directory and unpack the result as a layer, off the async threads.
        let engine = self.clone();
        let (blob, layer) = tokio::task::spawn_blocking(move || {
            let images = &engine.images;
            let diff = changes::compute(&upper, &lowers).map_err(|e| {
                ApiError::internal(format!("cannot read the container's changes: {e}"))
            })?;
            if !upper.is_dir() {
                return Ok((None, None));
            }
            let blob = RemoveOnDrop(images.content.temp_path());
            let file = std::fs::File::create(&blob.0)
                .map_err(|e| ApiError::internal(format!("cannot create the layer: {e}")))?;
            let skip = |p: &[u8]| diff.placeholders.iter().any(|s| s.as_bytes() == p);
            let stats = pack_dir_excluding(
                &upper,
                std::io::BufWriter::new(file),
                PackOptions {
                    overlay_whiteouts: true,
                },
                &skip,
            )
            .map_err(|e| ApiError::internal(format!("cannot pack the container's changes: {e}")))?;
            if stats.diff_id == EMPTY_LAYER {
                return Ok((None, None));
            }
            let (temp, unpacked) = images.layers.unpack_file(&blob.0).map_err(store_err)?;
            Ok::<_, ApiError>((Some(blob), Some((temp, unpacked))))
        })
        .await
        .map_err(|e| ApiError::internal(format!("commit task failed: {e}")))??;

        let now = now_unix();
        let created = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| rfc3339(now));
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let created_by = container_cfg.cmd.clone().unwrap_or_default().join(" ");
        let mut diff_ids = parent.rootfs.diff_ids.clone();
        let mut history = parent.history.clone();
        history.push(History {
            created: Some(created.clone()),
            author: non_empty(&opts.author),
            created_by: non_empty(&created_by),
            comment: non_empty(&opts.comment),
            empty_layer: layer.is_none().then_some(true),
            ..Default::default()
        });
        if let Some((_, unpacked)) = &layer {
            diff_ids.push(unpacked.diff_id.clone());
        }
        let new_config = ImageConfig {
            architecture: if parent.architecture.is_empty() {
                crate::host::go_arch(std::env::consts::ARCH).to_string()
            } else {
                parent.architecture.clone()
            },
            author: non_empty(&opts.author),
            comment: non_empty(&opts.comment),
            config: Some(config),
            container: Some(c.id.clone()),
            container_config: serde_json::from_str(&c.config).ok(),
            created: Some(created),
            docker_version: None,
            history,
            os: if parent.os.is_empty() {
                "linux".into()
            } else {
                parent.os.clone()
            },
            os_features: parent.os_features.clone(),
            os_version: parent.os_version.clone(),
            rootfs: berth_image::RootFs {
                kind: "layers".into(),
                diff_ids: diff_ids.clone(),
            },
            variant: parent.variant.clone(),
            extra: Default::default(),
        };
        let config_bytes =
            serde_json::to_vec(&new_config).map_err(|e| ApiError::internal(e.to_string()))?;

        let _guard = self.images.commit.lock().await;
        let db = self.db();
        let images = &self.images;
        let mut layers = image.layers.clone();
        let mut size = image.size;
        if let (Some(blob), Some((temp, unpacked))) = (blob, layer) {
            let chain_id = chain_ids(&diff_ids)
                .pop()
                .ok_or_else(|| ApiError::internal("no layers"))?;
            if db.layer(&chain_id).map_err(store_err)?.is_none() {
                images
                    .content
                    .commit_file(&blob.0, &unpacked.blob_digest)
                    .map_err(store_err)?;
                images.layers.publish(temp, &chain_id).map_err(store_err)?;
                db.insert_layer(&LayerRecord {
                    chain_id: chain_id.clone(),
                    diff_id: unpacked.diff_id.clone(),
                    parent: image.layers.last().cloned(),
                    blob_digest: unpacked.blob_digest.clone(),
                    media_type: crate::engine::images::media_type(unpacked.compression).to_string(),
                    blob_size: unpacked.blob_size as i64,
                    size: unpacked.size as i64,
                })
                .map_err(store_err)?;
            }
            layers.push(chain_id);
            size += unpacked.size as i64;
        }
        let (id, _) = images
            .content
            .write(&mut &config_bytes[..], None)
            .map_err(store_err)?;
        db.insert_image(&ImageRecord {
            id: id.clone(),
            created: now,
            size,
            added: now,
            last_tag_time: None,
            layers,
        })
        .map_err(store_err)?;
        let mut image_ref = String::new();
        if let Some(r) = target {
            db.set_tag(&r.to_string(), &id, now).map_err(store_err)?;
            image_ref = r.familiar_string();
            self.image_event("tag", &id, Some(&image_ref));
        }
        self.container_event(
            "commit",
            &c,
            &[
                ("comment", opts.comment.clone()),
                ("imageID", id.clone()),
                ("imageRef", image_ref),
            ],
        );
        Ok(id)
    }
}

/// `ExposedPorts` and `Volumes` are sets: whatever their values (`{}`, `null`), they become
/// `{}`.
fn normalize(mut v: serde_json::Value) -> serde_json::Value {
    for key in ["ExposedPorts", "Volumes"] {
        if let Some(set) = v.get_mut(key).and_then(|s| s.as_object_mut()) {
            for value in set.values_mut() {
                *value = serde_json::json!({});
            }
        }
    }
    v
}

/// dockerd's `merge(userConf, imageConf)` for commit: what the user's config leaves empty is
/// taken from the container's.
fn merge(user: &mut ContainerConfig, container: &ContainerConfig) {
    fn empty<T>(v: &Option<Vec<T>>) -> bool {
        v.as_ref().is_none_or(Vec::is_empty)
    }
    if user.user.as_deref().unwrap_or("").is_empty() {
        user.user = container.user.clone();
    }
    match (&mut user.exposed_ports, &container.exposed_ports) {
        (Some(mine), Some(theirs)) if !mine.is_empty() => {
            for (k, v) in theirs {
                mine.entry(k.clone()).or_insert(*v);
            }
        }
        (mine, theirs) => *mine = theirs.clone(),
    }
    if empty(&user.env) {
        user.env = container.env.clone();
    } else if let (Some(mine), Some(theirs)) = (&mut user.env, &container.env) {
        let key = |e: &str| e.split('=').next().unwrap_or("").to_string();
        for e in theirs {
            if !mine.iter().any(|m| key(m) == key(e)) {
                mine.push(e.clone());
            }
        }
    }
    let labels: &mut BTreeMap<String, String> = user.labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in container.labels.iter().flatten() {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if empty(&user.entrypoint) {
        if empty(&user.cmd) {
            user.cmd = container.cmd.clone();
            user.args_escaped = container.args_escaped;
        }
        if user.entrypoint.is_none() {
            user.entrypoint = container.entrypoint.clone();
        }
    }
    if user.healthcheck.is_none() {
        user.healthcheck = container.healthcheck.clone();
    }
    if user.working_dir.as_deref().unwrap_or("").is_empty() {
        user.working_dir = container.working_dir.clone();
    }
    match (&mut user.volumes, &container.volumes) {
        (Some(mine), Some(theirs)) if !mine.is_empty() => {
            for (k, v) in theirs {
                mine.insert(k.clone(), *v);
            }
        }
        (mine, theirs) => *mine = theirs.clone(),
    }
    if user.stop_signal.as_deref().unwrap_or("").is_empty() {
        user.stop_signal = container.stop_signal.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_then_merge_like_dockerd() {
        let container: ContainerConfig = serde_json::from_value(serde_json::json!({
            "Env": ["PATH=/bin", "A=1"],
            "Cmd": ["sh", "-c", "echo hi > /x"],
            "Labels": {"from": "container"},
            "WorkingDir": "/w",
            "ExposedPorts": {"80/tcp": {}},
        }))
        .unwrap();
        // No body: the container's config with the changes on top.
        let mut cfg = container.clone();
        apply_changes(
            &mut cfg,
            &["CMD [\"cat\", \"/x\"]", "ENV A=2", "LABEL new=yes"],
        )
        .unwrap();
        merge(&mut cfg, &container);
        assert_eq!(cfg.cmd.unwrap(), ["cat", "/x"]);
        assert_eq!(cfg.env.unwrap(), ["PATH=/bin", "A=2"]);
        let labels = cfg.labels.unwrap();
        assert_eq!(
            (labels["new"].as_str(), labels["from"].as_str()),
            ("yes", "container")
        );
        assert_eq!(cfg.working_dir.as_deref(), Some("/w"));
        // A body config: what it leaves empty comes from the container.
        let mut user: ContainerConfig = serde_json::from_value(
            serde_json::json!({"Env": ["B=1"], "ExposedPorts": {"443/tcp": {}}}),
        )
        .unwrap();
        merge(&mut user, &container);
        assert_eq!(user.env.unwrap(), ["B=1", "PATH=/bin", "A=1"]);
        assert_eq!(user.cmd.unwrap(), ["sh", "-c", "echo hi > /x"]);
        assert_eq!(user.exposed_ports.unwrap().len(), 2);
        // An entrypoint keeps the container's command from coming back.
        let mut ep = container.clone();
        apply_changes(&mut ep, &["ENTRYPOINT [\"/bin/app\"]"]).unwrap();
        merge(&mut ep, &container);
        assert_eq!(ep.entrypoint.unwrap(), ["/bin/app"]);
        assert!(ep.cmd.is_none_or(|c| c.is_empty()));
    }

    #[test]
    fn empty_layer_digest_is_two_zero_blocks() {
        assert_eq!(
            berth_image::ImageConfig::digest_of(&[0u8; 1024]),
            EMPTY_LAYER
        );
    }
}
