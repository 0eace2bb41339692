//! The `/proc` side of `docker stats`: the host's CPU time (`system_cpu_usage`, the
//! denominator of the CPU percentage) and a container's network counters, read from the
//! `net/dev` of a process in its network namespace. Functions take the proc root so tests
//! can use fixtures.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{CgroupError, Result};
use crate::fs::read;

/// USER_HZ, the unit of `/proc/stat`.
const CLOCK_TICKS: u64 = 100;

/// The host's CPU time in nanoseconds (the sum of the first seven fields of the `cpu`
/// line of `/proc/stat`, as dockerd computes it) and the number of online CPUs (its
/// `cpuN` lines).
pub fn system_cpu_usage(proc_root: &Path) -> Result<(u64, u32)> {
    let path = proc_root.join("stat");
    let text = read(&path)?;
    let mut total = None;
    let mut cpus = 0u32;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("cpu") => {
                let ticks: Vec<u64> = f.take(7).filter_map(|n| n.parse().ok()).collect();
                if ticks.len() < 7 {
                    return Err(CgroupError::Parse {
                        path,
                        content: line.into(),
                    });
                }
                total = Some(ticks.iter().sum::<u64>() * (1_000_000_000 / CLOCK_TICKS));
            }
            Some(name) if name.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    let total = total.ok_or_else(|| CgroupError::Parse {
        path,
        content: "no cpu line".into(),
    })?;
    Ok((total, cpus))
}

/// One interface's counters (Docker's `NetworkStats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// The interfaces of `pid`'s network namespace except `lo`, by name.
pub fn net_dev(proc_root: &Path, pid: u32) -> Result<BTreeMap<String, NetStats>> {
    let path = proc_root.join(pid.to_string()).join("net/dev");
    Ok(parse_net_dev(&read(&path)?))
}

pub(crate) fn parse_net_dev(text: &str) -> BTreeMap<String, NetStats> {
    // Two header lines, then `  eth0: rx_bytes rx_packets errs drop fifo frame compressed
    // multicast tx_bytes tx_packets errs drop ...`.
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let name = name.trim();
            if name == "lo" {
                return None;
            }
            let n: Vec<u64> = rest
                .split_whitespace()
                .map(|v| v.parse().unwrap_or(0))
                .collect();
            if n.len() < 12 {
                return None;
            }
            Some((
                name.to_string(),
                NetStats {
                    rx_bytes: n[0],
                    rx_packets: n[1],
                    rx_errors: n[2],
                    rx_dropped: n[3],
                    tx_bytes: n[8],
                    tx_packets: n[9],
                    tx_errors: n[10],
                    tx_dropped: n[11],
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::tree;

    #[test]
    fn system_usage_in_nanoseconds_and_online_cpus() {
        let t = tempfile::tempdir().unwrap();
        tree(
            t.path(),
            &[(
                "stat",
                "cpu  100 2 30 400 5 6 7 8 0 0\ncpu0 50 1 15 200 2 3 4 4 0 0\ncpu1 50 1 15 200 3 3 3 4 0 0\nintr 1 2\nctxt 99\n",
            )],
        );
        let (ns, cpus) = system_cpu_usage(t.path()).unwrap();
        // 100+2+30+400+5+6+7 ticks (steal and guests are not counted) at 10 ms each.
        assert_eq!(ns, 550 * 10_000_000);
        assert_eq!(cpus, 2);
        assert!(system_cpu_usage(&t.path().join("nope")).is_err());
    }

    #[test]
    fn net_dev_skips_loopback() {
        let t = tempfile::tempdir().unwrap();
        tree(
            t.path(),
            &[(
                "42/net/dev",
                "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  eth0:    1500      10    1    2    0     0          0         0      700       5    3    4    0     0       0          0\n",
            )],
        );
        let m = net_dev(t.path(), 42).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            m["eth0"],
            NetStats {
                rx_bytes: 1500,
                rx_packets: 10,
                rx_errors: 1,
                rx_dropped: 2,
                tx_bytes: 700,
                tx_packets: 5,
                tx_errors: 3,
                tx_dropped: 4,
            }
        );
    }
}
