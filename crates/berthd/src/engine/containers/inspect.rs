//! `GET /containers/{id}/json`: Docker's container inspect document.

use berth_api::ApiError;
use berth_runtime::ContainerConfig;
use serde_json::{json, Value};

use crate::engine::Engine;

impl Engine {
    pub fn inspect_container(&self, name: &str) -> Result<Value, ApiError> {
        let c = self.resolve_container(name)?;
        let st = self.container_state(&c);
        let config: ContainerConfig = serde_json::from_str(&c.config).unwrap_or_default();
        let config_json: Value = serde_json::from_str(&c.config).unwrap_or(Value::Null);
        let host_json: Value = serde_json::from_str(&c.host_config).unwrap_or(Value::Null);
        let mut args = config.entrypoint.clone().unwrap_or_default();
        args.extend(config.cmd.clone().unwrap_or_default());
        let path = if args.is_empty() {
            String::new()
        } else {
            args.remove(0)
        };
        let dir = self.container_dir(&c.id);
        let created = time::OffsetDateTime::from_unix_timestamp_nanos(c.created as i128)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let file = |n: &str| {
            let p = dir.join(n);
            if p.exists() {
                p.display().to_string()
            } else {
                String::new()
            }
        };
        Ok(json!({
            "Id": c.id,
            "Created": created,
            "Path": path,
            "Args": args,
            "State": st.docker_json(),
            "Image": c.image_id,
            "ResolvConfPath": file("resolv.conf"),
            "HostnamePath": file("hostname"),
            "HostsPath": file("hosts"),
            "LogPath": self.log_path(&c.id).display().to_string(),
            "Name": format!("/{}", c.name),
            "RestartCount": st.restart_count,
            "Driver": "overlay2",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": Some(self.execs.ids_of(&c.id)).filter(|v| !v.is_empty()),
            "HostConfig": host_json,
            "GraphDriver": {
                "Name": "overlay2",
                "Data": {
                    "UpperDir": dir.join("upper").display().to_string(),
                    "WorkDir": dir.join("work").display().to_string(),
                    "MergedDir": dir.join("rootfs").display().to_string(),
                },
            },
            "Mounts": self.mount_points(&c.id), // volumes hook
            "Config": config_json,
            "NetworkSettings": self.network_settings(&c), // networking hook
        }))
    }
}
