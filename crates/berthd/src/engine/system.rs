//! `/version` and `/info`: what the daemon says about itself and the host.

use std::collections::HashMap;

use berth_api::models::{
    IndexInfo, LocalNodeState, PluginsInfo, RegistryServiceConfig, Runtime, SwarmInfo, SystemInfo,
    SystemVersion, SystemVersionComponents, SystemVersionPlatform,
};
use berth_api::{MAX_API_VERSION, MIN_API_VERSION};

use super::Engine;
use crate::host::{backing_fs, go_arch};

/// berth's version, as `/version` and `docker version` show it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit berthd was built from (set by CI; "unknown" in a plain build).
pub const GIT_COMMIT: &str = match option_env!("BERTH_GIT_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

impl Engine {
    pub fn version(&self) -> SystemVersion {
        let arch = go_arch(&self.host.arch).to_string();
        let details = HashMap::from([
            ("ApiVersion".to_string(), MAX_API_VERSION.to_string()),
            ("MinAPIVersion".to_string(), MIN_API_VERSION.to_string()),
            ("GitCommit".to_string(), GIT_COMMIT.to_string()),
            ("GoVersion".to_string(), "rust".to_string()),
            ("Os".to_string(), "linux".to_string()),
            ("Arch".to_string(), arch.clone()),
            ("KernelVersion".to_string(), self.host.kernel.clone()),
            ("Experimental".to_string(), "false".to_string()),
        ]);
        SystemVersion {
            platform: Some(SystemVersionPlatform {
                name: "berth".to_string(),
            }),
            components: Some(vec![SystemVersionComponents {
                name: "Engine".to_string(),
                version: VERSION.to_string(),
                details: Some(details),
            }]),
            version: Some(VERSION.to_string()),
            api_version: Some(MAX_API_VERSION.to_string()),
            min_api_version: Some(MIN_API_VERSION.to_string()),
            git_commit: Some(GIT_COMMIT.to_string()),
            go_version: Some("rust".to_string()),
            os: Some("linux".to_string()),
            arch: Some(arch),
            kernel_version: Some(self.host.kernel.clone()),
            experimental: None,
            build_time: None,
        }
    }

    pub fn info(&self) -> SystemInfo {
        let config = self.config();
        let root = self.root.path();
        let cgroup_v1 = !matches!(self.host.cgroups, crate::host::CgroupLayout::V2);
        let swap_limit = if cgroup_v1 {
            std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
        } else {
            true
        };
        let mut warnings = Vec::new();
        if !swap_limit {
            warnings.push("WARNING: No swap limit support".to_string());
        }
        if config.tls.is_none() {
            for l in config.listeners.iter().filter(|l| l.is_tcp()) {
                warnings.push(format!(
                    "WARNING: API is accessible on {l} without encryption.\n         Access to the remote API is equivalent to root access on the host."
                ));
            }
        }
        let ip_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .map(|s| s.trim() == "1")
            .unwrap_or(false);
        let nfd = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count() as i64)
            .unwrap_or(0);
        let threads = std::fs::read_dir("/proc/self/task")
            .map(|d| d.count() as i64)
            .unwrap_or(0);
        let env = |k: &str| {
            std::env::var(k)
                .or_else(|_| std::env::var(k.to_lowercase()))
                .unwrap_or_default()
        };
        let (mut running, mut paused, mut stopped) = (0, 0, 0);
        for c in self.db().containers().unwrap_or_default() {
            let st = self.container_state(&c);
            if st.paused {
                paused += 1;
            } else if st.running {
                running += 1;
            } else {
                stopped += 1;
            }
        }
        SystemInfo {
            id: Some(self.id.clone()),
            containers: Some(running + paused + stopped),
            containers_running: Some(running),
            containers_paused: Some(paused),
            containers_stopped: Some(stopped),
            images: Some(self.db().images().map(|i| i.len() as i64).unwrap_or(0)),
            driver: Some("overlay2".to_string()),
            driver_status: Some(vec![
                vec!["Backing Filesystem".to_string(), backing_fs(root)],
                vec!["Supports d_type".to_string(), "true".to_string()],
            ]),
            docker_root_dir: Some(root.display().to_string()),
            plugins: Some(PluginsInfo {
                volume: Some(vec!["local".to_string()]),
                network: Some(vec![]),
                authorization: None,
                log: Some(vec![]),
            }),
            memory_limit: Some(true),
            swap_limit: Some(swap_limit),
            cpu_cfs_period: Some(true),
            cpu_cfs_quota: Some(true),
            cpu_shares: Some(true),
            cpu_set: Some(true),
            pids_limit: Some(true),
            oom_kill_disable: Some(cgroup_v1),
            ipv4_forwarding: Some(ip_forward),
            debug: Some(config.log_level == "debug"),
            nfd: Some(nfd),
            n_goroutines: Some(threads),
            system_time: Some(
                time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            ),
            logging_driver: Some("json-file".to_string()),
            cgroup_driver: Some(berth_api::models::SystemInfoCgroupDriverEnum::CGROUPFS),
            cgroup_version: Some(if cgroup_v1 {
                berth_api::models::SystemInfoCgroupVersionEnum::_1
            } else {
                berth_api::models::SystemInfoCgroupVersionEnum::_2
            }),
            n_events_listener: Some(self.events.listeners() as i64),
            kernel_version: Some(self.host.kernel.clone()),
            operating_system: Some(self.host.os_name.clone()),
            os_version: Some(self.host.os_version.clone()),
            os_type: Some("linux".to_string()),
            architecture: Some(self.host.arch.clone()),
            ncpu: Some(self.host.ncpu),
            mem_total: Some(self.host.mem_total),
            index_server_address: Some("https://index.docker.io/v1/".to_string()),
            registry_config: Some(registry_service_config(&config.registry)),
            http_proxy: Some(env("HTTP_PROXY")),
            https_proxy: Some(env("HTTPS_PROXY")),
            no_proxy: Some(env("NO_PROXY")),
            name: Some(self.host.hostname.clone()),
            labels: Some(config.labels.clone()),
            experimental_build: Some(false),
            server_version: Some(VERSION.to_string()),
            swarm: Some(SwarmInfo {
                node_id: Some(String::new()),
                node_addr: Some(String::new()),
                local_node_state: Some(LocalNodeState::INACTIVE),
                control_available: Some(false),
                error: Some(String::new()),
                ..Default::default()
            }),
            live_restore_enabled: Some(false),
            isolation: None,
            security_options: Some(vec!["name=seccomp,profile=builtin".to_string()]),
            // runtime hook: berth's own runtime (libcontainer in berth-shim), the default, and
            // runc when berthd has one.
            runtimes: Some(runtimes(config.runc_path.as_deref())),
            default_runtime: Some(super::containers::DEFAULT_RUNTIME.to_string()),
            warnings: Some(warnings),
            ..Default::default()
        }
    }
}

// runtime hook
/// `/info`'s `Runtimes`, dockerd's shape: `{"berth": {"path": "berth-shim"}, "runc": {"path": "runc"}}`.
fn runtimes(runc: Option<&std::path::Path>) -> HashMap<String, Runtime> {
    let entry = |path: String| Runtime {
        path: Some(path),
        ..Default::default()
    };
    let mut m = HashMap::from([(
        super::containers::DEFAULT_RUNTIME.to_string(),
        entry("berth-shim".to_string()),
    )]);
    if let Some(p) = runc {
        m.insert("runc".to_string(), entry(p.display().to_string()));
    }
    m
}

/// `/info`'s `RegistryConfig`: insecure networks, Docker Hub (with its mirrors) and each
/// registry made insecure by name, as dockerd shows them.
fn registry_service_config(reg: &berth_registry::RegistryConfig) -> RegistryServiceConfig {
    let mut index = HashMap::from([(
        "docker.io".to_string(),
        IndexInfo {
            name: Some("docker.io".to_string()),
            mirrors: Some(reg.mirrors().to_vec()),
            secure: Some(true),
            official: Some(true),
        },
    )]);
    for host in reg.insecure_hosts() {
        index.insert(
            host.clone(),
            IndexInfo {
                name: Some(host.clone()),
                mirrors: Some(vec![]),
                secure: Some(false),
                official: Some(false),
            },
        );
    }
    RegistryServiceConfig {
        insecure_registry_cidrs: Some(reg.insecure_cidrs()),
        index_configs: Some(index),
        mirrors: Some(reg.mirrors().to_vec()),
    }
}
