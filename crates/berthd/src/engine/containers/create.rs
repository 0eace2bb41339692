//! `POST /containers/create`: check the request the way `docker create` would be checked,
//! merge the image's config, and record the container (its files come at start).

use berth_api::ApiError;
use berth_runtime::{
    build_spec, merge_image_config, ContainerConfig, HostConfig, ImageRuntimeConfig, LinuxHost,
    NamespacePaths, SpecInput,
};
use berth_store::ContainerRecord;
use serde::Deserialize;

use super::names;
use super::state::State;
use crate::engine::images::store_err;
use crate::engine::Engine;

/// The create request: the container config at the top level, plus `HostConfig`.
#[derive(Debug, Default, Deserialize)]
pub struct CreateBody {
    #[serde(flatten)]
    pub config: ContainerConfig,
    #[serde(rename = "HostConfig", default)]
    pub host_config: Option<HostConfig>,
    /// networking hook: `NetworkingConfig.EndpointsConfig`, recorded as endpoints.
    #[serde(rename = "NetworkingConfig", default)]
    pub networking_config: Option<serde_json::Value>,
}

/// The logging drivers berth has: `json-file` (the default) and `none`, with json-file's
/// options (dockerd's names and messages).
fn check_log_config(lc: &berth_runtime::config::LogConfig) -> Result<(), ApiError> {
    const JSON_FILE_OPTS: &[&str] = &[
        "max-size",
        "max-file",
        "compress",
        "labels",
        "labels-regex",
        "env",
        "env-regex",
        "tag",
    ];
    match lc.r#type.as_str() {
        "" | "json-file" => {
            for k in lc.config.keys() {
                if !JSON_FILE_OPTS.contains(&k.as_str()) {
                    return Err(ApiError::invalid(format!(
                        "unknown log opt '{k}' for json-file log driver"
                    )));
                }
            }
            if let Some(size) = lc.config.get("max-size") {
                if !valid_log_size(size) {
                    return Err(ApiError::invalid(format!(
                        "invalid max-size {size:?}: use a size like 10m or 512k"
                    )));
                }
            }
            if let Some(n) = lc.config.get("max-file") {
                if !n.parse::<u32>().is_ok_and(|n| n >= 1) {
                    return Err(ApiError::invalid(format!(
                        "max-file must be a number of files at least 1, not {n:?}"
                    )));
                }
            }
            Ok(())
        }
        "none" if lc.config.is_empty() => Ok(()),
        "none" => Err(ApiError::invalid("the none log driver takes no options")),
        other => Err(ApiError::invalid(format!(
            "logger: no log driver named '{other}' is registered: berth has json-file and none"
        ))),
    }
}

/// A size the shim's `--log-max-size` takes: digits and an optional k/m/g (+b) unit.
fn valid_log_size(s: &str) -> bool {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let t = t.strip_suffix(['k', 'm', 'g']).unwrap_or(t);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
}

/// Maps the spec builder's errors onto the API's.
fn spec_err(e: berth_runtime::SpecError) -> ApiError {
    match e.kind() {
        berth_runtime::ErrorKind::InvalidArgument => ApiError::invalid(e.to_string()),
        // A 404 from create makes the docker CLI try to pull the image: only "no such
        // image" may be one. A missing user or device is a bad request here.
        berth_runtime::ErrorKind::NotFound => ApiError::invalid(e.to_string()),
        berth_runtime::ErrorKind::Internal => ApiError::internal(e.to_string()),
    }
}

// runtime hook
/// `HostConfig.Runtime` of berth's own runtime (libcontainer inside berth-shim), the default.
pub(crate) const DEFAULT_RUNTIME: &str = "berth";

impl Engine {
    // runtime hook
    /// The OCI runtime of a container: `None` for berth's own (also `""`), `Some(path)` for
    /// `runc` (the binary berthd was configured with or found on PATH). Anything else is
    /// dockerd's 400.
    pub(crate) fn container_runtime(
        &self,
        host_config: &HostConfig,
    ) -> Result<Option<std::path::PathBuf>, ApiError> {
        let name = host_config.runtime.as_str();
        match name {
            "" | DEFAULT_RUNTIME => Ok(None),
            "runc" if self.config().runc_path.is_some() => Ok(self.config().runc_path),
            _ => Err(ApiError::invalid(format!(
                "unknown or invalid runtime name: {name}"
            ))),
        }
    }

    /// Returns the new container's ID.
    pub fn create_container(
        &self,
        name: Option<&str>,
        body: CreateBody,
    ) -> Result<String, ApiError> {
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) if !names::valid(n) => {
                return Err(ApiError::invalid(format!(
                    "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )))
            }
            Some(n) => Some(n.strip_prefix('/').unwrap_or(n).to_string()),
            None => None,
        };
        if body.config.image.is_empty() {
            return Err(ApiError::invalid(
                "no image specified: give the image to create the container from",
            ));
        }
        let image = self.resolve_image(&body.config.image)?;
        let image_cfg: ImageRuntimeConfig =
            serde_json::from_value(self.image_config(&image.id)?["config"].clone())
                .unwrap_or_default();
        let config = merge_image_config(&body.config, &image_cfg).map_err(spec_err)?;
        let host_config = body.host_config.unwrap_or_default();
        check_log_config(&host_config.log_config)?;
        self.container_runtime(&host_config)?; // runtime hook
        let id = hex::encode(rand::random::<[u8; 32]>());

        // Everything but the user (resolved against the image's files at start) is checked
        // now, so `docker create` fails where `docker run` would.
        let mut probe = config.clone();
        probe.user.clear();
        let probe_root = tempfile::tempdir().map_err(|e| ApiError::internal(e.to_string()))?;
        let facts = LinuxHost;
        build_spec(&SpecInput {
            container_id: &id,
            config: &probe,
            host_config: &host_config,
            image: &image_cfg,
            rootfs: probe_root.path().to_path_buf(),
            hosts_file: None,
            hostname_file: None,
            resolv_conf: None,
            shm_path: None,
            // networking hook: any path satisfies `container:<id>` in this probe.
            namespace_paths: NamespacePaths {
                network: Some("/proc/self/ns/net".into()),
                ..NamespacePaths::default()
            },
            extra_mounts: Vec::new(),
            cgroup_path: format!("/berth/{id}"),
            host_facts: &facts,
            init_binary: self.config().init_path,
        })
        .map_err(spec_err)?;
        let mount_plan = self.plan_mounts(&config, &host_config)?; // volumes hook

        // networking hook: the networks it joins, checked before anything is recorded.
        let net_plan =
            self.plan_container_networks(&host_config, body.networking_config.as_ref())?;

        let record = |name: String| -> Result<ContainerRecord, ApiError> {
            Ok(ContainerRecord {
                id: id.clone(),
                name,
                created: time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64,
                image_id: image.id.clone(),
                image_ref: body.config.image.clone(),
                config: serde_json::to_string(&config)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
                host_config: serde_json::to_string(&host_config)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
                state: serde_json::to_string(&State::created())
                    .map_err(|e| ApiError::internal(e.to_string()))?,
            })
        };
        match name {
            Some(n) => {
                if let Some(holder) = self
                    .db()
                    .insert_container(&record(n.clone())?)
                    .map_err(store_err)?
                {
                    return Err(ApiError::conflict(format!(
                        "Conflict. The container name \"/{n}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name."
                    )));
                }
            }
            None => {
                let mut retry = 0;
                while self
                    .db()
                    .insert_container(&record(names::generate(retry))?)
                    .map_err(store_err)?
                    .is_some()
                {
                    retry += 1;
                }
            }
        }
        self.record_mounts(&id, mount_plan)?; // volumes hook
        self.record_container_networks(&id, net_plan)?; // networking hook
        let c = self
            .db()
            .container(&id)
            .map_err(store_err)?
            .ok_or_else(|| ApiError::internal("container vanished"))?;
        self.container_event("create", &c, &[]);
        Ok(id)
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;

    #[test]
    fn log_config_is_checked_like_dockerd() {
        let lc = |t: &str, kv: &[(&str, &str)]| berth_runtime::config::LogConfig {
            r#type: t.into(),
            config: kv
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert!(check_log_config(&lc("", &[])).is_ok());
        assert!(
            check_log_config(&lc("json-file", &[("max-size", "10m"), ("max-file", "3")])).is_ok()
        );
        assert!(check_log_config(&lc("none", &[])).is_ok());
        assert!(check_log_config(&lc("json-file", &[("max-size", "ten")])).is_err());
        assert!(check_log_config(&lc("json-file", &[("max-file", "0")])).is_err());
        assert_eq!(
            check_log_config(&lc("json-file", &[("nope", "1")]))
                .unwrap_err()
                .message,
            "unknown log opt 'nope' for json-file log driver"
        );
        assert!(check_log_config(&lc("syslog", &[])).is_err());
    }
}
