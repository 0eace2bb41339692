//! Live limit changes (`docker update`): the OCI values written into the cgroup's files,
//! with runc's file names, unit conversions and write orders.
//!
//! Only the limits that are set are written; the caller (berthd) has applied Docker's
//! validation and merge rules already.

use crate::error::{CgroupError, Result};
use crate::fs::{read_opt, read_u64, write};
use crate::{Cgroup, Version};

/// New limits, in OCI units. `-1` means "unlimited" where the comment says so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Bytes; -1 unlimited.
    pub memory: Option<i64>,
    /// Memory plus swap, bytes; -1 unlimited.
    pub memory_swap: Option<i64>,
    /// Soft limit, bytes.
    pub memory_reservation: Option<i64>,
    /// v1 shares (2..262144); converted to `cpu.weight` on v2.
    pub cpu_shares: Option<u64>,
    /// µs per period; -1 unlimited.
    pub cpu_quota: Option<i64>,
    /// µs.
    pub cpu_period: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// -1 unlimited.
    pub pids: Option<i64>,
    /// 10..1000.
    pub blkio_weight: Option<u16>,
}

impl Cgroup {
    /// Writes `l` into the cgroup.
    pub fn update(&self, l: &Limits) -> Result<()> {
        match self.version() {
            Version::V1 => self.update_v1(l),
            Version::V2 => self.update_v2(l),
        }
    }

    fn ctrl_file(&self, ctrl: &str, name: &str) -> Result<std::path::PathBuf> {
        let dir = self
            .dir(ctrl)
            .ok_or_else(|| CgroupError::Invalid(format!("the host has no {ctrl} cgroup")))?;
        if !dir.is_dir() {
            return Err(CgroupError::NotFound(dir));
        }
        Ok(dir.join(name))
    }

    fn update_v1(&self, l: &Limits) -> Result<()> {
        let set = |ctrl: &str, name: &str, v: String| write(&self.ctrl_file(ctrl, name)?, &v);
        if let Some(s) = &l.cpuset_cpus {
            set("cpuset", "cpuset.cpus", s.clone())?;
        }
        if let Some(s) = &l.cpuset_mems {
            set("cpuset", "cpuset.mems", s.clone())?;
        }
        self.memory_v1(l)?;
        if let Some(r) = l.memory_reservation {
            set("memory", "memory.soft_limit_in_bytes", r.to_string())?;
        }
        if let Some(s) = l.cpu_shares {
            set("cpu", "cpu.shares", s.to_string())?;
        }
        match (l.cpu_period, l.cpu_quota) {
            (Some(p), Some(q)) => {
                // A new period shorter than the current quota allows is refused until the
                // quota changes too: try the other order on failure (like runc).
                if set("cpu", "cpu.cfs_period_us", p.to_string()).is_err() {
                    set("cpu", "cpu.cfs_quota_us", q.to_string())?;
                    set("cpu", "cpu.cfs_period_us", p.to_string())?;
                } else {
                    set("cpu", "cpu.cfs_quota_us", q.to_string())?;
                }
            }
            (Some(p), None) => set("cpu", "cpu.cfs_period_us", p.to_string())?,
            (None, Some(q)) => set("cpu", "cpu.cfs_quota_us", q.to_string())?,
            (None, None) => {}
        }
        if let Some(p) = l.pids {
            set("pids", "pids.max", max_or(p))?;
        }
        if let Some(w) = l.blkio_weight {
            // CFQ's file, or BFQ's on kernels without CFQ.
            let cfq = self.ctrl_file("blkio", "blkio.weight")?;
            let file = if cfq.exists() {
                cfq
            } else {
                self.ctrl_file("blkio", "blkio.bfq.weight")?
            };
            write(&file, &w.to_string())?;
        }
        Ok(())
    }

    /// memory.limit_in_bytes must stay ≤ memory.memsw.limit_in_bytes at every step, so the
    /// order of the two writes depends on whether the limits grow or shrink (runc's rule).
    fn memory_v1(&self, l: &Limits) -> Result<()> {
        let mem = self.ctrl_file("memory", "memory.limit_in_bytes")?;
        let swap = self.ctrl_file("memory", "memory.memsw.limit_in_bytes")?;
        // No swap accounting on this kernel: the swap limit cannot be set (dockerd warns
        // and drops it at create time too).
        let swap_limit = l.memory_swap.filter(|_| swap.exists());
        match (l.memory, swap_limit) {
            (Some(m), Some(s)) => {
                let current = read_u64(&mem).unwrap_or(u64::MAX);
                if s == -1 || (current as i128) < s as i128 {
                    write(&swap, &s.to_string())?;
                    write(&mem, &m.to_string())?;
                } else {
                    write(&mem, &m.to_string())?;
                    write(&swap, &s.to_string())?;
                }
            }
            (Some(m), None) => write(&mem, &m.to_string())?,
            (None, Some(s)) => write(&swap, &s.to_string())?,
            (None, None) => {}
        }
        Ok(())
    }

    fn update_v2(&self, l: &Limits) -> Result<()> {
        let dir = self.hierarchy.root.join(&self.path);
        if !dir.is_dir() {
            return Err(CgroupError::NotFound(dir));
        }
        let set = |name: &str, v: String| write(&dir.join(name), &v);
        if let Some(s) = &l.cpuset_cpus {
            set("cpuset.cpus", s.clone())?;
        }
        if let Some(s) = &l.cpuset_mems {
            set("cpuset.mems", s.clone())?;
        }
        if let Some(s) = l.memory_swap {
            // v2 limits swap alone: memory.swap.max = (memory + swap) - memory.
            let memory = match l.memory {
                Some(m) => m,
                None => read_opt(&dir.join("memory.max"))
                    .and_then(|t| t.trim().parse::<i64>().ok())
                    .unwrap_or(-1),
            };
            set("memory.swap.max", swap_v2(s, memory)?)?;
        }
        if let Some(m) = l.memory {
            set("memory.max", max_or(m))?;
        }
        if let Some(r) = l.memory_reservation {
            set("memory.low", r.to_string())?;
        }
        if let Some(s) = l.cpu_shares {
            set("cpu.weight", shares_to_weight(s).to_string())?;
        }
        if l.cpu_quota.is_some() || l.cpu_period.is_some() {
            let mut v = match l.cpu_quota {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".to_string(),
            };
            if let Some(p) = l.cpu_period {
                v = format!("{v} {p}");
            }
            set("cpu.max", v)?;
        }
        if let Some(p) = l.pids {
            set("pids.max", max_or(p))?;
        }
        if let Some(w) = l.blkio_weight {
            let bfq = dir.join("io.bfq.weight");
            if bfq.exists() {
                write(&bfq, &w.to_string())?;
            } else {
                set("io.weight", blkio_weight_to_io_weight(w).to_string())?;
            }
        }
        Ok(())
    }
}

/// `-1` (or any negative) → `max`.
fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// runc's `ConvertCPUSharesToCgroupV2Value`: shares [2, 262144] → weight [1, 10000].
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262_142
}

/// runc's `ConvertBlkIOToIOWeightValue`: blkio weight [10, 1000] → io.weight [1, 10000].
pub fn blkio_weight_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (u64::from(w).saturating_sub(10) * 9999) / 990
}

/// runc's `ConvertMemorySwapToCgroupV2Value`: memory+swap → swap alone.
fn swap_v2(swap: i64, memory: i64) -> Result<String> {
    if swap == -1 {
        return Ok("max".into());
    }
    if memory == -1 {
        return Err(CgroupError::Invalid(
            "unable to set swap limit without memory limit".into(),
        ));
    }
    if memory > swap {
        return Err(CgroupError::Invalid(format!(
            "memory+swap limit ({swap}) should be greater than memory limit ({memory})"
        )));
    }
    Ok((swap - memory).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::tree;
    use crate::Hierarchy;

    const MIB: i64 = 1 << 20;

    fn read(p: std::path::PathBuf) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
        assert_eq!(
            swap_v2(128 * MIB, 64 * MIB).unwrap(),
            (64 * MIB).to_string()
        );
        assert_eq!(swap_v2(-1, 64 * MIB).unwrap(), "max");
        assert!(swap_v2(32 * MIB, 64 * MIB).is_err());
        assert!(swap_v2(32 * MIB, -1).is_err());
    }

    #[test]
    fn v2_files_and_units() {
        let t = tempfile::tempdir().unwrap();
        tree(
            t.path(),
            &[("cgroup.controllers", ""), ("berth/c/memory.max", "max\n")],
        );
        let cg = Hierarchy::at(t.path()).cgroup("/berth/c");
        cg.update(&Limits {
            memory: Some(64 * MIB),
            memory_swap: Some(128 * MIB),
            memory_reservation: Some(32 * MIB),
            cpu_shares: Some(512),
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            cpuset_cpus: Some("0-1".into()),
            cpuset_mems: Some("0".into()),
            pids: Some(20),
            blkio_weight: Some(500),
        })
        .unwrap();
        let f = |n: &str| read(t.path().join("berth/c").join(n));
        assert_eq!(f("memory.max"), (64 * MIB).to_string());
        assert_eq!(f("memory.swap.max"), (64 * MIB).to_string());
        assert_eq!(f("memory.low"), (32 * MIB).to_string());
        assert_eq!(f("cpu.weight"), "20");
        assert_eq!(f("cpu.max"), "50000 100000");
        assert_eq!(f("cpuset.cpus"), "0-1");
        assert_eq!(f("cpuset.mems"), "0");
        assert_eq!(f("pids.max"), "20");
        assert_eq!(f("io.weight"), "4950");

        // Unlimited values; swap alone uses the memory limit already there.
        cg.update(&Limits {
            pids: Some(-1),
            cpu_quota: Some(-1),
            memory_swap: Some(96 * MIB),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f("pids.max"), "max");
        assert_eq!(f("cpu.max"), "max");
        assert_eq!(f("memory.swap.max"), (32 * MIB).to_string());
    }

    #[test]
    fn v1_files_and_write_order() {
        let t = tempfile::tempdir().unwrap();
        let c = "berth/c";
        tree(
            t.path(),
            &[
                (&format!("memory/{c}/memory.limit_in_bytes"), "33554432\n"),
                (
                    &format!("memory/{c}/memory.memsw.limit_in_bytes"),
                    "67108864\n",
                ),
                (&format!("cpu/{c}/cpu.shares"), "1024\n"),
                (&format!("cpuset/{c}/cpuset.cpus"), "0-1\n"),
                (&format!("pids/{c}/pids.max"), "max\n"),
                (&format!("blkio/{c}/blkio.bfq.weight"), "100\n"),
            ],
        );
        let cg = Hierarchy::at(t.path()).cgroup("/berth/c");
        cg.update(&Limits {
            memory: Some(64 * MIB),
            memory_swap: Some(128 * MIB),
            memory_reservation: Some(16 * MIB),
            cpu_shares: Some(512),
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            cpuset_cpus: Some("0".into()),
            pids: Some(-1),
            blkio_weight: Some(300),
            ..Default::default()
        })
        .unwrap();
        let f = |ctrl: &str, n: &str| read(t.path().join(ctrl).join(c).join(n));
        assert_eq!(f("memory", "memory.limit_in_bytes"), (64 * MIB).to_string());
        assert_eq!(
            f("memory", "memory.memsw.limit_in_bytes"),
            (128 * MIB).to_string()
        );
        assert_eq!(
            f("memory", "memory.soft_limit_in_bytes"),
            (16 * MIB).to_string()
        );
        assert_eq!(f("cpu", "cpu.shares"), "512");
        assert_eq!(f("cpu", "cpu.cfs_quota_us"), "50000");
        assert_eq!(f("cpu", "cpu.cfs_period_us"), "100000");
        assert_eq!(f("cpuset", "cpuset.cpus"), "0");
        assert_eq!(f("pids", "pids.max"), "max");
        assert_eq!(
            f("blkio", "blkio.bfq.weight"),
            "300",
            "BFQ when there is no CFQ"
        );
    }

    #[test]
    fn v1_without_swap_accounting_skips_swap() {
        let t = tempfile::tempdir().unwrap();
        tree(t.path(), &[("memory/berth/c/memory.limit_in_bytes", "1\n")]);
        let cg = Hierarchy::at(t.path()).cgroup("/berth/c");
        cg.update(&Limits {
            memory: Some(64 * MIB),
            memory_swap: Some(128 * MIB),
            ..Default::default()
        })
        .unwrap();
        assert!(!t
            .path()
            .join("memory/berth/c/memory.memsw.limit_in_bytes")
            .exists());
    }
}
