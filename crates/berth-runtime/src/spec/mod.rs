//! `build_spec`: one container's Docker options → its OCI runtime spec (moby
//! `daemon/oci_linux.go` `createSpec`).

mod paths;

use std::path::PathBuf;

use oci_spec::runtime::{
    Box as ConsoleBox, BoxBuilder, Linux, LinuxResources, Process, Root, Spec, User, VERSION,
};

pub use paths::{DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS};

use crate::caps::{container_caps, linux_capabilities};
use crate::config::{merge_image_config, ContainerConfig, HostConfig, ImageRuntimeConfig};
use crate::devices::device_setup;
use crate::error::SpecError;
use crate::host::HostFacts;
use crate::mounts::{mount_plan, MountContext, ResolvedMount};
use crate::namespaces::{NamespaceModes, NamespacePaths, NsMode};
use crate::process::{self, INIT_PATH_IN_CONTAINER};
use crate::resources::linux_resources;
use crate::rlimits::rlimits;
use crate::seccomp::container_seccomp;
use crate::security_opt::parse_security_opts;
use crate::sysctls::sysctls;
use crate::user::resolve_user;

/// Everything a container's spec is made from.
pub struct SpecInput<'a> {
    pub container_id: &'a str,
    /// The container's config as created (merged with the image or not: the merge is
    /// idempotent and done again here).
    pub config: &'a ContainerConfig,
    pub host_config: &'a HostConfig,
    pub image: &'a ImageRuntimeConfig,
    /// The container's root filesystem (the merged overlay directory).
    pub rootfs: PathBuf,
    /// Bind-mounted at `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf` when given.
    pub hosts_file: Option<PathBuf>,
    pub hostname_file: Option<PathBuf>,
    pub resolv_conf: Option<PathBuf>,
    /// Bind-mounted at `/dev/shm` instead of a private tmpfs: the container's own shm for
    /// `--ipc shareable`, the donor's for `--ipc container:<id>` (required then).
    pub shm_path: Option<PathBuf>,
    /// Namespaces to join for the `container:<id>` modes.
    pub namespace_paths: NamespacePaths,
    /// Volumes, resolved by the caller into bind mounts.
    pub extra_mounts: Vec<ResolvedMount>,
    /// `linux.cgroupsPath`, as the caller computed it (from `CgroupParent` and the ID).
    pub cgroup_path: String,
    pub host_facts: &'a dyn HostFacts,
    /// The host path of the init (tini) bind-mounted at `/sbin/docker-init` for `--init`.
    pub init_binary: Option<PathBuf>,
}

/// The hostname a container gets (Docker's rules): its `Hostname`, else the host's when
/// it shares the host's network or UTS namespace, else the first 12 characters of its ID.
pub fn container_hostname(
    container_id: &str,
    config: &ContainerConfig,
    host_config: &HostConfig,
    host: &dyn HostFacts,
) -> String {
    if !config.hostname.is_empty() {
        return config.hostname.clone();
    }
    if host_config.network_mode == "host" || host_config.uts_mode == "host" {
        return host.hostname();
    }
    container_id.chars().take(12).collect()
}

/// Builds the OCI spec for a container. Pure computation: reads only the rootfs's
/// `/etc/passwd` and `/etc/group` and the host facts.
pub fn build_spec(input: &SpecInput<'_>) -> Result<Spec, SpecError> {
    let hc = input.host_config;
    let facts = input.host_facts;
    let config = merge_image_config(input.config, input.image)?;
    let security = parse_security_opts(&hc.security_opt)?;
    let modes = NamespaceModes::from_host_config(hc, facts.cgroup_v2())?;
    if !(-1000..=1000).contains(&hc.oom_score_adj) {
        return Err(SpecError::invalid(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            hc.oom_score_adj
        )));
    }

    // Docker's init only makes sense as PID 1 of a new PID namespace.
    let use_init = hc.resources.init == Some(true) && modes.pid == NsMode::Private;
    let init_binary = match (use_init, &input.init_binary) {
        (false, _) => None,
        (true, Some(path)) => Some(path.as_path()),
        (true, None) => {
            return Err(SpecError::Internal(
                "--init was requested but berthd has no init binary: install tini (docker-init) or start berthd with --init-path".into(),
            ))
        }
    };
    let mut args = process::args(&config)?;
    if use_init {
        args.splice(0..0, [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
    }

    let hostname = container_hostname(input.container_id, &config, hc, facts);
    let exec_user = resolve_user(&input.rootfs, &config.user, &hc.group_add)?;
    let no_caps = Vec::new();
    let caps = container_caps(
        hc.privileged,
        hc.cap_add.as_ref().unwrap_or(&no_caps),
        hc.cap_drop.as_ref().unwrap_or(&no_caps),
        facts.bounding_capabilities(),
    )?;
    let seccomp = container_seccomp(&security.seccomp, hc.privileged, caps, facts)?;

    let mut user = User::default();
    user.set_uid(exec_user.uid);
    user.set_gid(exec_user.gid);
    user.set_additional_gids(Some(exec_user.additional_gids));

    let mut proc = Process::default();
    proc.set_terminal(Some(config.tty));
    proc.set_console_size(console_size(config.tty, hc.console_size.as_deref())?);
    proc.set_user(user);
    proc.set_args(Some(args));
    proc.set_env(Some(process::env(&config, &hostname)));
    proc.set_cwd(PathBuf::from(process::cwd(&config)?));
    proc.set_capabilities(Some(linux_capabilities(caps, exec_user.uid)));
    proc.set_rlimits(Some(rlimits(&hc.resources.ulimits, facts)?));
    // Only `Some(true)`: libcontainer treats any present value as "set" and then loads
    // seccomp after dropping capabilities, which fails without no_new_privs (EACCES).
    proc.set_no_new_privileges(security.no_new_privileges.then_some(true));
    proc.set_oom_score_adj(Some(hc.oom_score_adj as i32));

    let plan = mount_plan(&MountContext {
        hc,
        ipc: &modes.ipc,
        writable_cgroups: security.writable_cgroups,
        hosts_file: input.hosts_file.as_deref(),
        hostname_file: input.hostname_file.as_deref(),
        resolv_conf: input.resolv_conf.as_deref(),
        shm_path: input.shm_path.as_deref(),
        init_binary,
        extra_mounts: &input.extra_mounts,
        host: facts,
    })?;

    let devices = device_setup(hc, facts)?;
    let mut resources: LinuxResources = linux_resources(&hc.resources, facts)?;
    resources.set_devices(Some(devices.rules));

    let (masked, readonly) = paths::masked_and_readonly(hc, &security);
    let sysctl = sysctls(&hc.sysctls, &modes, facts.kernel_version())?;

    let mut linux = Linux::default();
    linux.set_namespaces(Some(modes.linux_namespaces(&input.namespace_paths)?));
    linux.set_resources(Some(resources));
    linux.set_cgroups_path(
        (!input.cgroup_path.is_empty()).then(|| PathBuf::from(&input.cgroup_path)),
    );
    linux.set_devices(Some(devices.devices));
    linux.set_seccomp(seccomp);
    linux.set_rootfs_propagation(plan.rootfs_propagation);
    linux.set_masked_paths(masked);
    linux.set_readonly_paths(readonly);
    linux.set_sysctl((!sysctl.is_empty()).then_some(sysctl));

    let mut root = Root::default();
    root.set_path(input.rootfs.clone());
    root.set_readonly(Some(hc.readonly_rootfs));

    let mut spec = Spec::default();
    spec.set_version(VERSION.to_string());
    spec.set_root(Some(root));
    spec.set_process(Some(proc));
    // Sharing the host's UTS namespace means not touching its names.
    spec.set_hostname((!modes.uts_host).then_some(hostname));
    spec.set_domainname(
        (!modes.uts_host && !config.domainname.is_empty()).then(|| config.domainname.clone()),
    );
    spec.set_mounts(Some(plan.mounts));
    spec.set_annotations((!hc.annotations.is_empty()).then(|| {
        hc.annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }));
    spec.set_linux(Some(linux));
    Ok(spec)
}

/// The initial TTY size (`ConsoleSize` is `[height, width]`), only with a TTY.
fn console_size(tty: bool, size: Option<&[u64]>) -> Result<Option<ConsoleBox>, SpecError> {
    match size {
        Some(&[height, width]) if tty && (height > 0 || width > 0) => Ok(Some(
            BoxBuilder::default().height(height).width(width).build()?,
        )),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests;
