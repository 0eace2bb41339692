//! Namespace modes (`--pid`, `--ipc`, `--uts`, `--network`, `--cgroupns`, `--userns`) and
//! the OCI namespace list they give (moby `WithNamespaces`).

use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

use crate::config::HostConfig;
use crate::error::SpecError;

/// Paths of namespaces to join, for the `container:<id>` modes: the caller resolves the
/// other container and passes `/proc/<its pid>/ns/<kind>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespacePaths {
    pub network: Option<PathBuf>,
    pub ipc: Option<PathBuf>,
    pub pid: Option<PathBuf>,
}

/// How one namespace kind is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsMode {
    /// A new namespace for this container.
    Private,
    /// The host's namespace (no entry in the spec).
    Host,
    /// Another container's namespace, by its ID or name.
    Container(String),
}

/// The IPC mode: `shareable` and `none` are private namespaces that differ in `/dev/shm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpcMode {
    Private,
    Shareable,
    None,
    Host,
    Container(String),
}

/// A container's validated namespace modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceModes {
    pub pid: NsMode,
    pub ipc: IpcMode,
    pub uts_host: bool,
    /// `Private` covers `bridge`, `none`, `default` and user-defined networks: the
    /// container gets its own network namespace, which the caller wires up later.
    pub network: NsMode,
    pub cgroup_private: bool,
}

impl NamespaceModes {
    /// Validates the modes of `hc` (Docker's messages). The cgroup namespace defaults to
    /// private on cgroup v2 hosts and to the host's on v1/hybrid hosts, like dockerd.
    pub fn from_host_config(hc: &HostConfig, cgroup_v2: bool) -> Result<Self, SpecError> {
        let pid = match ns_mode(&hc.pid_mode) {
            Some(NsMode::Private) if !hc.pid_mode.is_empty() => None,
            m => m,
        }
        .ok_or_else(|| SpecError::invalid(format!("invalid PID mode: {}", hc.pid_mode)))?;
        let ipc = match hc.ipc_mode.as_str() {
            "" | "private" => IpcMode::Private,
            "shareable" => IpcMode::Shareable,
            "none" => IpcMode::None,
            "host" => IpcMode::Host,
            m => match m.strip_prefix("container:") {
                Some(id) if !id.is_empty() => IpcMode::Container(id.to_string()),
                _ => return Err(SpecError::invalid(format!("invalid IPC mode: {m}"))),
            },
        };
        let uts_host = match hc.uts_mode.as_str() {
            "" => false,
            "host" => true,
            m => return Err(SpecError::invalid(format!("invalid UTS mode: {m}"))),
        };
        let network = ns_mode(&hc.network_mode)
            .ok_or_else(|| SpecError::invalid("invalid container format container:<name|id>"))?;
        let cgroup_private = match hc.cgroupns_mode.as_str() {
            "" => cgroup_v2,
            "private" => true,
            "host" => false,
            m => {
                return Err(SpecError::invalid(format!(
                    "invalid cgroup namespace mode: {m}"
                )))
            }
        };
        match hc.userns_mode.as_str() {
            "" | "host" => {}
            m => {
                return Err(SpecError::invalid(format!(
                    "invalid userns mode: {m}: user namespace remapping is not supported"
                )))
            }
        }
        Ok(Self {
            pid,
            ipc,
            uts_host,
            network,
            cgroup_private,
        })
    }

    /// Whether the container has its own network namespace (not the host's or another
    /// container's).
    pub fn private_network(&self) -> bool {
        self.network == NsMode::Private
    }

    /// The OCI namespace list: mount, network, uts, pid, ipc (Docker's order), cgroup.
    pub fn linux_namespaces(
        &self,
        paths: &NamespacePaths,
    ) -> Result<Vec<LinuxNamespace>, SpecError> {
        let mut out = vec![ns(LinuxNamespaceType::Mount, None)];
        if let Some(path) = join(&self.network, &paths.network, "network")? {
            out.push(ns(LinuxNamespaceType::Network, path));
        }
        if !self.uts_host {
            out.push(ns(LinuxNamespaceType::Uts, None));
        }
        if let Some(path) = join(&self.pid, &paths.pid, "pid")? {
            out.push(ns(LinuxNamespaceType::Pid, path));
        }
        let ipc = match &self.ipc {
            IpcMode::Host => NsMode::Host,
            IpcMode::Container(id) => NsMode::Container(id.clone()),
            _ => NsMode::Private,
        };
        if let Some(path) = join(&ipc, &paths.ipc, "ipc")? {
            out.push(ns(LinuxNamespaceType::Ipc, path));
        }
        if self.cgroup_private {
            out.push(ns(LinuxNamespaceType::Cgroup, None));
        }
        Ok(out)
    }
}

/// `""`/anything → private, `host`, `container:<id>`; `None` for `container:` without id.
fn ns_mode(mode: &str) -> Option<NsMode> {
    match mode {
        "host" => Some(NsMode::Host),
        m => match m.strip_prefix("container:") {
            Some("") => None,
            Some(id) => Some(NsMode::Container(id.to_string())),
            None => Some(NsMode::Private),
        },
    }
}

/// `None`: no entry (host). `Some(None)`: a new namespace. `Some(Some(p))`: join `p`.
fn join(
    mode: &NsMode,
    path: &Option<PathBuf>,
    kind: &str,
) -> Result<Option<Option<PathBuf>>, SpecError> {
    Ok(match mode {
        NsMode::Host => None,
        // A private namespace may be one the caller prepared (berthd pins a network
        // namespace with the container's interfaces before start).
        NsMode::Private => Some(path.clone()),
        NsMode::Container(id) => Some(Some(path.clone().ok_or_else(|| {
            SpecError::Internal(format!("no {kind} namespace path given for container:{id}"))
        })?)),
    })
}

fn ns(typ: LinuxNamespaceType, path: Option<PathBuf>) -> LinuxNamespace {
    let mut n = LinuxNamespace::default();
    n.set_typ(typ);
    n.set_path(path);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use LinuxNamespaceType::*;

    fn modes(f: impl FnOnce(&mut HostConfig), v2: bool) -> Result<NamespaceModes, SpecError> {
        let mut hc = HostConfig::default();
        f(&mut hc);
        NamespaceModes::from_host_config(&hc, v2)
    }

    fn kinds(list: &[LinuxNamespace]) -> Vec<LinuxNamespaceType> {
        list.iter().map(|n| n.typ()).collect()
    }

    #[test]
    fn defaults_per_cgroup_version() {
        let v1 = modes(|_| {}, false).unwrap();
        let list = v1.linux_namespaces(&NamespacePaths::default()).unwrap();
        assert_eq!(kinds(&list), vec![Mount, Network, Uts, Pid, Ipc]);
        assert!(list.iter().all(|n| n.path().is_none()));
        let v2 = modes(|_| {}, true).unwrap();
        let list = v2.linux_namespaces(&NamespacePaths::default()).unwrap();
        assert_eq!(kinds(&list), vec![Mount, Network, Uts, Pid, Ipc, Cgroup]);
        let v1_private = modes(|h| h.cgroupns_mode = "private".into(), false).unwrap();
        assert!(v1_private.cgroup_private);
    }

    #[test]
    fn host_modes_drop_namespaces() {
        let m = modes(
            |h| {
                h.pid_mode = "host".into();
                h.ipc_mode = "host".into();
                h.uts_mode = "host".into();
                h.network_mode = "host".into();
                h.cgroupns_mode = "host".into();
            },
            true,
        )
        .unwrap();
        assert!(!m.private_network());
        let list = m.linux_namespaces(&NamespacePaths::default()).unwrap();
        assert_eq!(kinds(&list), vec![Mount]);
    }

    #[test]
    fn bridge_none_and_named_networks_are_private() {
        for mode in ["", "bridge", "none", "default", "mynet"] {
            let m = modes(|h| h.network_mode = mode.into(), false).unwrap();
            assert!(m.private_network(), "{mode}");
        }
    }

    #[test]
    fn container_modes_join_the_given_paths() {
        let m = modes(
            |h| {
                h.pid_mode = "container:abc".into();
                h.ipc_mode = "container:abc".into();
                h.network_mode = "container:web".into();
            },
            false,
        )
        .unwrap();
        assert_eq!(m.network, NsMode::Container("web".into()));
        let paths = NamespacePaths {
            network: Some("/proc/10/ns/net".into()),
            ipc: Some("/proc/11/ns/ipc".into()),
            pid: Some("/proc/11/ns/pid".into()),
        };
        let list = m.linux_namespaces(&paths).unwrap();
        let path_of = |t| {
            list.iter()
                .find(|n| n.typ() == t)
                .and_then(|n| n.path().clone())
        };
        assert_eq!(path_of(Network), paths.network);
        assert_eq!(path_of(Pid), paths.pid);
        assert_eq!(path_of(Ipc), paths.ipc);
        assert_eq!(path_of(Uts), None);
        let err = m.linux_namespaces(&NamespacePaths::default()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Internal);
    }

    #[test]
    fn invalid_modes() {
        let msg = |f: fn(&mut HostConfig)| modes(f, false).unwrap_err().to_string();
        assert_eq!(
            msg(|h| h.pid_mode = "bogus".into()),
            "invalid PID mode: bogus"
        );
        assert_eq!(
            msg(|h| h.pid_mode = "container:".into()),
            "invalid PID mode: container:"
        );
        assert_eq!(
            msg(|h| h.ipc_mode = "bogus".into()),
            "invalid IPC mode: bogus"
        );
        assert_eq!(
            msg(|h| h.uts_mode = "private".into()),
            "invalid UTS mode: private"
        );
        assert_eq!(
            msg(|h| h.cgroupns_mode = "x".into()),
            "invalid cgroup namespace mode: x"
        );
        assert!(msg(|h| h.network_mode = "container:".into()).contains("container:<name|id>"));
        assert!(msg(|h| h.userns_mode = "remap".into()).starts_with("invalid userns mode"));
    }

    #[test]
    fn ipc_modes() {
        for (mode, want) in [
            ("shareable", IpcMode::Shareable),
            ("none", IpcMode::None),
            ("private", IpcMode::Private),
        ] {
            let m = modes(|h| h.ipc_mode = mode.into(), false).unwrap();
            assert_eq!(m.ipc, want);
            let list = m.linux_namespaces(&NamespacePaths::default()).unwrap();
            assert!(kinds(&list).contains(&Ipc));
        }
    }
}
