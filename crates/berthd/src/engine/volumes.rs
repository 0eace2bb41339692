//! Volumes on the `local` driver: a directory `<root>/volumes/<name>/_data` per volume,
//! records in `berth.db`. Mounting (including `type`/`device`/`o` options) comes with
//! containers; here are the volume API's create, list, inspect, remove and prune.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use berth_api::models::EventMessageTypeEnum;
use berth_api::volumes::{Volume, VolumeCreateBody, VolumeList, VolumePruneResponse, VolumeUsage};
use berth_api::{ApiError, ErrorKind};
use berth_store::VolumeRecord;

use super::images::{rfc3339, store_err};
use super::Engine;

/// The label Docker puts on volumes it creates for anonymous mounts.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";
const LOCAL_OPTIONS: &[&str] = &["type", "device", "o", "size"];

impl Engine {
    fn volumes_dir(&self) -> PathBuf {
        self.root.path().join("volumes")
    }

    fn mountpoint(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name).join("_data")
    }

    fn volume_view(&self, v: &VolumeRecord) -> Volume {
        Volume {
            name: v.name.clone(),
            driver: v.driver.clone(),
            mountpoint: self.mountpoint(&v.name).display().to_string(),
            created_at: rfc3339(v.created),
            labels: v.labels.clone(),
            scope: "local".into(),
            options: v.options.clone(),
            usage_data: None,
        }
    }

    pub fn create_volume(&self, body: VolumeCreateBody) -> Result<Volume, ApiError> {
        let driver = if body.driver.is_empty() {
            "local".to_string()
        } else {
            body.driver.clone()
        };
        let name = if body.name.is_empty() {
            hex::encode(rand::random::<[u8; 32]>())
        } else {
            body.name.clone()
        };
        if !valid_name(&name) {
            return Err(ApiError::invalid(format!(
                "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
            )));
        }
        if driver != "local" {
            return Err(ApiError::not_found(format!(
                "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
            )));
        }
        let options = body.driver_opts.unwrap_or_default();
        if let Some(bad) = options
            .keys()
            .find(|k| !LOCAL_OPTIONS.contains(&k.as_str()))
        {
            return Err(ApiError::invalid(format!(
                "create {name}: invalid option key: {bad:?}"
            )));
        }
        if let Some(existing) = self.db().volume(&name).map_err(store_err)? {
            if existing.driver != driver {
                return Err(ApiError::conflict(format!(
                    "create {name}: volume name must be unique: a volume with the {} driver exists",
                    existing.driver
                )));
            }
            return Ok(self.volume_view(&existing));
        }
        let labels = body.labels.unwrap_or_default();
        let rec = VolumeRecord {
            name: name.clone(),
            driver: driver.clone(),
            created: time::OffsetDateTime::now_utc().unix_timestamp(),
            anonymous: labels.contains_key(ANONYMOUS_LABEL),
            labels,
            options,
        };
        let data = self.mountpoint(&name);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&data)
            .map_err(|e| {
                ApiError::internal(format!(
                    "create {name}: cannot create {}: {e}",
                    data.display()
                ))
            })?;
        if !self.db().insert_volume(&rec).map_err(store_err)? {
            // Created concurrently under the same name: that one wins.
            let existing = self.db().volume(&name).map_err(store_err)?;
            return existing
                .map(|v| self.volume_view(&v))
                .ok_or_else(|| ApiError::internal("volume vanished"));
        }
        self.volume_event("create", &name, &driver);
        Ok(self.volume_view(&rec))
    }

    pub fn inspect_volume(&self, name: &str) -> Result<Volume, ApiError> {
        self.db()
            .volume(name)
            .map_err(store_err)?
            .map(|v| self.volume_view(&v))
            .ok_or_else(|| ApiError::not_found(format!("get {name}: no such volume")))
    }

    pub fn list_volumes(
        &self,
        filters: &BTreeMap<String, Vec<String>>,
    ) -> Result<VolumeList, ApiError> {
        const KEYS: &[&str] = &["dangling", "driver", "label", "name"];
        if let Some(bad) = filters.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        let volumes = self
            .db()
            .volumes()
            .map_err(store_err)?
            .iter()
            .filter(|v| volume_matches(filters, v))
            .map(|v| self.volume_view(v))
            .collect();
        Ok(VolumeList {
            volumes,
            warnings: Vec::new(),
        })
    }

    /// Every volume with its `UsageData` (size on disk, containers using it).
    pub fn volumes_disk_usage(&self) -> Result<Vec<Volume>, ApiError> {
        let mut out = Vec::new();
        for v in self.db().volumes().map_err(store_err)? {
            let mut view = self.volume_view(&v);
            view.usage_data = Some(VolumeUsage {
                size: dir_size(&self.mountpoint(&v.name)),
                ref_count: 0,
            });
            out.push(view);
        }
        Ok(out)
    }

    pub fn remove_volume(&self, name: &str, force: bool) -> Result<(), ApiError> {
        let Some(v) = self.db().volume(name).map_err(store_err)? else {
            return if force {
                Ok(())
            } else {
                Err(ApiError::not_found(format!("get {name}: no such volume")))
            };
        };
        self.delete_volume_data(&v)?;
        Ok(())
    }

    /// Removes unused volumes: anonymous ones, or every one with the `all=true` filter.
    pub fn prune_volumes(
        &self,
        filters: &BTreeMap<String, Vec<String>>,
    ) -> Result<VolumePruneResponse, ApiError> {
        const KEYS: &[&str] = &["all", "label", "label!"];
        if let Some(bad) = filters.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        let all = filters
            .get("all")
            .and_then(|v| v.first())
            .is_some_and(|v| matches!(v.as_str(), "true" | "1"));
        let mut out = VolumePruneResponse::default();
        for v in self.db().volumes().map_err(store_err)? {
            if !all && !v.anonymous {
                continue;
            }
            if !volume_matches(filters, &v) {
                continue;
            }
            out.space_reclaimed += self.delete_volume_data(&v)?;
            out.volumes_deleted.push(v.name.clone());
        }
        self.events.publish(
            EventMessageTypeEnum::VOLUME,
            "prune",
            "",
            HashMap::from([("reclaimed".to_string(), out.space_reclaimed.to_string())]),
        );
        Ok(out)
    }

    /// Deletes a volume's directory and record; returns the bytes freed.
    fn delete_volume_data(&self, v: &VolumeRecord) -> Result<i64, ApiError> {
        let dir = self.volumes_dir().join(&v.name);
        let size = dir_size(&dir);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ApiError::new(
                    ErrorKind::Internal,
                    format!("remove {}: cannot delete {}: {e}", v.name, dir.display()),
                ))
            }
        }
        self.db().delete_volume(&v.name).map_err(store_err)?;
        self.volume_event("destroy", &v.name, &v.driver);
        Ok(size)
    }

    fn volume_event(&self, action: &str, name: &str, driver: &str) {
        self.events.publish(
            EventMessageTypeEnum::VOLUME,
            action,
            name,
            HashMap::from([("driver".to_string(), driver.to_string())]),
        );
    }
}

/// Docker's local volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn volume_matches(filters: &BTreeMap<String, Vec<String>>, v: &VolumeRecord) -> bool {
    let has = |spec: &String| match spec.split_once('=') {
        Some((k, val)) => v.labels.get(k).is_some_and(|x| x == val),
        None => v.labels.contains_key(spec.as_str()),
    };
    filters.iter().all(|(key, values)| match key.as_str() {
        "name" => values.iter().any(|n| v.name.contains(n.as_str())),
        "driver" => values.contains(&v.driver),
        "label" => values.iter().all(has),
        "label!" => !values.iter().any(has),
        // No container uses a volume yet, so every volume is dangling.
        "dangling" => values.iter().any(|d| matches!(d.as_str(), "true" | "1")),
        _ => true,
    })
}

/// Bytes in regular files under `dir` (not following symlinks).
pub fn dir_size(dir: &std::path::Path) -> i64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) if m.is_file() => m.len() as i64,
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_local_driver_rules() {
        for ok in ["data", "a1", "my_vol.v-2", "0x"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["a", "", "-x", ".x", "a/b", "/abs", "a b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
