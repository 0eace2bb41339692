//! A container's cgroup, read and written by berthd: stats (`docker stats`), the process
//! list (`docker top`), the freezer (`docker pause`/`unpause`) and live limit changes
//! (`docker update`).
//!
//! It knows the three layouts a Linux host mounts at `/sys/fs/cgroup`:
//! - **v2** (unified): one tree; the container is `<root>/<path>` with `memory.current`,
//!   `cpu.stat`, `io.stat`, `cgroup.freeze`, ...
//! - **v1**: one tree per controller, `<root>/<controller>/<path>` (a controller may share
//!   a mount with others, e.g. `cpu,cpuacct`);
//! - **hybrid**: v1 controllers plus a v2 tree at `<root>/unified` that holds no
//!   controllers; it is handled as v1.
//!
//! What it is not: it creates and deletes no cgroup and moves no process (the runtime in
//! `berth-shim` does), and it knows nothing of Docker's API: [`Stats`] are raw numbers in
//! Docker's units, berthd shapes them into the stats JSON. Every path is taken relative to
//! a root given by the caller ([`Hierarchy::at`], [`procfs`]), so the tests run against
//! fake trees in temp dirs.

mod error;
mod freezer;
mod fs;
pub mod procfs;
mod stats;
mod update;

use std::path::{Path, PathBuf};

pub use error::{CgroupError, Result};
pub use freezer::FreezerState;
pub use stats::{BlkioEntry, CpuStats, MemoryStats, PidsStats, Stats};
pub use update::Limits;

/// Which kind of tree is mounted at the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// The cgroup mount of the host (or a fake one in tests).
#[derive(Debug, Clone)]
pub struct Hierarchy {
    root: PathBuf,
    version: Version,
}

impl Hierarchy {
    /// The host's: `/sys/fs/cgroup`.
    pub fn host() -> Self {
        Self::at("/sys/fs/cgroup")
    }

    /// The tree at `root`: v2 when it has a `cgroup.controllers` file at its top (pure v2),
    /// else v1 (also the hybrid layout, whose v2 part under `unified` has no controllers).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let version = if root.join("cgroup.controllers").exists() {
            Version::V2
        } else {
            Version::V1
        };
        Self { root, version }
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// The cgroup at `path` (as in the OCI spec's `cgroupsPath`: `/berth/<id>`).
    pub fn cgroup(&self, path: &str) -> Cgroup {
        Cgroup {
            hierarchy: self.clone(),
            path: path.trim_start_matches('/').to_string(),
        }
    }

    /// The mount of a v1 controller: `<root>/<name>`, or a joint mount such as
    /// `<root>/cpu,cpuacct`.
    fn controller_mount(&self, controller: &str) -> Option<PathBuf> {
        let direct = self.root.join(controller);
        if direct.is_dir() {
            return Some(direct);
        }
        std::fs::read_dir(&self.root)
            .ok()?
            .flatten()
            .find(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.split(',').any(|c| c == controller))
            })
            .map(|e| e.path())
    }
}

/// One container's cgroup.
#[derive(Debug, Clone)]
pub struct Cgroup {
    hierarchy: Hierarchy,
    /// Relative to the hierarchy's (or each controller's) root.
    path: String,
}

impl Cgroup {
    pub fn version(&self) -> Version {
        self.hierarchy.version
    }

    /// The directory holding `controller`'s files: the one unified directory on v2, the
    /// controller's own tree on v1 (`None` when the host has no such controller).
    pub fn dir(&self, controller: &str) -> Option<PathBuf> {
        match self.hierarchy.version {
            Version::V2 => Some(self.hierarchy.root.join(&self.path)),
            Version::V1 => self
                .hierarchy
                .controller_mount(controller)
                .map(|m| m.join(&self.path)),
        }
    }

    fn file(&self, controller: &str, name: &str) -> Option<PathBuf> {
        self.dir(controller).map(|d| d.join(name))
    }

    /// Whether the cgroup exists (on v1: in the memory or pids tree).
    pub fn exists(&self) -> bool {
        ["pids", "memory", "freezer"]
            .iter()
            .filter_map(|c| self.dir(c))
            .any(|d| d.is_dir())
    }

    /// Every process in the cgroup and the cgroups below it (like `runc ps`), sorted.
    pub fn procs(&self) -> Result<Vec<u32>> {
        let dir = ["pids", "memory", "freezer", "cpu"]
            .iter()
            .filter_map(|c| self.dir(c))
            .find(|d| d.is_dir())
            .ok_or_else(|| CgroupError::NotFound(self.hierarchy.root.join(&self.path)))?;
        let mut out = Vec::new();
        collect_procs(&dir, &mut out)?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

fn collect_procs(dir: &Path, out: &mut Vec<u32>) -> Result<()> {
    let text = fs::read(&dir.join("cgroup.procs"))?;
    out.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                // A child that vanished meanwhile is not an error.
                let _ = collect_procs(&e.path(), out);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::Path;

    /// Writes `files` (relative path, content) under `root`, creating directories.
    pub fn tree(root: &Path, files: &[(&str, &str)]) {
        for (p, content) in files {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::tree;
    use super::*;

    #[test]
    fn detects_layouts_and_finds_joint_v1_mounts() {
        let t = tempfile::tempdir().unwrap();
        let v2 = t.path().join("v2");
        tree(&v2, &[("cgroup.controllers", "cpu memory pids\n")]);
        assert_eq!(Hierarchy::at(&v2).version(), Version::V2);
        let v1 = t.path().join("v1");
        tree(
            &v1,
            &[
                ("cpu,cpuacct/berth/c1/cgroup.procs", "1\n"),
                ("memory/berth/c1/cgroup.procs", ""),
                ("unified/cgroup.controllers", ""),
            ],
        );
        let h = Hierarchy::at(&v1);
        assert_eq!(h.version(), Version::V1, "hybrid is handled as v1");
        let cg = h.cgroup("/berth/c1");
        assert_eq!(cg.dir("cpuacct").unwrap(), v1.join("cpu,cpuacct/berth/c1"));
        assert_eq!(cg.dir("memory").unwrap(), v1.join("memory/berth/c1"));
        assert!(cg.dir("blkio").is_none());
    }

    #[test]
    fn procs_include_child_cgroups() {
        let t = tempfile::tempdir().unwrap();
        tree(
            t.path(),
            &[
                ("cgroup.controllers", ""),
                ("berth/c1/cgroup.procs", "12\n7\n"),
                ("berth/c1/sub/cgroup.procs", "30\n"),
            ],
        );
        let cg = Hierarchy::at(t.path()).cgroup("/berth/c1");
        assert_eq!(cg.procs().unwrap(), vec![7, 12, 30]);
        let gone = Hierarchy::at(t.path()).cgroup("/berth/nope");
        assert!(matches!(gone.procs(), Err(CgroupError::NotFound(_))));
        assert!(!gone.exists());
    }
}
