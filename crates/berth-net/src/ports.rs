//! Published ports: Docker's `"80/tcp"` keys, `-p [ip:][host[-host]:]container[-container][/proto]`
//! specs, and the host-port requests (a port, a range to pick from, or any) they turn into.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::NetError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    pub fn as_str(&self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

impl FromStr for Proto {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self, NetError> {
        match s.to_ascii_lowercase().as_str() {
            "" | "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "sctp" => Ok(Proto::Sctp),
            _ => Err(NetError::Invalid(format!("invalid proto: {s}"))),
        }
    }
}

/// A container port with its protocol: Docker's `"80/tcp"` map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortKey {
    pub port: u16,
    pub proto: Proto,
}

impl fmt::Display for PortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.proto.as_str())
    }
}

impl FromStr for PortKey {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Self, NetError> {
        let (p, proto) = s.split_once('/').unwrap_or((s, "tcp"));
        let port = parse_port(p)?;
        if port == 0 {
            return Err(NetError::Invalid(format!(
                "invalid port specification: {s:?}"
            )));
        }
        Ok(PortKey {
            port,
            proto: proto.parse()?,
        })
    }
}

fn parse_port(s: &str) -> Result<u16, NetError> {
    s.parse::<u16>()
        .map_err(|_| NetError::Invalid(format!("invalid port specification: {s:?}")))
}

/// Which host ports a binding may use: `first..=last`; `0..=0` means any free port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPorts {
    pub first: u16,
    pub last: u16,
}

impl HostPorts {
    pub const ANY: HostPorts = HostPorts { first: 0, last: 0 };

    pub fn is_any(&self) -> bool {
        self.first == 0
    }

    /// `""` (any), `"8080"` or `"8000-8010"`.
    pub fn parse(s: &str) -> Result<HostPorts, NetError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(HostPorts::ANY);
        }
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let (first, last) = (parse_port(a)?, parse_port(b)?);
        if first > last {
            return Err(NetError::Invalid(format!("invalid port range: {s}")));
        }
        Ok(HostPorts { first, last })
    }
}

/// One requested publication: container port ← host address and ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRequest {
    pub container: PortKey,
    /// `0.0.0.0` for all host addresses.
    pub host_ip: Ipv4Addr,
    pub host_ports: HostPorts,
}

impl PortRequest {
    /// From one `PortBindings` entry: key `"80/tcp"`, `HostIp`, `HostPort`.
    pub fn from_binding(key: &str, host_ip: &str, host_port: &str) -> Result<Self, NetError> {
        let host_ip = match host_ip.trim() {
            "" => Ipv4Addr::UNSPECIFIED,
            ip => ip
                .parse()
                .map_err(|_| NetError::Invalid(format!("invalid host IP address: {ip}")))?,
        };
        Ok(PortRequest {
            container: key.parse()?,
            host_ip,
            host_ports: HostPorts::parse(host_port)?,
        })
    }
}

/// A publication as made: what `docker port` and `NetworkSettings.Ports` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub container: PortKey,
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
}

/// Parses a `-p`/`--publish` value into `(container key, HostIp, HostPort)` triples, one per
/// container port, as the docker CLI sends them in `PortBindings`.
pub fn parse_publish(spec: &str) -> Result<Vec<(PortKey, String, String)>, NetError> {
    let bad = || NetError::Invalid(format!("invalid port specification: {spec:?}"));
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.parse::<Proto>()?),
        None => (spec, Proto::Tcp),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [c] => ("", "", *c),
        [h, c] => ("", *h, *c),
        [ip, h, c] => (*ip, *h, *c),
        _ => return Err(bad()),
    };
    if !ip.is_empty() && ip.parse::<Ipv4Addr>().is_err() {
        return Err(NetError::Invalid(format!("invalid IP address: {ip}")));
    }
    let c = HostPorts::parse(container)?;
    if c.is_any() {
        return Err(bad());
    }
    let h = HostPorts::parse(host)?;
    let count = c.last - c.first;
    let mut out = Vec::new();
    for i in 0..=count {
        let key = PortKey {
            port: c.first + i,
            proto,
        };
        let host_port = if h.is_any() {
            String::new()
        } else if h.first == h.last || count == 0 {
            // One container port: a host range means "pick one of these".
            if h.first == h.last {
                h.first.to_string()
            } else {
                format!("{}-{}", h.first, h.last)
            }
        } else if h.last - h.first != count {
            return Err(NetError::Invalid(format!(
                "invalid ranges specified for container and host Ports: {container} and {host}"
            )));
        } else {
            (h.first + i).to_string()
        };
        out.push((key, ip.to_string(), host_port));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k: PortKey = "80/tcp".parse().unwrap();
        assert_eq!(k.to_string(), "80/tcp");
        assert_eq!("53/udp".parse::<PortKey>().unwrap().proto, Proto::Udp);
        assert_eq!("8080".parse::<PortKey>().unwrap().to_string(), "8080/tcp");
        assert!("0/tcp".parse::<PortKey>().is_err());
        assert!("80/icmp".parse::<PortKey>().is_err());
        assert!("x/tcp".parse::<PortKey>().is_err());
    }

    #[test]
    fn bindings() {
        let r = PortRequest::from_binding("80/tcp", "127.0.0.1", "8000-8010").unwrap();
        assert_eq!(r.host_ip, Ipv4Addr::LOCALHOST);
        assert_eq!(
            r.host_ports,
            HostPorts {
                first: 8000,
                last: 8010
            }
        );
        let r = PortRequest::from_binding("80/tcp", "", "").unwrap();
        assert!(r.host_ports.is_any() && r.host_ip.is_unspecified());
        assert!(PortRequest::from_binding("80/tcp", "nope", "1").is_err());
        assert!(PortRequest::from_binding("80/tcp", "", "9-8").is_err());
    }

    #[test]
    fn publish_specs() {
        let p = parse_publish("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(
            p,
            vec![("80/udp".parse().unwrap(), "127.0.0.1".into(), "8080".into())]
        );
        let p = parse_publish("80").unwrap();
        assert_eq!(p, vec![("80/tcp".parse().unwrap(), "".into(), "".into())]);
        let p = parse_publish("8000-8001:80-81").unwrap();
        assert_eq!(p[1], ("81/tcp".parse().unwrap(), "".into(), "8001".into()));
        let p = parse_publish("8000-8010:80").unwrap();
        assert_eq!(p[0].2, "8000-8010");
        assert!(parse_publish("8000-8002:80-81").is_err());
        assert!(parse_publish("a:b:c:d").is_err());
        assert!(parse_publish("x.y:80:80").is_err());
    }
}
