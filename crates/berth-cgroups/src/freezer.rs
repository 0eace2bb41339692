//! The freezer: `docker pause` / `unpause`.
//!
//! v1 writes `FROZEN`/`THAWED` to `freezer.state` and polls it until the kernel reports the
//! state (it shows `FREEZING` while tasks are still being stopped; the write is repeated,
//! as runc does, because a task forking meanwhile can leave the freeze incomplete). v2
//! writes `1`/`0` to `cgroup.freeze` and polls the `frozen` key of `cgroup.events`.

use std::time::{Duration, Instant};

use crate::error::{CgroupError, Result};
use crate::fs::{keyed, read, write};
use crate::{Cgroup, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    Thawed,
    Frozen,
    /// v1 only: on the way to frozen.
    Freezing,
}

/// How long a freeze or thaw may take before it is reported as failed.
const TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(10);

impl Cgroup {
    pub fn freezer_state(&self) -> Result<FreezerState> {
        match self.version() {
            Version::V1 => {
                let p = self.freezer_file("freezer.state")?;
                let text = read(&p)?;
                match text.trim() {
                    "THAWED" => Ok(FreezerState::Thawed),
                    "FROZEN" => Ok(FreezerState::Frozen),
                    "FREEZING" => Ok(FreezerState::Freezing),
                    other => Err(CgroupError::Parse {
                        path: p,
                        content: other.into(),
                    }),
                }
            }
            Version::V2 => {
                let p = self.freezer_file("cgroup.events")?;
                let frozen = keyed(&read(&p)?).get("frozen").copied().unwrap_or(0);
                Ok(if frozen == 1 {
                    FreezerState::Frozen
                } else {
                    FreezerState::Thawed
                })
            }
        }
    }

    /// Freezes every task of the cgroup; returns once the kernel reports it frozen.
    pub fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    /// Thaws the cgroup; returns once the kernel reports it thawed.
    pub fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let (file, value) = match (self.version(), frozen) {
            (Version::V1, true) => ("freezer.state", "FROZEN"),
            (Version::V1, false) => ("freezer.state", "THAWED"),
            (Version::V2, true) => ("cgroup.freeze", "1"),
            (Version::V2, false) => ("cgroup.freeze", "0"),
        };
        let path = self.freezer_file(file)?;
        let want = if frozen {
            FreezerState::Frozen
        } else {
            FreezerState::Thawed
        };
        let deadline = Instant::now() + TIMEOUT;
        let mut last_write = Instant::now();
        write(&path, value)?;
        loop {
            if self.freezer_state()? == want {
                return Ok(());
            }
            if Instant::now() >= deadline {
                // Leave it as it was rather than half frozen.
                if frozen {
                    let _ = write(
                        &path,
                        if file == "freezer.state" {
                            "THAWED"
                        } else {
                            "0"
                        },
                    );
                }
                return Err(CgroupError::Timeout(if frozen {
                    "frozen"
                } else {
                    "thawed"
                }));
            }
            std::thread::sleep(POLL);
            if last_write.elapsed() >= Duration::from_millis(100) {
                write(&path, value)?;
                last_write = Instant::now();
            }
        }
    }

    fn freezer_file(&self, name: &str) -> Result<std::path::PathBuf> {
        let dir = self
            .dir("freezer")
            .ok_or_else(|| CgroupError::Invalid("the host has no freezer cgroup".into()))?;
        if !dir.is_dir() {
            return Err(CgroupError::NotFound(dir));
        }
        Ok(dir.join(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::tree;
    use crate::Hierarchy;

    // A plain file does not change state on its own, so these fakes show what is
    // written; the kernel's side is covered by the integration tests.

    #[test]
    fn v1_writes_freezer_state() {
        let t = tempfile::tempdir().unwrap();
        tree(t.path(), &[("freezer/berth/c/freezer.state", "THAWED\n")]);
        let cg = Hierarchy::at(t.path()).cgroup("/berth/c");
        assert_eq!(cg.freezer_state().unwrap(), FreezerState::Thawed);
        cg.freeze().unwrap();
        let state = t.path().join("freezer/berth/c/freezer.state");
        assert_eq!(std::fs::read_to_string(&state).unwrap(), "FROZEN");
        assert_eq!(cg.freezer_state().unwrap(), FreezerState::Frozen);
        cg.thaw().unwrap();
        assert_eq!(std::fs::read_to_string(&state).unwrap(), "THAWED");
    }

    #[test]
    fn v2_writes_cgroup_freeze_and_reads_events() {
        let t = tempfile::tempdir().unwrap();
        tree(
            t.path(),
            &[
                ("cgroup.controllers", ""),
                ("berth/c/cgroup.freeze", "0\n"),
                ("berth/c/cgroup.events", "populated 1\nfrozen 1\n"),
            ],
        );
        let cg = Hierarchy::at(t.path()).cgroup("/berth/c");
        cg.freeze().unwrap();
        let freeze = t.path().join("berth/c/cgroup.freeze");
        assert_eq!(std::fs::read_to_string(&freeze).unwrap(), "1");
        assert_eq!(cg.freezer_state().unwrap(), FreezerState::Frozen);
    }

    #[test]
    fn missing_cgroup_is_not_found() {
        let t = tempfile::tempdir().unwrap();
        tree(t.path(), &[("freezer/berth/x", "")]);
        let cg = Hierarchy::at(t.path()).cgroup("/berth/c");
        assert!(matches!(cg.freeze(), Err(CgroupError::NotFound(_))));
    }
}
