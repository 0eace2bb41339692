//! IPv4 subnets in CIDR notation (`172.18.0.0/16`), the little arithmetic IPAM needs.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::NetError;

/// An IPv4 network: the address as given (host bits may be set, as in `--bip
/// 172.18.0.1/16`) and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Cidr {
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, NetError> {
        if prefix > 32 {
            return Err(NetError::Invalid(format!(
                "invalid CIDR address: {addr}/{prefix}"
            )));
        }
        Ok(Self { addr, prefix })
    }

    /// The address as written (may have host bits).
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The same network with host bits cleared: `172.18.0.1/16` → `172.18.0.0/16`.
    pub fn trunc(&self) -> Self {
        Self {
            addr: self.network(),
            prefix: self.prefix,
        }
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// Number of addresses in the network.
    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix as u32)
    }

    /// The `n`th address of the network (0 is the network address).
    pub fn nth(&self, n: u64) -> Option<Ipv4Addr> {
        (n < self.size()).then(|| Ipv4Addr::from(u32::from(self.network()) + n as u32))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// Whether the two networks share any address.
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    /// Whether `other` lies wholly inside this network.
    pub fn covers(&self, other: &Ipv4Cidr) -> bool {
        self.prefix <= other.prefix && self.contains(other.network())
    }

    /// The consecutive `/size` subnets of this network, in order.
    pub fn subnets(&self, size: u8) -> impl Iterator<Item = Ipv4Cidr> {
        let base = u32::from(self.network()) as u64;
        let count = if size < self.prefix || size > 32 {
            0
        } else {
            1u64 << (size - self.prefix)
        };
        let step = 1u64 << (32 - size as u32);
        (0..count).map(move |i| Ipv4Cidr {
            addr: Ipv4Addr::from((base + i * step) as u32),
            prefix: size,
        })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || NetError::Invalid(format!("invalid CIDR address: {s}"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        Ipv4Cidr::new(addr, prefix).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_arith() {
        let c: Ipv4Cidr = "172.18.0.1/16".parse().unwrap();
        assert_eq!(c.network(), Ipv4Addr::new(172, 18, 0, 0));
        assert_eq!(c.broadcast(), Ipv4Addr::new(172, 18, 255, 255));
        assert_eq!(c.trunc().to_string(), "172.18.0.0/16");
        assert!(c.contains(Ipv4Addr::new(172, 18, 3, 4)));
        assert!(!c.contains(Ipv4Addr::new(172, 19, 0, 1)));
        assert_eq!(c.nth(2), Some(Ipv4Addr::new(172, 18, 0, 2)));
        assert_eq!(c.size(), 65536);
        assert!("172.18.0.0".parse::<Ipv4Cidr>().is_err());
        assert!("172.18.0.0/33".parse::<Ipv4Cidr>().is_err());
    }

    #[test]
    fn overlap_and_subnets() {
        let a: Ipv4Cidr = "10.0.0.0/8".parse().unwrap();
        let b: Ipv4Cidr = "10.1.0.0/16".parse().unwrap();
        let c: Ipv4Cidr = "11.0.0.0/16".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a) && !a.overlaps(&c));
        assert!(a.covers(&b) && !b.covers(&a));
        let subs: Vec<_> = "172.20.0.0/16"
            .parse::<Ipv4Cidr>()
            .unwrap()
            .subnets(18)
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            subs,
            [
                "172.20.0.0/18",
                "172.20.64.0/18",
                "172.20.128.0/18",
                "172.20.192.0/18"
            ]
        );
    }
}
