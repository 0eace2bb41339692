//! The container hooks: which networks a new container joins (recorded at create), what
//! its network namespace, addresses, published ports, `/etc/hosts` and `resolv.conf` are at
//! start ([`Engine::prepare_container_network`]), and their release at exit or removal
//! ([`Engine::release_container_network`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

use berth_api::ApiError;
use berth_net::ipam::{mac_for, mac_string};
use berth_net::link::IfaceSpec;
use berth_net::ports::{HostPorts, PortKey, PortRequest};
use berth_runtime::{ContainerConfig, HostConfig, LinuxHost};
use berth_store::{ContainerRecord, EndpointRecord, NetworkRecord, SandboxRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ipam::pool_of;
use super::{forbidden, net_err, new_id, Live};
use crate::engine::images::store_err;
use crate::engine::Engine;

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// What the start path needs from networking before it builds the OCI spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSetup {
    /// The network namespace to join (`NamespacePaths::network`); None for host
    /// networking.
    pub netns: Option<PathBuf>,
    /// `/etc/hosts` content.
    pub hosts: String,
    /// `/etc/resolv.conf` content.
    pub resolv_conf: String,
}

/// Docker's `EndpointSettings` as requested (create's `NetworkingConfig`, connect's body).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointConfig {
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpam>,
    pub links: Option<Vec<String>>,
    pub aliases: Option<Vec<String>>,
    pub mac_address: String,
    pub driver_opts: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointIpam {
    #[serde(
        rename = "IPv4Address",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv4: String,
    #[serde(
        rename = "IPv6Address",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv6: String,
    #[serde(
        rename = "LinkLocalIPs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub link_local: Option<Vec<String>>,
}

/// A published port as made (sandbox record, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Published {
    pub network_id: String,
    /// `80/tcp`
    pub key: String,
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// The network mode of a host config: `bridge` for `""`/`default`.
pub(crate) fn mode_of(hc: &HostConfig) -> &str {
    match hc.network_mode.as_str() {
        "" | "default" => "bridge",
        m => m,
    }
}

/// The create request's `NetworkingConfig.EndpointsConfig`.
#[derive(Debug, Default, Deserialize)]
struct NetworkingConfig {
    #[serde(rename = "EndpointsConfig", default)]
    endpoints: Option<BTreeMap<String, Option<EndpointConfig>>>,
}

pub(super) fn check_endpoint_config(n: &NetworkRecord, e: &EndpointConfig) -> Result<(), ApiError> {
    let user_defined = !super::is_predefined(&n.name);
    let has_ip = e
        .ipam_config
        .as_ref()
        .is_some_and(|i| !i.ipv4.is_empty() || !i.ipv6.is_empty());
    if has_ip && !user_defined {
        return Err(ApiError::invalid(
            "user specified IP address is supported on user defined networks only",
        ));
    }
    if e.aliases.as_ref().is_some_and(|a| !a.is_empty()) && !user_defined {
        return Err(ApiError::invalid(
            "network-scoped alias is supported only for containers in user defined networks",
        ));
    }
    if let Some(ip) = e
        .ipam_config
        .as_ref()
        .map(|i| &i.ipv4)
        .filter(|i| !i.is_empty())
    {
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| ApiError::invalid(format!("invalid IPv4 address: {ip}")))?;
        if n.driver != "null" && n.driver != "host" {
            let ipam: super::ipam::Ipam = serde_json::from_str(&n.ipam).unwrap_or_default();
            if ipam.config.iter().all(|c| c.subnet.is_empty()) {
                return Err(ApiError::invalid(
                    "user specified IP address is supported only when connecting to networks with user configured subnets",
                ));
            }
            if let Some(pool) = pool_of(n) {
                if !pool.subnet.contains(ip) {
                    return Err(ApiError::invalid(format!(
                        "no configured subnet or ip-range contain the IP address {ip}"
                    )));
                }
            }
        }
    }
    Ok(())
}

impl Engine {
    /// At create (before the record is written): which networks the container joins and
    /// with what settings; Docker's errors for unknown networks and misplaced `--ip` /
    /// `--network-alias`.
    pub fn plan_container_networks(
        &self,
        host_config: &HostConfig,
        networking_config: Option<&Value>,
    ) -> Result<Vec<(NetworkRecord, EndpointConfig)>, ApiError> {
        let mode = mode_of(host_config).to_string();
        if let Some(x) = mode.strip_prefix("container:") {
            self.resolve_container(x)?;
            return Ok(Vec::new());
        }
        let nc: NetworkingConfig = networking_config
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| ApiError::invalid(format!("invalid NetworkingConfig: {e}")))?
            .unwrap_or_default();
        let requested = nc.endpoints.unwrap_or_default();
        let primary = self.resolve_network(&mode).map_err(not_found_is_invalid)?;
        let mut plan = Vec::new();
        let mut extra = Vec::new();
        let mut primary_cfg = EndpointConfig::default();
        for (k, v) in requested {
            let k = if k == "default" {
                "bridge".to_string()
            } else {
                k
            };
            let n = self.resolve_network(&k).map_err(not_found_is_invalid)?;
            if n.id == primary.id {
                primary_cfg = v.unwrap_or_default();
            } else {
                extra.push((n, v.unwrap_or_default()));
            }
        }
        if matches!(primary.driver.as_str(), "host" | "null") && !extra.is_empty() {
            return Err(ApiError::invalid(
                "conflicting options: cannot attach both user-defined and non-user-defined network-modes",
            ));
        }
        check_endpoint_config(&primary, &primary_cfg)?;
        plan.push((primary, primary_cfg));
        for (n, c) in extra {
            check_endpoint_config(&n, &c)?;
            plan.push((n, c));
        }
        Ok(plan)
    }

    /// At create (after the record is written): records the planned endpoints.
    pub fn record_container_networks(
        &self,
        container_id: &str,
        plan: Vec<(NetworkRecord, EndpointConfig)>,
    ) -> Result<(), ApiError> {
        for (n, cfg) in plan {
            self.db()
                .put_endpoint(&EndpointRecord {
                    container_id: container_id.to_string(),
                    network_id: n.id,
                    config: serde_json::to_string(&cfg)
                        .map_err(|e| ApiError::internal(e.to_string()))?,
                    ..Default::default()
                })
                .map_err(store_err)?;
        }
        Ok(())
    }

    fn netns_path(&self, id: &str) -> PathBuf {
        self.net.netns_dir.join(&id[..12.min(id.len())])
    }

    /// At start, before the OCI spec is built: makes the container's network namespace
    /// with its interfaces, addresses, routes, published ports and DNS, and returns what
    /// the spec needs. On failure nothing is left behind.
    pub async fn prepare_container_network(
        &self,
        c: &ContainerRecord,
        config: &ContainerConfig,
        host_config: &HostConfig,
    ) -> Result<NetworkSetup, ApiError> {
        let _g = self.net.lock.lock().await;
        self.release_locked(&c.id).await;
        let r = self.prepare_locked(c, config, host_config).await;
        if r.is_err() {
            self.release_locked(&c.id).await;
        }
        let sync = self.sync_firewall().await;
        let setup = r?;
        sync?;
        Ok(setup)
    }

    async fn prepare_locked(
        &self,
        c: &ContainerRecord,
        config: &ContainerConfig,
        hc: &HostConfig,
    ) -> Result<NetworkSetup, ApiError> {
        let mode = mode_of(hc).to_string();
        let hostname = berth_runtime::container_hostname(&c.id, config, hc, &LinuxHost);
        let extra_hosts = self.extra_hosts(hc)?;
        if let Some(other) = mode.strip_prefix("container:") {
            let o = self.resolve_container(other)?;
            if o.id == c.id {
                return Err(ApiError::invalid("cannot join own network"));
            }
            let sb = self.db().sandbox(&o.id).map_err(store_err)?;
            let st: Value = serde_json::from_str(&o.state).unwrap_or_default();
            let pid = st["Pid"].as_i64().unwrap_or(0);
            if !st["Running"].as_bool().unwrap_or(false) || sb.is_none() && pid == 0 {
                return Err(ApiError::conflict(format!(
                    "cannot join network of a non running container: {other}"
                )));
            }
            let netns = match sb {
                Some(s) if !s.netns.is_empty() => PathBuf::from(s.netns),
                _ => PathBuf::from(format!("/proc/{pid}/ns/net")),
            };
            let dir = self.container_dir(&o.id);
            return Ok(NetworkSetup {
                netns: Some(netns),
                hosts: std::fs::read_to_string(dir.join("hosts")).unwrap_or_default(),
                resolv_conf: std::fs::read_to_string(dir.join("resolv.conf")).unwrap_or_default(),
            });
        }
        let mut endpoints = self.db().container_endpoints(&c.id).map_err(store_err)?;
        if endpoints.is_empty() {
            // Created before networking was recorded: join the mode's network.
            self.record_container_networks(&c.id, self.plan_container_networks(hc, None)?)?;
            endpoints = self.db().container_endpoints(&c.id).map_err(store_err)?;
        }
        let nets: Vec<(EndpointRecord, NetworkRecord)> = endpoints
            .into_iter()
            .filter_map(|e| {
                let n = self.db().network(&e.network_id).ok().flatten()?;
                Some((e, n))
            })
            .collect();
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        if nets.iter().any(|(_, n)| n.driver == "host") {
            for (mut e, _) in nets {
                e.endpoint_id = new_id();
                self.db().put_endpoint(&e).map_err(store_err)?;
            }
            self.db()
                .put_sandbox(&SandboxRecord {
                    container_id: c.id.clone(),
                    netns: String::new(),
                    ports: "[]".into(),
                })
                .map_err(store_err)?;
            let mut hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
            hosts.push_str(&extra_hosts);
            return Ok(NetworkSetup {
                netns: None,
                hosts,
                resolv_conf: resolv_conf(&host_resolv, hc, false, false),
            });
        }

        let ns = self.netns_path(&c.id);
        let _ = berth_net::netns::remove(&ns);
        berth_net::netns::create(&ns).map_err(net_err)?;
        self.db()
            .put_sandbox(&SandboxRecord {
                container_id: c.id.clone(),
                netns: ns.display().to_string(),
                ports: "[]".into(),
            })
            .map_err(store_err)?;
        berth_net::link::loopback_up(&ns).await.map_err(net_err)?;

        let mut own_ips = Vec::new();
        let mut user_network = false;
        let mut first_attached: Option<(NetworkRecord, Ipv4Addr)> = None;
        let mut index = 0;
        for (mut e, n) in nets {
            e.endpoint_id = new_id();
            if n.driver == "null" {
                self.db().put_endpoint(&e).map_err(store_err)?;
                continue;
            }
            let ip = self
                .attach_endpoint(&ns, &mut e, &n, index, first_attached.is_none())
                .await?;
            index += 1;
            own_ips.push(ip);
            if !super::is_predefined(&n.name) {
                user_network = true;
            }
            if first_attached.is_none() {
                first_attached = Some((n, ip));
            }
        }

        let mut published = Vec::new();
        let mut live = Live::default();
        if let Some((n, ip)) = &first_attached {
            if n.driver == "bridge" && !n.internal {
                for req in port_requests(config, hc)? {
                    let target = SocketAddrV4::new(*ip, req.container.port);
                    let (port, handle) = berth_net::proxy::publish(
                        req.container.proto,
                        req.host_ip,
                        req.host_ports,
                        target,
                    )
                    .await
                    .map_err(|e| {
                        forbidden(format!(
                            "driver failed programming external connectivity on endpoint {} ({}): {e}",
                            c.name,
                            self.endpoint_id_of(&c.id, &n.id)
                        ))
                    })?;
                    live.proxies.push(handle);
                    published.push(Published {
                        network_id: n.id.clone(),
                        key: req.container.to_string(),
                        host_ip: req.host_ip,
                        host_port: port,
                        container_ip: *ip,
                        container_port: req.container.port,
                    });
                }
            }
        }
        if user_network {
            live.dns_server = Some(self.start_dns(&c.id, &ns, hc).await?);
        }
        self.db()
            .put_sandbox(&SandboxRecord {
                container_id: c.id.clone(),
                netns: ns.display().to_string(),
                ports: serde_json::to_string(&published)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
            })
            .map_err(store_err)?;
        self.net.live().insert(c.id.clone(), live);

        let mut hosts = HOSTS_BASE.to_string();
        hosts.push_str(&extra_hosts);
        if let Some(ip) = own_ips.first() {
            let names = if config.domainname.is_empty() {
                hostname.clone()
            } else {
                format!("{hostname}.{} {hostname}", config.domainname)
            };
            hosts.push_str(&format!("{ip}\t{names}\n"));
        }
        Ok(NetworkSetup {
            netns: Some(ns),
            hosts,
            resolv_conf: resolv_conf(&host_resolv, hc, user_network, true),
        })
    }

    fn endpoint_id_of(&self, container: &str, network: &str) -> String {
        self.db()
            .container_endpoints(container)
            .unwrap_or_default()
            .into_iter()
            .find(|e| e.network_id == network)
            .map(|e| e.endpoint_id)
            .unwrap_or_default()
    }

    /// Gives endpoint `e` an address on `n` and its interface `eth<index>` in `ns`.
    pub(super) async fn attach_endpoint(
        &self,
        ns: &Path,
        e: &mut EndpointRecord,
        n: &NetworkRecord,
        index: usize,
        default_route: bool,
    ) -> Result<Ipv4Addr, ApiError> {
        let pool = pool_of(n)
            .ok_or_else(|| ApiError::internal(format!("network {} has no IPv4 subnet", n.name)))?;
        let cfg: EndpointConfig = serde_json::from_str(&e.config).unwrap_or_default();
        let used: BTreeSet<Ipv4Addr> = self
            .db()
            .network_endpoints(&n.id)
            .map_err(store_err)?
            .iter()
            .filter(|o| o.container_id != e.container_id)
            .filter_map(|o| o.ip.parse().ok())
            .collect();
        let ip = match cfg.ipam_config.as_ref().map(|i| i.ipv4.as_str()) {
            Some(want) if !want.is_empty() => {
                let want: Ipv4Addr = want
                    .parse()
                    .map_err(|_| ApiError::invalid(format!("invalid IPv4 address: {want}")))?;
                pool.request(want, &used).map_err(net_err)?
            }
            _ => pool.allocate(&used).map_err(net_err)?,
        };
        let mac = parse_mac(&cfg.mac_address).unwrap_or_else(|| mac_for(ip));
        let ifname = format!("eth{index}");
        e.ip = ip.to_string();
        e.mac = mac_string(mac);
        e.ifname = ifname.clone();
        e.host_if = if n.driver == "bridge" {
            format!("veth{}", &hex::encode(rand::random::<[u8; 4]>())[..7])
        } else {
            String::new()
        };
        // Recorded first, so a failure below is cleaned up by the release.
        self.db().put_endpoint(e).map_err(store_err)?;
        let spec = IfaceSpec {
            name: ifname,
            ip,
            prefix: pool.subnet.prefix(),
            mac,
            mtu: self.net_mtu(n),
            gateway: (default_route && !n.internal).then_some(pool.gateway),
        };
        match n.driver.as_str() {
            "bridge" => berth_net::link::attach_veth(ns, &self.bridge_name(n), &e.host_if, &spec)
                .await
                .map_err(net_err)?,
            "macvlan" => {
                let parent = n.options.get("parent").cloned().unwrap_or_default();
                berth_net::link::attach_macvlan(ns, &parent, &spec)
                    .await
                    .map_err(net_err)?
            }
            d => {
                return Err(ApiError::internal(format!(
                    "cannot attach to a {d} network"
                )))
            }
        }
        Ok(ip)
    }

    /// At exit or removal: frees the container's addresses, links, published ports, DNS
    /// server and namespace. Idempotent.
    pub async fn release_container_network(&self, id: &str) {
        let _g = self.net.lock.lock().await;
        self.release_locked(id).await;
        if let Err(e) = self.sync_firewall().await {
            tracing::warn!(container = %id, "cannot update firewall rules: {}", e.message);
        }
    }

    pub(super) async fn release_locked(&self, id: &str) {
        self.net.live().remove(id);
        for mut e in self.db().container_endpoints(id).unwrap_or_default() {
            if e.endpoint_id.is_empty() && e.ip.is_empty() && e.host_if.is_empty() {
                continue;
            }
            if !e.host_if.is_empty() {
                if let Err(err) = berth_net::link::delete(None, &e.host_if).await {
                    tracing::warn!(container = %id, "{err}");
                }
            }
            e.endpoint_id.clear();
            e.ip.clear();
            e.mac.clear();
            e.ifname.clear();
            e.host_if.clear();
            let _ = self.db().put_endpoint(&e);
        }
        if let Ok(Some(sb)) = self.db().sandbox(id) {
            if !sb.netns.is_empty() {
                if let Err(err) = berth_net::netns::remove(Path::new(&sb.netns)) {
                    tracing::warn!(container = %id, "{err}");
                }
            }
            let _ = self.db().delete_sandbox(id);
        }
    }

    /// `--add-host` lines; `host-gateway` is the default bridge's gateway.
    fn extra_hosts(&self, hc: &HostConfig) -> Result<String, ApiError> {
        let mut out = String::new();
        for h in &hc.extra_hosts {
            let (name, ip) = h
                .split_once(':')
                .or_else(|| h.split_once('='))
                .ok_or_else(|| ApiError::invalid(format!("invalid extra host: {h}")))?;
            let ip = if ip == "host-gateway" {
                self.net.cfg.bip.addr().to_string()
            } else {
                ip.to_string()
            };
            out.push_str(&format!("{ip}\t{name}\n"));
        }
        Ok(out)
    }

    /// At start-up: sandboxes of containers that still run get their proxies and DNS
    /// back; the rest are released. Then stray veths on berth's bridges and unpinned
    /// namespace files go.
    pub(super) async fn reconcile_sandboxes(&self) {
        let mut keep_veths = BTreeSet::new();
        let mut keep_ns = BTreeSet::new();
        for sb in self.db().sandboxes().unwrap_or_default() {
            let running = self
                .db()
                .container(&sb.container_id)
                .ok()
                .flatten()
                .and_then(|c| serde_json::from_str::<Value>(&c.state).ok())
                .map(|s| s["Running"].as_bool().unwrap_or(false))
                .unwrap_or(false);
            let pinned = sb.netns.is_empty() || berth_net::netns::is_pinned(Path::new(&sb.netns));
            if !running || !pinned {
                tracing::info!(container = %sb.container_id, "releasing the network of a container that is gone");
                self.release_locked(&sb.container_id).await;
                continue;
            }
            keep_ns.insert(PathBuf::from(&sb.netns));
            for e in self
                .db()
                .container_endpoints(&sb.container_id)
                .unwrap_or_default()
            {
                keep_veths.insert(e.host_if);
            }
            let mut live = Live::default();
            let ports: Vec<Published> = serde_json::from_str(&sb.ports).unwrap_or_default();
            for p in ports {
                let Ok(key) = p.key.parse::<PortKey>() else {
                    continue;
                };
                match berth_net::proxy::publish(
                    key.proto,
                    p.host_ip,
                    HostPorts {
                        first: p.host_port,
                        last: p.host_port,
                    },
                    SocketAddrV4::new(p.container_ip, p.container_port),
                )
                .await
                {
                    Ok((_, h)) => live.proxies.push(h),
                    Err(e) => tracing::warn!(container = %sb.container_id, "{e}"),
                }
            }
            let hc: HostConfig = self
                .db()
                .container(&sb.container_id)
                .ok()
                .flatten()
                .and_then(|c| serde_json::from_str(&c.host_config).ok())
                .unwrap_or_default();
            let user = self
                .db()
                .container_endpoints(&sb.container_id)
                .unwrap_or_default()
                .iter()
                .filter_map(|e| self.db().network(&e.network_id).ok().flatten())
                .any(|n| !super::is_predefined(&n.name));
            if user && !sb.netns.is_empty() {
                match self
                    .start_dns(&sb.container_id, Path::new(&sb.netns), &hc)
                    .await
                {
                    Ok(d) => live.dns_server = Some(d),
                    Err(e) => tracing::warn!(container = %sb.container_id, "{}", e.message),
                }
            }
            self.net.live().insert(sb.container_id.clone(), live);
        }
        for n in self.db().networks().unwrap_or_default() {
            if n.driver != "bridge" {
                continue;
            }
            for port in berth_net::link::bridge_ports(&self.bridge_name(&n))
                .await
                .unwrap_or_default()
            {
                if port.starts_with("veth") && !keep_veths.contains(&port) {
                    tracing::info!(link = %port, "removing a stale veth");
                    let _ = berth_net::link::delete(None, &port).await;
                }
            }
        }
        if let Ok(rd) = std::fs::read_dir(&self.net.netns_dir) {
            for f in rd.flatten() {
                if !keep_ns.contains(&f.path()) {
                    let _ = berth_net::netns::remove(&f.path());
                }
            }
        }
    }
}

/// A 404 from create makes the docker CLI try to pull the image: only "no such image" may
/// be one there, so an unknown network is a bad request.
fn not_found_is_invalid(e: ApiError) -> ApiError {
    if e.kind == berth_api::ErrorKind::NotFound {
        ApiError::invalid(e.message)
    } else {
        e
    }
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .ok()?;
    parts.try_into().ok()
}

/// The container's port publications: `PortBindings`, plus every exposed port on an
/// ephemeral host port with `PublishAllPorts` (`-P`).
pub(super) fn port_requests(
    config: &ContainerConfig,
    hc: &HostConfig,
) -> Result<Vec<PortRequest>, ApiError> {
    let mut out = Vec::new();
    let mut bound = BTreeSet::new();
    for (key, bindings) in &hc.port_bindings {
        let k: PortKey = key.parse().map_err(net_err)?;
        bound.insert(k);
        let list = bindings.clone().unwrap_or_default();
        if list.is_empty() {
            out.push(PortRequest::from_binding(key, "", "").map_err(net_err)?);
        }
        for b in list {
            out.push(PortRequest::from_binding(key, &b.host_ip, &b.host_port).map_err(net_err)?);
        }
    }
    if hc.publish_all_ports {
        for key in config.exposed_ports.keys() {
            let k: PortKey = key.parse().map_err(net_err)?;
            if bound.insert(k) {
                out.push(PortRequest::from_binding(key, "", "").map_err(net_err)?);
            }
        }
    }
    Ok(out)
}

/// The container's `resolv.conf`: the embedded server on user-defined networks; else the
/// host's (without loopback servers a private namespace cannot reach), with `--dns`,
/// `--dns-search` and `--dns-option` taking over their lines.
pub(super) fn resolv_conf(host: &str, hc: &HostConfig, embedded: bool, private_ns: bool) -> String {
    let mut servers = Vec::new();
    let mut search = Vec::new();
    let mut options = Vec::new();
    for line in host.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("nameserver") => servers.extend(f.next().map(str::to_string)),
            Some("search") | Some("domain") => search = f.map(str::to_string).collect(),
            Some("options") => options.extend(f.map(str::to_string)),
            _ => {}
        }
    }
    if private_ns && !embedded {
        servers.retain(|s| {
            s.parse::<std::net::IpAddr>()
                .map(|ip| !ip.is_loopback())
                .unwrap_or(false)
        });
        if servers.is_empty() {
            // Docker's fallback when the host only has local resolvers.
            servers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
        }
    }
    if !hc.dns.is_empty() {
        servers = hc.dns.clone();
    }
    if !hc.dns_search.is_empty() {
        search = hc.dns_search.clone();
    }
    if !hc.dns_options.is_empty() {
        options = hc.dns_options.clone();
    }
    if embedded {
        servers = vec!["127.0.0.11".into()];
        if !options.iter().any(|o| o.starts_with("ndots:")) {
            options.push("ndots:0".into());
        }
    }
    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_rules() {
        let host =
            "nameserver 127.0.0.53\nnameserver 10.1.1.1\nsearch example.test\noptions edns0\n";
        let hc = HostConfig::default();
        assert_eq!(
            resolv_conf(host, &hc, false, true),
            "search example.test\nnameserver 10.1.1.1\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf(host, &hc, true, true),
            "search example.test\nnameserver 127.0.0.11\noptions edns0 ndots:0\n"
        );
        let only_local = "nameserver 127.0.0.53\n";
        assert!(resolv_conf(only_local, &hc, false, true).contains("nameserver 8.8.8.8"));
        assert!(resolv_conf(only_local, &hc, false, false).contains("127.0.0.53"));
        let hc = HostConfig {
            dns: vec!["1.2.3.4".into()],
            dns_search: vec!["a.test".into()],
            ..Default::default()
        };
        assert_eq!(
            resolv_conf(host, &hc, false, true),
            "search a.test\nnameserver 1.2.3.4\noptions edns0\n"
        );
    }

    #[test]
    fn port_requests_from_bindings_and_publish_all() {
        let mut hc: HostConfig = serde_json::from_value(serde_json::json!({
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "53/udp": null},
            "PublishAllPorts": true
        }))
        .unwrap();
        let cfg: ContainerConfig = serde_json::from_value(serde_json::json!({
            "ExposedPorts": {"80/tcp": {}, "443/tcp": {}}
        }))
        .unwrap();
        let r = port_requests(&cfg, &hc).unwrap();
        let keys: Vec<String> = r.iter().map(|p| p.container.to_string()).collect();
        assert_eq!(keys, ["53/udp", "80/tcp", "443/tcp"]);
        assert_eq!(r[1].host_ports.first, 8080);
        assert!(r[2].host_ports.is_any());
        hc.publish_all_ports = false;
        assert_eq!(port_requests(&cfg, &hc).unwrap().len(), 2);
        assert_eq!(
            parse_mac("02:42:ac:11:00:02"),
            Some([2, 0x42, 0xac, 0x11, 0, 2])
        );
        assert_eq!(parse_mac("nope"), None);
    }
}
