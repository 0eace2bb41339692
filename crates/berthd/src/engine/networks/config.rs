//! Networking settings of the daemon: the default bridge (`--bridge`, `--bip`, `--mtu`),
//! the pools user-defined networks draw subnets from (`--default-address-pool`,
//! `default-address-pools`), and the firewall (`--iptables`, `--ip-forward`), with
//! dockerd's names, checked in one step.

use anyhow::{bail, Context, Result};
use berth_net::Ipv4Cidr;
use serde::Deserialize;

use crate::config::FileConfig;

/// The default bridge's name.
pub const DEFAULT_BRIDGE: &str = "berth0";
/// The default bridge's address: clear of a `docker0` on 172.17.0.0/16.
pub const DEFAULT_BIP: &str = "172.18.0.1/16";
/// berth's nftables table (and, uppercased, the iptables chain prefix).
pub const DEFAULT_FIREWALL_TABLE: &str = "berth";

#[derive(Debug, Clone, Default, clap::Args)]
pub struct NetFlags {
    /// Name of the default bridge (created if missing)
    #[arg(short = 'b', long = "bridge", value_name = "NAME")]
    pub bridge: Option<String>,
    /// Address and prefix of the default bridge, e.g. 172.18.0.1/16
    #[arg(long = "bip", value_name = "CIDR")]
    pub bip: Option<String>,
    /// Address pool for user-defined networks: base=172.19.0.0/16,size=24 (repeatable)
    #[arg(long = "default-address-pool", value_name = "POOL")]
    pub default_address_pools: Vec<String>,
    /// Manage firewall rules (nftables, else iptables)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub iptables: Option<bool>,
    /// Turn on net.ipv4.ip_forward
    #[arg(long = "ip-forward", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub ip_forward: Option<bool>,
    /// MTU of the default bridge's container interfaces
    #[arg(long, value_name = "BYTES")]
    pub mtu: Option<u32>,
    /// Name of berth's nftables table (iptables chains are its uppercase prefix)
    #[arg(long = "firewall-table", value_name = "NAME")]
    pub firewall_table: Option<String>,
}

/// One `default-address-pools` entry: `{"base": "172.80.0.0/16", "size": 24}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddressPool {
    pub base: String,
    pub size: u8,
}

/// Checked networking settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    pub bridge: String,
    /// Gateway address with the subnet's prefix.
    pub bip: Ipv4Cidr,
    pub pools: Vec<(Ipv4Cidr, u8)>,
    pub iptables: bool,
    pub ip_forward: bool,
    pub mtu: Option<u32>,
    pub firewall_table: String,
}

fn parse_pool_flag(s: &str) -> Result<AddressPool> {
    let (mut base, mut size) = (None, None);
    for part in s.split(',') {
        match part.split_once('=') {
            Some(("base", v)) => base = Some(v.to_string()),
            Some(("size", v)) => size = Some(v.parse::<u8>().context("invalid pool size")?),
            _ => bail!("invalid default address pool {s:?}: use base=CIDR,size=N"),
        }
    }
    match (base, size) {
        (Some(base), Some(size)) => Ok(AddressPool { base, size }),
        _ => bail!("invalid default address pool {s:?}: use base=CIDR,size=N"),
    }
}

fn check_pool(p: &AddressPool) -> Result<(Ipv4Cidr, u8)> {
    let base: Ipv4Cidr = p.base.parse()?;
    if p.size < base.prefix() || p.size > 30 {
        bail!(
            "invalid default address pool {}: size {} must be between the base's prefix and 30",
            p.base,
            p.size
        );
    }
    Ok((base.trunc(), p.size))
}

impl NetConfig {
    pub fn load(flags: &NetFlags, file: &FileConfig) -> Result<NetConfig> {
        let mut both = Vec::new();
        let mut both_set = |n: &str, a: bool, b: bool| {
            if a && b {
                both.push(n.to_string())
            }
        };
        both_set("bridge", flags.bridge.is_some(), file.bridge.is_some());
        both_set("bip", flags.bip.is_some(), file.bip.is_some());
        both_set(
            "default-address-pools",
            !flags.default_address_pools.is_empty(),
            file.default_address_pools.is_some(),
        );
        both_set(
            "iptables",
            flags.iptables.is_some(),
            file.iptables.is_some(),
        );
        both_set("mtu", flags.mtu.is_some(), file.mtu.is_some());
        if !both.is_empty() {
            bail!(
                "the following directives are specified both as a flag and in the configuration file: {}; remove one of them",
                both.join(", ")
            );
        }
        let bridge = flags
            .bridge
            .clone()
            .or(file.bridge.clone())
            .unwrap_or_else(|| DEFAULT_BRIDGE.into());
        if bridge.is_empty() || bridge.len() > 15 || bridge.contains(['/', ' ']) {
            bail!("invalid bridge name {bridge:?}: use 1 to 15 characters, no '/' or spaces");
        }
        let bip_text = flags
            .bip
            .clone()
            .or(file.bip.clone())
            .unwrap_or_else(|| DEFAULT_BIP.into());
        let bip: Ipv4Cidr = bip_text
            .parse()
            .with_context(|| format!("invalid --bip {bip_text:?}"))?;
        if bip.addr() == bip.network() || bip.prefix() > 30 {
            bail!("invalid --bip {bip_text}: give the bridge's address with a prefix, e.g. 172.18.0.1/16");
        }
        let pools = if !flags.default_address_pools.is_empty() {
            flags
                .default_address_pools
                .iter()
                .map(|s| parse_pool_flag(s))
                .collect::<Result<Vec<_>>>()?
        } else if let Some(p) = &file.default_address_pools {
            p.clone()
        } else {
            // Docker's defaults, minus the default bridge's own /16.
            let mut v: Vec<AddressPool> = (19..=31)
                .map(|n| AddressPool {
                    base: format!("172.{n}.0.0/16"),
                    size: 16,
                })
                .collect();
            v.push(AddressPool {
                base: "192.168.0.0/16".into(),
                size: 20,
            });
            v
        };
        let pools = pools.iter().map(check_pool).collect::<Result<Vec<_>>>()?;
        let firewall_table = flags
            .firewall_table
            .clone()
            .or(file.firewall_table.clone())
            .unwrap_or_else(|| DEFAULT_FIREWALL_TABLE.into());
        if firewall_table.is_empty()
            || firewall_table.len() > 20
            || !firewall_table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bail!("invalid firewall table name {firewall_table:?}: use up to 20 letters, digits or '_'");
        }
        Ok(NetConfig {
            bridge,
            bip,
            pools,
            iptables: flags.iptables.or(file.iptables).unwrap_or(true),
            ip_forward: flags.ip_forward.or(file.ip_forward).unwrap_or(true),
            mtu: flags.mtu.or(file.mtu),
            firewall_table,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = NetConfig::load(&NetFlags::default(), &FileConfig::default()).unwrap();
        assert_eq!(c.bridge, "berth0");
        assert_eq!(c.bip.to_string(), "172.18.0.1/16");
        assert_eq!(c.pools[0].0.to_string(), "172.19.0.0/16");
        assert!(c.iptables && c.ip_forward);
        let flags = NetFlags {
            bip: Some("10.77.0.1/24".into()),
            default_address_pools: vec!["base=10.78.0.0/16,size=24".into()],
            iptables: Some(false),
            ..Default::default()
        };
        let c = NetConfig::load(&flags, &FileConfig::default()).unwrap();
        assert_eq!(c.pools, vec![("10.78.0.0/16".parse().unwrap(), 24)]);
        assert!(!c.iptables);
        let file = FileConfig {
            bip: Some("10.0.0.1/8".into()),
            ..Default::default()
        };
        assert!(NetConfig::load(&flags, &file).is_err(), "flag and file");
        let bad = NetFlags {
            bip: Some("10.77.0.0/24".into()),
            ..Default::default()
        };
        assert!(NetConfig::load(&bad, &FileConfig::default()).is_err());
        let bad = NetFlags {
            default_address_pools: vec!["base=10.0.0.0/16".into()],
            ..Default::default()
        };
        assert!(NetConfig::load(&bad, &FileConfig::default()).is_err());
    }
}
