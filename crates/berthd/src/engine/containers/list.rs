//! `GET /containers/json`: Docker's container summaries with its filters.

use std::collections::BTreeMap;

use berth_api::ApiError;
use berth_runtime::{ContainerConfig, HostConfig};
use serde_json::{json, Value};

use crate::engine::images::store_err;
use crate::engine::Engine;

#[derive(Debug, Default)]
pub struct ListOptions {
    pub all: bool,
    pub limit: Option<usize>,
    pub size: bool,
    pub filters: BTreeMap<String, Vec<String>>,
}

const FILTERS: &[&str] = &[
    "ancestor", "before", "exited", "health", "id", "label", "name", "since", "status",
];

impl Engine {
    pub fn list_containers(&self, opts: &ListOptions) -> Result<Vec<Value>, ApiError> {
        if let Some(bad) = opts.filters.keys().find(|k| !FILTERS.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        let records = self.db().containers().map_err(store_err)?;
        let created_of =
            |name: &str| -> Result<i64, ApiError> { Ok(self.resolve_container(name)?.created) };
        let before = opts
            .filters
            .get("before")
            .and_then(|v| v.first())
            .map(|n| created_of(n))
            .transpose()?;
        let since = opts
            .filters
            .get("since")
            .and_then(|v| v.first())
            .map(|n| created_of(n))
            .transpose()?;
        let now = time::OffsetDateTime::now_utc();
        let all =
            opts.all || opts.filters.contains_key("status") || opts.filters.contains_key("exited");
        let mut out = Vec::new();
        for c in &records {
            let st = self.container_state(c);
            if !all && !st.running {
                continue;
            }
            if before.is_some_and(|t| c.created >= t) || since.is_some_and(|t| c.created <= t) {
                continue;
            }
            let config: ContainerConfig = serde_json::from_str(&c.config).unwrap_or_default();
            let host: HostConfig = serde_json::from_str(&c.host_config).unwrap_or_default();
            let pass = opts.filters.iter().all(|(k, values)| {
                values.iter().any(|v| match k.as_str() {
                    "status" => *v == st.status,
                    // health hook: starting / healthy / unhealthy, or none.
                    "health" => {
                        *v == st
                            .health
                            .as_ref()
                            .map(|h| h.status.as_str())
                            .unwrap_or("none")
                    }
                    "name" => c.name.contains(v.trim_start_matches('/')),
                    "id" => c.id.starts_with(v.as_str()),
                    "exited" => {
                        st.status == "exited" && v.parse::<i64>().ok() == Some(st.exit_code)
                    }
                    "ancestor" => {
                        c.image_ref == *v
                            || self
                                .resolve_image(v)
                                .map(|i| i.id == c.image_id)
                                .unwrap_or(false)
                    }
                    _ => true,
                }) && (k != "label"
                    || values.iter().all(|l| match l.split_once('=') {
                        Some((lk, lv)) => config.labels.get(lk).is_some_and(|x| x == lv),
                        None => config.labels.contains_key(l.as_str()),
                    }))
            });
            if !pass {
                continue;
            }
            let mut command = config.entrypoint.clone().unwrap_or_default();
            command.extend(config.cmd.clone().unwrap_or_default());
            let network = if host.network_mode.is_empty() {
                "default".to_string()
            } else {
                host.network_mode.clone()
            };
            let (ports, network_settings) = self.container_list_network(c); // networking hook
            let mut item = json!({
                "Id": c.id,
                "Names": [format!("/{}", c.name)],
                "Image": c.image_ref,
                "ImageID": c.image_id,
                "Command": command.join(" "),
                "Created": c.created / 1_000_000_000,
                "Ports": ports,
                "Labels": config.labels,
                "State": st.status,
                "Status": st.human(now),
                "HostConfig": {"NetworkMode": network},
                "NetworkSettings": network_settings,
                "Mounts": self.mount_points(&c.id), // volumes hook
            });
            if opts.size {
                item["SizeRw"] = json!(crate::engine::volumes::dir_size(
                    &self.container_dir(&c.id).join("upper")
                ));
                item["SizeRootFs"] = json!(self
                    .db()
                    .image(&c.image_id)
                    .ok()
                    .flatten()
                    .map(|i| i.size)
                    .unwrap_or(0));
            }
            out.push(item);
            if opts.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }
}
