//! `HostConfig` and its inline `Resources`, in Docker's field names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::mount::{DeviceMapping, Mount};
use crate::serde_util::{null_default, strslice};

/// Docker's `HostConfig`. Unknown fields are kept in `extra` so that a stored config
/// round-trips through inspect unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    #[serde(deserialize_with = "null_default")]
    pub binds: Vec<String>,
    #[serde(rename = "ContainerIDFile", deserialize_with = "null_default")]
    pub container_id_file: String,
    #[serde(deserialize_with = "null_default")]
    pub log_config: LogConfig,
    #[serde(deserialize_with = "null_default")]
    pub network_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub port_bindings: BTreeMap<String, Option<Vec<PortBinding>>>,
    #[serde(deserialize_with = "null_default")]
    pub restart_policy: RestartPolicy,
    #[serde(deserialize_with = "null_default")]
    pub auto_remove: bool,
    #[serde(deserialize_with = "null_default")]
    pub volume_driver: String,
    #[serde(deserialize_with = "null_default")]
    pub volumes_from: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub mounts: Vec<Mount>,
    /// `[height, width]` of the TTY at create time.
    pub console_size: Option<Vec<u64>>,
    #[serde(deserialize_with = "null_default")]
    pub annotations: BTreeMap<String, String>,
    #[serde(deserialize_with = "strslice")]
    pub cap_add: Option<Vec<String>>,
    #[serde(deserialize_with = "strslice")]
    pub cap_drop: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub cgroupns_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub dns: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub dns_options: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub dns_search: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub extra_hosts: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub group_add: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub ipc_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub cgroup: String,
    #[serde(deserialize_with = "null_default")]
    pub links: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub oom_score_adj: i64,
    #[serde(deserialize_with = "null_default")]
    pub pid_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub privileged: bool,
    #[serde(deserialize_with = "null_default")]
    pub publish_all_ports: bool,
    #[serde(deserialize_with = "null_default")]
    pub readonly_rootfs: bool,
    #[serde(deserialize_with = "null_default")]
    pub security_opt: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub storage_opt: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub tmpfs: BTreeMap<String, String>,
    #[serde(rename = "UTSMode", deserialize_with = "null_default")]
    pub uts_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub userns_mode: String,
    #[serde(deserialize_with = "null_default")]
    pub shm_size: i64,
    #[serde(deserialize_with = "null_default")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub runtime: String,
    #[serde(deserialize_with = "null_default")]
    pub isolation: String,
    /// `None`: Docker's defaults; `Some([])`: nothing masked (`systempaths=unconfined`).
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    #[serde(flatten)]
    pub resources: Resources,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Docker's `Resources`, inline in `HostConfig` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Resources {
    #[serde(deserialize_with = "null_default")]
    pub cpu_shares: i64,
    #[serde(deserialize_with = "null_default")]
    pub memory: i64,
    #[serde(deserialize_with = "null_default")]
    pub cgroup_parent: String,
    #[serde(deserialize_with = "null_default")]
    pub blkio_weight: u16,
    #[serde(deserialize_with = "null_default")]
    pub blkio_weight_device: Vec<WeightDevice>,
    #[serde(deserialize_with = "null_default")]
    pub blkio_device_read_bps: Vec<ThrottleDevice>,
    #[serde(deserialize_with = "null_default")]
    pub blkio_device_write_bps: Vec<ThrottleDevice>,
    #[serde(rename = "BlkioDeviceReadIOps", deserialize_with = "null_default")]
    pub blkio_device_read_iops: Vec<ThrottleDevice>,
    #[serde(rename = "BlkioDeviceWriteIOps", deserialize_with = "null_default")]
    pub blkio_device_write_iops: Vec<ThrottleDevice>,
    #[serde(deserialize_with = "null_default")]
    pub cpu_period: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpu_quota: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpu_realtime_period: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpu_realtime_runtime: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpuset_cpus: String,
    #[serde(deserialize_with = "null_default")]
    pub cpuset_mems: String,
    #[serde(deserialize_with = "null_default")]
    pub devices: Vec<DeviceMapping>,
    #[serde(deserialize_with = "null_default")]
    pub device_cgroup_rules: Vec<String>,
    /// GPU requests; not supported by this runtime, kept for inspect.
    #[serde(deserialize_with = "null_default")]
    pub device_requests: Vec<serde_json::Value>,
    #[serde(rename = "KernelMemoryTCP", deserialize_with = "null_default")]
    pub kernel_memory_tcp: i64,
    #[serde(deserialize_with = "null_default")]
    pub memory_reservation: i64,
    #[serde(deserialize_with = "null_default")]
    pub memory_swap: i64,
    pub memory_swappiness: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub nano_cpus: i64,
    pub oom_kill_disable: Option<bool>,
    pub init: Option<bool>,
    pub pids_limit: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub ulimits: Vec<Ulimit>,
    #[serde(deserialize_with = "null_default")]
    pub cpu_count: i64,
    #[serde(deserialize_with = "null_default")]
    pub cpu_percent: i64,
    #[serde(rename = "IOMaximumIOps", deserialize_with = "null_default")]
    pub io_maximum_iops: u64,
    #[serde(rename = "IOMaximumBandwidth", deserialize_with = "null_default")]
    pub io_maximum_bandwidth: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
    #[serde(deserialize_with = "null_default")]
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub maximum_retry_count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    #[serde(deserialize_with = "null_default")]
    pub host_ip: String,
    #[serde(deserialize_with = "null_default")]
    pub host_port: String,
}

/// `--ulimit name=soft:hard`; -1 means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub soft: i64,
    #[serde(deserialize_with = "null_default")]
    pub hard: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WeightDevice {
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    #[serde(deserialize_with = "null_default")]
    pub weight: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ThrottleDevice {
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    #[serde(deserialize_with = "null_default")]
    pub rate: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_inline_and_unknown_fields_kept() {
        let body = r#"{
            "Binds": ["/tmp:/x:ro"], "Memory": 1048576000, "MemorySwap": -1,
            "PidsLimit": null, "OomKillDisable": null, "UTSMode": "host",
            "BlkioDeviceReadIOps": [{"Path": "/dev/sda", "Rate": 10}],
            "CapAdd": "NET_ADMIN", "MaskedPaths": [], "SomethingNew": {"a": 1},
            "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
            "Tmpfs": {"/run": "size=1m"}, "PortBindings": {"80/tcp": null}
        }"#;
        let h: HostConfig = serde_json::from_str(body).unwrap();
        assert_eq!(h.binds, vec!["/tmp:/x:ro"]);
        assert_eq!(h.resources.memory, 1048576000);
        assert_eq!(h.resources.memory_swap, -1);
        assert_eq!(h.resources.pids_limit, None);
        assert_eq!(h.uts_mode, "host");
        assert_eq!(h.resources.blkio_device_read_iops[0].rate, 10);
        assert_eq!(h.cap_add, Some(vec!["NET_ADMIN".to_string()]));
        assert_eq!(h.masked_paths, Some(vec![]));
        assert_eq!(h.readonly_paths, None);
        assert_eq!(h.resources.ulimits[0].hard, 2048);
        assert_eq!(h.tmpfs["/run"], "size=1m");
        assert_eq!(h.extra.len(), 1, "only the unknown field: {:?}", h.extra);
        assert_eq!(h.extra["SomethingNew"]["a"], 1);

        let again: HostConfig = serde_json::from_value(serde_json::to_value(&h).unwrap()).unwrap();
        assert_eq!(again, h);
    }
}
