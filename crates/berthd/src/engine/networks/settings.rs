//! A container's network view: `NetworkSettings` for inspect, and the `Ports` and
//! `NetworkSettings.Networks` of `GET /containers/json`.

use berth_net::ports::PortKey;
use berth_runtime::ContainerConfig;
use berth_store::ContainerRecord;
use serde_json::{json, Map, Value};

use super::container::{EndpointConfig, Published};
use super::ipam::pool_of;
use crate::engine::Engine;

impl Engine {
    /// `NetworkSettings.Networks`: one `EndpointSettings` per network.
    fn endpoint_settings(&self, c: &ContainerRecord) -> (Map<String, Value>, Option<Value>) {
        let mut nets = Map::new();
        let mut bridge = None;
        for e in self.db().container_endpoints(&c.id).unwrap_or_default() {
            let Some(n) = self.db().network(&e.network_id).ok().flatten() else {
                continue;
            };
            let cfg: EndpointConfig = serde_json::from_str(&e.config).unwrap_or_default();
            let pool = pool_of(&n);
            let running = !e.ip.is_empty();
            let mut aliases = cfg.aliases.clone().unwrap_or_default();
            if running && !super::is_predefined(&n.name) {
                aliases.insert(0, c.id[..12].to_string());
            }
            let v = json!({
                "IPAMConfig": cfg.ipam_config,
                "Links": cfg.links,
                "Aliases": if aliases.is_empty() { Value::Null } else { json!(aliases) },
                "NetworkID": n.id,
                "EndpointID": e.endpoint_id,
                "Gateway": if running { pool.as_ref().map(|p| p.gateway.to_string()).unwrap_or_default() } else { String::new() },
                "IPAddress": e.ip,
                "IPPrefixLen": if running { pool.as_ref().map(|p| p.subnet.prefix()).unwrap_or(0) } else { 0 },
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "MacAddress": e.mac,
                "DriverOpts": cfg.driver_opts,
            });
            if n.name == "bridge" {
                bridge = Some(v.clone());
            }
            nets.insert(n.name, v);
        }
        (nets, bridge)
    }

    /// `Ports` in Docker's inspect shape: `{"80/tcp": [{"HostIp","HostPort"}], "81/tcp": null}`
    /// while running, `{}` otherwise.
    fn ports_map(&self, c: &ContainerRecord) -> Map<String, Value> {
        let mut ports = Map::new();
        let Some(sb) = self.db().sandbox(&c.id).ok().flatten() else {
            return ports;
        };
        let config: ContainerConfig = serde_json::from_str(&c.config).unwrap_or_default();
        for k in config.exposed_ports.keys() {
            if let Ok(k) = k.parse::<PortKey>() {
                ports.insert(k.to_string(), Value::Null);
            }
        }
        let published: Vec<Published> = serde_json::from_str(&sb.ports).unwrap_or_default();
        for p in published {
            let entry = ports.entry(p.key.clone()).or_insert(Value::Null);
            if !entry.is_array() {
                *entry = json!([]);
            }
            if let Value::Array(a) = entry {
                a.push(
                    json!({"HostIp": p.host_ip.to_string(), "HostPort": p.host_port.to_string()}),
                );
            }
        }
        ports
    }

    /// The whole `NetworkSettings` object of container inspect.
    pub fn network_settings(&self, c: &ContainerRecord) -> Value {
        let (nets, bridge) = self.endpoint_settings(c);
        let sb = self.db().sandbox(&c.id).ok().flatten();
        let b = bridge.unwrap_or_else(|| json!({}));
        let s = |k: &str| b.get(k).cloned().unwrap_or(json!(""));
        json!({
            "Bridge": "",
            "SandboxID": sb.as_ref().map(|_| c.id.clone()).unwrap_or_default(),
            "HairpinMode": false,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": self.ports_map(c),
            "SandboxKey": sb.map(|s| s.netns).unwrap_or_default(),
            "SecondaryIPAddresses": null,
            "SecondaryIPv6Addresses": null,
            "EndpointID": s("EndpointID"),
            "Gateway": s("Gateway"),
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": s("IPAddress"),
            "IPPrefixLen": b.get("IPPrefixLen").cloned().unwrap_or(json!(0)),
            "IPv6Gateway": "",
            "MacAddress": s("MacAddress"),
            "Networks": nets,
        })
    }

    /// `GET /containers/json`'s `Ports` array and `NetworkSettings` object.
    pub fn container_list_network(&self, c: &ContainerRecord) -> (Value, Value) {
        let mut ports = Vec::new();
        for (k, v) in self.ports_map(c) {
            let Ok(key) = k.parse::<PortKey>() else {
                continue;
            };
            match v {
                Value::Array(list) => {
                    for b in list {
                        ports.push(json!({
                            "IP": b["HostIp"],
                            "PrivatePort": key.port,
                            "PublicPort": b["HostPort"].as_str().and_then(|p| p.parse::<u16>().ok()),
                            "Type": key.proto.as_str(),
                        }));
                    }
                }
                _ => ports.push(json!({"PrivatePort": key.port, "Type": key.proto.as_str()})),
            }
        }
        let (nets, _) = self.endpoint_settings(c);
        (json!(ports), json!({ "Networks": nets }))
    }
}
