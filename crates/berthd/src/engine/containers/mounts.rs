//! A container's mounts (moby `registerMountPoints`, `setupMounts`): at create the
//! `Binds`, `Mounts`, `VolumesFrom` and `Config.Volumes` (the image's `VOLUME`s included)
//! are checked and turned into mount records, creating the named and anonymous volumes
//! they need; at start each volume is mounted through its driver, filled from the image
//! while empty, and handed to the runtime as a bind of its data; at exit plugin volumes
//! are unmounted again. Host-path binds and tmpfs mounts are the runtime's
//! (`berth_runtime::build_spec`); this file only records them for inspect.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use berth_api::models::EventMessageTypeEnum;
use berth_api::ApiError;
use berth_runtime::config::Mount;
use berth_runtime::{
    mounts::scoped_join, parse_bind, BindSource, ContainerConfig, HostConfig, ResolvedMount,
};
use berth_store::{ContainerRecord, MountRecord};
use serde_json::{json, Value};

use crate::engine::images::store_err;
use crate::engine::volumes::{populate, valid_name, NewVolume};
use crate::engine::Engine;

/// A mount asked for at create, checked, before any volume exists.
#[derive(Debug, Clone, PartialEq)]
enum Wanted {
    Volume {
        /// `None`: anonymous (a generated name).
        name: Option<String>,
        destination: String,
        rw: bool,
        mode: String,
        copy_data: bool,
        /// `None`: the existing volume's, or `local`.
        driver: Option<String>,
        options: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
        /// From `-v name:/path` (Docker then shows mode `z` for local volumes).
        from_binds: bool,
    },
    /// A host-path bind or a tmpfs (the runtime mounts them); kept for inspect.
    Other(MountRecord),
    /// From `--volumes-from`.
    Inherited(MountRecord),
}

impl Wanted {
    fn destination(&self) -> &str {
        match self {
            Wanted::Volume { destination, .. } => destination,
            Wanted::Other(m) | Wanted::Inherited(m) => &m.destination,
        }
    }
}

/// The checked mounts of a container about to be created.
pub struct MountPlan(Vec<Wanted>);

fn invalid(kind: &str, what: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("invalid mount config for type \"{kind}\": {what}"))
}

/// `path.Clean` for absolute container paths.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            x => parts.push(x),
        }
    }
    format!("/{}", parts.join("/"))
}

fn check_target(kind: &str, target: &str) -> Result<String, ApiError> {
    if !target.starts_with('/') {
        return Err(invalid(
            kind,
            format!("invalid mount path: '{target}' mount path must be absolute"),
        ));
    }
    let cleaned = clean(target);
    if cleaned == "/" {
        return Err(invalid(
            kind,
            "invalid specification: destination can't be '/'",
        ));
    }
    Ok(cleaned)
}

/// `--volumes-from name[:ro|rw]` → (name, read-write) (moby `ParseVolumesFrom`).
fn parse_volumes_from(spec: &str) -> Result<(&str, bool), ApiError> {
    if spec.is_empty() {
        return Err(ApiError::invalid(
            "volumes-from specification cannot be an empty string",
        ));
    }
    let (name, mode) = spec.split_once(':').unwrap_or((spec, ""));
    match mode {
        "" | "rw" => Ok((name, true)),
        "ro" => Ok((name, false)),
        // Propagation and copy modes are not for volumes-from; nor is anything else.
        _ => Err(ApiError::invalid(format!("invalid mode: {mode}"))),
    }
}

/// One `HostConfig.Mounts` entry (the runtime has checked binds and tmpfs already).
fn api_mount(m: &Mount) -> Result<Wanted, ApiError> {
    let kind = m.r#type.as_str();
    let destination = check_target(kind, &m.target)?;
    Ok(match kind {
        "volume" => {
            let opts = m.volume_options.clone().unwrap_or_default();
            if m.source.is_empty() && m.read_only {
                return Err(invalid(
                    kind,
                    "must not set ReadOnly mode when using anonymous volumes",
                ));
            }
            if !opts.subpath.is_empty() {
                return Err(invalid(kind, "VolumeOptions.Subpath is not supported"));
            }
            if !m.source.is_empty() && !valid_name(&m.source) {
                return Err(ApiError::invalid(format!(
                    "create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
                    m.source
                )));
            }
            let driver = opts.driver_config.clone().unwrap_or_default();
            Wanted::Volume {
                name: (!m.source.is_empty()).then(|| m.source.clone()),
                destination,
                rw: !m.read_only,
                mode: String::new(),
                copy_data: !opts.no_copy,
                driver: (!driver.name.is_empty()).then_some(driver.name),
                options: driver.options,
                labels: opts.labels,
                from_binds: false,
            }
        }
        "bind" => Wanted::Other(MountRecord {
            kind: "bind".into(),
            source: clean(&m.source),
            destination,
            rw: !m.read_only,
            propagation: m
                .bind_options
                .as_ref()
                .map(|b| b.propagation.clone())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "rprivate".into()),
            ..Default::default()
        }),
        "tmpfs" => Wanted::Other(MountRecord {
            kind: "tmpfs".into(),
            destination,
            rw: !m.read_only,
            ..Default::default()
        }),
        _ => return Err(invalid(kind, "mount type unknown")),
    })
}

/// Checks every mount source of a container and plans its mounts, without side effects.
/// `inherited` are the `--volumes-from` containers' mounts (read-only applied).
fn plan(
    config: &ContainerConfig,
    hc: &HostConfig,
    inherited: Vec<MountRecord>,
) -> Result<Vec<Wanted>, ApiError> {
    let mut own: Vec<Wanted> = Vec::new();
    let duplicate = |own: &[Wanted], dest: &str| -> Result<(), ApiError> {
        if own.iter().any(|w| w.destination() == dest) {
            return Err(ApiError::invalid(format!("Duplicate mount point: {dest}")));
        }
        Ok(())
    };
    let volume_driver = (!hc.volume_driver.is_empty()).then(|| hc.volume_driver.clone());
    for raw in &hc.binds {
        let b = parse_bind(raw).map_err(|e| ApiError::invalid(e.to_string()))?;
        duplicate(&own, &b.destination)?;
        let mode = raw.splitn(3, ':').nth(2).unwrap_or("").to_string();
        own.push(match b.source {
            BindSource::HostPath(source) => Wanted::Other(MountRecord {
                kind: "bind".into(),
                source: source.to_string_lossy().into_owned(),
                destination: b.destination,
                mode,
                rw: !b.read_only,
                propagation: b.propagation.unwrap_or_else(|| "rprivate".into()),
                ..Default::default()
            }),
            BindSource::Volume(name) => Wanted::Volume {
                name: Some(name),
                destination: b.destination,
                rw: !b.read_only,
                mode,
                copy_data: !b.no_copy,
                driver: volume_driver.clone(),
                options: BTreeMap::new(),
                labels: BTreeMap::new(),
                from_binds: true,
            },
            BindSource::Anonymous => Wanted::Volume {
                name: None,
                destination: b.destination,
                rw: !b.read_only,
                mode,
                copy_data: !b.no_copy,
                driver: volume_driver.clone(),
                options: BTreeMap::new(),
                labels: BTreeMap::new(),
                from_binds: true,
            },
        });
    }
    for m in &hc.mounts {
        let w = api_mount(m)?;
        duplicate(&own, w.destination())?;
        own.push(w);
    }
    // Volumes from other containers, unless a mount of this one takes the place.
    let mut all = own;
    for m in inherited {
        if !all.iter().any(|w| w.destination() == m.destination) {
            all.push(Wanted::Inherited(m));
        }
    }
    // The image's and the config's `Volumes`: anonymous volumes where nothing is mounted.
    for target in config.volumes.keys() {
        let destination = check_target("volume", target)?;
        let taken = all.iter().any(|w| w.destination() == destination)
            || hc.tmpfs.keys().any(|t| clean(t) == destination);
        if !taken {
            all.push(Wanted::Volume {
                name: None,
                destination,
                rw: true,
                mode: String::new(),
                copy_data: true,
                driver: volume_driver.clone(),
                options: BTreeMap::new(),
                labels: BTreeMap::new(),
                from_binds: false,
            });
        }
    }
    Ok(all)
}

/// Creates each mount target inside the root filesystem, resolving symlinks within it as
/// the container would (runc's `securejoin` + `MkdirAll`). The runtime resolves targets
/// inside the root too, but refuses a dangling symlink where Docker follows it: an image
/// whose `/data` links to `/srv/data` gets its volume at its own `/srv/data`, never the
/// host's.
fn prepare_targets(rootfs: &Path, mounts: &[MountRecord], hc: &HostConfig) -> Result<(), String> {
    let targets = mounts
        .iter()
        .map(|m| {
            let dir = m.kind != "bind" || Path::new(&m.source).is_dir();
            (m.destination.as_str(), dir)
        })
        .chain(hc.tmpfs.keys().map(|t| (t.as_str(), true)));
    for (destination, dir) in targets {
        let resolved = scoped_join(rootfs, destination)
            .map_err(|e| format!("cannot resolve {destination} in the container: {e}"))?;
        let create = if dir {
            Some(resolved.as_path())
        } else {
            resolved.parent()
        };
        if let Some(d) = create.filter(|d| d.starts_with(rootfs)) {
            std::fs::create_dir_all(d).map_err(|e| {
                format!("cannot create the mount point {destination} in the container: {e}")
            })?;
        }
    }
    Ok(())
}

/// A mount record as inspect's `MountPoint`.
fn mount_point(m: &MountRecord) -> Value {
    let mut v = json!({
        "Type": m.kind,
        "Source": m.source,
        "Destination": m.destination,
        "Mode": m.mode,
        "RW": m.rw,
        "Propagation": m.propagation,
    });
    if !m.name.is_empty() {
        v["Name"] = json!(m.name);
    }
    if !m.driver.is_empty() {
        v["Driver"] = json!(m.driver);
    }
    v
}

impl Engine {
    /// Create, before the record exists: checks the mounts (400 with dockerd's messages).
    pub(super) fn plan_mounts(
        &self,
        config: &ContainerConfig,
        hc: &HostConfig,
    ) -> Result<MountPlan, ApiError> {
        let mut inherited: Vec<MountRecord> = Vec::new();
        for spec in &hc.volumes_from {
            let (name, rw) = parse_volumes_from(spec)?;
            let src = self
                .resolve_container(name)
                .map_err(|e| ApiError::invalid(e.message))?;
            for mut m in self.db().container_mounts(&src.id).map_err(store_err)? {
                if m.kind == "tmpfs" {
                    continue;
                }
                inherited.retain(|i| i.destination != m.destination);
                m.rw &= rw;
                m.mode = String::new();
                m.copy_data = false;
                m.inherited = true;
                inherited.push(m);
            }
        }
        plan(config, hc, inherited).map(MountPlan)
    }

    /// Create, once the container is recorded: makes the volumes and records the mounts.
    /// On failure the container record is removed again (and the anonymous volumes made
    /// for it), so a failed create leaves nothing behind.
    pub(super) fn record_mounts(&self, id: &str, plan: MountPlan) -> Result<(), ApiError> {
        let mut made_anonymous: Vec<String> = Vec::new();
        let result = (|| {
            let mut records = Vec::new();
            for w in plan.0 {
                records.push(match w {
                    Wanted::Other(m) | Wanted::Inherited(m) => m,
                    Wanted::Volume {
                        name,
                        destination,
                        rw,
                        mode,
                        copy_data,
                        driver,
                        options,
                        labels,
                        from_binds,
                    } => {
                        let anonymous = name.is_none();
                        let v = self.ensure_volume(NewVolume {
                            name,
                            driver,
                            options,
                            labels,
                            anonymous,
                        })?;
                        if anonymous {
                            made_anonymous.push(v.name.clone());
                        }
                        let local = v.driver == "local";
                        MountRecord {
                            kind: "volume".into(),
                            source: if local {
                                self.mountpoint(&v.name).display().to_string()
                            } else {
                                String::new()
                            },
                            name: v.name,
                            destination,
                            driver: v.driver,
                            // moby `setBindModeIfNull`.
                            mode: if from_binds && local && mode.is_empty() {
                                "z".into()
                            } else {
                                mode
                            },
                            rw,
                            copy_data,
                            ..Default::default()
                        }
                    }
                });
            }
            self.db()
                .set_container_mounts(id, &records)
                .map_err(store_err)
        })();
        if result.is_err() {
            let _ = self.db().delete_container(id);
            for name in made_anonymous {
                self.remove_anonymous_volume(&name);
            }
        }
        // A 404 from create makes the docker CLI pull the image: a missing volume plugin
        // is a bad request here.
        result.map_err(|e| match e.kind {
            berth_api::ErrorKind::NotFound => ApiError::invalid(e.message),
            _ => e,
        })
    }

    /// Start, with the root filesystem mounted: mounts the container's volumes (plugins
    /// get `Mount` with the container's ID), fills new ones from the image, creates missing
    /// `-v` host directories, and returns what the runtime must bind in addition to the
    /// `HostConfig`'s own binds and tmpfs mounts. On failure the caller (a failed start)
    /// calls [`Engine::unmount_volumes`].
    pub(super) fn mount_volumes(
        &self,
        c: &ContainerRecord,
        hc: &HostConfig,
        rootfs: &Path,
    ) -> Result<Vec<ResolvedMount>, String> {
        // `-v /host:/ctr` creates a missing host directory, as Docker does at start; so
        // does `--mount type=bind,...,bind-create-src`.
        let bind_sources = hc
            .binds
            .iter()
            .filter_map(|raw| match parse_bind(raw).ok()?.source {
                BindSource::HostPath(p) => Some(p),
                _ => None,
            })
            .chain(hc.mounts.iter().filter_map(|m| {
                let create = m.bind_options.as_ref()?.create_mountpoint;
                (m.r#type == "bind" && create).then(|| std::path::PathBuf::from(&m.source))
            }));
        for p in bind_sources {
            if std::fs::symlink_metadata(&p).is_err() {
                std::fs::create_dir_all(&p).map_err(|e| {
                    format!(
                        "error while creating mount source path '{}': {e}",
                        p.display()
                    )
                })?;
            }
        }
        let mounts = self
            .db()
            .container_mounts(&c.id)
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for m in &mounts {
            let source = match m.kind.as_str() {
                "volume" => self.mount_one_volume(c, m, rootfs)?,
                "bind" if m.inherited => {
                    let p = std::path::PathBuf::from(&m.source);
                    if std::fs::symlink_metadata(&p).is_err() {
                        let _ = std::fs::create_dir_all(&p);
                    }
                    p
                }
                _ => continue,
            };
            out.push(ResolvedMount {
                source,
                destination: m.destination.clone(),
                read_only: !m.rw,
                propagation: (!m.propagation.is_empty() && m.propagation != "rprivate")
                    .then(|| m.propagation.clone()),
            });
        }
        // After the copies: only what the image really has at a path is copied.
        prepare_targets(rootfs, &mounts, hc)?;
        Ok(out)
    }

    /// Mounts one volume for container `c`; fills it from the image while it is empty.
    fn mount_one_volume(
        &self,
        c: &ContainerRecord,
        m: &MountRecord,
        rootfs: &Path,
    ) -> Result<std::path::PathBuf, String> {
        let v = self
            .db()
            .volume(&m.name)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("volume {} is gone", m.name))?;
        let path = self.mount_volume(&v, &c.id).map_err(|e| e.message)?;
        self.events.publish(
            EventMessageTypeEnum::VOLUME,
            "mount",
            &v.name,
            HashMap::from([
                ("driver".to_string(), v.driver.clone()),
                ("container".to_string(), c.id.clone()),
                ("destination".to_string(), m.destination.clone()),
                ("read/write".to_string(), m.rw.to_string()),
                ("propagation".to_string(), m.propagation.clone()),
            ]),
        );
        if path.to_string_lossy() != m.source {
            let _ = self
                .db()
                .set_mount_source(&c.id, &m.destination, &path.to_string_lossy());
        }
        if m.copy_data {
            // Resolved inside the root filesystem: an image's symlink cannot make berth
            // copy host files into the volume.
            let from = scoped_join(rootfs, &m.destination)
                .map_err(|e| format!("cannot resolve {} in the container: {e}", m.destination))?;
            populate(&from, &path).map_err(|e| {
                format!(
                    "cannot copy the image's {} into volume {}: {e}",
                    m.destination, m.name
                )
            })?;
        }
        Ok(path)
    }

    /// After the container stopped (or failed to start): unmounts its volumes; a local
    /// volume's own filesystem stays mounted while another running container uses it.
    /// Errors are logged: a stopped container must not look running because a plugin
    /// failed.
    pub(super) fn unmount_volumes(&self, id: &str) {
        let Ok(mounts) = self.db().container_mounts(id) else {
            return;
        };
        for m in mounts.iter().filter(|m| m.kind == "volume") {
            let Ok(Some(v)) = self.db().volume(&m.name) else {
                continue;
            };
            let others_running = self
                .db()
                .volume_users(&m.name)
                .unwrap_or_default()
                .iter()
                .filter(|u| u.as_str() != id)
                .any(|u| {
                    self.db()
                        .container(u)
                        .ok()
                        .flatten()
                        .is_some_and(|c| self.container_state(&c).running)
                });
            match self.unmount_volume(&v, id, !others_running) {
                Ok(()) => self.events.publish(
                    EventMessageTypeEnum::VOLUME,
                    "unmount",
                    &v.name,
                    HashMap::from([
                        ("driver".to_string(), v.driver.clone()),
                        ("container".to_string(), id.to_string()),
                    ]),
                ),
                Err(e) => tracing::warn!(container = %id, volume = %m.name, "{}", e.message),
            }
        }
    }

    /// Inspect's `Mounts`.
    pub(super) fn mount_points(&self, id: &str) -> Vec<Value> {
        self.db()
            .container_mounts(id)
            .unwrap_or_default()
            .iter()
            .map(mount_point)
            .collect()
    }

    /// `DELETE /containers/{id}?v=1`: removes the container, then the anonymous volumes
    /// it used that no other container uses.
    pub async fn remove_container_and_volumes(
        self: &Arc<Self>,
        name: &str,
        force: bool,
        volumes: bool,
    ) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        let mounts = self.db().container_mounts(&c.id).map_err(store_err)?;
        self.remove_container(&c.id, force).await?;
        if volumes {
            for m in mounts.iter().filter(|m| m.kind == "volume" && !m.inherited) {
                self.remove_anonymous_volume(&m.name);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
