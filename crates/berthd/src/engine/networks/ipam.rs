//! Docker's `IPAM` object (`{"Driver":"default","Config":[{"Subnet":..,"Gateway":..}]}`),
//! stored as JSON on the network record, and the IPv4 pool it describes.

use std::collections::BTreeMap;

use berth_net::ipam::Pool;
use berth_store::NetworkRecord;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    #[serde(default)]
    pub driver: String,
    #[serde(default, deserialize_with = "null_vec")]
    pub config: Vec<IpamConfig>,
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamConfig {
    #[serde(rename = "Subnet", default, skip_serializing_if = "String::is_empty")]
    pub subnet: String,
    #[serde(rename = "IPRange", default, skip_serializing_if = "String::is_empty")]
    pub ip_range: String,
    #[serde(rename = "Gateway", default, skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    #[serde(
        rename = "AuxiliaryAddresses",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub aux: Option<BTreeMap<String, String>>,
}

fn null_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The IPv4 pool of a network (its first IPv4 config), if it has one.
pub fn pool_of(n: &NetworkRecord) -> Option<Pool> {
    let ipam: Ipam = serde_json::from_str(&n.ipam).ok()?;
    ipam.config.iter().find_map(|c| {
        let subnet = c.subnet.parse().ok()?;
        Pool::new(subnet, c.gateway.parse().ok(), c.ip_range.parse().ok()).ok()
    })
}
