//! Short syntaxes turned into long ones, one function per form: ports, volumes, shell
//! words, `KEY=VALUE` lists. Pure string work; the tree walk is in `normalize`.

use serde_json::{json, Map, Value};

/// `[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]`, with ranges (`8000-8001:80-81` is two ports)
/// and bracketed IPv6 host addresses.
pub fn parse_port(spec: &str) -> Result<Vec<Value>, String> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p),
        None => (spec, "tcp"),
    };
    if !matches!(protocol, "tcp" | "udp" | "sctp") {
        return Err(format!(
            "invalid protocol {protocol:?} in port {spec:?} (tcp, udp or sctp)"
        ));
    }
    // Split off the host IP, which may be a bracketed IPv6 address or contain colons.
    let (host_ip, rest) = if let Some(after) = rest.strip_prefix('[') {
        let (ip, r) = after
            .split_once("]:")
            .ok_or_else(|| format!("invalid port {spec:?}: unterminated IPv6 address"))?;
        (Some(ip.to_string()), r)
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.len() {
            1 | 2 => (None, rest),
            3 => (Some(parts[0].to_string()), &rest[parts[0].len() + 1..]),
            _ => {
                // An unbracketed IPv6 address: everything before the last two colons.
                let tail = parts[parts.len() - 2].len() + parts[parts.len() - 1].len() + 2;
                let ip = &rest[..rest.len() - tail];
                (Some(ip.to_string()), &rest[ip.len() + 1..])
            }
        }
    };
    let (published, target) = match rest.split_once(':') {
        Some((p, t)) => (Some(p), t),
        None => (None, rest),
    };
    let (t_lo, t_hi) = port_range(target)
        .ok_or_else(|| format!("invalid port {spec:?}: bad container port {target:?}"))?;
    let published_range = match published.filter(|p| !p.is_empty()) {
        Some(p) => Some(
            port_range(p)
                .ok_or_else(|| format!("invalid port {spec:?}: bad published port {p:?}"))?,
        ),
        None => None,
    };
    let count = t_hi - t_lo + 1;
    let mut out = Vec::new();
    for n in 0..count {
        let published = match published_range {
            None => None,
            Some((lo, hi)) if hi - lo + 1 == count => Some((lo + n).to_string()),
            Some((lo, hi)) if lo == hi => Some(lo.to_string()),
            Some((lo, hi)) => Some(format!("{lo}-{hi}")),
        };
        let mut port = Map::new();
        port.insert("mode".into(), json!("ingress"));
        if let Some(ip) = host_ip.as_ref().filter(|ip| !ip.is_empty()) {
            port.insert("host_ip".into(), json!(ip));
        }
        port.insert("target".into(), json!(t_lo + n));
        if let Some(p) = published {
            port.insert("published".into(), json!(p));
        }
        port.insert("protocol".into(), json!(protocol));
        out.push(Value::Object(port));
    }
    Ok(out)
}

fn port_range(s: &str) -> Option<(u64, u64)> {
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let p = s.parse().ok()?;
            (p, p)
        }
    };
    (lo <= hi && hi <= 65535).then_some((lo, hi))
}

/// `[SOURCE:]TARGET[:MODE]`: a bind when the source is a path (`/`, `.`, `~`), a named
/// volume when it is a name, an anonymous volume without a source.
pub fn parse_volume(spec: &str) -> Result<Value, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, *t, None),
        [s, t] if t.starts_with('/') => (Some(*s), *t, None),
        [t, m] => (None, *t, Some(*m)),
        [s, t, m] => (Some(*s), *t, Some(*m)),
        _ => {
            return Err(format!(
                "invalid volume {spec:?}: expected [SOURCE:]TARGET[:MODE]"
            ))
        }
    };
    if target.is_empty() {
        return Err(format!("invalid volume {spec:?}: the target path is empty"));
    }
    let mut v = Map::new();
    let kind = match source {
        None => "volume",
        Some(s) if s.starts_with('/') || s.starts_with('.') || s.starts_with('~') => "bind",
        Some(_) => "volume",
    };
    v.insert("type".into(), json!(kind));
    if let Some(s) = source {
        v.insert("source".into(), json!(s));
    }
    v.insert("target".into(), json!(target));
    for m in mode.into_iter().flat_map(|m| m.split(',')) {
        match m {
            "ro" => {
                v.insert("read_only".into(), json!(true));
            }
            "rw" => {}
            "nocopy" => {
                v.insert("volume".into(), json!({"nocopy": true}));
            }
            "z" | "Z" => {
                v.insert("bind".into(), json!({"selinux": m}));
            }
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                v.insert("bind".into(), json!({"propagation": m}));
            }
            "cached" | "delegated" | "consistent" => {
                v.insert("consistency".into(), json!(m));
            }
            other => return Err(format!("invalid volume {spec:?}: unknown mode {other:?}")),
        }
    }
    if kind == "bind" && !v.contains_key("bind") {
        v.insert("bind".into(), json!({"create_host_path": true}));
    }
    Ok(Value::Object(v))
}

/// Splits a command line into words like a POSIX shell does (quotes and backslashes, no
/// expansion), as Compose does for a `command` or `entrypoint` given as a string.
pub fn shell_split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated single quote in {s:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(format!("unterminated double quote in {s:?}")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated double quote in {s:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// A scalar as the string Compose makes of it (`true`, `3`, `1.5`); `null` stays `None`.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_short_syntax() {
        assert_eq!(
            parse_port("80").unwrap(),
            vec![json!({"mode": "ingress", "target": 80, "protocol": "tcp"})]
        );
        assert_eq!(
            parse_port("8080:80/udp").unwrap(),
            vec![json!({"mode": "ingress", "target": 80, "published": "8080", "protocol": "udp"})]
        );
        assert_eq!(
            parse_port("127.0.0.1:8080:80").unwrap(),
            vec![
                json!({"mode": "ingress", "host_ip": "127.0.0.1", "target": 80, "published": "8080", "protocol": "tcp"})
            ]
        );
        assert_eq!(
            parse_port("127.0.0.1::80").unwrap(),
            vec![
                json!({"mode": "ingress", "host_ip": "127.0.0.1", "target": 80, "protocol": "tcp"})
            ]
        );
        assert_eq!(
            parse_port("[::1]:8080:80").unwrap(),
            vec![
                json!({"mode": "ingress", "host_ip": "::1", "target": 80, "published": "8080", "protocol": "tcp"})
            ]
        );
        let range = parse_port("9000-9001:80-81").unwrap();
        assert_eq!(range.len(), 2);
        assert_eq!(range[1]["published"], "9001");
        assert_eq!(range[1]["target"], 81);
        assert_eq!(
            parse_port("9000-9010:80").unwrap()[0]["published"],
            "9000-9010"
        );
        assert!(parse_port("80/icmp").is_err());
        assert!(parse_port("http").is_err());
        assert!(parse_port("70000").is_err());
    }

    #[test]
    fn volumes_short_syntax() {
        assert_eq!(
            parse_volume("/data").unwrap(),
            json!({"type": "volume", "target": "/data"})
        );
        assert_eq!(
            parse_volume("db:/var/lib/db").unwrap(),
            json!({"type": "volume", "source": "db", "target": "/var/lib/db"})
        );
        assert_eq!(
            parse_volume("./conf:/etc/conf:ro").unwrap(),
            json!({"type": "bind", "source": "./conf", "target": "/etc/conf", "read_only": true, "bind": {"create_host_path": true}})
        );
        assert_eq!(
            parse_volume("db:/d:nocopy").unwrap()["volume"]["nocopy"],
            json!(true)
        );
        assert!(parse_volume("a:b:c:d").is_err());
        assert!(parse_volume("/x:/y:bogus").is_err());
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_split(r#"sh -c 'echo "hi there"' x\ y "a\"b""#).unwrap(),
            vec!["sh", "-c", "echo \"hi there\"", "x y", "a\"b"]
        );
        assert_eq!(shell_split("  ").unwrap(), Vec::<String>::new());
        assert_eq!(shell_split("''").unwrap(), vec![""]);
        assert!(shell_split("'open").is_err());
    }
}
