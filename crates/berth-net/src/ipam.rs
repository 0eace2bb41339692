//! IP address management: which address of a network's pool a new endpoint gets. Pure
//! arithmetic over the set of addresses in use; the daemon persists the allocations (so a
//! restart sees the same picture) and passes them in.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::cidr::Ipv4Cidr;
use crate::NetError;

/// One IPv4 pool of a network: Docker's `IPAM.Config[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub subnet: Ipv4Cidr,
    pub gateway: Ipv4Addr,
    /// Addresses are handed out only from here (`--ip-range`); the whole subnet if None.
    pub range: Option<Ipv4Cidr>,
}

impl Pool {
    /// Checks Docker's rules: the gateway and range lie inside the subnet. A missing
    /// gateway is the subnet's first host address.
    pub fn new(
        subnet: Ipv4Cidr,
        gateway: Option<Ipv4Addr>,
        range: Option<Ipv4Cidr>,
    ) -> Result<Pool, NetError> {
        let subnet = subnet.trunc();
        if subnet.prefix() > 30 {
            return Err(NetError::Invalid(format!(
                "subnet {subnet} is too small: it leaves no address for containers"
            )));
        }
        let gateway = match gateway {
            Some(g) if !subnet.contains(g) => {
                return Err(NetError::Invalid(format!(
                    "Invalid gateway {g}: it is not in subnet {subnet}"
                )))
            }
            Some(g) => g,
            None => subnet.nth(1).expect("prefix <= 30"),
        };
        if let Some(r) = range {
            if !subnet.covers(&r) {
                return Err(NetError::Invalid(format!(
                    "Invalid ip-range {r}: it is not in subnet {subnet}"
                )));
            }
        }
        Ok(Pool {
            subnet,
            gateway,
            range: range.map(|r| r.trunc()),
        })
    }

    /// Whether `ip` may be given to an endpoint: inside the subnet, not the network,
    /// broadcast or gateway address.
    pub fn assignable(&self, ip: Ipv4Addr) -> bool {
        self.subnet.contains(ip)
            && ip != self.subnet.network()
            && ip != self.subnet.broadcast()
            && ip != self.gateway
    }

    /// The lowest free address of the range (Docker hands them out in order).
    pub fn allocate(&self, used: &BTreeSet<Ipv4Addr>) -> Result<Ipv4Addr, NetError> {
        let from = self.range.unwrap_or(self.subnet);
        (0..from.size())
            .filter_map(|n| from.nth(n))
            .find(|ip| self.assignable(*ip) && !used.contains(ip))
            .ok_or_else(|| {
                NetError::Exhausted(format!(
                    "no available IPv4 addresses on this network's address pools: {}",
                    self.subnet
                ))
            })
    }

    /// Checks a requested address (`--ip`).
    pub fn request(&self, ip: Ipv4Addr, used: &BTreeSet<Ipv4Addr>) -> Result<Ipv4Addr, NetError> {
        if !self.assignable(ip) {
            return Err(NetError::Invalid(format!(
                "Address {ip} does not belong to the network's subnet {} or is reserved",
                self.subnet
            )));
        }
        if used.contains(&ip) {
            return Err(NetError::InUse(format!("Address already in use: {ip}")));
        }
        Ok(ip)
    }
}

/// Picks the first `/size` subnet of the `bases` that overlaps none of `taken`.
pub fn pick_subnet(bases: &[(Ipv4Cidr, u8)], taken: &[Ipv4Cidr]) -> Result<Ipv4Cidr, NetError> {
    bases
        .iter()
        .flat_map(|(base, size)| base.subnets(*size))
        .find(|s| !taken.iter().any(|t| t.overlaps(s)))
        .ok_or_else(|| {
            NetError::Exhausted(
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
            )
        })
}

/// Docker's MAC for an address: `02:42` followed by the four bytes of the IP.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn mac_string(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(s: &str, g: Option<&str>, r: Option<&str>) -> Result<Pool, NetError> {
        Pool::new(
            s.parse().unwrap(),
            g.map(|g| g.parse().unwrap()),
            r.map(|r| r.parse().unwrap()),
        )
    }

    #[test]
    fn allocates_in_order_skipping_gateway_and_used() {
        let p = pool("172.30.0.0/24", None, None).unwrap();
        assert_eq!(p.gateway, Ipv4Addr::new(172, 30, 0, 1));
        let mut used = BTreeSet::new();
        let a = p.allocate(&used).unwrap();
        assert_eq!(a, Ipv4Addr::new(172, 30, 0, 2));
        used.insert(a);
        assert_eq!(p.allocate(&used).unwrap(), Ipv4Addr::new(172, 30, 0, 3));
        used.remove(&a);
        assert_eq!(
            p.allocate(&used).unwrap(),
            a,
            "released addresses are reused"
        );
    }

    #[test]
    fn range_gateway_and_exhaustion() {
        let p = pool("10.5.0.0/16", Some("10.5.0.254"), Some("10.5.7.0/30")).unwrap();
        let mut used = BTreeSet::new();
        // The range's own network address is fine: it is not the subnet's.
        for want in ["10.5.7.0", "10.5.7.1", "10.5.7.2", "10.5.7.3"] {
            let ip = p.allocate(&used).unwrap();
            assert_eq!(ip.to_string(), want);
            used.insert(ip);
        }
        assert!(matches!(p.allocate(&used), Err(NetError::Exhausted(_))));
        assert!(pool("10.5.0.0/16", Some("10.6.0.1"), None).is_err());
        assert!(pool("10.5.0.0/16", None, Some("10.6.0.0/24")).is_err());
        assert!(pool("10.5.0.0/31", None, None).is_err());
    }

    #[test]
    fn requested_addresses() {
        let p = pool("172.30.0.0/24", None, None).unwrap();
        let used: BTreeSet<_> = ["172.30.0.9".parse().unwrap()].into();
        assert!(p.request("172.30.0.10".parse().unwrap(), &used).is_ok());
        assert!(matches!(
            p.request("172.30.0.9".parse().unwrap(), &used),
            Err(NetError::InUse(_))
        ));
        assert!(p.request("172.30.0.1".parse().unwrap(), &used).is_err());
        assert!(p.request("172.30.1.1".parse().unwrap(), &used).is_err());
    }

    #[test]
    fn picks_free_subnets() {
        let bases = [("172.19.0.0/16".parse().unwrap(), 24)];
        let taken = [
            "172.19.0.0/24".parse().unwrap(),
            "172.19.1.128/25".parse().unwrap(),
        ];
        assert_eq!(
            pick_subnet(&bases, &taken).unwrap().to_string(),
            "172.19.2.0/24"
        );
        assert_eq!(
            mac_string(mac_for("172.17.0.2".parse().unwrap())),
            "02:42:ac:11:00:02"
        );
    }
}
