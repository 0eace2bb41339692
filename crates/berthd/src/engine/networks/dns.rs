//! The names the embedded DNS servers answer: every running endpoint on a user-defined
//! network, by container name, network aliases and short ID. The table is rebuilt from the
//! database whenever endpoints change; each container's server looks names up only on the
//! networks that container is attached to.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, RwLock};

use berth_api::ApiError;
use berth_net::dns::{DnsHandle, Lookup};
use berth_runtime::HostConfig;

use super::container::EndpointConfig;
use super::net_err;
use crate::engine::Engine;

#[derive(Debug, Clone)]
pub(super) struct DnsEntry {
    network_id: String,
    container_id: String,
    /// Lowercase.
    names: Vec<String>,
    ip: Ipv4Addr,
}

pub(super) type DnsTable = Arc<RwLock<Vec<DnsEntry>>>;

fn lookup_in(table: &DnsTable, container: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
    let t = table.read().unwrap_or_else(|p| p.into_inner());
    let nets: Vec<&str> = t
        .iter()
        .filter(|e| e.container_id == container)
        .map(|e| e.network_id.as_str())
        .collect();
    let ips: Vec<Ipv4Addr> = t
        .iter()
        .filter(|e| nets.contains(&e.network_id.as_str()) && e.names.iter().any(|n| n == name))
        .map(|e| e.ip)
        .collect();
    (!ips.is_empty()).then_some(ips)
}

impl Engine {
    /// Rebuilds the name table from the database (callers hold the lock).
    pub(super) fn refresh_dns(&self) {
        let mut entries = Vec::new();
        for e in self.db().endpoints().unwrap_or_default() {
            let Ok(ip) = e.ip.parse::<Ipv4Addr>() else {
                continue;
            };
            let Some(n) = self.db().network(&e.network_id).ok().flatten() else {
                continue;
            };
            if super::is_predefined(&n.name) {
                continue;
            }
            let Some(c) = self.db().container(&e.container_id).ok().flatten() else {
                continue;
            };
            let cfg: EndpointConfig = serde_json::from_str(&e.config).unwrap_or_default();
            let mut names = vec![c.name.to_ascii_lowercase(), c.id[..12].to_string()];
            names.extend(
                cfg.aliases
                    .unwrap_or_default()
                    .iter()
                    .map(|a| a.to_ascii_lowercase()),
            );
            entries.push(DnsEntry {
                network_id: n.id,
                container_id: c.id,
                names,
                ip,
            });
        }
        *self.net.dns.write().unwrap_or_else(|p| p.into_inner()) = entries;
    }

    /// Starts the embedded DNS server of container `id` in its namespace `ns`.
    pub(super) async fn start_dns(
        &self,
        id: &str,
        ns: &Path,
        hc: &HostConfig,
    ) -> Result<DnsHandle, ApiError> {
        let table = self.net.dns.clone();
        let container = id.to_string();
        let lookup: Lookup = Arc::new(move |name: &str| lookup_in(&table, &container, name));
        let servers: Vec<String> = if hc.dns.is_empty() {
            std::fs::read_to_string("/etc/resolv.conf")
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.strip_prefix("nameserver"))
                .map(|s| s.trim().to_string())
                .collect()
        } else {
            hc.dns.clone()
        };
        let upstreams: Vec<SocketAddr> = servers
            .iter()
            .filter_map(|s| s.parse::<std::net::IpAddr>().ok())
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
        berth_net::dns::serve(ns, lookup, upstreams)
            .await
            .map_err(net_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_stay_on_shared_networks() {
        let entry = |n: &str, c: &str, names: &[&str], ip: [u8; 4]| DnsEntry {
            network_id: n.into(),
            container_id: c.into(),
            names: names.iter().map(|s| s.to_string()).collect(),
            ip: ip.into(),
        };
        let table: DnsTable = Arc::new(RwLock::new(vec![
            entry("n1", "a", &["web", "aaaaaaaaaaaa"], [10, 0, 0, 2]),
            entry("n1", "b", &["db", "cache"], [10, 0, 0, 3]),
            entry("n2", "c", &["other"], [10, 1, 0, 2]),
        ]));
        assert_eq!(
            lookup_in(&table, "a", "cache"),
            Some(vec![[10, 0, 0, 3].into()])
        );
        assert_eq!(
            lookup_in(&table, "a", "aaaaaaaaaaaa"),
            Some(vec![[10, 0, 0, 2].into()])
        );
        assert_eq!(lookup_in(&table, "a", "other"), None, "another network");
        assert_eq!(lookup_in(&table, "c", "web"), None);
    }
}
