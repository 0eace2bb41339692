//! Networks as the engine sees them: records (`berth.db`), the predefined `bridge`, `host`
//! and `none` networks, lookup by ID / name / ID prefix, one file per verb, and the
//! container hooks ([`Engine::prepare_container_network`],
//! [`Engine::release_container_network`]) the start / exit / remove paths call. The kernel
//! work (links, namespaces, rules, proxies, DNS) is `berth-net`'s; this module decides
//! what should exist and records it.
//!
//! One async mutex (`NetState::lock`) serialises every change of allocations, links and
//! rules, so IPAM never hands one address out twice and the firewall is rebuilt from a
//! consistent picture.

pub mod config;
mod connect;
mod container;
mod create;
mod dns;
mod inspect;
mod ipam;
mod remove;
mod settings;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use berth_api::ApiError;
use berth_net::firewall::{Backend, BridgeRules, Forward, Model};
use berth_net::proxy::ProxyHandle;
use berth_store::NetworkRecord;

pub use connect::{ConnectBody, DisconnectBody};
pub use create::NetworkCreateBody;

use self::config::NetConfig;
use super::images::store_err;
use super::Engine;

pub const OPT_BRIDGE_NAME: &str = "com.docker.network.bridge.name";
pub const OPT_MTU: &str = "com.docker.network.driver.mtu";
pub const OPT_ICC: &str = "com.docker.network.bridge.enable_icc";
pub const OPT_MASQ: &str = "com.docker.network.bridge.enable_ip_masquerade";
pub const OPT_DEFAULT: &str = "com.docker.network.bridge.default_bridge";

/// Networking state that is not in the database: the firewall backend, the lock, and
/// what lives only as long as berthd (userland proxies, DNS servers).
pub struct NetState {
    cfg: NetConfig,
    /// `<data-root>/netns`: pinned namespaces, one file per running container.
    netns_dir: PathBuf,
    firewall: Backend,
    lock: tokio::sync::Mutex<()>,
    live: Mutex<HashMap<String, Live>>,
    /// Names the embedded DNS servers answer.
    dns: dns::DnsTable,
    /// The rules last applied: an unchanged model is not applied again (each apply runs
    /// `nft`, ~15 ms; a container without published ports changes nothing).
    applied: Mutex<Option<Model>>,
}

/// What serves a running container from inside berthd.
#[derive(Default)]
struct Live {
    /// Held for their `Drop`, which closes the ports.
    #[allow(dead_code)]
    proxies: Vec<ProxyHandle>,
    dns_server: Option<berth_net::dns::DnsHandle>,
}

impl NetState {
    pub fn new(cfg: NetConfig, data_root: &std::path::Path) -> Self {
        let firewall = Backend::detect(&cfg.firewall_table, cfg.iptables);
        NetState {
            cfg,
            netns_dir: data_root.join("netns"),
            firewall,
            lock: tokio::sync::Mutex::new(()),
            live: Mutex::new(HashMap::new()),
            dns: Default::default(),
            applied: Mutex::new(None),
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Maps berth-net's errors onto the API's (Docker's statuses where it has one).
pub(crate) fn net_err(e: berth_net::NetError) -> ApiError {
    use berth_net::NetError::*;
    match e {
        Invalid(m) => ApiError::invalid(m),
        InUse(m) | Exhausted(m) => ApiError::new(berth_api::ErrorKind::Forbidden, m),
        NotFound(m) => ApiError::not_found(m),
        other => ApiError::internal(other.to_string()),
    }
}

pub(crate) fn forbidden(m: impl Into<String>) -> ApiError {
    ApiError::new(berth_api::ErrorKind::Forbidden, m)
}

fn now_nanos() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64
}

pub(crate) fn new_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Whether a network is one of the three berthd makes itself.
pub fn is_predefined(name: &str) -> bool {
    matches!(name, "bridge" | "host" | "none")
}

impl Engine {
    /// The bridge device of a bridge-driver network.
    pub(crate) fn bridge_name(&self, n: &NetworkRecord) -> String {
        n.options
            .get(OPT_BRIDGE_NAME)
            .cloned()
            .unwrap_or_else(|| format!("br-{}", &n.id[..12]))
    }

    fn net_mtu(&self, n: &NetworkRecord) -> Option<u32> {
        n.options
            .get(OPT_MTU)
            .and_then(|m| m.parse().ok())
            .or(if n.name == "bridge" {
                self.net.cfg.mtu
            } else {
                None
            })
    }

    /// Finds a network by full ID, exact name, or unique ID prefix (Docker's order).
    pub fn resolve_network(&self, term: &str) -> Result<NetworkRecord, ApiError> {
        let db = self.db();
        let not_found = || ApiError::not_found(format!("network {term} not found"));
        if term.is_empty() {
            return Err(not_found());
        }
        if let Some(n) = db.network(term).map_err(store_err)? {
            return Ok(n);
        }
        if let Some(n) = db.network_by_name(term).map_err(store_err)? {
            return Ok(n);
        }
        let mut matches = db.networks_by_prefix(term).map_err(store_err)?;
        match matches.len() {
            0 => Err(not_found()),
            1 => Ok(matches.remove(0)),
            n => Err(ApiError::invalid(format!(
                "network {term} is ambiguous ({n} matches found based on ID prefix)"
            ))),
        }
    }

    fn network_event(&self, action: &str, n: &NetworkRecord, container: Option<&str>) {
        let mut attrs = HashMap::new();
        attrs.insert("name".to_string(), n.name.clone());
        attrs.insert("type".to_string(), n.driver.clone());
        if let Some(c) = container {
            attrs.insert("container".to_string(), c.to_string());
        }
        self.events.publish(
            berth_api::models::EventMessageTypeEnum::NETWORK,
            action,
            &n.id,
            attrs,
        );
    }

    /// Rebuilds berth's firewall rules from the database (callers hold the lock).
    async fn sync_firewall(&self) -> Result<(), ApiError> {
        self.refresh_dns();
        let mut model = Model::default();
        let nets = self.db().networks().map_err(store_err)?;
        let mut bridge_of = HashMap::new();
        for n in nets.iter().filter(|n| n.driver == "bridge") {
            let Some(pool) = ipam::pool_of(n) else {
                continue;
            };
            let bridge = self.bridge_name(n);
            bridge_of.insert(n.id.clone(), bridge.clone());
            model.bridges.push(BridgeRules {
                bridge,
                subnet: pool.subnet,
                internal: n.internal,
                icc: n.options.get(OPT_ICC).map(|v| v != "false").unwrap_or(true),
                masquerade: n
                    .options
                    .get(OPT_MASQ)
                    .map(|v| v != "false")
                    .unwrap_or(true),
            });
        }
        for sb in self.db().sandboxes().map_err(store_err)? {
            let ports: Vec<container::Published> =
                serde_json::from_str(&sb.ports).unwrap_or_default();
            for p in ports {
                let Some(bridge) = bridge_of.get(&p.network_id) else {
                    continue;
                };
                let Ok(key) = p.key.parse::<berth_net::ports::PortKey>() else {
                    continue;
                };
                model.forwards.push(Forward {
                    proto: key.proto,
                    host_ip: p.host_ip,
                    host_port: p.host_port,
                    container_ip: p.container_ip,
                    container_port: p.container_port,
                    bridge: bridge.clone(),
                });
            }
        }
        let unchanged = self
            .net
            .applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            == Some(&model);
        if unchanged {
            return Ok(());
        }
        self.net
            .firewall
            .apply(&model)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        *self.net.applied.lock().unwrap_or_else(|p| p.into_inner()) = Some(model);
        Ok(())
    }

    /// At start-up: the predefined networks, every bridge network's bridge, forwarding,
    /// and a clean-up of what a crashed berthd left (sandboxes of containers that no longer
    /// run, stray veths on berth's bridges, unpinned namespace files); then the firewall
    /// rebuilt from the database.
    pub async fn init_networks(&self) -> anyhow::Result<()> {
        let _g = self.net.lock.lock().await;
        if self.net.cfg.ip_forward && self.net.cfg.iptables {
            if let Err(e) = berth_net::sysctl::enable_ip_forward() {
                tracing::warn!("{e}");
            }
        }
        if self.net.firewall == Backend::Disabled && self.net.cfg.iptables {
            tracing::warn!("neither nft nor iptables found: published ports work only through the userland proxy and containers get no outbound NAT");
        }
        self.ensure_predefined()?;
        for n in self.db().networks()? {
            if n.driver == "bridge" {
                if let Some(pool) = ipam::pool_of(&n) {
                    let gw = berth_net::Ipv4Cidr::new(pool.gateway, pool.subnet.prefix())?;
                    berth_net::link::ensure_bridge(&self.bridge_name(&n), gw, self.net_mtu(&n))
                        .await?;
                }
            }
        }
        self.reconcile_sandboxes().await;
        self.sync_firewall()
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        tracing::info!(
            bridge = %self.net.cfg.bridge,
            bip = %self.net.cfg.bip,
            firewall = self.net.firewall.name(),
            "networking ready"
        );
        Ok(())
    }

    /// At shutdown: when no container runs any more, berth's bridges and firewall rules go;
    /// otherwise they stay for the running containers (and the next berthd).
    pub async fn shutdown_networks(&self) {
        let _g = self.net.lock.lock().await;
        self.net.live().clear();
        let running = self.db().sandboxes().map(|s| s.len()).unwrap_or(0);
        if running > 0 {
            tracing::info!(running, "containers still run: keeping their networks");
            return;
        }
        *self.net.applied.lock().unwrap_or_else(|p| p.into_inner()) = None;
        if let Err(e) = self.net.firewall.clear().await {
            tracing::warn!("cannot remove berth's firewall rules: {e}");
        }
        for n in self.db().networks().unwrap_or_default() {
            if n.driver == "bridge" {
                if let Err(e) = berth_net::link::delete(None, &self.bridge_name(&n)).await {
                    tracing::warn!("{e}");
                }
            }
        }
    }
}
