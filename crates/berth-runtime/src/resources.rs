//! Cgroup resource limits: memory, CPU, pids, block I/O (moby `daemon/oci_linux.go`
//! `WithResources` and the checks of `verifyPlatformContainerResources`).

use std::collections::BTreeSet;
use std::path::Path;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources, LinuxThrottleDevice,
    LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
};

use crate::config::{Resources, ThrottleDevice};
use crate::error::SpecError;
use crate::host::{HostDevice, HostFacts};

/// Docker's minimum memory limit and reservation (6 MiB).
const MIN_MEMORY: i64 = 6 * 1024 * 1024;
const MIN_CPU_SHARES: i64 = 2;
const MAX_CPU_SHARES: i64 = 262_144;
/// Docker's CFS period for `--cpus` (100 ms, in µs).
const NANO_CPUS_PERIOD: u64 = 100_000;

/// The limits of `r` as OCI resources (without device rules, which `devices` adds).
pub fn linux_resources(r: &Resources, host: &dyn HostFacts) -> Result<LinuxResources, SpecError> {
    let mut out = LinuxResources::default();
    out.set_memory(memory(r, host)?);
    out.set_cpu(cpu(r, host)?);
    out.set_pids(r.pids_limit.map(|n| {
        let mut p = LinuxPids::default();
        // 0 and negative values mean "unlimited" in Docker's API.
        p.set_limit(if n <= 0 { -1 } else { n });
        p
    }));
    out.set_block_io(block_io(r, host)?);
    Ok(out)
}

fn memory(r: &Resources, host: &dyn HostFacts) -> Result<Option<LinuxMemory>, SpecError> {
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return Err(SpecError::invalid("Minimum memory limit allowed is 6MB"));
    }
    let mut swap = r.memory_swap;
    if r.memory > 0 && swap == 0 {
        // Docker's default: as much swap as memory.
        swap = r.memory * 2;
    }
    if r.memory > 0 && swap > 0 && swap < r.memory {
        return Err(SpecError::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if r.memory == 0 && swap > 0 {
        return Err(SpecError::invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if let Some(s) = r.memory_swappiness {
        if !(-1..=100).contains(&s) {
            return Err(SpecError::invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            )));
        }
    }
    if r.memory_reservation > 0 && r.memory_reservation < MIN_MEMORY {
        return Err(SpecError::invalid(
            "Minimum memory reservation allowed is 6MB",
        ));
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return Err(SpecError::invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ));
    }

    let v2 = host.cgroup_v2();
    let mut m = LinuxMemory::default();
    m.set_limit((r.memory > 0).then_some(r.memory));
    m.set_reservation((r.memory_reservation > 0).then_some(r.memory_reservation));
    // -1 (unlimited swap) only means something next to a memory limit; without swap
    // accounting on the host Docker drops the swap limit (with a warning).
    let swap_ok = r.memory > 0 && host.swap_limit_supported();
    m.set_swap((swap_ok && (swap > 0 || swap == -1)).then_some(swap));
    // cgroup v2 has neither swappiness nor an OOM-killer switch; Docker ignores them there.
    m.set_swappiness(
        r.memory_swappiness
            .filter(|s| *s >= 0 && !v2)
            .map(|s| s as u64),
    );
    m.set_disable_oom_killer(r.oom_kill_disable.filter(|_| !v2));
    Ok((m != LinuxMemory::default()).then_some(m))
}

fn cpu(r: &Resources, host: &dyn HostFacts) -> Result<Option<LinuxCpu>, SpecError> {
    if r.nano_cpus > 0 && r.cpu_period > 0 {
        return Err(SpecError::invalid(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if r.nano_cpus > 0 && r.cpu_quota > 0 {
        return Err(SpecError::invalid(
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ));
    }
    let host_cpus_list = host.cpus();
    let host_cpus = parse_cpuset(&host_cpus_list)
        .map_err(|e| SpecError::Internal(format!("host CPU list {host_cpus_list:?}: {e}")))?;
    let ncpu = host_cpus.len().max(1) as i64;
    if r.nano_cpus < 0 || r.nano_cpus > ncpu * 1_000_000_000 {
        return Err(SpecError::invalid(format!(
            "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
        )));
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return Err(SpecError::invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return Err(SpecError::invalid(
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    check_cpuset(&r.cpuset_cpus, &host_cpus_list, &host_cpus, "cpus", "CPUs")?;
    let host_mems_list = host.mems();
    let host_mems = parse_cpuset(&host_mems_list)
        .map_err(|e| SpecError::Internal(format!("host memory nodes {host_mems_list:?}: {e}")))?;
    check_cpuset(
        &r.cpuset_mems,
        &host_mems_list,
        &host_mems,
        "mems",
        "memory nodes",
    )?;

    let mut c = LinuxCpu::default();
    if r.cpu_shares != 0 {
        c.set_shares(Some(
            r.cpu_shares.clamp(MIN_CPU_SHARES, MAX_CPU_SHARES) as u64
        ));
    }
    if r.nano_cpus > 0 {
        c.set_period(Some(NANO_CPUS_PERIOD));
        c.set_quota(Some(r.nano_cpus * NANO_CPUS_PERIOD as i64 / 1_000_000_000));
    }
    if r.cpu_period != 0 {
        c.set_period(Some(r.cpu_period as u64));
    }
    if r.cpu_quota != 0 {
        c.set_quota(Some(r.cpu_quota));
    }
    if r.cpu_realtime_period != 0 {
        c.set_realtime_period(Some(r.cpu_realtime_period as u64));
    }
    if r.cpu_realtime_runtime != 0 {
        c.set_realtime_runtime(Some(r.cpu_realtime_runtime));
    }
    c.set_cpus((!r.cpuset_cpus.is_empty()).then(|| r.cpuset_cpus.clone()));
    c.set_mems((!r.cpuset_mems.is_empty()).then(|| r.cpuset_mems.clone()));
    Ok((c != LinuxCpu::default()).then_some(c))
}

fn check_cpuset(
    requested: &str,
    available_list: &str,
    available: &BTreeSet<u32>,
    field: &str,
    what: &str,
) -> Result<(), SpecError> {
    let wanted = parse_cpuset(requested).map_err(|e| {
        SpecError::invalid(format!("Invalid value {requested} for cpuset {field}: {e}"))
    })?;
    if !wanted.is_subset(available) {
        return Err(SpecError::invalid(format!(
            "Requested {what} are not available - requested {requested}, available: {available_list}"
        )));
    }
    Ok(())
}

/// Parses cpuset list syntax (`0-3,6`); empty is the empty set.
pub(crate) fn parse_cpuset(s: &str) -> Result<BTreeSet<u32>, String> {
    let mut out = BTreeSet::new();
    if s.is_empty() {
        return Ok(out);
    }
    let invalid = || format!("invalid format: {s}");
    for part in s.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let lo: u32 = lo.parse().map_err(|_| invalid())?;
        let hi: u32 = hi.parse().map_err(|_| invalid())?;
        if hi < lo || hi - lo > 8192 {
            return Err(invalid());
        }
        out.extend(lo..=hi);
    }
    Ok(out)
}

fn block_io(r: &Resources, host: &dyn HostFacts) -> Result<Option<LinuxBlockIo>, SpecError> {
    let weight_ok = |w: u16| (10..=1000).contains(&w);
    if r.blkio_weight != 0 && !weight_ok(r.blkio_weight) {
        return Err(SpecError::invalid(
            "Range of blkio weight is from 10 to 1000",
        ));
    }
    let mut weight_devices = Vec::new();
    for wd in &r.blkio_weight_device {
        if !weight_ok(wd.weight) {
            return Err(SpecError::invalid(format!(
                "invalid weight for device: {}:{}",
                wd.path, wd.weight
            )));
        }
        let dev = block_device(&wd.path, host)?;
        weight_devices.push(
            LinuxWeightDeviceBuilder::default()
                .major(dev.major)
                .minor(dev.minor)
                .weight(wd.weight)
                .build()?,
        );
    }
    let mut b = LinuxBlockIo::default();
    b.set_weight((r.blkio_weight != 0).then_some(r.blkio_weight));
    b.set_weight_device(non_empty(weight_devices));
    b.set_throttle_read_bps_device(throttles(&r.blkio_device_read_bps, host)?);
    b.set_throttle_write_bps_device(throttles(&r.blkio_device_write_bps, host)?);
    b.set_throttle_read_iops_device(throttles(&r.blkio_device_read_iops, host)?);
    b.set_throttle_write_iops_device(throttles(&r.blkio_device_write_iops, host)?);
    Ok((b != LinuxBlockIo::default()).then_some(b))
}

fn throttles(
    list: &[ThrottleDevice],
    host: &dyn HostFacts,
) -> Result<Option<Vec<LinuxThrottleDevice>>, SpecError> {
    let mut out = Vec::new();
    for td in list {
        let dev = block_device(&td.path, host)?;
        out.push(
            LinuxThrottleDeviceBuilder::default()
                .major(dev.major)
                .minor(dev.minor)
                .rate(td.rate)
                .build()?,
        );
    }
    Ok(non_empty(out))
}

/// The device node at `path` itself (not the devices below a directory).
fn block_device(path: &str, host: &dyn HostFacts) -> Result<HostDevice, SpecError> {
    host.devices(Path::new(path))
        .map_err(|e| SpecError::NotFound(format!("error getting device {path}: {e}")))?
        .into_iter()
        .find(|d| d.path.as_os_str().is_empty())
        .ok_or_else(|| SpecError::invalid(format!("{path} is not a device node")))
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WeightDevice;
    use crate::host::FakeHost;

    const MIB: i64 = 1024 * 1024;

    fn build(r: Resources) -> Result<LinuxResources, SpecError> {
        linux_resources(&r, &FakeHost::default())
    }

    fn err(r: Resources) -> String {
        build(r).unwrap_err().to_string()
    }

    #[test]
    fn nothing_set_is_nothing() {
        let out = build(Resources::default()).unwrap();
        assert_eq!(out, LinuxResources::default());
    }

    #[test]
    fn memory_limits_and_default_swap() {
        let out = build(Resources {
            memory: 100 * MIB,
            memory_reservation: 50 * MIB,
            oom_kill_disable: Some(true),
            memory_swappiness: Some(10),
            ..Default::default()
        })
        .unwrap();
        let m = out.memory().unwrap();
        assert_eq!(m.limit(), Some(100 * MIB));
        assert_eq!(m.reservation(), Some(50 * MIB));
        assert_eq!(m.swap(), Some(200 * MIB));
        assert_eq!(m.disable_oom_killer(), Some(true));
        assert_eq!(m.swappiness(), Some(10));
    }

    #[test]
    fn unlimited_swap_and_v2_and_no_swap_accounting() {
        let r = Resources {
            memory: 100 * MIB,
            memory_swap: -1,
            oom_kill_disable: Some(true),
            memory_swappiness: Some(10),
            ..Default::default()
        };
        let m = build(r.clone()).unwrap().memory().unwrap();
        assert_eq!(m.swap(), Some(-1));
        let v2 = FakeHost {
            cgroup_v2: true,
            swap_limit: false,
            ..Default::default()
        };
        let m = linux_resources(&r, &v2).unwrap().memory().unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(100 * MIB), None));
        assert_eq!((m.swappiness(), m.disable_oom_killer()), (None, None));
        // -1 without a memory limit sets nothing.
        let out = build(Resources {
            memory_swap: -1,
            ..Default::default()
        })
        .unwrap();
        assert!(out.memory().is_none());
    }

    #[test]
    fn memory_errors_are_dockers() {
        assert_eq!(
            err(Resources {
                memory: 4 * MIB,
                ..Default::default()
            }),
            "Minimum memory limit allowed is 6MB"
        );
        assert_eq!(
            err(Resources {
                memory: 100 * MIB,
                memory_swap: 50 * MIB,
                ..Default::default()
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            err(Resources {
                memory_swap: 50 * MIB,
                ..Default::default()
            }),
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        );
        assert_eq!(
            err(Resources {
                memory_reservation: MIB,
                ..Default::default()
            }),
            "Minimum memory reservation allowed is 6MB"
        );
        assert_eq!(
            err(Resources {
                memory: 10 * MIB,
                memory_reservation: 20 * MIB,
                ..Default::default()
            }),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
        assert!(err(Resources {
            memory_swappiness: Some(101),
            ..Default::default()
        })
        .starts_with("Invalid value: 101"));
        let e = build(Resources {
            memory: 1,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn nano_cpus_to_quota_and_period() {
        let out = build(Resources {
            nano_cpus: 1_500_000_000,
            cpu_shares: 512,
            cpuset_cpus: "0,2-3".into(),
            cpuset_mems: "0".into(),
            ..Default::default()
        })
        .unwrap();
        let c = out.cpu().as_ref().unwrap();
        assert_eq!((c.quota(), c.period()), (Some(150_000), Some(100_000)));
        assert_eq!(c.shares(), Some(512));
        assert_eq!(c.cpus().as_deref(), Some("0,2-3"));
        assert_eq!(c.mems().as_deref(), Some("0"));
    }

    #[test]
    fn cpu_errors_are_dockers() {
        assert_eq!(
            err(Resources {
                nano_cpus: 5_000_000_000,
                ..Default::default()
            }),
            "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"
        );
        assert!(err(Resources {
            nano_cpus: 1,
            cpu_quota: 5000,
            ..Default::default()
        })
        .contains("Nano CPUs and CPU Quota"));
        assert!(err(Resources {
            cpu_period: 10,
            ..Default::default()
        })
        .starts_with("CPU cfs period"));
        assert!(err(Resources {
            cpu_quota: 10,
            ..Default::default()
        })
        .starts_with("CPU cfs quota"));
        assert_eq!(
            err(Resources {
                cpuset_cpus: "2-7".into(),
                ..Default::default()
            }),
            "Requested CPUs are not available - requested 2-7, available: 0-3"
        );
        assert_eq!(
            err(Resources {
                cpuset_mems: "1".into(),
                ..Default::default()
            }),
            "Requested memory nodes are not available - requested 1, available: 0"
        );
        assert!(err(Resources {
            cpuset_cpus: "a-b".into(),
            ..Default::default()
        })
        .starts_with("Invalid value a-b for cpuset cpus"));
    }

    #[test]
    fn cpu_shares_are_clamped() {
        let shares = |n| {
            build(Resources {
                cpu_shares: n,
                ..Default::default()
            })
            .unwrap()
            .cpu()
            .as_ref()
            .unwrap()
            .shares()
        };
        assert_eq!(shares(-5), Some(2));
        assert_eq!(shares(1), Some(2));
        assert_eq!(shares(1_000_000), Some(262_144));
    }

    #[test]
    fn pids_limits() {
        let pids = |n| {
            build(Resources {
                pids_limit: n,
                ..Default::default()
            })
            .unwrap()
            .pids()
            .map(|p| p.limit())
        };
        assert_eq!(pids(None), None);
        assert_eq!(pids(Some(0)), Some(-1));
        assert_eq!(pids(Some(-1)), Some(-1));
        assert_eq!(pids(Some(100)), Some(100));
    }

    #[test]
    fn blkio() {
        let out = build(Resources {
            blkio_weight: 300,
            blkio_weight_device: vec![WeightDevice {
                path: "/dev/sda".into(),
                weight: 200,
            }],
            blkio_device_read_bps: vec![ThrottleDevice {
                path: "/dev/sda".into(),
                rate: 1024,
            }],
            ..Default::default()
        })
        .unwrap();
        let b = out.block_io().as_ref().unwrap();
        assert_eq!(b.weight(), Some(300));
        let wd = &b.weight_device().as_ref().unwrap()[0];
        assert_eq!((wd.major(), wd.minor(), wd.weight()), (8, 0, Some(200)));
        let t = &b.throttle_read_bps_device().as_ref().unwrap()[0];
        assert_eq!((t.major(), t.rate()), (8, 1024));
        assert_eq!(
            err(Resources {
                blkio_weight: 5,
                ..Default::default()
            }),
            "Range of blkio weight is from 10 to 1000"
        );
        let e = build(Resources {
            blkio_device_write_iops: vec![ThrottleDevice {
                path: "/dev/nope".into(),
                rate: 1,
            }],
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
    }

    #[test]
    fn cpuset_syntax() {
        assert_eq!(
            parse_cpuset("0-2,5")
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            vec![0, 1, 2, 5]
        );
        assert!(parse_cpuset("").unwrap().is_empty());
        assert!(parse_cpuset("3-1").is_err());
        assert!(parse_cpuset("1,,2").is_err());
    }
}
