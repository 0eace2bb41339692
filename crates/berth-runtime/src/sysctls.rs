//! `--sysctl`: only namespaced ones, and only when the container has that namespace
//! (runc's config validator); plus Docker's two defaults for a private network.

use std::collections::{BTreeMap, HashMap};

use crate::error::SpecError;
use crate::host::KernelVersion;
use crate::namespaces::{IpcMode, NamespaceModes, NsMode};

const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The container's sysctls: with its own network namespace, Docker lets everyone ping and
/// bind ports below 1024 (`net.ipv4.ping_group_range`, `ip_unprivileged_port_start`);
/// the HostConfig's sysctls come on top and win.
pub(crate) fn sysctls(
    requested: &BTreeMap<String, String>,
    modes: &NamespaceModes,
    kernel: KernelVersion,
) -> Result<HashMap<String, String>, SpecError> {
    let mut out = HashMap::new();
    if modes.private_network() {
        out.insert(
            "net.ipv4.ping_group_range".to_string(),
            "0 2147483647".to_string(),
        );
        if kernel >= KernelVersion::new(4, 11) {
            out.insert(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "0".to_string(),
            );
        }
    }
    for (key, value) in requested {
        check(key, modes)?;
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

fn check(key: &str, modes: &NamespaceModes) -> Result<(), SpecError> {
    let refuse = |why: &str| Err(SpecError::invalid(format!("sysctl {key:?} {why}")));
    if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        if modes.ipc == IpcMode::Host {
            return refuse("is not allowed in the hosts ipc namespace");
        }
        return Ok(());
    }
    if key.starts_with("net.") {
        if modes.network == NsMode::Host {
            return refuse("is not allowed in the hosts network namespace");
        }
        return Ok(());
    }
    if !modes.uts_host {
        match key {
            "kernel.domainname" => return Ok(()),
            "kernel.hostname" => {
                return refuse("is not allowed as it conflicts with the OCI \"hostname\" field")
            }
            _ => {}
        }
    }
    refuse("is not in a separate kernel namespace")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostConfig;

    fn modes(f: impl FnOnce(&mut HostConfig)) -> NamespaceModes {
        let mut hc = HostConfig::default();
        f(&mut hc);
        NamespaceModes::from_host_config(&hc, false).unwrap()
    }

    fn run(
        pairs: &[(&str, &str)],
        m: &NamespaceModes,
    ) -> Result<HashMap<String, String>, SpecError> {
        let req = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        sysctls(&req, m, KernelVersion::new(6, 1))
    }

    #[test]
    fn defaults_only_with_a_private_network() {
        let out = run(&[], &modes(|_| {})).unwrap();
        assert_eq!(out["net.ipv4.ping_group_range"], "0 2147483647");
        assert_eq!(out["net.ipv4.ip_unprivileged_port_start"], "0");
        assert!(run(&[], &modes(|h| h.network_mode = "host".into()))
            .unwrap()
            .is_empty());
        assert!(run(&[], &modes(|h| h.network_mode = "container:x".into()))
            .unwrap()
            .is_empty());
        let old = sysctls(&BTreeMap::new(), &modes(|_| {}), KernelVersion::new(4, 4)).unwrap();
        assert!(!old.contains_key("net.ipv4.ip_unprivileged_port_start"));
    }

    #[test]
    fn whitelist() {
        let m = modes(|_| {});
        let out = run(
            &[
                ("kernel.shmmax", "1"),
                ("kernel.sem", "1 2 3 4"),
                ("fs.mqueue.msg_max", "10"),
                ("net.ipv4.ip_forward", "1"),
                ("net.ipv4.ip_unprivileged_port_start", "1024"),
                ("kernel.domainname", "example.com"),
            ],
            &m,
        )
        .unwrap();
        assert_eq!(
            out["net.ipv4.ip_unprivileged_port_start"], "1024",
            "user wins"
        );
        assert_eq!(out.len(), 7);
        let err = |k: &str, m: &NamespaceModes| run(&[(k, "1")], m).unwrap_err().to_string();
        assert_eq!(
            err("kernel.pid_max", &m),
            "sysctl \"kernel.pid_max\" is not in a separate kernel namespace"
        );
        assert!(err("vm.swappiness", &m).contains("not in a separate"));
        assert!(err("kernel.hostname", &m).contains("conflicts with the OCI \"hostname\""));
        let host_net = modes(|h| h.network_mode = "host".into());
        assert_eq!(
            err("net.core.somaxconn", &host_net),
            "sysctl \"net.core.somaxconn\" is not allowed in the hosts network namespace"
        );
        let host_ipc = modes(|h| h.ipc_mode = "host".into());
        assert!(err("kernel.shmmax", &host_ipc).contains("hosts ipc namespace"));
        let host_uts = modes(|h| h.uts_mode = "host".into());
        assert!(err("kernel.domainname", &host_uts).contains("not in a separate"));
    }
}
