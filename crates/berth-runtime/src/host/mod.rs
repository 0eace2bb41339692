//! The few host facts a spec depends on, behind a trait so tests can fake them.

mod fake;
mod linux;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::PosixRlimitType;

use crate::caps::CapSet;

pub use fake::FakeHost;
pub use linux::LinuxHost;

/// What the spec builder needs to know about the machine the container will run on.
pub trait HostFacts {
    /// The capability bounding set the runtime will have (`CapBnd` of `/proc/self/status`).
    fn bounding_capabilities(&self) -> CapSet;
    /// The running kernel's version (major.minor are what seccomp profiles compare).
    fn kernel_version(&self) -> KernelVersion;
    /// The architecture in Go's `GOARCH` spelling (`amd64`, `arm64`, ...), as seccomp
    /// profiles name it.
    fn arch(&self) -> &str;
    /// True on a pure cgroup v2 (unified) host; false on v1 and hybrid hosts.
    fn cgroup_v2(&self) -> bool;
    /// Whether memory+swap limits can be set (v1 `memory.memsw.*`, v2 `memory.swap.max`).
    fn swap_limit_supported(&self) -> bool;
    /// The CPUs containers may use, in cpuset list syntax (`0-3,6`).
    fn cpus(&self) -> String;
    /// The memory nodes containers may use, in cpuset list syntax.
    fn mems(&self) -> String;
    /// The highest hard limit the runtime can set for `resource`: the current hard limit
    /// when it lacks `CAP_SYS_RESOURCE`, the kernel's ceiling otherwise; `None` when there
    /// is none (`RLIM_INFINITY` is allowed).
    fn rlimit_ceiling(&self, resource: PosixRlimitType) -> Option<u64>;
    /// The device node at `path`, or every device node below it when it is a directory
    /// (symlinks are followed first, like Docker). Each device's `path` is relative to
    /// `path` (empty for the node itself). Not a device and no devices below → an error.
    fn devices(&self, path: &Path) -> io::Result<Vec<HostDevice>>;
    /// Every device node of the host's `/dev` (for privileged containers), with paths
    /// relative to `/dev`.
    fn all_devices(&self) -> io::Result<Vec<HostDevice>>;
    /// The host's hostname (containers on the host's network or UTS namespace show it).
    fn hostname(&self) -> String;
    /// Whether `path` exists on the host (bind sources of `--mount type=bind`).
    fn path_exists(&self, path: &Path) -> bool;
}

/// A kernel version as `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
}

impl KernelVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// Parses `major.minor[.patch][-suffix]` as in `uname -r` or a profile's `minKernel`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self { major, minor })
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Character or block device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Char,
    Block,
}

/// A device node on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDevice {
    /// Relative to the path that was looked up (empty for that node itself).
    pub path: PathBuf,
    pub kind: DeviceKind,
    pub major: i64,
    pub minor: i64,
    /// Permission bits of the node.
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v669"),
            Some(KernelVersion::new(6, 18))
        );
        assert_eq!(KernelVersion::parse("4.8"), Some(KernelVersion::new(4, 8)));
        assert_eq!(KernelVersion::parse("5"), None);
        assert_eq!(KernelVersion::parse("x.1"), None);
        assert!(KernelVersion::new(4, 14) > KernelVersion::new(4, 8));
        assert_eq!(KernelVersion::new(5, 4).to_string(), "5.4");
    }
}
