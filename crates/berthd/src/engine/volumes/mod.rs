//! Volumes: the `local` driver (a directory `<root>/volumes/<name>/_data` per volume, or a
//! filesystem mounted there when created with `type`/`device`/`o` options) and external
//! volume plugins ([`plugin`]). Every volume has a record in `berth.db`, whatever its
//! driver; which containers use it is in their mount records (see
//! `containers/mounts.rs`), so a volume in use is never removed.

mod copy;
mod local;
pub mod plugin;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use berth_api::models::EventMessageTypeEnum;
use berth_api::volumes::{Volume, VolumeCreateBody, VolumeList, VolumePruneResponse, VolumeUsage};
use berth_api::{ApiError, ErrorKind};
use berth_store::VolumeRecord;

use super::images::{rfc3339, store_err};
use super::Engine;
pub use copy::populate;
use plugin::{Plugin, PluginError};

/// The label Docker 23+ puts on volumes it creates for anonymous mounts (berth, like
/// dockerd 20.10, creates them without labels and remembers `anonymous` itself).
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// Who keeps a volume's data.
pub(crate) enum Driver {
    Local,
    Plugin(Plugin),
}

/// What to create: the volume API's body, or a container's mount.
pub(crate) struct NewVolume {
    /// `None`: a generated 64-hex name.
    pub name: Option<String>,
    /// `None`: the existing volume's driver, or `local`.
    pub driver: Option<String>,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub anonymous: bool,
}

fn plugin_err(op: &str, name: &str, e: PluginError) -> ApiError {
    let kind = match e {
        PluginError::NotFound(_) => ErrorKind::NotFound,
        _ => ErrorKind::Internal,
    };
    ApiError::new(kind, format!("{op} {name}: {e}"))
}

impl Engine {
    fn volumes_dir(&self) -> PathBuf {
        self.root.path().join("volumes")
    }

    pub(crate) fn mountpoint(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name).join("_data")
    }

    /// The driver called `name`: `local`, or a plugin found in the plugin directories.
    pub(crate) fn volume_driver(
        &self,
        op: &str,
        vol: &str,
        name: &str,
    ) -> Result<Driver, ApiError> {
        if name.is_empty() || name == "local" {
            return Ok(Driver::Local);
        }
        Plugin::open(&self.config().plugin_dirs, name)
            .map(Driver::Plugin)
            .map_err(|e| match e {
                PluginError::NotFound(_) => ApiError::not_found(format!(
                    "{op} {vol}: error looking up volume plugin {name}: plugin \"{name}\" not found"
                )),
                other => plugin_err(op, vol, other),
            })
    }

    fn volume_view(&self, v: &VolumeRecord) -> Volume {
        let (mountpoint, scope) = match self.volume_driver("get", &v.name, &v.driver) {
            Ok(Driver::Local) => (self.mountpoint(&v.name).display().to_string(), "local"),
            Ok(Driver::Plugin(p)) => {
                let scope = if p.scope() == "global" {
                    "global"
                } else {
                    "local"
                };
                let mountpoint = p
                    .get(&v.name)
                    .map(|g| g.mountpoint)
                    .ok()
                    .filter(|m| !m.is_empty())
                    .or_else(|| p.path(&v.name).ok())
                    .unwrap_or_default();
                (mountpoint, scope)
            }
            Err(_) => (String::new(), "local"),
        };
        Volume {
            name: v.name.clone(),
            driver: v.driver.clone(),
            mountpoint,
            created_at: rfc3339(v.created),
            labels: v.labels.clone(),
            scope: scope.into(),
            options: v.options.clone(),
            usage_data: None,
        }
    }

    pub fn create_volume(&self, body: VolumeCreateBody) -> Result<Volume, ApiError> {
        let labels = body.labels.unwrap_or_default();
        let rec = self.ensure_volume(NewVolume {
            name: (!body.name.is_empty()).then_some(body.name),
            driver: Some(if body.driver.is_empty() {
                "local".into()
            } else {
                body.driver
            }),
            options: body.driver_opts.unwrap_or_default(),
            anonymous: labels.contains_key(ANONYMOUS_LABEL),
            labels,
        })?;
        Ok(self.volume_view(&rec))
    }

    /// Returns the volume called `new.name`, creating it if needed (Docker's volume store
    /// `Create`: an existing volume is reused unless another driver was asked for).
    pub(crate) fn ensure_volume(&self, new: NewVolume) -> Result<VolumeRecord, ApiError> {
        let name = new
            .name
            .clone()
            .unwrap_or_else(|| hex::encode(rand::random::<[u8; 32]>()));
        if !valid_name(&name) {
            return Err(ApiError::invalid(format!(
                "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
            )));
        }
        if let Some(existing) = self.db().volume(&name).map_err(store_err)? {
            return match new.driver.as_deref() {
                Some(d) if d != existing.driver => Err(ApiError::conflict(format!(
                    "create {name}: volume name must be unique: a volume with the {} driver exists",
                    existing.driver
                ))),
                _ => Ok(existing),
            };
        }
        let driver_name = new.driver.unwrap_or_else(|| "local".into());
        let driver = self.volume_driver("create", &name, &driver_name)?;
        match &driver {
            Driver::Local => {
                local::check_options(&new.options)
                    .map_err(|m| ApiError::invalid(format!("create {name}: {m}")))?;
                local::create_dir(&self.mountpoint(&name)).map_err(|e| {
                    ApiError::internal(format!(
                        "create {name}: cannot create {}: {e}",
                        self.mountpoint(&name).display()
                    ))
                })?;
            }
            Driver::Plugin(p) => p
                .create(&name, &new.options)
                .map_err(|e| plugin_err("create", &name, e))?,
        }
        let rec = VolumeRecord {
            name: name.clone(),
            driver: driver_name.clone(),
            created: time::OffsetDateTime::now_utc().unix_timestamp(),
            anonymous: new.anonymous,
            labels: new.labels,
            options: new.options,
        };
        if !self.db().insert_volume(&rec).map_err(store_err)? {
            // Created concurrently under the same name: that one wins.
            return self
                .db()
                .volume(&name)
                .map_err(store_err)?
                .ok_or_else(|| ApiError::internal("volume vanished"));
        }
        self.volume_event("create", &name, &driver_name);
        Ok(rec)
    }

    /// Makes a volume's data available for container `id`; returns where it is.
    pub(crate) fn mount_volume(&self, v: &VolumeRecord, id: &str) -> Result<PathBuf, ApiError> {
        match self.volume_driver("mount", &v.name, &v.driver)? {
            Driver::Local => {
                let data = self.mountpoint(&v.name);
                local::mount(&data, &v.options).map_err(|e| {
                    ApiError::internal(format!("error while mounting volume '{}': {e}", v.name))
                })?;
                Ok(data)
            }
            Driver::Plugin(p) => p
                .mount(&v.name, id)
                .map(PathBuf::from)
                .map_err(|e| plugin_err("mount", &v.name, e)),
        }
    }

    /// The reverse of [`Engine::mount_volume`] once container `id` stopped; `last` says no
    /// other running container uses the volume.
    pub(crate) fn unmount_volume(
        &self,
        v: &VolumeRecord,
        id: &str,
        last: bool,
    ) -> Result<(), ApiError> {
        match self.volume_driver("unmount", &v.name, &v.driver)? {
            Driver::Local if last => {
                local::unmount(&self.mountpoint(&v.name), &v.options).map_err(|e| {
                    ApiError::internal(format!("error while unmounting volume '{}': {e}", v.name))
                })
            }
            Driver::Local => Ok(()),
            Driver::Plugin(p) => p
                .unmount(&v.name, id)
                .map_err(|e| plugin_err("unmount", &v.name, e)),
        }
    }

    /// A volume's record, or, as in Docker, one a plugin knows of that berth does not
    /// (recorded from then on).
    fn find_volume(&self, name: &str) -> Result<Option<VolumeRecord>, ApiError> {
        if let Some(v) = self.db().volume(name).map_err(store_err)? {
            return Ok(Some(v));
        }
        for driver in plugin::discover(&self.config().plugin_dirs) {
            let Ok(Driver::Plugin(p)) = self.volume_driver("get", name, &driver) else {
                continue;
            };
            if p.get(name).is_ok() {
                let rec = VolumeRecord {
                    name: name.to_string(),
                    driver,
                    created: time::OffsetDateTime::now_utc().unix_timestamp(),
                    labels: BTreeMap::new(),
                    options: BTreeMap::new(),
                    anonymous: false,
                };
                self.db().insert_volume(&rec).map_err(store_err)?;
                return Ok(Some(rec));
            }
        }
        Ok(None)
    }

    pub fn inspect_volume(&self, name: &str) -> Result<Volume, ApiError> {
        self.find_volume(name)?
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
        let mut records = self.db().volumes().map_err(store_err)?;
        let mut warnings = Vec::new();
        // Volumes plugins hold that berth has no record of yet.
        for driver in plugin::discover(&self.config().plugin_dirs) {
            let listed = match self.volume_driver("list", &driver, &driver) {
                Ok(Driver::Plugin(p)) => p.list(),
                Ok(Driver::Local) => continue,
                Err(e) => {
                    warnings.push(e.message);
                    continue;
                }
            };
            match listed {
                Ok(vols) => {
                    for pv in vols {
                        if !records.iter().any(|r| r.name == pv.name) && valid_name(&pv.name) {
                            records.push(VolumeRecord {
                                name: pv.name,
                                driver: driver.clone(),
                                created: 0,
                                labels: BTreeMap::new(),
                                options: BTreeMap::new(),
                                anonymous: false,
                            });
                        }
                    }
                }
                Err(e) => warnings.push(format!("list {driver}: {e}")),
            }
        }
        let in_use = self.db().volume_ref_counts().map_err(store_err)?;
        let volumes = records
            .iter()
            .filter(|v| volume_matches(filters, v, in_use.contains_key(&v.name)))
            .map(|v| self.volume_view(v))
            .collect();
        Ok(VolumeList { volumes, warnings })
    }

    /// Every volume with its `UsageData` (size on disk, containers using it).
    pub fn volumes_disk_usage(&self) -> Result<Vec<Volume>, ApiError> {
        let refs = self.db().volume_ref_counts().map_err(store_err)?;
        let mut out = Vec::new();
        for v in self.db().volumes().map_err(store_err)? {
            let mut view = self.volume_view(&v);
            view.usage_data = Some(VolumeUsage {
                size: if v.driver == "local" {
                    dir_size(&self.mountpoint(&v.name))
                } else {
                    -1
                },
                ref_count: refs.get(&v.name).copied().unwrap_or(0),
            });
            out.push(view);
        }
        Ok(out)
    }

    pub fn remove_volume(&self, name: &str, force: bool) -> Result<(), ApiError> {
        let Some(v) = self.find_volume(name)? else {
            return if force {
                Ok(())
            } else {
                Err(ApiError::not_found(format!("get {name}: no such volume")))
            };
        };
        let users = self.db().volume_users(name).map_err(store_err)?;
        if !users.is_empty() {
            return Err(ApiError::conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.join(", ")
            )));
        }
        match self.delete_volume_data(&v) {
            // `-f` forgets a volume whose plugin is gone or fails.
            Err(_) if force => {
                self.db().delete_volume(&v.name).map_err(store_err)?;
                self.volume_event("destroy", &v.name, &v.driver);
                Ok(())
            }
            other => other.map(drop),
        }
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
        let in_use = self.db().volume_ref_counts().map_err(store_err)?;
        let mut out = VolumePruneResponse::default();
        for v in self.db().volumes().map_err(store_err)? {
            if (!all && !v.anonymous) || in_use.contains_key(&v.name) {
                continue;
            }
            if !volume_matches(filters, &v, false) {
                continue;
            }
            match self.delete_volume_data(&v) {
                Ok(size) => {
                    out.space_reclaimed += size;
                    out.volumes_deleted.push(v.name.clone());
                }
                Err(e) => tracing::warn!(volume = %v.name, "prune: {}", e.message),
            }
        }
        self.events.publish(
            EventMessageTypeEnum::VOLUME,
            "prune",
            "",
            HashMap::from([("reclaimed".to_string(), out.space_reclaimed.to_string())]),
        );
        Ok(out)
    }

    /// Removes an unused anonymous volume (a container's `rm -v`); in-use ones stay.
    pub(crate) fn remove_anonymous_volume(&self, name: &str) {
        let Ok(Some(v)) = self.db().volume(name) else {
            return;
        };
        if !v.anonymous || !self.db().volume_users(name).unwrap_or_default().is_empty() {
            return;
        }
        if let Err(e) = self.delete_volume_data(&v) {
            tracing::warn!(volume = %name, "cannot remove anonymous volume: {}", e.message);
        }
    }

    /// Deletes a volume's data (through its driver) and record; returns the bytes freed.
    fn delete_volume_data(&self, v: &VolumeRecord) -> Result<i64, ApiError> {
        let mut size = 0;
        match self.volume_driver("remove", &v.name, &v.driver)? {
            Driver::Local => {
                let dir = self.volumes_dir().join(&v.name);
                // A filesystem left mounted by a crash must not have its files deleted.
                local::unmount(&dir.join("_data"), &v.options).map_err(|e| {
                    ApiError::internal(format!("remove {}: cannot unmount: {e}", v.name))
                })?;
                size = dir_size(&dir);
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
            }
            Driver::Plugin(p) => p
                .remove(&v.name)
                .map_err(|e| plugin_err("remove", &v.name, e))?,
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
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn volume_matches(filters: &BTreeMap<String, Vec<String>>, v: &VolumeRecord, used: bool) -> bool {
    let has = |spec: &String| match spec.split_once('=') {
        Some((k, val)) => v.labels.get(k).is_some_and(|x| x == val),
        None => v.labels.contains_key(spec.as_str()),
    };
    filters.iter().all(|(key, values)| match key.as_str() {
        "name" => values.iter().any(|n| v.name.contains(n.as_str())),
        "driver" => values.contains(&v.driver),
        "label" => values.iter().all(has),
        "label!" => !values.iter().any(has),
        "dangling" => values
            .iter()
            .any(|d| matches!(d.as_str(), "true" | "1") != used),
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

    #[test]
    fn dangling_means_unused() {
        let v = VolumeRecord {
            name: "data".into(),
            driver: "local".into(),
            created: 0,
            labels: BTreeMap::from([("a".into(), "1".into())]),
            options: BTreeMap::new(),
            anonymous: false,
        };
        let f = |k: &str, val: &str| BTreeMap::from([(k.to_string(), vec![val.to_string()])]);
        assert!(volume_matches(&f("dangling", "true"), &v, false));
        assert!(!volume_matches(&f("dangling", "true"), &v, true));
        assert!(volume_matches(&f("dangling", "false"), &v, true));
        assert!(!volume_matches(&f("dangling", "0"), &v, false));
        assert!(volume_matches(&f("label", "a=1"), &v, true));
        assert!(!volume_matches(&f("label!", "a"), &v, true));
    }
}
