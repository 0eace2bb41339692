//! Containers as the engine sees them: records, lookup by ID / prefix / name, and one file
//! per verb. A container runs under its own `berth-shim` (which berthd starts and then only
//! talks to over `shim.sock`), from an OCI bundle `berth-runtime` builds, on an overlay of
//! its image's layers. Attach and exec go through the shim's socket; `docker cp`, export,
//! diff and commit work on the overlay (see docs/container-fs.md).

mod archive;
pub mod attach;
pub(crate) mod changes; // pub(crate): the builder packs RUN steps with it
mod commit;
mod create;
pub mod exec;
mod export;
pub mod health; // health hook
mod inspect;
mod list;
mod logs;
mod mounts;
pub mod names;
mod pause;
mod remove;
mod rename;
mod restart;
mod shim;
mod start;
pub mod state;
mod stats;
mod stop;
mod top;
mod update;

use std::path::PathBuf;

use berth_api::ApiError;
use berth_store::ContainerRecord;

pub use archive::ExtractRequest;
pub use changes::Change;
pub use commit::CommitOptions;
pub use create::CreateBody;
pub(crate) use create::DEFAULT_RUNTIME; // runtime hook

/// One change of a container's recorded state; `state` is `None` when it was removed.
#[derive(Debug, Clone)]
pub struct StateChange {
    pub id: String,
    pub state: Option<state::State>,
}
pub use list::ListOptions;
pub use logs::LogOptions;
pub use update::UpdateBody;

use super::images::store_err;
use super::Engine;

/// check hook: whether a shim is alive in the shim state dir `dir`.
pub(crate) fn shim_alive(dir: &std::path::Path) -> bool {
    shim::alive(dir)
}

impl Engine {
    /// check hook: whether the container's shim is alive.
    pub(crate) fn container_shim_alive(&self, id: &str) -> bool {
        shim::alive(&self.container_dir(id).join("shim"))
    }

    /// `<root>/containers/<id>`: the container's files (upper/work dirs, logs, bundle).
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root.path().join("containers").join(id)
    }

    /// The image a container was created from (kept while the container exists).
    pub(super) fn container_image(
        &self,
        c: &ContainerRecord,
    ) -> Result<berth_store::ImageRecord, ApiError> {
        self.db()
            .image(&c.image_id)
            .map_err(store_err)?
            .ok_or_else(|| ApiError::internal(format!("the image of container {} is gone", c.id)))
    }

    /// Finds a container by full ID, name (with or without `/`), or unique ID prefix.
    pub fn resolve_container(&self, name: &str) -> Result<ContainerRecord, ApiError> {
        let db = self.db();
        let not_found = || ApiError::not_found(format!("No such container: {name}"));
        if name.is_empty() {
            return Err(not_found());
        }
        if let Some(c) = db.container(name).map_err(store_err)? {
            return Ok(c);
        }
        if let Some(c) = db
            .container_by_name(name.strip_prefix('/').unwrap_or(name))
            .map_err(store_err)?
        {
            return Ok(c);
        }
        let matches = db.containers_by_prefix(name).map_err(store_err)?;
        match matches.as_slice() {
            [] => Err(not_found()),
            [one] => db.container(one).map_err(store_err)?.ok_or_else(not_found),
            many => Err(ApiError::invalid(format!(
                "multiple containers found with provided prefix: {name} ({} match)",
                many.len()
            ))),
        }
    }

    fn container_event(&self, action: &str, c: &ContainerRecord, extra: &[(&str, String)]) {
        let mut attrs = std::collections::HashMap::new();
        attrs.insert("name".to_string(), c.name.clone());
        attrs.insert("image".to_string(), c.image_ref.clone());
        if let Ok(cfg) = serde_json::from_str::<berth_runtime::ContainerConfig>(&c.config) {
            for (k, v) in cfg.labels {
                attrs.insert(k, v);
            }
        }
        for (k, v) in extra {
            attrs.insert(k.to_string(), v.clone());
        }
        self.events.publish(
            berth_api::models::EventMessageTypeEnum::CONTAINER,
            action,
            &c.id,
            attrs,
        );
    }
}
