//! A `HostFacts` with settable answers, for tests here and in the crates that call
//! `build_spec`.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::PosixRlimitType;

use super::{DeviceKind, HostDevice, HostFacts, KernelVersion};
use crate::caps::CapSet;

/// A made-up host. The default: every capability, kernel 6.1, amd64, cgroup v1 (hybrid),
/// swap limits supported, CPUs `0-3`, memory node `0`, open files capped at 1048576,
/// `/dev/null`, `/dev/zero`, `/dev/fuse`, `/dev/sda` and `/dev/snd/{pcm,timer}`.
#[derive(Debug, Clone)]
pub struct FakeHost {
    pub caps: CapSet,
    pub kernel: KernelVersion,
    pub arch: String,
    pub cgroup_v2: bool,
    pub swap_limit: bool,
    pub cpus: String,
    pub mems: String,
    pub rlimit_ceilings: BTreeMap<String, u64>,
    /// Device nodes by absolute host path.
    pub devices: BTreeMap<PathBuf, HostDevice>,
    pub hostname: String,
    pub existing_paths: BTreeSet<PathBuf>,
}

impl Default for FakeHost {
    fn default() -> Self {
        let dev = |path: &str, kind, major, minor| {
            (
                PathBuf::from(path),
                HostDevice {
                    path: PathBuf::new(),
                    kind,
                    major,
                    minor,
                    file_mode: 0o666,
                    uid: 0,
                    gid: 0,
                },
            )
        };
        FakeHost {
            caps: CapSet::ALL_KNOWN,
            kernel: KernelVersion::new(6, 1),
            arch: "amd64".into(),
            cgroup_v2: false,
            swap_limit: true,
            cpus: "0-3".into(),
            mems: "0".into(),
            rlimit_ceilings: [("RLIMIT_NOFILE".to_string(), 1_048_576)].into(),
            devices: [
                dev("/dev/null", DeviceKind::Char, 1, 3),
                dev("/dev/zero", DeviceKind::Char, 1, 5),
                dev("/dev/fuse", DeviceKind::Char, 10, 229),
                dev("/dev/sda", DeviceKind::Block, 8, 0),
                dev("/dev/snd/pcm", DeviceKind::Char, 116, 2),
                dev("/dev/snd/timer", DeviceKind::Char, 116, 33),
            ]
            .into(),
            hostname: "fakehost".into(),
            existing_paths: BTreeSet::new(),
        }
    }
}

impl HostFacts for FakeHost {
    fn bounding_capabilities(&self) -> CapSet {
        self.caps
    }

    fn kernel_version(&self) -> KernelVersion {
        self.kernel
    }

    fn arch(&self) -> &str {
        &self.arch
    }

    fn cgroup_v2(&self) -> bool {
        self.cgroup_v2
    }

    fn swap_limit_supported(&self) -> bool {
        self.swap_limit
    }

    fn cpus(&self) -> String {
        self.cpus.clone()
    }

    fn mems(&self) -> String {
        self.mems.clone()
    }

    fn rlimit_ceiling(&self, resource: PosixRlimitType) -> Option<u64> {
        self.rlimit_ceilings.get(&resource.to_string()).copied()
    }

    fn devices(&self, path: &Path) -> io::Result<Vec<HostDevice>> {
        let found: Vec<HostDevice> = self
            .devices
            .iter()
            .filter_map(|(p, d)| {
                let rel = p.strip_prefix(path).ok()?;
                Some(HostDevice {
                    path: rel.to_path_buf(),
                    ..d.clone()
                })
            })
            .collect();
        if found.is_empty() {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        Ok(found)
    }

    fn all_devices(&self) -> io::Result<Vec<HostDevice>> {
        self.devices(Path::new("/dev"))
    }

    fn hostname(&self) -> String {
        self.hostname.clone()
    }

    fn path_exists(&self, path: &Path) -> bool {
        self.existing_paths.contains(path) || self.devices.contains_key(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lookup_by_node_and_directory() {
        let h = FakeHost::default();
        let one = h.devices(Path::new("/dev/fuse")).unwrap();
        assert_eq!((one.len(), one[0].path.as_os_str().is_empty()), (1, true));
        let snd = h.devices(Path::new("/dev/snd")).unwrap();
        assert_eq!(snd.len(), 2);
        assert_eq!(snd[0].path, Path::new("pcm"));
        assert!(h.devices(Path::new("/dev/nope")).is_err());
        assert_eq!(
            h.rlimit_ceiling(PosixRlimitType::RlimitNofile),
            Some(1_048_576)
        );
        assert_eq!(h.rlimit_ceiling(PosixRlimitType::RlimitCore), None);
    }
}
