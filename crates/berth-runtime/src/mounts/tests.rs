use super::*;
use crate::config::{BindOptions, TmpfsOptions};
use crate::host::FakeHost;

struct Case {
    hc: HostConfig,
    ipc: IpcMode,
    host: FakeHost,
    net_files: bool,
    shm_path: Option<PathBuf>,
    init: Option<PathBuf>,
    extra: Vec<ResolvedMount>,
    writable_cgroups: bool,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            hc: HostConfig::default(),
            ipc: IpcMode::Private,
            host: FakeHost::default(),
            net_files: false,
            shm_path: None,
            init: None,
            extra: Vec::new(),
            writable_cgroups: false,
        }
    }
}

impl Case {
    fn plan(&self) -> Result<MountPlan, SpecError> {
        let files = self.net_files.then_some(Path::new("/ctr/files"));
        let hosts = files.map(|d| d.join("hosts"));
        let hostname = files.map(|d| d.join("hostname"));
        let resolv = files.map(|d| d.join("resolv.conf"));
        mount_plan(&MountContext {
            hc: &self.hc,
            ipc: &self.ipc,
            writable_cgroups: self.writable_cgroups,
            hosts_file: hosts.as_deref(),
            hostname_file: hostname.as_deref(),
            resolv_conf: resolv.as_deref(),
            shm_path: self.shm_path.as_deref(),
            init_binary: self.init.as_deref(),
            extra_mounts: &self.extra,
            host: &self.host,
        })
    }

    fn mounts(&self) -> Vec<OciMount> {
        self.plan().unwrap().mounts
    }

    fn err(&self) -> String {
        self.plan().err().expect("an error").to_string()
    }
}

fn dests(mounts: &[OciMount]) -> Vec<String> {
    mounts
        .iter()
        .map(|m| m.destination().to_string_lossy().into_owned())
        .collect()
}

fn find<'a>(mounts: &'a [OciMount], dest: &str) -> &'a OciMount {
    mounts
        .iter()
        .find(|m| m.destination() == Path::new(dest))
        .unwrap_or_else(|| panic!("no mount at {dest}"))
}

fn opts(m: &OciMount) -> Vec<String> {
    m.options().clone().unwrap_or_default()
}

fn binds(list: &[&str]) -> HostConfig {
    HostConfig {
        binds: list.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn docker_defaults() {
    let m = Case::default().mounts();
    assert_eq!(
        dests(&m),
        vec![
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm"
        ]
    );
    assert_eq!(
        opts(&m[1]),
        vec!["nosuid", "strictatime", "mode=755", "size=65536k"]
    );
    assert_eq!(
        opts(&m[2]),
        vec![
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5"
        ]
    );
    assert_eq!(opts(&m[3]), vec!["nosuid", "noexec", "nodev", "ro"]);
    assert_eq!(m[4].typ().as_deref(), Some("cgroup"));
    assert!(opts(&m[4]).contains(&"ro".to_string()));
    assert_eq!(
        opts(&m[6]),
        vec!["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
    );
    assert_eq!(m[6].source().as_deref(), Some(Path::new("shm")));
}

#[test]
fn shm_per_ipc_mode() {
    let mut c = Case::default();
    c.hc.shm_size = 1 << 20;
    assert!(opts(find(&c.mounts(), "/dev/shm")).contains(&"size=1048576".to_string()));

    c.ipc = IpcMode::None;
    assert!(!dests(&c.mounts()).contains(&"/dev/shm".to_string()));

    c.ipc = IpcMode::Host;
    let m = c.mounts();
    let shm = find(&m, "/dev/shm");
    assert_eq!(shm.typ().as_deref(), Some("bind"));
    assert_eq!(shm.source().as_deref(), Some(Path::new("/dev/shm")));

    c.ipc = IpcMode::Container("db".into());
    assert!(c.err().contains("no /dev/shm source"));
    c.shm_path = Some("/var/lib/berth/containers/db/shm".into());
    let m = c.mounts();
    assert_eq!(
        find(&m, "/dev/shm").source().as_deref(),
        Some(Path::new("/var/lib/berth/containers/db/shm"))
    );

    c.hc.shm_size = -1;
    assert_eq!(c.err(), "SHM size can not be less than 0");
}

#[test]
fn bind_options_and_recursive_read_only() {
    let c = Case {
        hc: binds(&["/h1:/c1", "/h2:/c2:ro", "/h3:/c3:rshared"]),
        ..Default::default()
    };
    let m = c.mounts();
    assert_eq!(opts(find(&m, "/c1")), vec!["rbind", "rprivate"]);
    assert_eq!(opts(find(&m, "/c2")), vec!["rbind", "rro", "rprivate"]);
    assert_eq!(opts(find(&m, "/c3")), vec!["rbind", "rshared"]);
    assert_eq!(find(&m, "/c1").typ().as_deref(), Some("bind"));
    assert_eq!(find(&m, "/c1").source().as_deref(), Some(Path::new("/h1")));
    assert_eq!(
        c.plan().unwrap().rootfs_propagation.as_deref(),
        Some("shared")
    );

    let old = Case {
        hc: binds(&["/h2:/c2:ro,slave"]),
        host: FakeHost {
            kernel: KernelVersion::new(5, 4),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        opts(find(&old.mounts(), "/c2")),
        vec!["rbind", "ro", "slave"]
    );
    assert_eq!(
        old.plan().unwrap().rootfs_propagation.as_deref(),
        Some("rslave")
    );
}

#[test]
fn volumes_in_binds_are_left_to_the_caller() {
    let c = Case {
        hc: binds(&["data:/data", "/anon", "/h:/h"]),
        extra: vec![ResolvedMount {
            source: "/var/lib/berth/volumes/data/_data".into(),
            destination: "/data".into(),
            read_only: false,
            propagation: None,
        }],
        ..Default::default()
    };
    let m = c.mounts();
    assert!(!dests(&m).contains(&"/anon".to_string()));
    assert_eq!(
        find(&m, "/data").source().as_deref(),
        Some(Path::new("/var/lib/berth/volumes/data/_data"))
    );
}

#[test]
fn sorted_by_depth_after_the_defaults() {
    let mut c = Case {
        hc: binds(&["/h:/a/b/c", "/h:/z", "/h:/a/b"]),
        ..Default::default()
    };
    c.hc.tmpfs.insert("/x/y".into(), "".into());
    let m = c.mounts();
    assert_eq!(&dests(&m)[7..], &["/z", "/a/b", "/x/y", "/a/b/c"]);
}

#[test]
fn duplicates_and_tmpfs_override() {
    let c = Case {
        hc: binds(&["/h:/data", "/g:/data/"]),
        ..Default::default()
    };
    assert_eq!(c.err(), "Duplicate mount point: /data");

    let mut c = Case {
        hc: binds(&["/h:/data"]),
        ..Default::default()
    };
    c.hc.tmpfs
        .insert("/data".into(), "size=64m,mode=1777".into());
    let m = c.mounts();
    let data = find(&m, "/data");
    assert_eq!(data.typ().as_deref(), Some("tmpfs"));
    assert_eq!(
        opts(data),
        vec![
            "noexec",
            "nosuid",
            "nodev",
            "rprivate",
            "size=64m",
            "mode=1777"
        ]
    );
    assert_eq!(dests(&m).iter().filter(|d| *d == "/data").count(), 1);

    let mut bad = Case::default();
    bad.hc.tmpfs.insert("relative".into(), "".into());
    assert!(bad.err().contains("mount path must be absolute"));
}

#[test]
fn network_files_unless_user_mounted() {
    let c = Case {
        net_files: true,
        hc: binds(&["/my/hosts:/etc/hosts:ro"]),
        ..Default::default()
    };
    let m = c.mounts();
    assert_eq!(
        find(&m, "/etc/resolv.conf").source().as_deref(),
        Some(Path::new("/ctr/files/resolv.conf"))
    );
    assert_eq!(opts(find(&m, "/etc/hostname")), vec!["rbind", "rprivate"]);
    assert_eq!(
        find(&m, "/etc/hosts").source().as_deref(),
        Some(Path::new("/my/hosts"))
    );
    assert_eq!(dests(&m).iter().filter(|d| *d == "/etc/hosts").count(), 1);
}

#[test]
fn readonly_rootfs() {
    let mut c = Case {
        net_files: true,
        hc: binds(&["/h:/rw"]),
        ..Default::default()
    };
    c.hc.readonly_rootfs = true;
    let m = c.mounts();
    for rw in [
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/mqueue",
        "/dev/shm",
        "/rw",
    ] {
        assert!(!opts(find(&m, rw)).contains(&"ro".to_string()), "{rw}");
    }
    assert!(opts(find(&m, "/sys/fs/cgroup")).contains(&"ro".to_string()));
    assert_eq!(
        opts(find(&m, "/etc/hosts")),
        vec!["rbind", "rro", "rprivate"]
    );
}

#[test]
fn privileged_and_writable_cgroups() {
    let mut c = Case::default();
    c.hc.privileged = true;
    c.hc.readonly_rootfs = true;
    let m = c.mounts();
    assert!(!opts(find(&m, "/sys")).contains(&"ro".to_string()));
    assert!(!opts(find(&m, "/sys/fs/cgroup")).contains(&"ro".to_string()));

    let c = Case {
        writable_cgroups: true,
        ..Default::default()
    };
    let m = c.mounts();
    assert!(opts(find(&m, "/sys")).contains(&"ro".to_string()));
    assert!(!opts(find(&m, "/sys/fs/cgroup")).contains(&"ro".to_string()));
}

#[test]
fn user_dev_replaces_everything_under_dev() {
    let c = Case {
        hc: binds(&["/dev:/dev"]),
        ..Default::default()
    };
    let m = c.mounts();
    assert_eq!(dests(&m), vec!["/proc", "/sys", "/sys/fs/cgroup", "/dev"]);
}

#[test]
fn init_binary_is_mounted_read_only() {
    let c = Case {
        init: Some("/usr/libexec/berth/docker-init".into()),
        ..Default::default()
    };
    let m = c.mounts();
    let init = find(&m, "/sbin/docker-init");
    assert_eq!(opts(init), vec!["bind", "ro"]);
    assert_eq!(
        init.source().as_deref(),
        Some(Path::new("/usr/libexec/berth/docker-init"))
    );
}

fn api(r#type: &str, source: &str, target: &str) -> Mount {
    Mount {
        r#type: r#type.into(),
        source: source.into(),
        target: target.into(),
        ..Default::default()
    }
}

#[test]
fn api_mounts() {
    let mut c = Case::default();
    c.host.existing_paths.insert("/srv/data".into());
    let mut ro = api("bind", "/srv/data", "/data");
    ro.read_only = true;
    ro.bind_options = Some(BindOptions {
        read_only_non_recursive: true,
        propagation: "rslave".into(),
        ..Default::default()
    });
    let mut tmp = api("tmpfs", "", "/scratch");
    tmp.tmpfs_options = Some(TmpfsOptions {
        size_bytes: 1 << 30,
        mode: 0o700,
        ..Default::default()
    });
    c.hc.mounts = vec![ro, tmp, api("volume", "named", "/vol")];
    let m = c.mounts();
    assert_eq!(opts(find(&m, "/data")), vec!["rbind", "ro", "rslave"]);
    assert_eq!(
        opts(find(&m, "/scratch")),
        vec!["noexec", "nosuid", "nodev", "rprivate", "mode=700", "size=1g"]
    );
    assert!(!dests(&m).contains(&"/vol".to_string()));
}

#[test]
fn api_mount_errors() {
    let err = |m: Mount| {
        Case {
            hc: HostConfig {
                mounts: vec![m],
                ..Default::default()
            },
            ..Default::default()
        }
        .err()
    };
    assert_eq!(
        err(api("bind", "/missing", "/x")),
        "invalid mount config for type \"bind\": bind source path does not exist: /missing"
    );
    let mut create = api("bind", "/missing", "/x");
    create.bind_options = Some(BindOptions {
        create_mountpoint: true,
        ..Default::default()
    });
    assert!(Case {
        hc: HostConfig {
            mounts: vec![create],
            ..Default::default()
        },
        ..Default::default()
    }
    .plan()
    .is_ok());
    assert_eq!(
        err(api("bind", "", "/x")),
        "invalid mount config for type \"bind\": field Source must not be empty"
    );
    assert_eq!(
        err(api("tmpfs", "/src", "/x")),
        "invalid mount config for type \"tmpfs\": field Source must not be specified"
    );
    assert_eq!(
        err(api("bind", "/dev/null", "")),
        "invalid mount config for type \"bind\": field Target must not be empty"
    );
    assert_eq!(
        err(api("npipe", "x", "/x")),
        "invalid mount config for type \"npipe\": mount type unknown"
    );
    let mut bad_prop = api("bind", "/dev/null", "/x");
    bad_prop.bind_options = Some(BindOptions {
        propagation: "sideways".into(),
        ..Default::default()
    });
    assert_eq!(err(bad_prop), "invalid propagation mode: sideways");
    let mut force = api("bind", "/dev/null", "/x");
    force.read_only = true;
    force.bind_options = Some(BindOptions {
        read_only_force_recursive: true,
        ..Default::default()
    });
    let old = Case {
        hc: HostConfig {
            mounts: vec![force],
            ..Default::default()
        },
        host: FakeHost {
            kernel: KernelVersion::new(5, 10),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(old
        .err()
        .starts_with("recursive read-only mounts need kernel 5.12"));
}
