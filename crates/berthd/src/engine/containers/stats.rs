//! `GET /containers/{id}/stats`: Docker's stats JSON from the container's cgroup
//! (`berth-cgroups`), `/proc/stat` and the `net/dev` of the container's init process.
//!
//! Like dockerd: a sample per second; `precpu_stats`/`preread` are the previous sample's.
//! `stream=0` waits for a second sample so the CPU percentage has a base (unless
//! `one-shot=1`, which answers at once with an empty `precpu_stats`); a container that is
//! not running gives the all-zero document with only its name and ID.

use std::sync::Arc;
use std::time::Duration;

use berth_api::ApiError;
use berth_cgroups::{Cgroup, Hierarchy};
use berth_runtime::HostConfig;
use berth_store::ContainerRecord;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::engine::Engine;

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
const INTERVAL: Duration = Duration::from_secs(1);

/// The container's cgroup on this host: `<cgroup-parent>/<id>`, else `/berth/<id>` (the
/// path `start` gives the runtime).
pub(super) fn container_cgroup(c: &ContainerRecord) -> Cgroup {
    let host: HostConfig = serde_json::from_str(&c.host_config).unwrap_or_default();
    Hierarchy::host().cgroup(&cgroup_path(&c.id, &host))
}

/// The container's cgroup path: `/berth/<id>`, or `<cgroup-parent>/<id>`.
pub(super) fn cgroup_path(id: &str, host: &HostConfig) -> String {
    let parent = host.resources.cgroup_parent.trim_end_matches('/');
    if parent.is_empty() {
        format!("/berth/{id}")
    } else {
        format!("{parent}/{id}")
    }
}

impl Engine {
    /// The stats documents, one per line of the response; the channel closes at the end.
    pub fn container_stats(
        self: &Arc<Self>,
        name: &str,
        stream: bool,
        one_shot: bool,
    ) -> Result<mpsc::Receiver<Value>, ApiError> {
        if stream && one_shot {
            return Err(ApiError::invalid(
                "cannot have stream=true and one-shot=true",
            ));
        }
        let c = self.resolve_container(name)?;
        let (tx, rx) = mpsc::channel(4);
        let engine = self.clone();
        tokio::spawn(async move {
            let mut shutdown = engine.shutdown_signal();
            let running = engine.container_state(&c).running;
            if !running && !stream {
                let _ = tx.send(empty_stats(&c)).await;
                return;
            }
            if one_shot {
                let _ = tx.send(engine.stats_sample(&c.id, None).await).await;
                return;
            }
            let mut previous: Option<Value> = None;
            let mut ticker = tokio::time::interval(INTERVAL);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = tx.closed() => return,
                    _ = crate::engine::stopped(&mut shutdown) => return,
                }
                // A removed container ends the stream.
                let Ok(now) = engine.resolve_container(&c.id) else {
                    return;
                };
                let sample = engine.stats_sample(&now.id, previous.as_ref()).await;
                let first = previous.is_none();
                previous = Some(sample.clone());
                if !stream && first {
                    // Prime precpu_stats so the CPU percentage is not 0.
                    continue;
                }
                if tx.send(sample).await.is_err() || !stream {
                    return;
                }
            }
        });
        Ok(rx)
    }

    /// One sample; `previous` fills `precpu_stats` and `preread`.
    async fn stats_sample(&self, id: &str, previous: Option<&Value>) -> Value {
        let Ok(c) = self.resolve_container(id) else {
            return Value::Null;
        };
        let st = self.container_state(&c);
        let mut doc = empty_stats(&c);
        if !st.running {
            return doc;
        }
        let cgroup = container_cgroup(&c);
        let pid = u32::try_from(st.pid).unwrap_or(0);
        let machine_memory = u64::try_from(self.host.mem_total).unwrap_or(0);
        let sample = tokio::task::spawn_blocking(move || {
            let stats = cgroup.stats().ok()?;
            let system = berth_cgroups::procfs::system_cpu_usage("/proc".as_ref()).ok();
            let networks = container_networks(pid);
            Some((stats, system, networks))
        })
        .await
        .ok()
        .flatten();
        let Some((s, system, networks)) = sample else {
            return doc;
        };
        doc["read"] = json!(now_rfc3339_nano());
        let mut pids = Map::new();
        if s.pids.current > 0 {
            pids.insert("current".into(), json!(s.pids.current));
        }
        if let Some(l) = s.pids.limit.filter(|l| *l > 0) {
            pids.insert("limit".into(), json!(l));
        }
        doc["pids_stats"] = Value::Object(pids);
        if !s.io_service_bytes.is_empty() {
            doc["blkio_stats"]["io_service_bytes_recursive"] = s
                .io_service_bytes
                .iter()
                .map(|e| json!({"major": e.major, "minor": e.minor, "op": e.op, "value": e.value}))
                .collect();
        }
        let mut cpu = json!({
            "cpu_usage": {
                "total_usage": s.cpu.total,
                "usage_in_kernelmode": s.cpu.kernel,
                "usage_in_usermode": s.cpu.user,
            },
            "throttling_data": {
                "periods": s.cpu.periods,
                "throttled_periods": s.cpu.throttled_periods,
                "throttled_time": s.cpu.throttled_time,
            },
        });
        if !s.cpu.percpu.is_empty() {
            cpu["cpu_usage"]["percpu_usage"] = json!(s.cpu.percpu);
        }
        if let Some((usage, online)) = system {
            cpu["system_cpu_usage"] = json!(usage);
            if online > 0 {
                cpu["online_cpus"] = json!(online);
            }
        }
        doc["cpu_stats"] = cpu;
        let mut mem = Map::new();
        let mut put = |k: &str, v: u64| {
            if v > 0 {
                mem.insert(k.into(), json!(v));
            }
        };
        put("usage", s.memory.usage);
        put("max_usage", s.memory.max_usage.unwrap_or(0));
        put("failcnt", s.memory.failcnt);
        // No limit (or v1's "unlimited" huge number): the machine's memory, as dockerd.
        let limit = match s.memory.limit {
            Some(l) if machine_memory == 0 || l <= machine_memory => l,
            _ => machine_memory,
        };
        put("limit", limit);
        mem.insert("stats".into(), json!(s.memory.stats));
        doc["memory_stats"] = Value::Object(mem);
        if !networks.is_null() {
            doc["networks"] = networks;
        }
        if let Some(p) = previous {
            doc["precpu_stats"] = p["cpu_stats"].clone();
            doc["preread"] = p["read"].clone();
        }
        doc
    }
}

/// The counters of the container's interfaces but `lo`; nothing when it shares the
/// host's network namespace (like dockerd, which reports only its own sandbox's links).
fn container_networks(pid: u32) -> Value {
    if pid == 0 {
        return Value::Null;
    }
    let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/net")).ok();
    let own = ns(&pid.to_string());
    if own.is_none() || own == ns("self") {
        return Value::Null;
    }
    match berth_cgroups::procfs::net_dev("/proc".as_ref(), pid) {
        Ok(m) if !m.is_empty() => m
            .into_iter()
            .map(|(name, n)| {
                (
                    name,
                    json!({
                        "rx_bytes": n.rx_bytes,
                        "rx_packets": n.rx_packets,
                        "rx_errors": n.rx_errors,
                        "rx_dropped": n.rx_dropped,
                        "tx_bytes": n.tx_bytes,
                        "tx_packets": n.tx_packets,
                        "tx_errors": n.tx_errors,
                        "tx_dropped": n.tx_dropped,
                    }),
                )
            })
            .collect::<Map<_, _>>()
            .into(),
        _ => Value::Null,
    }
}

/// dockerd's zero `StatsJSON` with only the name and ID set.
fn empty_stats(c: &ContainerRecord) -> Value {
    let cpu = json!({
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    });
    json!({
        "read": ZERO_TIME,
        "preread": ZERO_TIME,
        "pids_stats": {},
        "blkio_stats": {
            "io_service_bytes_recursive": null,
            "io_serviced_recursive": null,
            "io_queue_recursive": null,
            "io_service_time_recursive": null,
            "io_wait_time_recursive": null,
            "io_merged_recursive": null,
            "io_time_recursive": null,
            "sectors_recursive": null,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu,
        "precpu_stats": cpu,
        "memory_stats": {},
        "name": format!("/{}", c.name),
        "id": c.id,
    })
}

fn now_rfc3339_nano() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
