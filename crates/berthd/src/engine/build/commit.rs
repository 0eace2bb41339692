//! A stage's state between steps, and committing a step: the image config with one more
//! history entry (and maybe one more layer) written to the store, recorded under the
//! step's cache key.

use std::path::{Path, PathBuf};

use berth_api::ApiError;
use berth_image::{chain_ids, ContainerConfig, History, ImageConfig};
use berth_store::unpack::{pack_dir_excluding, PackOptions};
use berth_store::{ImageRecord, LayerRecord, TempLayer, UnpackedLayer};

use crate::engine::images::{media_type, now_unix, store_err, RemoveOnDrop};
use crate::engine::Engine;

/// The diff ID of a tar with no entries: a step that changed nothing has no layer.
const EMPTY_LAYER: &str = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// Docker's default `PATH` for images that set none.
pub(crate) const DEFAULT_PATH: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where a stage is: its current image (empty before the first step of `FROM scratch`).
#[derive(Debug, Clone)]
pub(crate) struct StageState {
    pub image_id: String,
    pub layers: Vec<String>,
    pub size: i64,
    pub config: ImageConfig,
    /// `ARG`s declared in this stage, in order, with their values (None: no value).
    pub args: Vec<(String, Option<String>)>,
}

impl StageState {
    /// The empty image `FROM scratch` starts with.
    pub fn scratch() -> Self {
        StageState {
            image_id: String::new(),
            layers: Vec::new(),
            size: 0,
            config: ImageConfig {
                architecture: crate::host::go_arch(std::env::consts::ARCH).to_string(),
                os: "linux".into(),
                config: Some(ContainerConfig {
                    env: Some(vec![DEFAULT_PATH.to_string()]),
                    ..Default::default()
                }),
                ..Default::default()
            },
            args: Vec::new(),
        }
    }

    /// An existing image as a stage's state.
    pub fn load(engine: &Engine, id: &str) -> Result<Self, ApiError> {
        let rec = engine
            .db()
            .image(id)
            .map_err(store_err)?
            .ok_or_else(|| ApiError::not_found(format!("No such image: {id}")))?;
        let config: ImageConfig = serde_json::from_value(engine.image_config(&rec.id)?)
            .map_err(|e| ApiError::internal(format!("image {id}: {e}")))?;
        Ok(StageState {
            image_id: rec.id,
            layers: rec.layers,
            size: rec.size,
            config,
            args: Vec::new(),
        })
    }

    pub fn cfg(&mut self) -> &mut ContainerConfig {
        self.config.config.get_or_insert_with(Default::default)
    }

    pub fn env(&self) -> Vec<String> {
        self.config
            .config
            .as_ref()
            .and_then(|c| c.env.clone())
            .unwrap_or_default()
    }

    /// The SHELL (default `/bin/sh -c`).
    pub fn shell(&self) -> Vec<String> {
        self.config
            .config
            .as_ref()
            .and_then(|c| c.shell.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
    }

    pub fn workdir(&self) -> String {
        self.config
            .config
            .as_ref()
            .and_then(|c| c.working_dir.clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into())
    }

    /// The unpacked layer directories, topmost first (overlay lowerdirs).
    pub fn lowers(&self, engine: &Engine) -> Result<Vec<PathBuf>, ApiError> {
        self.layers
            .iter()
            .rev()
            .map(|c| engine.images.layers.path(c).map_err(store_err))
            .collect()
    }

    /// Declared args that have a value, as `KEY=value`, not shadowed by an ENV of the
    /// same name (ENV wins, as in Docker).
    pub fn arg_env(&self) -> Vec<String> {
        let env = self.env();
        let has_env = |k: &str| env.iter().any(|e| e.split('=').next() == Some(k));
        self.args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .filter(|(k, _)| !has_env(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// Variables for expanding instruction arguments: ARGs, then ENV (the last wins).
    pub fn expansion_env(&self) -> Vec<String> {
        let mut all = self.arg_env();
        all.extend(self.env());
        all
    }
}

/// A layer packed from an upper directory, unpacked but not yet published.
pub(crate) struct PackedLayer {
    blob: RemoveOnDrop,
    temp: TempLayer,
    unpacked: UnpackedLayer,
}

/// Packs an overlay upper directory as a layer (None: it holds no change). Blocking.
pub(crate) fn pack_upper(
    engine: &Engine,
    upper: &Path,
    skip: &[String],
) -> Result<Option<PackedLayer>, ApiError> {
    if !upper.is_dir() {
        return Ok(None);
    }
    let images = &engine.images;
    let blob = RemoveOnDrop(images.content.temp_path());
    let file = std::fs::File::create(&blob.0)
        .map_err(|e| ApiError::internal(format!("cannot create the layer: {e}")))?;
    let skip = |p: &[u8]| skip.iter().any(|s| s.as_bytes() == p);
    let stats = pack_dir_excluding(
        upper,
        std::io::BufWriter::new(file),
        PackOptions {
            overlay_whiteouts: true,
        },
        &skip,
    )
    .map_err(|e| ApiError::internal(format!("cannot pack the step's changes: {e}")))?;
    if stats.diff_id == EMPTY_LAYER {
        return Ok(None);
    }
    let (temp, unpacked) = images.layers.unpack_file(&blob.0).map_err(store_err)?;
    Ok(Some(PackedLayer {
        blob,
        temp,
        unpacked,
    }))
}

/// What a step leaves in the image's history and config.
pub(crate) struct StepCommit {
    pub created_by: String,
    pub layer: Option<PackedLayer>,
    /// The build container's config (`container_config`), when a container ran.
    pub container_config: Option<serde_json::Value>,
    pub container: Option<String>,
    pub cache_key: String,
}

impl Engine {
    /// Writes the step's image on top of `st` and moves `st` to it.
    pub(crate) async fn commit_step(
        &self,
        st: &mut StageState,
        step: StepCommit,
    ) -> Result<(), ApiError> {
        let created = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut config = st.config.clone();
        config.created = Some(created.clone());
        config.history.push(History {
            created: Some(created),
            created_by: Some(step.created_by.clone()),
            empty_layer: step.layer.is_none().then_some(true),
            ..Default::default()
        });
        if let Some(l) = &step.layer {
            config.rootfs.diff_ids.push(l.unpacked.diff_id.clone());
        }
        config.container = step.container.clone();
        config.container_config = Some(step.container_config.clone().unwrap_or_else(|| {
            let mut c =
                serde_json::to_value(config.config.clone().unwrap_or_default()).unwrap_or_default();
            let mut cmd = st.shell();
            cmd.push(step.created_by.clone());
            c["Cmd"] = serde_json::json!(cmd);
            c
        }));
        if config.architecture.is_empty() {
            config.architecture = crate::host::go_arch(std::env::consts::ARCH).to_string();
        }
        if config.os.is_empty() {
            config.os = "linux".into();
        }
        let bytes = serde_json::to_vec(&config).map_err(|e| ApiError::internal(e.to_string()))?;

        let now = now_unix();
        let _guard = self.images.commit.lock().await;
        let db = self.db();
        let mut layers = st.layers.clone();
        let mut size = st.size;
        if let Some(PackedLayer {
            blob,
            temp,
            unpacked,
        }) = step.layer
        {
            let chain_id = chain_ids(&config.rootfs.diff_ids)
                .pop()
                .ok_or_else(|| ApiError::internal("no layers"))?;
            if db.layer(&chain_id).map_err(store_err)?.is_none() {
                self.images
                    .content
                    .commit_file(&blob.0, &unpacked.blob_digest)
                    .map_err(store_err)?;
                self.images
                    .layers
                    .publish(temp, &chain_id)
                    .map_err(store_err)?;
                db.insert_layer(&LayerRecord {
                    chain_id: chain_id.clone(),
                    diff_id: unpacked.diff_id.clone(),
                    parent: st.layers.last().cloned(),
                    blob_digest: unpacked.blob_digest.clone(),
                    media_type: media_type(unpacked.compression).to_string(),
                    blob_size: unpacked.blob_size as i64,
                    size: unpacked.size as i64,
                })
                .map_err(store_err)?;
            }
            layers.push(chain_id);
            size += unpacked.size as i64;
        }
        let (id, _) = self
            .images
            .content
            .write(&mut &bytes[..], None)
            .map_err(store_err)?;
        db.insert_image(&ImageRecord {
            id: id.clone(),
            created: now,
            size,
            added: now,
            last_tag_time: None,
            layers: layers.clone(),
        })
        .map_err(store_err)?;
        db.build_cache_put(&step.cache_key, &id, &st.image_id, now)
            .map_err(store_err)?;
        st.image_id = id;
        st.layers = layers;
        st.size = size;
        st.config = config;
        Ok(())
    }
}
