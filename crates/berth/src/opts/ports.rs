//! `-p/--publish` and `--expose` (docker's `nat.ParsePortSpec` and the long
//! `published=…,target=…` syntax): ports to expose, and how to bind them on the host.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

/// One host binding of a container port (`PortBinding` in the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortBinding {
    #[serde(rename = "HostIp")]
    pub host_ip: String,
    #[serde(rename = "HostPort")]
    pub host_port: String,
}

/// A container port (`80/tcp`) and its binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub port: String,
    pub binding: PortBinding,
}

/// `tcp` when no protocol is given (`SplitProtoPort`).
fn split_proto_port(raw: &str) -> (String, String) {
    let parts: Vec<&str> = raw.split('/').collect();
    if raw.is_empty() || parts[0].is_empty() {
        return (String::new(), String::new());
    }
    if parts.len() == 1 || parts[1].is_empty() {
        return ("tcp".into(), parts[0].into());
    }
    (parts[1].into(), parts[0].into())
}

/// `8000-8010` → (8000, 8010); `80` → (80, 80).
fn parse_port_range(ports: &str) -> Result<(u16, u16), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".into());
    }
    match ports.split_once('-') {
        None => {
            let p = ports.parse::<u16>().map_err(|e| e.to_string())?;
            Ok((p, p))
        }
        Some((a, b)) => {
            let a = a.parse::<u16>().map_err(|e| e.to_string())?;
            let b = b.parse::<u16>().map_err(|e| e.to_string())?;
            if b < a {
                return Err(format!("invalid range specified for port: {ports}"));
            }
            Ok((a, b))
        }
    }
}

fn valid_proto(p: &str) -> bool {
    matches!(p, "tcp" | "udp" | "sctp")
}

/// docker's `nat.ParsePortSpec`: `[ip:][hostPort:]containerPort[/proto]`, with ranges.
pub fn parse_port_spec(raw: &str) -> Result<Vec<PortMapping>, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (mut ip, host_port, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        3 => (parts[0].to_string(), parts[1], parts[2]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (proto, container_port) = split_proto_port(container);
    if let Some(inner) = ip.strip_prefix('[') {
        match inner.strip_suffix(']') {
            Some(i) => ip = i.to_string(),
            None => return Err(format!("invalid IP address {ip}: missing ']' in address")),
        }
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container_port.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let (start, end) = parse_port_range(&container_port)
        .map_err(|_| format!("invalid containerPort: {container_port}"))?;
    let (hstart, hend) = if host_port.is_empty() {
        (0, 0)
    } else {
        parse_port_range(host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?
    };
    if !host_port.is_empty() && (end - start) != (hend - hstart) && end != start {
        return Err(format!(
            "invalid ranges specified for container and host Ports: {container_port} and {host_port}"
        ));
    }
    let proto = proto.to_ascii_lowercase();
    if !valid_proto(&proto) {
        return Err(format!("invalid proto: {proto}"));
    }
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let mut hp = if host_port.is_empty() {
            String::new()
        } else {
            (hstart + i).to_string()
        };
        if start == end && hstart != hend {
            hp = format!("{hp}-{hend}");
        }
        out.push(PortMapping {
            port: format!("{}/{proto}", start + i),
            binding: PortBinding {
                host_ip: ip.clone(),
                host_port: hp,
            },
        });
    }
    Ok(out)
}

/// docker's long `--publish` syntax (`target=80,published=8080,protocol=udp,host_ip=…`)
/// → the short one; short specs come back unchanged.
pub fn to_standard_notation(spec: &str) -> Result<String, String> {
    if !spec.contains('=') {
        return Ok(spec.to_string());
    }
    let (mut target, mut published, mut proto, mut host_ip) = (
        String::new(),
        String::new(),
        "tcp".to_string(),
        String::new(),
    );
    for field in spec.split(',') {
        let Some((k, v)) = field.split_once('=') else {
            return Err(format!("invalid field {field}"));
        };
        match k.to_ascii_lowercase().as_str() {
            "target" => target = v.to_string(),
            "published" => published = v.to_string(),
            "protocol" => proto = v.to_string(),
            "host_ip" => host_ip = v.to_string(),
            "mode" => {}
            _ => return Err(format!("invalid field key {k}")),
        }
    }
    if target.is_empty() {
        return Err("missing container port (target)".into());
    }
    Ok(match (host_ip.is_empty(), published.is_empty()) {
        (true, true) => format!("{target}/{proto}"),
        (true, false) => format!("{published}:{target}/{proto}"),
        (false, _) => format!("{host_ip}:{published}:{target}/{proto}"),
    })
}

/// The result of all `-p` and `--expose` flags.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ports {
    /// `ExposedPorts`: port → `{}` (sorted, like Go's JSON of a map).
    pub exposed: BTreeMap<String, serde_json::Value>,
    /// `PortBindings`: port → bindings, in flag order.
    pub bindings: BTreeMap<String, Vec<PortBinding>>,
}

impl Ports {
    pub fn parse(publish: &[String], expose: &[String]) -> Result<Ports, String> {
        let mut p = Ports::default();
        for spec in publish {
            for m in parse_port_spec(&to_standard_notation(spec)?)? {
                p.exposed.insert(m.port.clone(), serde_json::json!({}));
                p.bindings.entry(m.port).or_default().push(m.binding);
            }
        }
        for e in expose {
            if e.contains(':') {
                return Err(format!("invalid port format for --expose: {e}"));
            }
            let (proto, port) = split_proto_port(e);
            let (start, end) = parse_port_range(&port)
                .map_err(|err| format!("invalid range format for --expose: {e}, error: {err}"))?;
            for n in start..=end {
                p.exposed
                    .entry(format!("{n}/{proto}"))
                    .or_insert_with(|| serde_json::json!({}));
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(ip: &str, port: &str) -> PortBinding {
        PortBinding {
            host_ip: ip.into(),
            host_port: port.into(),
        }
    }

    fn one(spec: &str) -> (String, PortBinding) {
        let v = parse_port_spec(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}: {v:?}");
        (v[0].port.clone(), v[0].binding.clone())
    }

    #[test]
    fn parses_short_specs() {
        assert_eq!(one("80"), ("80/tcp".into(), b("", "")));
        assert_eq!(one("8080:80"), ("80/tcp".into(), b("", "8080")));
        assert_eq!(
            one("127.0.0.1::81/udp"),
            ("81/udp".into(), b("127.0.0.1", ""))
        );
        assert_eq!(
            one("127.0.0.1:8080:80/TCP"),
            ("80/tcp".into(), b("127.0.0.1", "8080"))
        );
        assert_eq!(one("[::1]:81:81"), ("81/tcp".into(), b("::1", "81")));
        assert_eq!(one("::1:81:81"), ("81/tcp".into(), b("::1", "81")));
        assert_eq!(one("8000-8010:80"), ("80/tcp".into(), b("", "8000-8010")));
        let r = parse_port_spec("9000-9001:90-91").unwrap();
        assert_eq!(
            r,
            vec![
                PortMapping {
                    port: "90/tcp".into(),
                    binding: b("", "9000")
                },
                PortMapping {
                    port: "91/tcp".into(),
                    binding: b("", "9001")
                },
            ]
        );
    }

    #[test]
    fn rejects_bad_specs_with_dockers_words() {
        let e = |s: &str| parse_port_spec(s).unwrap_err();
        assert_eq!(e("80:80:80:80"), "invalid IP address: 80:80");
        assert_eq!(e("abc"), "invalid containerPort: abc");
        assert_eq!(e("x:80"), "invalid hostPort: x");
        assert_eq!(
            e("8080-8082:80-81"),
            "invalid ranges specified for container and host Ports: 80-81 and 8080-8082"
        );
        assert_eq!(e("80/xyz"), "invalid proto: xyz");
        assert_eq!(e("8080:"), "no port specified: 8080:<empty>");
        assert_eq!(e("70000"), "invalid containerPort: 70000");
    }

    #[test]
    fn long_syntax_and_expose() {
        assert_eq!(
            to_standard_notation("published=8080,target=80,protocol=udp").unwrap(),
            "8080:80/udp"
        );
        assert_eq!(to_standard_notation("target=80").unwrap(), "80/tcp");
        assert!(to_standard_notation("published=1").is_err());
        let p = Ports::parse(
            &["8080:80".into(), "127.0.0.1:8081:80".into()],
            &["7000-7001".into(), "53/udp".into()],
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&p.exposed).unwrap(),
            r#"{"53/udp":{},"7000/tcp":{},"7001/tcp":{},"80/tcp":{}}"#
        );
        assert_eq!(
            serde_json::to_string(&p.bindings).unwrap(),
            r#"{"80/tcp":[{"HostIp":"","HostPort":"8080"},{"HostIp":"127.0.0.1","HostPort":"8081"}]}"#
        );
        assert_eq!(
            Ports::parse(&[], &["80:80".into()]).unwrap_err(),
            "invalid port format for --expose: 80:80"
        );
        assert!(Ports::parse(&[], &["x".into()])
            .unwrap_err()
            .starts_with("invalid range format for --expose: x"));
    }
}
