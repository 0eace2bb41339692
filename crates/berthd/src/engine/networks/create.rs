//! `POST /networks/create`, and the predefined networks made at start-up.

use std::collections::BTreeMap;

use berth_api::ApiError;
use berth_net::ipam::Pool;
use berth_net::Ipv4Cidr;
use berth_store::NetworkRecord;
use serde::Deserialize;

use super::ipam::{pool_of, Ipam, IpamConfig};
use super::{forbidden, is_predefined, net_err, new_id, now_nanos};
use super::{OPT_BRIDGE_NAME, OPT_DEFAULT, OPT_ICC, OPT_MASQ, OPT_MTU};
use crate::engine::images::store_err;
use crate::engine::Engine;

/// Docker's `NetworkCreateRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkCreateBody {
    pub name: String,
    pub check_duplicate: Option<bool>,
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Option<Ipam>,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    pub options: Option<BTreeMap<String, String>>,
    pub labels: Option<BTreeMap<String, String>>,
}

impl Engine {
    /// Creates `bridge`, `host` and `none` on first start, and keeps `bridge` in step with
    /// `--bridge` / `--bip` / `--mtu`.
    pub(super) fn ensure_predefined(&self) -> anyhow::Result<()> {
        let cfg = &self.net.cfg;
        let subnet = cfg.bip.trunc();
        let ipam = Ipam {
            driver: "default".into(),
            config: vec![IpamConfig {
                subnet: subnet.to_string(),
                gateway: cfg.bip.addr().to_string(),
                ..Default::default()
            }],
            options: None,
        };
        let options: BTreeMap<String, String> = [
            (OPT_DEFAULT, "true".to_string()),
            (OPT_ICC, "true".into()),
            (OPT_MASQ, "true".into()),
            (
                "com.docker.network.bridge.host_binding_ipv4",
                "0.0.0.0".into(),
            ),
            (OPT_BRIDGE_NAME, cfg.bridge.clone()),
            (OPT_MTU, cfg.mtu.unwrap_or(1500).to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let ipam_json = serde_json::to_string(&ipam)?;
        let db = self.db();
        match db.network_by_name("bridge")? {
            Some(mut n) if n.ipam != ipam_json || n.options != options => {
                n.ipam = ipam_json;
                n.options = options;
                db.update_network(&n)?;
            }
            Some(_) => {}
            None => {
                db.insert_network(&NetworkRecord {
                    id: new_id(),
                    name: "bridge".into(),
                    driver: "bridge".into(),
                    created: now_nanos(),
                    internal: false,
                    attachable: false,
                    labels: BTreeMap::new(),
                    options,
                    ipam: ipam_json,
                })?;
            }
        }
        for (name, driver) in [("host", "host"), ("none", "null")] {
            if db.network_by_name(name)?.is_none() {
                db.insert_network(&NetworkRecord {
                    id: new_id(),
                    name: name.into(),
                    driver: driver.into(),
                    created: now_nanos(),
                    internal: false,
                    attachable: false,
                    labels: BTreeMap::new(),
                    options: BTreeMap::new(),
                    ipam: serde_json::to_string(&Ipam {
                        driver: "default".into(),
                        ..Default::default()
                    })?,
                })?;
            }
        }
        Ok(())
    }

    /// Returns the new network's ID.
    pub async fn create_network(&self, body: NetworkCreateBody) -> Result<String, ApiError> {
        let name = body.name.trim().to_string();
        if name.is_empty() {
            return Err(ApiError::invalid("network name must not be empty"));
        }
        if name.contains(['/', ' ', '\t', '\n', ':']) {
            return Err(ApiError::invalid(format!(
                "invalid network name \"{name}\": it must not contain '/', ':' or spaces"
            )));
        }
        if is_predefined(&name) {
            return Err(forbidden(format!(
                "operation is not permitted on predefined {name} network "
            )));
        }
        let driver = match body.driver.as_str() {
            "" => "bridge",
            d => d,
        }
        .to_string();
        if !matches!(driver.as_str(), "bridge" | "macvlan") {
            return Err(ApiError::not_found(format!(
                "plugin \"{driver}\" not found"
            )));
        }
        if body.enable_ipv6 {
            return Err(ApiError::invalid(
                "IPv6 networks are not supported by berth yet",
            ));
        }
        let options = body.options.unwrap_or_default();
        if let Some(m) = options.get(OPT_MTU) {
            match m.parse::<u32>() {
                Ok(v) if (68..=65535).contains(&v) => {}
                _ => {
                    return Err(ApiError::invalid(format!(
                        "invalid MTU value {m:?}: must be between 68 and 65535"
                    )))
                }
            }
        }
        if driver == "macvlan" && !options.contains_key("parent") {
            return Err(ApiError::invalid(
                "macvlan networks need a parent interface: -o parent=IFACE",
            ));
        }
        let _g = self.net.lock.lock().await;
        if self
            .db()
            .network_by_name(&name)
            .map_err(store_err)?
            .is_some()
        {
            return Err(ApiError::conflict(format!(
                "network with name {name} already exists"
            )));
        }
        let id = new_id();
        let mut ipam = body.ipam.unwrap_or_default();
        if ipam.driver.is_empty() {
            ipam.driver = "default".into();
        }
        if ipam.driver != "default" {
            return Err(ApiError::not_found(format!(
                "plugin \"{}\" not found",
                ipam.driver
            )));
        }
        let pool = self.pick_pool(&mut ipam, &driver)?;
        if driver == "bridge" {
            let bridge = options
                .get(OPT_BRIDGE_NAME)
                .cloned()
                .unwrap_or_else(|| format!("br-{}", &id[..12]));
            if bridge.is_empty() || bridge.len() > 15 {
                return Err(ApiError::invalid(format!(
                    "invalid bridge name {bridge:?}: 1 to 15 characters"
                )));
            }
            let taken = self
                .db()
                .networks()
                .map_err(store_err)?
                .into_iter()
                .any(|n| n.driver == "bridge" && self.bridge_name(&n) == bridge);
            if taken {
                return Err(ApiError::conflict(format!(
                    "bridge name {bridge} is already used by another network"
                )));
            }
            let mtu = options.get(OPT_MTU).and_then(|m| m.parse().ok());
            let gw = Ipv4Cidr::new(pool.gateway, pool.subnet.prefix()).map_err(net_err)?;
            berth_net::link::ensure_bridge(&bridge, gw, mtu)
                .await
                .map_err(net_err)?;
        }
        let rec = NetworkRecord {
            id: id.clone(),
            name,
            driver,
            created: now_nanos(),
            internal: body.internal,
            attachable: body.attachable,
            labels: body.labels.unwrap_or_default(),
            options,
            ipam: serde_json::to_string(&ipam).map_err(|e| ApiError::internal(e.to_string()))?,
        };
        if !self.db().insert_network(&rec).map_err(store_err)? {
            return Err(ApiError::conflict(format!(
                "network with name {} already exists",
                rec.name
            )));
        }
        if rec.driver == "bridge" {
            self.sync_firewall().await?;
        }
        self.network_event("create", &rec, None);
        Ok(id)
    }

    /// Checks the requested IPv4 config, or picks a free subnet from the default pools;
    /// fills in the gateway like Docker shows it.
    fn pick_pool(&self, ipam: &mut Ipam, driver: &str) -> Result<Pool, ApiError> {
        let existing: Vec<Ipv4Cidr> = self
            .db()
            .networks()
            .map_err(store_err)?
            .iter()
            .filter_map(pool_of)
            .map(|p| p.subnet)
            .collect();
        if ipam.config.is_empty() {
            let mut taken = existing.clone();
            taken.extend(host_subnets());
            let subnet =
                berth_net::ipam::pick_subnet(&self.net.cfg.pools, &taken).map_err(net_err)?;
            ipam.config.push(IpamConfig {
                subnet: subnet.to_string(),
                ..Default::default()
            });
        }
        let c = &mut ipam.config[0];
        let subnet: Ipv4Cidr = c
            .subnet
            .parse()
            .map_err(|_| ApiError::invalid(format!("invalid CIDR address: {}", c.subnet)))?;
        if subnet.addr() != subnet.network() {
            return Err(ApiError::invalid(format!(
                "invalid subnet {subnet}: it should be {}",
                subnet.trunc()
            )));
        }
        let gateway = match c.gateway.as_str() {
            "" => None,
            g => Some(
                g.parse()
                    .map_err(|_| ApiError::invalid(format!("invalid gateway address {g}")))?,
            ),
        };
        let range = match c.ip_range.as_str() {
            "" => None,
            r => Some(
                r.parse::<Ipv4Cidr>()
                    .map_err(|_| ApiError::invalid(format!("invalid CIDR address: {r}")))?,
            ),
        };
        let pool = Pool::new(subnet, gateway, range).map_err(net_err)?;
        if driver == "bridge" && existing.iter().any(|e| e.overlaps(&pool.subnet)) {
            return Err(forbidden(
                "Pool overlaps with other one on this address space",
            ));
        }
        if c.gateway.is_empty() {
            c.gateway = pool.gateway.to_string();
        }
        Ok(pool)
    }
}

/// The IPv4 subnets on the host's own interfaces (a new network must not shadow them).
fn host_subnets() -> Vec<Ipv4Cidr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    addrs
        .filter_map(|a| {
            let ip = a.address?.as_sockaddr_in()?.ip();
            let mask = a.netmask?.as_sockaddr_in()?.ip();
            let prefix = u32::from(mask).count_ones() as u8;
            Ipv4Cidr::new(ip, prefix).ok().map(|c| c.trunc())
        })
        .filter(|c| !c.network().is_loopback())
        .collect()
}
