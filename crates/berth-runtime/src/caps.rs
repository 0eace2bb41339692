//! Capabilities: Docker's default set and `--cap-add`/`--cap-drop`/`--privileged`
//! (moby `oci/caps`), against what the host's bounding set really holds.

use std::fmt;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use crate::error::SpecError;

/// Every capability this crate knows: (bit number, name without `CAP_`, OCI value).
const KNOWN: [(u32, &str, Capability); 41] = [
    (0, "CHOWN", Capability::Chown),
    (1, "DAC_OVERRIDE", Capability::DacOverride),
    (2, "DAC_READ_SEARCH", Capability::DacReadSearch),
    (3, "FOWNER", Capability::Fowner),
    (4, "FSETID", Capability::Fsetid),
    (5, "KILL", Capability::Kill),
    (6, "SETGID", Capability::Setgid),
    (7, "SETUID", Capability::Setuid),
    (8, "SETPCAP", Capability::Setpcap),
    (9, "LINUX_IMMUTABLE", Capability::LinuxImmutable),
    (10, "NET_BIND_SERVICE", Capability::NetBindService),
    (11, "NET_BROADCAST", Capability::NetBroadcast),
    (12, "NET_ADMIN", Capability::NetAdmin),
    (13, "NET_RAW", Capability::NetRaw),
    (14, "IPC_LOCK", Capability::IpcLock),
    (15, "IPC_OWNER", Capability::IpcOwner),
    (16, "SYS_MODULE", Capability::SysModule),
    (17, "SYS_RAWIO", Capability::SysRawio),
    (18, "SYS_CHROOT", Capability::SysChroot),
    (19, "SYS_PTRACE", Capability::SysPtrace),
    (20, "SYS_PACCT", Capability::SysPacct),
    (21, "SYS_ADMIN", Capability::SysAdmin),
    (22, "SYS_BOOT", Capability::SysBoot),
    (23, "SYS_NICE", Capability::SysNice),
    (24, "SYS_RESOURCE", Capability::SysResource),
    (25, "SYS_TIME", Capability::SysTime),
    (26, "SYS_TTY_CONFIG", Capability::SysTtyConfig),
    (27, "MKNOD", Capability::Mknod),
    (28, "LEASE", Capability::Lease),
    (29, "AUDIT_WRITE", Capability::AuditWrite),
    (30, "AUDIT_CONTROL", Capability::AuditControl),
    (31, "SETFCAP", Capability::Setfcap),
    (32, "MAC_OVERRIDE", Capability::MacOverride),
    (33, "MAC_ADMIN", Capability::MacAdmin),
    (34, "SYSLOG", Capability::Syslog),
    (35, "WAKE_ALARM", Capability::WakeAlarm),
    (36, "BLOCK_SUSPEND", Capability::BlockSuspend),
    (37, "AUDIT_READ", Capability::AuditRead),
    (38, "PERFMON", Capability::Perfmon),
    (39, "BPF", Capability::Bpf),
    (40, "CHECKPOINT_RESTORE", Capability::CheckpointRestore),
];

/// Docker's default capabilities (moby `oci/caps/defaults.go`).
const DOCKER_DEFAULT: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// A set of capabilities as a bit mask (bit n = capability number n), the shape of
/// `CapBnd` in `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    /// Every capability this crate knows (0 ..= CAP_CHECKPOINT_RESTORE).
    pub const ALL_KNOWN: CapSet = CapSet((1 << KNOWN.len()) - 1);

    /// Docker's 14 default capabilities.
    pub fn docker_default() -> CapSet {
        DOCKER_DEFAULT
            .iter()
            .filter_map(|n| bit_of(n))
            .fold(CapSet(0), |s, b| s.with(b))
    }

    /// Parses a `CapBnd:` hex mask.
    pub fn from_hex(s: &str) -> Option<CapSet> {
        u64::from_str_radix(s.trim(), 16).ok().map(CapSet)
    }

    pub fn contains_bit(self, bit: u32) -> bool {
        bit < 64 && self.0 & (1 << bit) != 0
    }

    /// Whether the set holds the capability named `name` (`CAP_X` or `X`, any case).
    pub fn contains(self, name: &str) -> bool {
        bit_of(&normalize(name)).is_some_and(|b| self.contains_bit(b))
    }

    fn with(self, bit: u32) -> CapSet {
        CapSet(self.0 | 1 << bit)
    }

    fn without(self, bit: u32) -> CapSet {
        CapSet(self.0 & !(1 << bit))
    }

    pub fn intersect(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set holding the known capabilities among OCI values.
    pub fn from_oci(caps: &Capabilities) -> CapSet {
        KNOWN
            .iter()
            .filter(|(_, _, cap)| caps.contains(cap))
            .fold(CapSet(0), |set, (bit, _, _)| set.with(*bit))
    }

    /// The OCI capability values of the known capabilities in the set.
    pub fn to_oci(self) -> Capabilities {
        KNOWN
            .iter()
            .filter(|(bit, _, _)| self.contains_bit(*bit))
            .map(|(_, _, cap)| *cap)
            .collect()
    }
}

impl fmt::Display for CapSet {
    /// `CAP_A,CAP_B` in bit order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = KNOWN
            .iter()
            .filter(|(bit, _, _)| self.contains_bit(*bit))
            .map(|(_, name, _)| format!("CAP_{name}"))
            .collect();
        f.write_str(&names.join(","))
    }
}

/// `cap_net_admin` / `NET_ADMIN` → `NET_ADMIN`.
fn normalize(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    upper.strip_prefix("CAP_").unwrap_or(&upper).to_string()
}

fn bit_of(name: &str) -> Option<u32> {
    KNOWN
        .iter()
        .find(|(_, n, _)| *n == name)
        .map(|(b, _, _)| *b)
}

/// A validated `--cap-add`/`--cap-drop` list.
struct CapList {
    all: bool,
    set: CapSet,
}

fn parse_list(names: &[String]) -> Result<CapList, SpecError> {
    let mut list = CapList {
        all: false,
        set: CapSet(0),
    };
    for raw in names {
        let name = normalize(raw);
        if name == "ALL" {
            list.all = true;
            continue;
        }
        match bit_of(&name) {
            Some(bit) => list.set = list.set.with(bit),
            None => {
                return Err(SpecError::invalid(format!(
                    "unknown capability: \"CAP_{name}\""
                )))
            }
        }
    }
    Ok(list)
}

/// The container's capability set (moby `caps.TweakCapabilities`), limited to `host`.
///
/// Privileged and `--cap-add ALL` mean every capability the host's bounding set holds, not
/// every capability the kernel knows: a runtime cannot grant what it lacks. Defaults the
/// host lacks are dropped silently; an explicitly added capability the host lacks is an
/// error, since the container could not start with it.
pub fn container_caps(
    privileged: bool,
    cap_add: &[String],
    cap_drop: &[String],
    host: CapSet,
) -> Result<CapSet, SpecError> {
    if privileged {
        return Ok(host.intersect(CapSet::ALL_KNOWN));
    }
    let base = CapSet::docker_default().intersect(host);
    if cap_add.is_empty() && cap_drop.is_empty() {
        return Ok(base);
    }
    let add = parse_list(cap_add)?;
    let drop = parse_list(cap_drop)?;
    let missing = add.set.intersect(CapSet(!host.0));
    if !missing.is_empty() {
        return Err(SpecError::invalid(format!(
            "capability {missing} is not in the host's bounding set; \
             the container could not be started with it"
        )));
    }
    let caps = if add.all {
        CapSet(host.intersect(CapSet::ALL_KNOWN).0 & !drop.set.0)
    } else if drop.all {
        add.set
    } else {
        let mut caps = base;
        for bit in 0..KNOWN.len() as u32 {
            if drop.set.contains_bit(bit) {
                caps = caps.without(bit);
            }
        }
        CapSet(caps.0 | add.set.0)
    };
    Ok(caps)
}

/// The OCI capability sets for `caps` (moby `oci.SetCapabilities`): bounding, effective
/// and permitted for root; only bounding for other users (as `execve` would leave them).
/// Inheritable and ambient stay empty (moby's fix for CVE-2022-24769).
pub fn linux_capabilities(caps: CapSet, uid: u32) -> LinuxCapabilities {
    let set = caps.to_oci();
    let mut lc = LinuxCapabilities::default();
    lc.set_bounding(Some(set.clone()));
    let (eff, perm) = if uid == 0 {
        (Some(set.clone()), Some(set))
    } else {
        (None, None)
    };
    lc.set_effective(eff);
    lc.set_permitted(perm);
    lc.set_inheritable(None);
    lc.set_ambient(None);
    lc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(items: &[&str]) -> Vec<String> {
        items.iter().map(|x| x.to_string()).collect()
    }

    /// This machine's shape: everything known except CAP_SYS_RESOURCE.
    fn host_without_sys_resource() -> CapSet {
        CapSet::ALL_KNOWN.without(24)
    }

    #[test]
    fn default_is_dockers_fourteen() {
        let caps = container_caps(false, &[], &[], CapSet::ALL_KNOWN).unwrap();
        assert_eq!(caps.len(), 14);
        assert_eq!(caps, CapSet::docker_default());
        for name in ["CAP_CHOWN", "KILL", "audit_write", "NET_BIND_SERVICE"] {
            assert!(caps.contains(name), "{name}");
        }
        assert!(!caps.contains("SYS_ADMIN"));
        assert!(!caps.contains("NET_ADMIN"));
    }

    #[test]
    fn add_and_drop_with_or_without_prefix_any_case() {
        let caps = container_caps(
            false,
            &s(&["net_admin", "CAP_SYS_PTRACE"]),
            &s(&["cap_mknod", "NET_RAW"]),
            CapSet::ALL_KNOWN,
        )
        .unwrap();
        assert_eq!(caps.len(), 14);
        assert!(caps.contains("NET_ADMIN") && caps.contains("SYS_PTRACE"));
        assert!(!caps.contains("MKNOD") && !caps.contains("NET_RAW"));
    }

    #[test]
    fn drop_all_then_add() {
        let caps = container_caps(false, &s(&["CHOWN"]), &s(&["ALL"]), CapSet::ALL_KNOWN).unwrap();
        assert_eq!(caps.to_string(), "CAP_CHOWN");
        let none = container_caps(false, &[], &s(&["all"]), CapSet::ALL_KNOWN).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn add_all_minus_drops_limited_to_host() {
        let host = host_without_sys_resource();
        let caps = container_caps(false, &s(&["ALL"]), &s(&["SYS_ADMIN"]), host).unwrap();
        assert!(!caps.contains("SYS_ADMIN"));
        assert!(!caps.contains("SYS_RESOURCE"));
        assert_eq!(caps.len(), 39);
    }

    #[test]
    fn unknown_capability_is_dockers_error() {
        let err = container_caps(false, &s(&["foo"]), &[], CapSet::ALL_KNOWN).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_FOO\"");
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        let err = container_caps(false, &[], &s(&["CAP_NOPE"]), CapSet::ALL_KNOWN).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_NOPE\"");
    }

    #[test]
    fn adding_a_cap_the_host_lacks_is_refused() {
        let err = container_caps(
            false,
            &s(&["SYS_RESOURCE"]),
            &[],
            host_without_sys_resource(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("CAP_SYS_RESOURCE"), "{err}");
    }

    #[test]
    fn privileged_gets_the_host_set_and_skips_validation() {
        let host = host_without_sys_resource();
        let caps = container_caps(true, &s(&["bogus"]), &[], host).unwrap();
        assert_eq!(caps, host);
        assert!(!caps.contains("SYS_RESOURCE"));
        // A kernel newer than this crate may report unknown bits; they are not passed on.
        let caps = container_caps(true, &[], &[], CapSet(u64::MAX)).unwrap();
        assert_eq!(caps, CapSet::ALL_KNOWN);
    }

    #[test]
    fn defaults_the_host_lacks_are_dropped() {
        let host = CapSet::docker_default().without(27); // no MKNOD
        let caps = container_caps(false, &[], &[], host).unwrap();
        assert_eq!(caps.len(), 13);
    }

    #[test]
    fn oci_sets_for_root_and_non_root() {
        let caps = CapSet::docker_default();
        let root = linux_capabilities(caps, 0);
        assert_eq!(root.bounding().as_ref().unwrap().len(), 14);
        assert_eq!(root.effective(), root.bounding());
        assert_eq!(root.permitted(), root.bounding());
        assert!(root.inheritable().is_none() && root.ambient().is_none());
        let user = linux_capabilities(caps, 1000);
        assert_eq!(user.bounding().as_ref().unwrap().len(), 14);
        assert!(user.effective().is_none() && user.permitted().is_none());
    }

    #[test]
    fn capbnd_hex() {
        let set = CapSet::from_hex("000001fffeffffff").unwrap();
        assert_eq!(set, host_without_sys_resource());
        assert!(!set.contains("CAP_SYS_RESOURCE"));
        assert!(set.contains("CAP_CHECKPOINT_RESTORE"));
    }
}
