//! The mount list: Docker's default filesystems, then the container's own mounts sorted by
//! depth (moby `oci/defaults.go`, `setupMounts` and `WithMounts`).

mod bind;
mod scoped;
mod tmpfs;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount as OciMount;

pub use bind::{parse_bind, BindSource, BindSpec};
pub use scoped::scoped_join;

use crate::config::{HostConfig, Mount};
use crate::error::SpecError;
use crate::host::{HostFacts, KernelVersion};
use crate::namespaces::IpcMode;
use crate::process::{clean_path, INIT_PATH_IN_CONTAINER};
use bind::is_propagation;
use tmpfs::{convert_tmpfs_options, tmpfs_mount_options};

/// Docker's default `/dev/shm` size (64 MiB) when `ShmSize` is 0.
pub const DEFAULT_SHM_SIZE: i64 = 64 << 20;

/// Recursive read-only bind mounts (`rro`, `mount_setattr`) need Linux 5.12.
const RRO_KERNEL: KernelVersion = KernelVersion::new(5, 12);

/// A mount the caller resolved to a host path: volumes (named, anonymous, the image's
/// `Volumes`, `--mount type=volume`) become bind mounts of their data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMount {
    pub source: PathBuf,
    pub destination: String,
    pub read_only: bool,
    /// `shared`, `rslave`, ...; `None` is `rprivate`.
    pub propagation: Option<String>,
}

/// Everything the mount list depends on.
pub(crate) struct MountContext<'a> {
    pub hc: &'a HostConfig,
    pub ipc: &'a IpcMode,
    pub writable_cgroups: bool,
    pub hosts_file: Option<&'a Path>,
    pub hostname_file: Option<&'a Path>,
    pub resolv_conf: Option<&'a Path>,
    pub shm_path: Option<&'a Path>,
    /// Set when the container runs Docker's init: the host path of the binary.
    pub init_binary: Option<&'a Path>,
    pub extra_mounts: &'a [ResolvedMount],
    pub host: &'a dyn HostFacts,
}

/// The spec's mounts and, when a bind asks for shared or slave propagation, the rootfs
/// propagation that makes it work.
pub(crate) struct MountPlan {
    pub mounts: Vec<OciMount>,
    pub rootfs_propagation: Option<String>,
}

/// One of the container's own mounts, before it becomes an OCI mount.
enum UserMount {
    Bind {
        destination: String,
        source: PathBuf,
        options: Vec<String>,
        propagation: String,
    },
    Tmpfs {
        destination: String,
        options: Vec<String>,
    },
}

impl UserMount {
    fn destination(&self) -> &str {
        match self {
            UserMount::Bind { destination, .. } | UserMount::Tmpfs { destination, .. } => {
                destination
            }
        }
    }

    fn into_oci(self) -> OciMount {
        match self {
            UserMount::Bind {
                destination,
                source,
                options,
                ..
            } => oci_mount(&destination, "bind", &source.to_string_lossy(), options),
            UserMount::Tmpfs {
                destination,
                options,
            } => oci_mount(&destination, "tmpfs", "tmpfs", options),
        }
    }
}

fn oci_mount(destination: &str, typ: &str, source: &str, options: Vec<String>) -> OciMount {
    let mut m = OciMount::default();
    m.set_destination(PathBuf::from(destination));
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(PathBuf::from(source)));
    m.set_options(Some(options));
    m
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Docker's default filesystems (moby `oci.DefaultLinuxSpec`).
fn default_mounts() -> Vec<OciMount> {
    vec![
        oci_mount(
            "/proc",
            "proc",
            "proc",
            strings(&["nosuid", "noexec", "nodev"]),
        ),
        oci_mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            strings(&["nosuid", "strictatime", "mode=755", "size=65536k"]),
        ),
        oci_mount(
            "/dev/pts",
            "devpts",
            "devpts",
            strings(&[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ]),
        ),
        oci_mount(
            "/sys",
            "sysfs",
            "sysfs",
            strings(&["nosuid", "noexec", "nodev", "ro"]),
        ),
        // Runtimes mount cgroup2 for this on unified hosts and the v1 hierarchies
        // otherwise; with a private cgroup namespace either shows the container's own.
        oci_mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            strings(&["ro", "nosuid", "noexec", "nodev"]),
        ),
        oci_mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            strings(&["nosuid", "noexec", "nodev"]),
        ),
        oci_mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            strings(&["nosuid", "noexec", "nodev", "mode=1777"]),
        ),
    ]
}

fn config_err(kind: &str, what: impl std::fmt::Display) -> SpecError {
    SpecError::invalid(format!("invalid mount config for type \"{kind}\": {what}"))
}

/// A cleaned absolute container path other than `/`.
fn check_target(kind: &str, target: &str) -> Result<String, SpecError> {
    if target.is_empty() {
        return Err(config_err(kind, "field Target must not be empty"));
    }
    if !target.starts_with('/') {
        return Err(config_err(
            kind,
            format!("invalid mount path: '{target}' mount path must be absolute"),
        ));
    }
    let cleaned = clean_path(target);
    if cleaned == "/" {
        return Err(config_err(
            kind,
            "invalid specification: destination can't be '/'",
        ));
    }
    Ok(cleaned)
}

/// `rbind`/`bind`, then `ro` or `rro` when read-only, then the propagation.
fn bind_options(
    read_only: bool,
    non_recursive: bool,
    ro_non_recursive: bool,
    ro_force_recursive: bool,
    propagation: &str,
    kernel: KernelVersion,
) -> Result<Vec<String>, SpecError> {
    let mut opts = vec![if non_recursive { "bind" } else { "rbind" }.to_string()];
    if read_only {
        if ro_non_recursive && ro_force_recursive {
            return Err(SpecError::invalid(
                "mount options conflict: ReadOnlyNonRecursive && ReadOnlyForceRecursive",
            ));
        }
        let rro_ok = kernel >= RRO_KERNEL;
        if ro_force_recursive && !rro_ok {
            return Err(SpecError::invalid(format!(
                "recursive read-only mounts need kernel {RRO_KERNEL} or later (this host runs {kernel})"
            )));
        }
        opts.push(
            if rro_ok && !ro_non_recursive {
                "rro"
            } else {
                "ro"
            }
            .to_string(),
        );
    }
    opts.push(propagation.to_string());
    Ok(opts)
}

fn bind(
    destination: String,
    source: PathBuf,
    read_only: bool,
    propagation: Option<&str>,
    kernel: KernelVersion,
) -> Result<UserMount, SpecError> {
    let propagation = propagation.unwrap_or("rprivate").to_string();
    Ok(UserMount::Bind {
        destination,
        source,
        options: bind_options(read_only, false, false, false, &propagation, kernel)?,
        propagation,
    })
}

/// A `HostConfig.Mounts` entry; `None` for volumes, which the caller resolves.
fn api_mount(m: &Mount, host: &dyn HostFacts) -> Result<Option<UserMount>, SpecError> {
    let kind = m.r#type.as_str();
    let extra = |field: &str| config_err(kind, format!("field {field} must not be specified"));
    match kind {
        "bind" => {
            let destination = check_target(kind, &m.target)?;
            if m.source.is_empty() {
                return Err(config_err(kind, "field Source must not be empty"));
            }
            if m.volume_options.is_some() {
                return Err(extra("VolumeOptions"));
            }
            if m.tmpfs_options.is_some() {
                return Err(extra("TmpfsOptions"));
            }
            if !m.source.starts_with('/') {
                return Err(config_err(
                    kind,
                    format!(
                        "invalid mount path: '{}' mount path must be absolute",
                        m.source
                    ),
                ));
            }
            let opts = m.bind_options.clone().unwrap_or_default();
            let source = PathBuf::from(clean_path(&m.source));
            if !opts.create_mountpoint && !host.path_exists(&source) {
                return Err(config_err(
                    kind,
                    format!("bind source path does not exist: {}", m.source),
                ));
            }
            if (opts.read_only_non_recursive || opts.read_only_force_recursive) && !m.read_only {
                return Err(config_err(kind, "must also set ReadOnly"));
            }
            let propagation = if opts.propagation.is_empty() {
                "rprivate".to_string()
            } else if is_propagation(&opts.propagation) {
                opts.propagation.clone()
            } else {
                return Err(SpecError::invalid(format!(
                    "invalid propagation mode: {}",
                    opts.propagation
                )));
            };
            let options = bind_options(
                m.read_only,
                opts.non_recursive,
                opts.read_only_non_recursive,
                opts.read_only_force_recursive,
                &propagation,
                host.kernel_version(),
            )?;
            Ok(Some(UserMount::Bind {
                destination,
                source,
                options,
                propagation,
            }))
        }
        "tmpfs" => {
            let destination = check_target(kind, &m.target)?;
            if !m.source.is_empty() {
                return Err(extra("Source"));
            }
            if m.bind_options.is_some() {
                return Err(extra("BindOptions"));
            }
            if m.volume_options.is_some() {
                return Err(extra("VolumeOptions"));
            }
            let data = convert_tmpfs_options(m.tmpfs_options.as_ref(), m.read_only)?;
            Ok(Some(UserMount::Tmpfs {
                destination,
                options: tmpfs_mount_options(&data)?,
            }))
        }
        "volume" => {
            check_target(kind, &m.target)?;
            if m.bind_options.is_some() {
                return Err(extra("BindOptions"));
            }
            if m.tmpfs_options.is_some() {
                return Err(extra("TmpfsOptions"));
            }
            Ok(None)
        }
        _ => Err(config_err(kind, "mount type unknown")),
    }
}

/// Path depth of a cleaned destination, Docker's sort key.
fn depth(destination: &str) -> usize {
    destination.split('/').count()
}

fn has_option(m: &OciMount, option: &str) -> bool {
    m.options()
        .as_ref()
        .is_some_and(|o| o.iter().any(|x| x == option))
}

fn clear_read_only(m: &mut OciMount) {
    if let Some(opts) = m.options_mut() {
        opts.retain(|o| o != "ro");
    }
}

/// The container's mounts, Docker's way.
pub(crate) fn mount_plan(ctx: &MountContext<'_>) -> Result<MountPlan, SpecError> {
    let hc = ctx.hc;
    let kernel = ctx.host.kernel_version();
    let mut user: Vec<UserMount> = Vec::new();

    // Binds with a host path; volume entries are the caller's, resolved in extra_mounts.
    for raw in &hc.binds {
        let spec = parse_bind(raw)?;
        if let BindSource::HostPath(source) = spec.source {
            user.push(bind(
                spec.destination,
                source,
                spec.read_only,
                spec.propagation.as_deref(),
                kernel,
            )?);
        }
    }
    for m in &hc.mounts {
        user.extend(api_mount(m, ctx.host)?);
    }
    for m in ctx.extra_mounts {
        let destination = check_target("volume", &m.destination)?;
        user.push(bind(
            destination,
            m.source.clone(),
            m.read_only,
            m.propagation.as_deref(),
            kernel,
        )?);
    }
    for (i, m) in user.iter().enumerate() {
        if user[..i].iter().any(|o| o.destination() == m.destination()) {
            return Err(SpecError::invalid(format!(
                "Duplicate mount point: {}",
                m.destination()
            )));
        }
    }
    // `--tmpfs` replaces any other mount at the same place.
    for (target, data) in &hc.tmpfs {
        let destination = check_target("tmpfs", target)?;
        user.retain(|m| m.destination() != destination);
        user.push(UserMount::Tmpfs {
            destination,
            options: tmpfs_mount_options(data)?,
        });
    }

    // /etc/hosts, /etc/hostname, /etc/resolv.conf, unless the user mounted their own.
    let writable = !hc.readonly_rootfs;
    for (file, destination) in [
        (ctx.resolv_conf, "/etc/resolv.conf"),
        (ctx.hostname_file, "/etc/hostname"),
        (ctx.hosts_file, "/etc/hosts"),
    ] {
        if let Some(file) = file {
            if !user.iter().any(|m| m.destination() == destination) {
                user.push(bind(
                    destination.into(),
                    file.into(),
                    !writable,
                    None,
                    kernel,
                )?);
            }
        }
    }

    // /dev/shm from elsewhere: the host's, or a shareable container's.
    let shm_source = match (ctx.ipc, ctx.shm_path) {
        (IpcMode::None, _) => None,
        (_, Some(p)) => Some(p.to_path_buf()),
        (IpcMode::Host, None) => Some(PathBuf::from("/dev/shm")),
        (IpcMode::Container(id), None) => {
            return Err(SpecError::Internal(format!(
                "no /dev/shm source given for ipc container:{id}"
            )))
        }
        _ => None,
    };
    if let Some(source) = shm_source {
        if !user.iter().any(|m| m.destination() == "/dev/shm") {
            user.push(bind("/dev/shm".into(), source, false, None, kernel)?);
        }
    }

    user.sort_by_key(|m| depth(m.destination()));
    let rootfs_propagation = rootfs_propagation(&user);

    // Defaults the user did not replace.
    let user_dests: Vec<String> = user.iter().map(|m| m.destination().to_string()).collect();
    let is_user = |d: &str| user_dests.iter().any(|u| u == d);
    let dev_mounted = is_user("/dev");
    let shm_size = if hc.shm_size == 0 {
        DEFAULT_SHM_SIZE
    } else {
        hc.shm_size
    };
    if shm_size < 0 {
        return Err(SpecError::invalid("SHM size can not be less than 0"));
    }
    let mut mounts: Vec<OciMount> = Vec::new();
    for mut m in default_mounts() {
        let dest = m.destination().to_string_lossy().into_owned();
        if is_user(&dest) || (dev_mounted && dest.starts_with("/dev/")) {
            continue;
        }
        if dest == "/dev/shm" {
            if *ctx.ipc == IpcMode::None {
                continue;
            }
            if let Some(opts) = m.options_mut() {
                opts.push(format!("size={shm_size}"));
            }
        }
        mounts.push(m);
    }
    if let Some(init) = ctx.init_binary {
        if !is_user(INIT_PATH_IN_CONTAINER) {
            mounts.push(oci_mount(
                INIT_PATH_IN_CONTAINER,
                "bind",
                &init.to_string_lossy(),
                strings(&["bind", "ro"]),
            ));
        }
    }
    let n_defaults = mounts.len();
    mounts.extend(user.into_iter().map(UserMount::into_oci));

    if hc.readonly_rootfs {
        for m in &mut mounts[..n_defaults] {
            let dest = m.destination().to_string_lossy().into_owned();
            let exempt = ["/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"];
            if !exempt.contains(&dest.as_str()) && !has_option(m, "ro") {
                if let Some(opts) = m.options_mut() {
                    opts.push("ro".into());
                }
            }
        }
    }
    for m in &mut mounts[..n_defaults] {
        let dest = m.destination().to_string_lossy();
        let is_cgroup = m.typ().as_deref() == Some("cgroup");
        if (hc.privileged && (dest == "/sys" || is_cgroup)) || (ctx.writable_cgroups && is_cgroup) {
            clear_read_only(m);
        }
    }
    Ok(MountPlan {
        mounts,
        rootfs_propagation,
    })
}

/// A shared bind needs a shared rootfs, a slave bind at least a slave one.
fn rootfs_propagation(user: &[UserMount]) -> Option<String> {
    let props: Vec<&str> = user
        .iter()
        .filter_map(|m| match m {
            UserMount::Bind { propagation, .. } => Some(propagation.as_str()),
            UserMount::Tmpfs { .. } => None,
        })
        .collect();
    if props.iter().any(|p| matches!(*p, "shared" | "rshared")) {
        Some("shared".into())
    } else if props.iter().any(|p| matches!(*p, "slave" | "rslave")) {
        Some("rslave".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
