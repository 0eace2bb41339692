//! `HostFacts` read from the running Linux host (`/proc`, `/sys`, `/dev`).

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::sys::resource::{getrlimit, Resource};
use oci_spec::runtime::PosixRlimitType;

use super::{DeviceKind, HostDevice, HostFacts, KernelVersion};
use crate::caps::CapSet;

/// The real host. Reads on every call; build specs rarely enough that caching is not worth
/// stale answers.
#[derive(Debug, Clone, Default)]
pub struct LinuxHost;

/// `/dev` entries a privileged container does not get copied in (containerd's list).
const SKIPPED_DEV_DIRS: [&str; 6] = ["pts", "shm", "fd", "mqueue", ".lxc", ".udev"];

impl LinuxHost {
    fn status_mask(field: &str) -> CapSet {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(field))
                    .and_then(CapSet::from_hex)
            })
            .unwrap_or_default()
    }
}

impl HostFacts for LinuxHost {
    fn bounding_capabilities(&self) -> CapSet {
        Self::status_mask("CapBnd:")
    }

    fn kernel_version(&self) -> KernelVersion {
        nix::sys::utsname::uname()
            .ok()
            .and_then(|u| KernelVersion::parse(&u.release().to_string_lossy()))
            .unwrap_or(KernelVersion::new(0, 0))
    }

    fn arch(&self) -> &str {
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            "loongarch64" => "loong64",
            "mips64" if cfg!(target_endian = "little") => "mips64le",
            other => other,
        }
    }

    fn cgroup_v2(&self) -> bool {
        Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
    }

    fn swap_limit_supported(&self) -> bool {
        if self.cgroup_v2() {
            // The root has no memory.swap.max; any child with the memory controller does.
            fs::read_dir("/sys/fs/cgroup")
                .map(|dir| {
                    dir.flatten()
                        .any(|e| e.path().join("memory.swap.max").exists())
                })
                .unwrap_or(false)
        } else {
            Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
        }
    }

    fn cpus(&self) -> String {
        read_trimmed("/sys/devices/system/cpu/online").unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            format!("0-{}", n - 1)
        })
    }

    fn mems(&self) -> String {
        read_trimmed("/sys/devices/system/node/online").unwrap_or_else(|| "0".to_string())
    }

    fn rlimit_ceiling(&self, resource: PosixRlimitType) -> Option<u64> {
        let has_sys_resource = Self::status_mask("CapEff:").contains("SYS_RESOURCE");
        if has_sys_resource {
            // Root with CAP_SYS_RESOURCE may raise any limit, except that open files
            // stop at fs.nr_open.
            return match resource {
                PosixRlimitType::RlimitNofile => {
                    read_trimmed("/proc/sys/fs/nr_open").and_then(|s| s.parse().ok())
                }
                _ => None,
            };
        }
        let (_, hard) = getrlimit(to_nix(resource)).ok()?;
        (hard != nix::sys::resource::RLIM_INFINITY).then_some(hard)
    }

    fn devices(&self, path: &Path) -> io::Result<Vec<HostDevice>> {
        let resolved = if fs::symlink_metadata(path)?.file_type().is_symlink() {
            fs::canonicalize(path)?
        } else {
            path.to_path_buf()
        };
        let meta = fs::metadata(&resolved)?;
        if let Some(dev) = device_from(&meta, PathBuf::new()) {
            return Ok(vec![dev]);
        }
        let mut found = Vec::new();
        if meta.is_dir() {
            walk(&resolved, Path::new(""), &[], &mut found);
        }
        if found.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a device node",
            ));
        }
        Ok(found)
    }

    fn all_devices(&self) -> io::Result<Vec<HostDevice>> {
        let mut found = Vec::new();
        walk(
            Path::new("/dev"),
            Path::new(""),
            &SKIPPED_DEV_DIRS,
            &mut found,
        );
        // The console belongs to the container's own terminal setup.
        found.retain(|d| d.path != Path::new("console"));
        Ok(found)
    }

    fn hostname(&self) -> String {
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn path_exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Device nodes under `root/rel`, recursively, not following symlinks; unreadable entries
/// are skipped like Docker's walk does.
fn walk(root: &Path, rel: &Path, skip: &[&str], out: &mut Vec<HostDevice>) {
    let Ok(entries) = fs::read_dir(root.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let child = rel.join(&name);
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            if !skip.iter().any(|s| name == *s) {
                walk(root, &child, &[], out);
            }
        } else if let Some(dev) = device_from(&meta, child) {
            out.push(dev);
        }
    }
}

fn device_from(meta: &fs::Metadata, path: PathBuf) -> Option<HostDevice> {
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        DeviceKind::Char
    } else if ft.is_block_device() {
        DeviceKind::Block
    } else {
        return None;
    };
    let rdev = meta.rdev();
    Some(HostDevice {
        path,
        kind,
        major: nix::sys::stat::major(rdev) as i64,
        minor: nix::sys::stat::minor(rdev) as i64,
        file_mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
    })
}

fn to_nix(r: PosixRlimitType) -> Resource {
    match r {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // These read the machine running the tests; they check shapes, not values.
    #[test]
    fn reads_this_host() {
        let h = LinuxHost;
        assert!(!h.bounding_capabilities().is_empty());
        assert!(h.kernel_version() >= KernelVersion::new(3, 10));
        assert!(!h.arch().is_empty());
        assert!(crate::resources::parse_cpuset(&h.cpus()).is_ok());
        assert!(!h.hostname().is_empty());
        assert!(h.path_exists(Path::new("/proc")));
    }

    #[test]
    fn finds_dev_null_and_dev_subtrees() {
        let h = LinuxHost;
        let null = h.devices(Path::new("/dev/null")).unwrap();
        assert_eq!(null.len(), 1);
        assert_eq!(
            (null[0].kind, null[0].major, null[0].minor),
            (DeviceKind::Char, 1, 3)
        );
        assert_eq!(null[0].path, PathBuf::new());
        assert!(h.devices(Path::new("/proc/self/status")).is_err());
        assert!(h.devices(Path::new("/nonexistent-device")).is_err());
        let all = h.all_devices().unwrap();
        assert!(all.iter().any(|d| d.path == Path::new("null")));
        assert!(!all.iter().any(|d| d.path.starts_with("pts")));
    }
}
