//! `POST /containers/{id}/update`: new resource limits (and restart policy) for a
//! container, written into its cgroup when it runs and into its stored `HostConfig` (so
//! inspect shows them and the next start applies them).
//!
//! dockerd's order: its create-time checks on the request alone, then the merge rules of
//! `container.UpdateContainer` (only non-zero fields change; NanoCpus and a CFS
//! period/quota exclude each other; a memory limit above the stored swap limit needs a
//! new swap limit), then the live update with the request's values.

use berth_api::ApiError;
use berth_cgroups::Limits;
use berth_runtime::config::{Resources, RestartPolicy};
use berth_runtime::{HostConfig, LinuxHost};
use serde::Deserialize;
use serde_json::{json, Value};

use super::stats::container_cgroup;
use crate::engine::images::store_err;
use crate::engine::Engine;

/// Docker's `UpdateConfig`: `Resources` inline, plus `RestartPolicy`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateBody {
    #[serde(flatten)]
    pub resources: Resources,
    pub restart_policy: Option<RestartPolicy>,
}

/// The keys of `HostConfig` an update may change.
const UPDATABLE: &[&str] = &[
    "BlkioWeight",
    "CpuShares",
    "NanoCpus",
    "CpuPeriod",
    "CpuQuota",
    "CpusetCpus",
    "CpusetMems",
    "Memory",
    "MemorySwap",
    "MemoryReservation",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "PidsLimit",
];

impl Engine {
    pub async fn update_container(&self, name: &str, body: UpdateBody) -> Result<Value, ApiError> {
        let c = self.resolve_container(name)?;
        let r = &body.resources;
        check_request(r)?;
        if let Some(p) = &body.restart_policy {
            check_restart_policy(p)?;
        }
        let mut host: HostConfig = serde_json::from_str(&c.host_config)
            .map_err(|e| ApiError::internal(format!("stored host config: {e}")))?;
        merge(&mut host, &body)
            .map_err(|m| ApiError::conflict(format!("Cannot update container {}: {m}", c.id)))?;

        if self.container_state(&c).running {
            let cgroup = container_cgroup(&c);
            let limits = live_limits(r);
            tokio::task::spawn_blocking(move || cgroup.update(&limits))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?
                .map_err(|e| {
                    ApiError::internal(format!("Cannot update container {}: {e}", c.id))
                })?;
        }

        // Only the updatable keys of the stored JSON change: the rest stays byte for byte.
        let mut stored: Value = serde_json::from_str(&c.host_config).unwrap_or_else(|_| json!({}));
        let merged = serde_json::to_value(&host).map_err(|e| ApiError::internal(e.to_string()))?;
        for k in UPDATABLE.iter().chain(["RestartPolicy"].iter()) {
            stored[*k] = merged[*k].clone();
        }
        self.db()
            .set_container_host_config(&c.id, &stored.to_string())
            .map_err(store_err)?;
        self.container_event("update", &c, &[]);
        Ok(json!({"Warnings": []}))
    }
}

/// dockerd's `verifyPlatformContainerResources` on the request alone (as at create; a
/// swap limit without a memory limit is fine in an update: the stored memory limit holds).
fn check_request(r: &Resources) -> Result<(), ApiError> {
    let mut check = r.clone();
    if check.memory == 0 {
        check.memory_swap = 0;
    }
    berth_runtime::resources::linux_resources(&check, &LinuxHost)
        .map(drop)
        .map_err(|e| match e.kind() {
            berth_runtime::ErrorKind::Internal => ApiError::internal(e.to_string()),
            _ => ApiError::invalid(e.to_string()),
        })
}

/// dockerd's `validateRestartPolicy`.
fn check_restart_policy(p: &RestartPolicy) -> Result<(), ApiError> {
    match p.name.as_str() {
        "always" | "unless-stopped" | "no" if p.maximum_retry_count != 0 => {
            Err(ApiError::invalid(format!(
                "maximum retry count cannot be used with restart policy '{}'",
                p.name
            )))
        }
        "on-failure" if p.maximum_retry_count < 0 => {
            Err(ApiError::invalid("maximum retry count cannot be negative"))
        }
        "always" | "unless-stopped" | "no" | "on-failure" | "" => Ok(()),
        other => Err(ApiError::invalid(format!(
            "invalid restart policy '{other}'"
        ))),
    }
}

/// `container.UpdateContainer`: the request's non-zero fields over the stored ones.
fn merge(host: &mut HostConfig, body: &UpdateBody) -> Result<(), String> {
    let r = &body.resources;
    let cur = &mut host.resources;
    // dockerd stores a default swap limit of twice the memory at create
    // (`adaptContainerSettings`); a record without it means just that.
    if cur.memory > 0 && cur.memory_swap == 0 {
        cur.memory_swap = cur.memory * 2;
    }
    let nano_set = "has already been set";
    if r.nano_cpus > 0 && cur.cpu_period > 0 {
        return Err(format!(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs {nano_set}"
        ));
    }
    if r.nano_cpus > 0 && cur.cpu_quota > 0 {
        return Err(format!(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs {nano_set}"
        ));
    }
    if r.cpu_period > 0 && cur.nano_cpus > 0 {
        return Err(format!(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs {nano_set}"
        ));
    }
    if r.cpu_quota > 0 && cur.nano_cpus > 0 {
        return Err(format!(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs {nano_set}"
        ));
    }
    if r.memory != 0 && r.memory > cur.memory_swap && r.memory_swap == 0 {
        return Err("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time".into());
    }
    if let Some(p) = &body.restart_policy {
        if !p.name.is_empty() && host.auto_remove && p.name != "no" {
            return Err(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            );
        }
    }
    let cur = &mut host.resources;
    macro_rules! take_nonzero {
        ($($f:ident),*) => {$(
            take(&mut cur.$f, &r.$f);
        )*};
    }
    take_nonzero!(
        blkio_weight,
        cpu_shares,
        nano_cpus,
        cpu_period,
        cpu_quota,
        cpuset_cpus,
        cpuset_mems,
        memory,
        memory_swap,
        memory_reservation,
        cpu_realtime_period,
        cpu_realtime_runtime
    );
    if r.pids_limit.is_some() {
        cur.pids_limit = r.pids_limit;
    }
    if let Some(p) = body.restart_policy.as_ref().filter(|p| !p.name.is_empty()) {
        host.restart_policy = p.clone();
    }
    Ok(())
}

fn take<T: Default + PartialEq + Clone>(cur: &mut T, new: &T) {
    if *new != T::default() {
        *cur = new.clone();
    }
}

/// The request as the runtime gets it (dockerd's `toContainerdResources`, with runc's
/// "zero means unchanged"): `--cpus` becomes a quota over a 100 ms period; a pids limit
/// of 0 or less lifts the limit.
fn live_limits(r: &Resources) -> Limits {
    let nz = |v: i64| (v != 0).then_some(v);
    let (mut period, mut quota) = (None, None);
    if r.nano_cpus != 0 {
        period = Some(100_000u64);
        quota = Some(r.nano_cpus * 100_000 / 1_000_000_000);
    }
    quota = quota.or(nz(r.cpu_quota));
    period = period.or(nz(r.cpu_period).map(|p| p as u64));
    Limits {
        memory: nz(r.memory),
        memory_swap: (r.memory_swap > 0).then_some(r.memory_swap),
        memory_reservation: nz(r.memory_reservation),
        cpu_shares: nz(r.cpu_shares).map(|s| s.clamp(2, 262_144) as u64),
        cpu_quota: quota,
        cpu_period: period,
        cpuset_cpus: Some(r.cpuset_cpus.clone()).filter(|s| !s.is_empty()),
        cpuset_mems: Some(r.cpuset_mems.clone()).filter(|s| !s.is_empty()),
        pids: r.pids_limit.map(|n| if n <= 0 { -1 } else { n }),
        blkio_weight: (r.blkio_weight != 0).then_some(r.blkio_weight),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: i64 = 1 << 20;

    fn body(json: Value) -> UpdateBody {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn merges_only_what_is_set() {
        let mut host = HostConfig::default();
        host.resources.memory = 32 * MIB;
        host.resources.memory_swap = 64 * MIB;
        host.resources.cpu_shares = 512;
        merge(
            &mut host,
            &body(
                json!({"Memory": 64 * MIB, "PidsLimit": 20, "RestartPolicy": {"Name": "always"}}),
            ),
        )
        .unwrap();
        assert_eq!(host.resources.memory, 64 * MIB);
        assert_eq!(host.resources.memory_swap, 64 * MIB);
        assert_eq!(host.resources.cpu_shares, 512);
        assert_eq!(host.resources.pids_limit, Some(20));
        assert_eq!(host.restart_policy.name, "always");
    }

    #[test]
    fn a_record_without_swap_has_dockers_default_swap() {
        let mut host = HostConfig::default();
        host.resources.memory = 32 * MIB;
        merge(&mut host, &body(json!({"Memory": 64 * MIB}))).unwrap();
        assert_eq!(host.resources.memory_swap, 64 * MIB);
        // Without any memory limit, dockerd refuses a memory limit alone.
        let mut host = HostConfig::default();
        let e = merge(&mut host, &body(json!({"Memory": 64 * MIB}))).unwrap_err();
        assert!(e.starts_with("Memory limit should be smaller"), "{e}");
    }

    #[test]
    fn dockers_conflicts() {
        let mut host = HostConfig::default();
        host.resources.memory = 32 * MIB;
        host.resources.memory_swap = 64 * MIB;
        let e = merge(&mut host, &body(json!({"Memory": 100 * MIB}))).unwrap_err();
        assert!(e.starts_with("Memory limit should be smaller"), "{e}");
        merge(
            &mut host,
            &body(json!({"Memory": 100 * MIB, "MemorySwap": 200 * MIB})),
        )
        .unwrap();
        host.resources.nano_cpus = 1_000_000_000;
        let e = merge(&mut host, &body(json!({"CpuQuota": 50000}))).unwrap_err();
        assert_eq!(
            e,
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
        );
        host.auto_remove = true;
        let e = merge(
            &mut host,
            &body(json!({"RestartPolicy": {"Name": "always"}})),
        )
        .unwrap_err();
        assert!(e.contains("AutoRemove"));
    }

    #[test]
    fn request_checks_are_dockers() {
        let e = check_request(&body(json!({"Memory": MIB})).resources).unwrap_err();
        assert_eq!(e.message, "Minimum memory limit allowed is 6MB");
        assert_eq!(e.kind.status(), 400);
        let e = check_request(&body(json!({"Memory": 64 * MIB, "MemorySwap": 32 * MIB})).resources)
            .unwrap_err();
        assert!(e.message.starts_with("Minimum memoryswap limit"));
        // Swap alone is fine in an update.
        check_request(&body(json!({"MemorySwap": 64 * MIB})).resources).unwrap();
        let e = check_restart_policy(&RestartPolicy {
            name: "sometimes".into(),
            maximum_retry_count: 0,
        })
        .unwrap_err();
        assert_eq!(e.message, "invalid restart policy 'sometimes'");
    }

    #[test]
    fn live_limits_follow_containerd() {
        let l = live_limits(&body(json!({"NanoCpus": 1_500_000_000i64, "PidsLimit": 0})).resources);
        assert_eq!((l.cpu_quota, l.cpu_period), (Some(150_000), Some(100_000)));
        assert_eq!(l.pids, Some(-1));
        assert_eq!(l.memory, None);
        let l = live_limits(&body(json!({"Memory": 64 * MIB, "MemorySwap": -1})).resources);
        assert_eq!((l.memory, l.memory_swap), (Some(64 * MIB), None));
    }
}
