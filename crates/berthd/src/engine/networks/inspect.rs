//! `GET /networks` and `GET /networks/{id}`: Docker's network documents and list filters.

use std::collections::BTreeMap;

use berth_api::ApiError;
use berth_store::NetworkRecord;
use serde_json::{json, Map, Value};

use super::ipam::{pool_of, Ipam};
use crate::engine::images::store_err;
use crate::engine::Engine;

pub type ListFilters = BTreeMap<String, Vec<String>>;

const FILTERS: &[&str] = &["dangling", "driver", "id", "label", "name", "scope", "type"];

fn rfc3339(nanos: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos as i128)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl Engine {
    /// The network document; `Containers` lists running endpoints (`verbose` has no
    /// extra data for local networks).
    pub(super) fn network_json(&self, n: &NetworkRecord, with_containers: bool) -> Value {
        let ipam: Ipam = serde_json::from_str(&n.ipam).unwrap_or_default();
        let mut containers = Map::new();
        if with_containers {
            let prefix = pool_of(n).map(|p| p.subnet.prefix()).unwrap_or(0);
            for e in self.db().network_endpoints(&n.id).unwrap_or_default() {
                if e.endpoint_id.is_empty() {
                    continue;
                }
                let name = self
                    .db()
                    .container(&e.container_id)
                    .ok()
                    .flatten()
                    .map(|c| c.name)
                    .unwrap_or_default();
                containers.insert(
                    e.container_id.clone(),
                    json!({
                        "Name": name,
                        "EndpointID": e.endpoint_id,
                        "MacAddress": e.mac,
                        "IPv4Address": if e.ip.is_empty() { String::new() } else { format!("{}/{prefix}", e.ip) },
                        "IPv6Address": "",
                    }),
                );
            }
        }
        json!({
            "Name": n.name,
            "Id": n.id,
            "Created": rfc3339(n.created),
            "Scope": "local",
            "Driver": n.driver,
            "EnableIPv6": false,
            "IPAM": {
                "Driver": if ipam.driver.is_empty() { "default".to_string() } else { ipam.driver },
                "Options": ipam.options,
                "Config": ipam.config,
            },
            "Internal": n.internal,
            "Attachable": n.attachable,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": containers,
            "Options": n.options,
            "Labels": n.labels,
        })
    }

    pub fn inspect_network(&self, term: &str) -> Result<Value, ApiError> {
        let n = self.resolve_network(term)?;
        Ok(self.network_json(&n, true))
    }

    pub fn list_networks(&self, filters: &ListFilters) -> Result<Vec<Value>, ApiError> {
        if let Some(bad) = filters.keys().find(|k| !FILTERS.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        for t in filters.get("type").into_iter().flatten() {
            if t != "custom" && t != "builtin" {
                return Err(ApiError::invalid(format!("invalid filter: 'type'='{t}'")));
            }
        }
        let nets = self.db().networks().map_err(store_err)?;
        let mut out = Vec::new();
        for n in nets {
            let predefined = super::is_predefined(&n.name);
            let pass = filters.iter().all(|(k, values)| match k.as_str() {
                "driver" => values.contains(&n.driver),
                "id" => values.iter().any(|v| n.id.starts_with(v.as_str())),
                "name" => values.iter().any(|v| n.name.contains(v.as_str())),
                "scope" => values.iter().any(|v| v == "local"),
                "type" => values.iter().any(|v| (v == "builtin") == predefined),
                "dangling" => values.iter().any(|v| {
                    let dangling = !predefined && !self.network_in_use(&n.id);
                    matches!(v.as_str(), "true" | "1") == dangling
                }),
                "label" => values.iter().all(|l| match l.split_once('=') {
                    Some((lk, lv)) => n.labels.get(lk).is_some_and(|x| x == lv),
                    None => n.labels.contains_key(l.as_str()),
                }),
                _ => true,
            });
            if pass {
                out.push(self.network_json(&n, false));
            }
        }
        Ok(out)
    }

    /// Whether a running container is attached (Docker's "active endpoints").
    pub(super) fn network_in_use(&self, id: &str) -> bool {
        self.db()
            .network_endpoints(id)
            .unwrap_or_default()
            .iter()
            .any(|e| !e.endpoint_id.is_empty())
    }
}
