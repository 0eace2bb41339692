//! Facts about the host that `/info` and `/version` report: kernel, OS, CPUs, memory,
//! cgroup layout, the data root's backing filesystem.

use std::path::Path;

/// Which cgroup hierarchy the host mounts at `/sys/fs/cgroup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// Pure cgroup v2 (`/sys/fs/cgroup` is cgroup2).
    V2,
    /// v1 controllers, possibly with an (empty or partial) v2 `unified` mount beside them.
    V1 { hybrid: bool },
}

impl CgroupLayout {
    pub fn detect() -> Self {
        Self::detect_at(Path::new("/sys/fs/cgroup"))
    }

    pub fn detect_at(root: &Path) -> Self {
        if fs_magic(root) == Some(CGROUP2_SUPER_MAGIC) {
            return CgroupLayout::V2;
        }
        let hybrid = fs_magic(&root.join("unified")) == Some(CGROUP2_SUPER_MAGIC);
        CgroupLayout::V1 { hybrid }
    }
}

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

// The magic's integer type differs between libcs and architectures.
#[allow(clippy::unnecessary_cast)]
fn fs_magic(path: &Path) -> Option<i64> {
    nix::sys::statfs::statfs(path)
        .ok()
        .map(|s| s.filesystem_type().0 as i64)
}

/// dockerd's name for the filesystem under the data root ("Backing Filesystem").
pub fn backing_fs(path: &Path) -> String {
    match fs_magic(path) {
        Some(0xEF53) => "extfs".into(),
        Some(0x5846_5342) => "xfs".into(),
        Some(0x9123_683E) => "btrfs".into(),
        Some(0x0102_1994) => "tmpfs".into(),
        Some(0x794C_7630) => "overlayfs".into(),
        Some(0x2FC1_2FC1) => "zfs".into(),
        Some(other) => format!("<unknown 0x{other:x}>"),
        None => "<unknown>".into(),
    }
}

#[derive(Debug, Clone)]
pub struct HostInfo {
    pub hostname: String,
    pub kernel: String,
    pub arch: String,
    pub os_name: String,
    pub os_version: String,
    pub ncpu: i64,
    pub mem_total: i64,
    pub cgroups: CgroupLayout,
}

impl HostInfo {
    pub fn gather() -> Self {
        let uts = nix::sys::utsname::uname().ok();
        let field = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
            uts.as_ref()
                .map(|u| f(u).to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        Self {
            hostname: field(|u| u.nodename()),
            kernel: field(|u| u.release()),
            arch: field(|u| u.machine()),
            os_name: os_release_field(&os_release, "PRETTY_NAME").unwrap_or_else(|| "Linux".into()),
            os_version: os_release_field(&os_release, "VERSION_ID").unwrap_or_default(),
            ncpu: std::thread::available_parallelism()
                .map(|n| n.get() as i64)
                .unwrap_or(1),
            mem_total: mem_total(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default()),
            cgroups: CgroupLayout::detect(),
        }
    }
}

fn os_release_field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix('=')?;
        Some(v.trim_matches('"').to_string())
    })
}

fn mem_total(meminfo: &str) -> i64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Docker's `GOARCH` names, which clients compare against image platforms.
pub fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" => "arm",
        "i686" | "i386" => "386",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        assert_eq!(
            mem_total("MemFree: 1 kB\nMemTotal:  2048 kB\n"),
            2048 * 1024
        );
        let osr = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n";
        assert_eq!(
            os_release_field(osr, "PRETTY_NAME").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(os_release_field(osr, "VERSION_ID").as_deref(), Some("12"));
        assert_eq!(go_arch("x86_64"), "amd64");
    }

    #[test]
    fn gathers_this_host() {
        let h = HostInfo::gather();
        assert!(h.ncpu >= 1);
        assert!(h.mem_total > 0);
        assert!(!h.kernel.is_empty());
        // This machine (and CI's) is hybrid: v1 controllers plus a v2 `unified` mount.
        if std::path::Path::new("/sys/fs/cgroup/memory").is_dir() {
            assert!(matches!(h.cgroups, CgroupLayout::V1 { .. }));
        }
    }
}
