//! Resource usage of a cgroup in the units of Docker's stats JSON (bytes, nanoseconds),
//! read the way dockerd reads it through containerd's cgroups library.
//!
//! Missing files read as zero: a host may lack a controller (no `blkio`, no swap
//! accounting) and the stats of the rest are still worth showing.

use std::collections::BTreeMap;

use crate::error::{CgroupError, Result};
use crate::fs::{keyed, read_opt, read_u64};
use crate::{Cgroup, Version};

/// The `memory.stat` keys dockerd reports on cgroup v1 (always all of them).
const V1_MEMORY_KEYS: &[&str] = &[
    "cache",
    "rss",
    "rss_huge",
    "mapped_file",
    "dirty",
    "writeback",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "total_cache",
    "total_rss",
    "total_rss_huge",
    "total_mapped_file",
    "total_dirty",
    "total_writeback",
    "total_pgpgin",
    "total_pgpgout",
    "total_pgfault",
    "total_pgmajfault",
    "total_inactive_anon",
    "total_active_anon",
    "total_inactive_file",
    "total_active_file",
    "total_unevictable",
];

/// The `memory.stat` keys dockerd reports on cgroup v2.
const V2_MEMORY_KEYS: &[&str] = &[
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "sock",
    "shmem",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "slab_reclaimable",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
    "workingset_refault",
    "workingset_activate",
    "workingset_nodereclaim",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
];

/// USER_HZ: the unit of `cpuacct.stat` (100 on every Linux architecture Docker runs on).
const CLOCK_TICKS: u64 = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
    /// Bytes read and written per block device (`io_service_bytes_recursive`).
    pub io_service_bytes: Vec<BlkioEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Nanoseconds of CPU time.
    pub total: u64,
    /// Per CPU (v1 only; empty on v2).
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStats {
    pub usage: u64,
    /// The peak (v1 only).
    pub max_usage: Option<u64>,
    pub failcnt: u64,
    /// `None`: unlimited.
    pub limit: Option<u64>,
    pub stats: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidsStats {
    pub current: u64,
    /// `None`: unlimited.
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    /// `Read`, `Write`, ... on v1 (the kernel's words); `read`/`write` on v2 (dockerd's).
    pub op: String,
    pub value: u64,
}

impl Cgroup {
    /// One sample of the cgroup's usage. `NotFound` when the cgroup is gone.
    pub fn stats(&self) -> Result<Stats> {
        if !self.exists() {
            return Err(CgroupError::NotFound(self.hierarchy.root.join(&self.path)));
        }
        Ok(match self.version() {
            Version::V1 => self.stats_v1(),
            Version::V2 => self.stats_v2(),
        })
    }

    fn stats_v1(&self) -> Stats {
        let f = |ctrl: &str, name: &str| self.file(ctrl, name);
        let num = |ctrl: &str, name: &str| f(ctrl, name).and_then(|p| read_u64(&p));
        let text = |ctrl: &str, name: &str| f(ctrl, name).and_then(|p| read_opt(&p));

        let acct = keyed(&text("cpuacct", "cpuacct.stat").unwrap_or_default());
        let throttling = keyed(&text("cpu", "cpu.stat").unwrap_or_default());
        let ticks = |k: &str| acct.get(k).copied().unwrap_or(0) * 1_000_000_000 / CLOCK_TICKS;
        let cpu = CpuStats {
            total: num("cpuacct", "cpuacct.usage").unwrap_or(0),
            percpu: text("cpuacct", "cpuacct.usage_percpu")
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect(),
            kernel: ticks("system"),
            user: ticks("user"),
            periods: throttling.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: throttling.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: throttling.get("throttled_time").copied().unwrap_or(0),
        };

        let raw = keyed(&text("memory", "memory.stat").unwrap_or_default());
        // v1 reports "unlimited" as a huge page-aligned number; so does dockerd (it then
        // caps the limit at the machine's memory).
        let memory = MemoryStats {
            usage: num("memory", "memory.usage_in_bytes").unwrap_or(0),
            max_usage: Some(num("memory", "memory.max_usage_in_bytes").unwrap_or(0)),
            failcnt: num("memory", "memory.failcnt").unwrap_or(0),
            limit: num("memory", "memory.limit_in_bytes"),
            stats: pick(&raw, V1_MEMORY_KEYS),
        };

        // CFQ/BFQ statistics when the scheduler keeps them, else the throttle layer's
        // (which counts every I/O that reaches the block layer).
        let io_service_bytes = [
            "blkio.io_service_bytes_recursive",
            "blkio.throttle.io_service_bytes_recursive",
            "blkio.throttle.io_service_bytes",
        ]
        .iter()
        .filter_map(|n| text("blkio", n))
        .map(|t| parse_blkio_v1(&t))
        .find(|e| !e.is_empty())
        .unwrap_or_default();

        Stats {
            cpu,
            memory,
            pids: PidsStats {
                current: num("pids", "pids.current").unwrap_or(0),
                limit: num("pids", "pids.max"),
            },
            io_service_bytes,
        }
    }

    fn stats_v2(&self) -> Stats {
        let dir = self.hierarchy.root.join(&self.path);
        let num = |name: &str| read_u64(&dir.join(name));
        let text = |name: &str| read_opt(&dir.join(name)).unwrap_or_default();

        let cpu_stat = keyed(&text("cpu.stat"));
        let usec = |k: &str| cpu_stat.get(k).copied().unwrap_or(0) * 1000;
        let cpu = CpuStats {
            total: usec("usage_usec"),
            percpu: Vec::new(),
            kernel: usec("system_usec"),
            user: usec("user_usec"),
            periods: cpu_stat.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: cpu_stat.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: usec("throttled_usec"),
        };

        let raw = keyed(&text("memory.stat"));
        let events = keyed(&text("memory.events"));
        let memory = MemoryStats {
            usage: num("memory.current").unwrap_or(0),
            max_usage: None,
            failcnt: events.get("oom").copied().unwrap_or(0),
            limit: num("memory.max"),
            stats: pick(&raw, V2_MEMORY_KEYS),
        };

        Stats {
            cpu,
            memory,
            pids: PidsStats {
                current: num("pids.current").unwrap_or(0),
                limit: num("pids.max"),
            },
            io_service_bytes: parse_io_stat(&text("io.stat")),
        }
    }
}

fn pick(raw: &BTreeMap<String, u64>, keys: &[&str]) -> BTreeMap<String, u64> {
    keys.iter()
        .map(|k| (k.to_string(), raw.get(*k).copied().unwrap_or(0)))
        .collect()
}

fn parse_dev(dev: &str) -> Option<(u64, u64)> {
    let (maj, min) = dev.split_once(':')?;
    Some((maj.parse().ok()?, min.parse().ok()?))
}

/// v1 `blkio.*io_service_bytes*`: `8:0 Read 4096` lines and a final `Total n`.
pub(crate) fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, value] = f.as_slice() else {
                return None;
            };
            let (major, minor) = parse_dev(dev)?;
            Some(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// v2 `io.stat`: `8:0 rbytes=1 wbytes=2 rios=3 ...` → a `read` and a `write` entry per
/// device, as dockerd reports them.
pub(crate) fn parse_io_stat(text: &str) -> Vec<BlkioEntry> {
    let mut out = Vec::new();
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let Some((major, minor)) = it.next().and_then(parse_dev) else {
            continue;
        };
        let kv: BTreeMap<&str, u64> = it
            .filter_map(|f| {
                let (k, v) = f.split_once('=')?;
                Some((k, v.parse().ok()?))
            })
            .collect();
        for (key, op) in [("rbytes", "read"), ("wbytes", "write")] {
            out.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value: kv.get(key).copied().unwrap_or(0),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::tree;
    use crate::Hierarchy;

    #[test]
    fn v1_stats_from_every_controller() {
        let t = tempfile::tempdir().unwrap();
        let c = "berth/c1";
        tree(
            t.path(),
            &[
                (&format!("cpuacct/{c}/cgroup.procs"), "5\n"),
                (&format!("cpuacct/{c}/cpuacct.usage"), "3000000000\n"),
                (
                    &format!("cpuacct/{c}/cpuacct.usage_percpu"),
                    "1000000000 2000000000 \n",
                ),
                (
                    &format!("cpuacct/{c}/cpuacct.stat"),
                    "user 120\nsystem 30\n",
                ),
                (
                    &format!("cpu/{c}/cpu.stat"),
                    "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n",
                ),
                (&format!("memory/{c}/cgroup.procs"), "5\n"),
                (&format!("memory/{c}/memory.usage_in_bytes"), "1048576\n"),
                (
                    &format!("memory/{c}/memory.max_usage_in_bytes"),
                    "2097152\n",
                ),
                (&format!("memory/{c}/memory.failcnt"), "0\n"),
                (&format!("memory/{c}/memory.limit_in_bytes"), "67108864\n"),
                (
                    &format!("memory/{c}/memory.stat"),
                    "cache 4096\nrss 8192\nshmem 0\ntotal_inactive_file 4096\n",
                ),
                (&format!("pids/{c}/cgroup.procs"), "5\n"),
                (&format!("pids/{c}/pids.current"), "3\n"),
                (&format!("pids/{c}/pids.max"), "max\n"),
                (
                    &format!("blkio/{c}/blkio.io_service_bytes_recursive"),
                    "Total 0\n",
                ),
                (
                    &format!("blkio/{c}/blkio.throttle.io_service_bytes_recursive"),
                    "8:0 Read 4096\n8:0 Write 512\n8:0 Total 4608\nTotal 4608\n",
                ),
            ],
        );
        let s = Hierarchy::at(t.path()).cgroup("/berth/c1").stats().unwrap();
        assert_eq!(s.cpu.total, 3_000_000_000);
        assert_eq!(s.cpu.percpu, vec![1_000_000_000, 2_000_000_000]);
        assert_eq!((s.cpu.user, s.cpu.kernel), (1_200_000_000, 300_000_000));
        assert_eq!(
            (s.cpu.periods, s.cpu.throttled_periods, s.cpu.throttled_time),
            (10, 2, 5000)
        );
        assert_eq!(s.memory.usage, 1 << 20);
        assert_eq!(s.memory.max_usage, Some(2 << 20));
        assert_eq!(s.memory.limit, Some(64 << 20));
        assert_eq!(s.memory.stats["rss"], 8192);
        assert_eq!(s.memory.stats["total_inactive_file"], 4096);
        assert_eq!(
            s.memory.stats["hierarchical_memsw_limit"], 0,
            "every key dockerd has"
        );
        assert!(!s.memory.stats.contains_key("shmem"), "only dockerd's keys");
        assert_eq!(s.memory.stats.len(), V1_MEMORY_KEYS.len());
        assert_eq!(
            s.pids,
            PidsStats {
                current: 3,
                limit: None
            }
        );
        assert_eq!(
            s.io_service_bytes.len(),
            3,
            "the throttle file: the CFQ one is empty"
        );
        assert_eq!(
            s.io_service_bytes[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 4096
            }
        );
    }

    #[test]
    fn v2_stats_from_the_unified_directory() {
        let t = tempfile::tempdir().unwrap();
        let c = "berth/c2";
        tree(
            t.path(),
            &[
                ("cgroup.controllers", "cpu io memory pids\n"),
                (&format!("{c}/cgroup.procs"), "9\n"),
                (&format!("{c}/cpu.stat"), "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n"),
                (&format!("{c}/memory.current"), "4096000\n"),
                (&format!("{c}/memory.max"), "max\n"),
                (&format!("{c}/memory.events"), "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n"),
                (&format!("{c}/memory.stat"), "anon 1000\nfile 2000\ninactive_file 500\nzswap 9\n"),
                (&format!("{c}/pids.current"), "2\n"),
                (&format!("{c}/pids.max"), "20\n"),
                (&format!("{c}/io.stat"), "8:16 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=5 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n"),
            ],
        );
        let s = Hierarchy::at(t.path()).cgroup("berth/c2").stats().unwrap();
        assert_eq!(s.cpu.total, 2_500_000);
        assert!(s.cpu.percpu.is_empty());
        assert_eq!((s.cpu.user, s.cpu.kernel), (2_000_000, 500_000));
        assert_eq!(s.cpu.throttled_time, 7000);
        assert_eq!(s.memory.usage, 4_096_000);
        assert_eq!((s.memory.limit, s.memory.max_usage), (None, None));
        assert_eq!(s.memory.failcnt, 2);
        assert_eq!(s.memory.stats["inactive_file"], 500);
        assert_eq!(s.memory.stats["slab"], 0);
        assert!(!s.memory.stats.contains_key("zswap"));
        assert_eq!(
            s.pids,
            PidsStats {
                current: 2,
                limit: Some(20)
            }
        );
        let ops: Vec<_> = s
            .io_service_bytes
            .iter()
            .map(|e| (e.major, e.minor, e.op.as_str(), e.value))
            .collect();
        assert_eq!(
            ops,
            vec![
                (8, 16, "read", 100),
                (8, 16, "write", 200),
                (253, 0, "read", 5),
                (253, 0, "write", 0)
            ]
        );
    }

    #[test]
    fn a_missing_cgroup_is_not_found() {
        let t = tempfile::tempdir().unwrap();
        tree(t.path(), &[("cgroup.controllers", "")]);
        let r = Hierarchy::at(t.path()).cgroup("berth/gone").stats();
        assert!(matches!(r, Err(CgroupError::NotFound(_))));
    }
}
