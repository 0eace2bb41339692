//! Small value flags with docker's checks: `--restart`, `--ulimit`, `--sysctl`,
//! `--add-host`, `--dns`/`--ip`, `--cap-add`/`--cap-drop`, `-a/--attach`.

use std::net::IpAddr;

use serde::Serialize;

/// `RestartPolicy` of the API.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: i64,
}

/// docker's `ParseRestartPolicy` plus the daemon's `ValidateRestartPolicy`, so a typo
/// fails before anything is sent: `no`, `always`, `unless-stopped`, `on-failure[:N]`.
pub fn parse_restart(policy: &str) -> Result<RestartPolicy, String> {
    if policy.is_empty() {
        return Ok(RestartPolicy::default());
    }
    let (name, count) = match policy.split_once(':') {
        Some(("", _)) => {
            return Err("invalid restart policy format: no policy provided before colon".into())
        }
        Some((n, c)) => (n, Some(c)),
        None => (policy, None),
    };
    let count = match count.filter(|c| !c.is_empty()) {
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            "invalid restart policy format: maximum retry count must be an integer".to_string()
        })?),
        None => None,
    };
    match name {
        "no" | "always" | "unless-stopped" if count.is_some_and(|c| c != 0) => Err(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                .into(),
        ),
        "no" | "always" | "unless-stopped" | "on-failure" => {
            if count.is_some_and(|c| c < 0) {
                return Err("invalid restart policy: maximum retry count cannot be negative".into());
            }
            Ok(RestartPolicy {
                name: name.to_string(),
                maximum_retry_count: count.unwrap_or(0),
            })
        }
        other => Err(format!(
            "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        )),
    }
}

/// `Ulimit` of the API (docker's field order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    pub name: String,
    pub hard: i64,
    pub soft: i64,
}

const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// go-units' `ParseUlimit`: `nofile=1024[:2048]` (hard defaults to soft).
pub fn parse_ulimit(val: &str) -> Result<Ulimit, String> {
    let Some((name, limits)) = val.split_once('=') else {
        return Err(format!("invalid ulimit argument: {val}"));
    };
    if !ULIMITS.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let int = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| format!("strconv.ParseInt: parsing {s:?}: invalid syntax"))
    };
    let parts: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [s] => (int(s)?, int(s)?),
        [s, h] => (int(s)?, int(h)?),
        _ => {
            return Err(format!(
                "too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
            ))
        }
    };
    if hard != -1 && soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok(Ulimit {
        name: name.to_string(),
        hard,
        soft,
    })
}

/// docker's `ValidateSysctl`: namespaced sysctls only.
pub fn validate_sysctl(val: &str) -> Result<String, String> {
    const ALLOWED: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let Some((k, _)) = val.split_once('=') else {
        return Err(format!("sysctl '{val}' is not allowed"));
    };
    if ALLOWED.contains(&k) || k.starts_with("net.") || k.starts_with("fs.mqueue.") {
        Ok(val.to_string())
    } else {
        Err(format!("sysctl '{val}' is not allowed"))
    }
}

/// docker's `ValidateIPAddress`: the address in canonical form.
pub fn validate_ip(val: &str) -> Result<String, String> {
    val.trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| format!("IP address is not correctly formatted: {val}"))
}

/// docker's `ValidateExtraHost`: `host:ip` or `host=ip` (`[v6]` allowed, or
/// `host-gateway`) → `host:ip` for the API.
pub fn validate_extra_host(val: &str) -> Result<String, String> {
    let (k, v) = match val.split_once('=').or_else(|| val.split_once(':')) {
        Some((k, v)) if !k.is_empty() && !k.contains(':') => (k, v),
        _ => return Err(format!("bad format for add-host: {val:?}")),
    };
    let mut v = v;
    if v != "host-gateway" {
        if v.len() > 2 && v.starts_with('[') && v.ends_with(']') {
            v = &v[1..v.len() - 1];
        }
        if v.trim().parse::<IpAddr>().is_err() {
            return Err(format!("invalid IP address in add-host: {v:?}"));
        }
    }
    Ok(format!("{k}:{v}"))
}

/// Upper-case, `CAP_`-prefixed (except `ALL`), de-duplicated.
fn normalize_caps(caps: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in caps {
        let mut c = c.trim().to_ascii_uppercase();
        if c != "ALL" && !c.starts_with("CAP_") {
            c = format!("CAP_{c}");
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// docker's `EffectiveCapAddCapDrop`: `ALL` trumps the rest of its list, and adding a
/// capability wins over dropping it.
pub fn effective_caps(add: &[String], drop: &[String]) -> (Vec<String>, Vec<String>) {
    let mut add = normalize_caps(add);
    let mut drop = normalize_caps(drop);
    if add.iter().any(|c| c == "ALL") {
        add = vec!["ALL".into()];
    }
    if drop.iter().any(|c| c == "ALL") {
        drop = vec!["ALL".into()];
    }
    drop.retain(|c| !add.contains(c));
    (add, drop)
}

/// `-a/--attach` value: `stdin`, `stdout` or `stderr`, any case.
pub fn parse_attach(val: &str) -> Result<String, String> {
    let v = val.to_ascii_lowercase();
    match v.as_str() {
        "stdin" | "stdout" | "stderr" => Ok(v),
        _ => Err("valid streams are STDIN, STDOUT and STDERR".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies() {
        let p = |s: &str| parse_restart(s).map(|p| (p.name, p.maximum_retry_count));
        assert_eq!(p("on-failure:3"), Ok(("on-failure".into(), 3)));
        assert_eq!(p("on-failure"), Ok(("on-failure".into(), 0)));
        assert_eq!(p("always"), Ok(("always".into(), 0)));
        assert_eq!(p("no"), Ok(("no".into(), 0)));
        assert_eq!(p("unless-stopped"), Ok(("unless-stopped".into(), 0)));
        assert_eq!(p(""), Ok(("".into(), 0)));
        assert_eq!(
            p("on-failure:x").unwrap_err(),
            "invalid restart policy format: maximum retry count must be an integer"
        );
        assert_eq!(
            p("always:3").unwrap_err(),
            "invalid restart policy: maximum retry count can only be used with 'on-failure'"
        );
        assert!(p("bogus").unwrap_err().contains("unknown policy 'bogus'"));
        assert!(p(":3").unwrap_err().contains("no policy provided"));
        assert!(p("on-failure:-1")
            .unwrap_err()
            .contains("cannot be negative"));
    }

    #[test]
    fn ulimits() {
        assert_eq!(
            serde_json::to_string(&parse_ulimit("nofile=1024:2048").unwrap()).unwrap(),
            r#"{"Name":"nofile","Hard":2048,"Soft":1024}"#
        );
        let u = parse_ulimit("nproc=100").unwrap();
        assert_eq!((u.soft, u.hard), (100, 100));
        let u = parse_ulimit("core=-1:-1").unwrap();
        assert_eq!((u.soft, u.hard), (-1, -1));
        assert_eq!(
            parse_ulimit("nofile=2048:1024").unwrap_err(),
            "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
        );
        assert_eq!(
            parse_ulimit("bogus=1").unwrap_err(),
            "invalid ulimit type: bogus"
        );
        assert_eq!(
            parse_ulimit("nofile").unwrap_err(),
            "invalid ulimit argument: nofile"
        );
        assert!(parse_ulimit("nofile=1:2:3")
            .unwrap_err()
            .starts_with("too many limit value arguments"));
        assert!(parse_ulimit("nofile=x")
            .unwrap_err()
            .contains("invalid syntax"));
    }

    #[test]
    fn sysctls_hosts_ips() {
        assert!(validate_sysctl("net.ipv4.ip_forward=1").is_ok());
        assert!(validate_sysctl("kernel.shmmax=1").is_ok());
        assert!(validate_sysctl("fs.mqueue.msg_max=1").is_ok());
        assert_eq!(
            validate_sysctl("foo.bar=1").unwrap_err(),
            "sysctl 'foo.bar=1' is not allowed"
        );
        assert_eq!(
            validate_sysctl("x").unwrap_err(),
            "sysctl 'x' is not allowed"
        );
        assert_eq!(validate_extra_host("h:1.2.3.4").unwrap(), "h:1.2.3.4");
        assert_eq!(validate_extra_host("h=::1").unwrap(), "h:::1");
        assert_eq!(validate_extra_host("h=[::1]").unwrap(), "h:::1");
        assert_eq!(
            validate_extra_host("gw:host-gateway").unwrap(),
            "gw:host-gateway"
        );
        assert_eq!(
            validate_extra_host("bad").unwrap_err(),
            "bad format for add-host: \"bad\""
        );
        assert_eq!(
            validate_extra_host("h:nope").unwrap_err(),
            "invalid IP address in add-host: \"nope\""
        );
        assert_eq!(validate_ip("1.1.1.1").unwrap(), "1.1.1.1");
        assert_eq!(validate_ip("0:0:0:0:0:0:0:1").unwrap(), "::1");
        assert_eq!(
            validate_ip("bad").unwrap_err(),
            "IP address is not correctly formatted: bad"
        );
    }

    #[test]
    fn capabilities_and_attach() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            effective_caps(&v(&["net_admin", "CAP_NET_ADMIN"]), &v(&["all"])),
            (v(&["CAP_NET_ADMIN"]), v(&["ALL"]))
        );
        assert_eq!(
            effective_caps(&v(&["ALL", "chown"]), &v(&["chown", "kill"])),
            (v(&["ALL"]), v(&["CAP_CHOWN", "CAP_KILL"]))
        );
        assert_eq!(
            effective_caps(&v(&["chown"]), &v(&["chown", "kill"])),
            (v(&["CAP_CHOWN"]), v(&["CAP_KILL"]))
        );
        assert_eq!(parse_attach("STDIN").unwrap(), "stdin");
        assert!(parse_attach("foo").is_err());
    }
}
