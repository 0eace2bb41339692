//! `POST /containers/{id}/rename` and `POST /containers/prune`.

use std::sync::Arc;

use std::collections::BTreeMap;

use berth_api::ApiError;

use super::names;
use crate::engine::images::store_err;
use crate::engine::Engine;

impl Engine {
    /// Renames a container (dockerd's checks and messages).
    pub fn rename_container(&self, name: &str, new_name: &str) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        let new_name = new_name.strip_prefix('/').unwrap_or(new_name);
        if new_name.is_empty() {
            return Err(ApiError::invalid("Neither old nor new names may be empty"));
        }
        if !names::valid(new_name) {
            return Err(ApiError::invalid(format!(
                "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if new_name == c.name {
            return Err(ApiError::invalid(
                "Renaming a container with the same name as its current name",
            ));
        }
        if !self
            .db()
            .rename_container(&c.id, new_name)
            .map_err(store_err)?
        {
            let holder = self
                .db()
                .container_by_name(new_name)
                .ok()
                .flatten()
                .map(|h| h.id)
                .unwrap_or_default();
            return Err(ApiError::conflict(format!(
                "Conflict. The container name \"/{new_name}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name."
            )));
        }
        let mut renamed = c.clone();
        renamed.name = new_name.to_string();
        self.container_event("rename", &renamed, &[("oldName", format!("/{}", c.name))]);
        Ok(())
    }

    /// `POST /containers/prune`: removes every container that is not running (filters
    /// `until` and `label`, `label!`). Returns the IDs and the bytes their writable layers
    /// held.
    pub async fn prune_containers(
        self: &Arc<Self>,
        filters: &BTreeMap<String, Vec<String>>,
    ) -> Result<(Vec<String>, u64), ApiError> {
        const FILTERS: &[&str] = &["label", "label!", "until"];
        if let Some(bad) = filters.keys().find(|k| !FILTERS.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        let until = match filters.get("until").and_then(|v| v.first()) {
            Some(u) => Some(crate::api::parse_until(u)?),
            None => None,
        };
        let labels = filters.get("label").cloned().unwrap_or_default();
        let not_labels = filters.get("label!").cloned().unwrap_or_default();
        let mut deleted = Vec::new();
        let mut reclaimed = 0u64;
        for c in self.db().containers().map_err(store_err)? {
            let st = self.container_state(&c);
            if st.running || st.paused || st.restarting {
                continue;
            }
            if until.is_some_and(|u| c.created / 1_000_000_000 >= u) {
                continue;
            }
            let cfg: berth_runtime::ContainerConfig =
                serde_json::from_str(&c.config).unwrap_or_default();
            let has = |f: &String| match f.split_once('=') {
                Some((k, v)) => cfg.labels.get(k).is_some_and(|x| x == v),
                None => cfg.labels.contains_key(f.as_str()),
            };
            if !labels.iter().all(has) || not_labels.iter().any(has) {
                continue;
            }
            let size = dir_size(&self.container_dir(&c.id).join("upper"));
            if self.remove_container(&c.id, false).await.is_ok() {
                reclaimed += size;
                deleted.push(c.id);
            }
        }
        self.events.publish(
            berth_api::models::EventMessageTypeEnum::CONTAINER,
            "prune",
            "",
            [("reclaimed".to_string(), reclaimed.to_string())].into(),
        );
        Ok((deleted, reclaimed))
    }
}

/// Bytes of the regular files under `dir` (not following symlinks).
pub(crate) fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) if m.is_file() => total += m.len(),
                _ => {}
            }
        }
    }
    total
}
