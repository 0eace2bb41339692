use std::fs;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, PosixRlimitType};
use serde_json::Value;

use super::*;
use crate::caps::CapSet;
use crate::config::Ulimit;
use crate::host::FakeHost;
use crate::process::DEFAULT_PATH;

const BUSYBOX_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
";

const BUSYBOX_GROUP: &str = "root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
www-data:x:33:
users:x:100:
nogroup:x:65534:
";

const ID: &str = "4f1c2a9e7b3d5c6a8e0f1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6";

/// A busybox-like rootfs: /etc/passwd, /etc/group and /bin/sh.
fn busybox_rootfs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("etc")).unwrap();
    fs::create_dir_all(dir.path().join("bin")).unwrap();
    fs::write(dir.path().join("etc/passwd"), BUSYBOX_PASSWD).unwrap();
    fs::write(dir.path().join("etc/group"), BUSYBOX_GROUP).unwrap();
    fs::write(dir.path().join("bin/busybox"), b"").unwrap();
    std::os::unix::fs::symlink("busybox", dir.path().join("bin/sh")).unwrap();
    dir
}

fn busybox_image() -> ImageRuntimeConfig {
    ImageRuntimeConfig {
        env: vec![format!("PATH={DEFAULT_PATH}")],
        cmd: Some(vec!["sh".into()]),
        ..Default::default()
    }
}

/// Builds with a busybox rootfs and the given options.
fn build(config: &ContainerConfig, hc: &HostConfig, host: &FakeHost) -> Result<Spec, SpecError> {
    let rootfs = busybox_rootfs();
    build_in(rootfs.path(), config, hc, host, None)
}

fn build_in(
    rootfs: &Path,
    config: &ContainerConfig,
    hc: &HostConfig,
    host: &FakeHost,
    init: Option<PathBuf>,
) -> Result<Spec, SpecError> {
    build_spec(&SpecInput {
        container_id: ID,
        config,
        host_config: hc,
        image: &busybox_image(),
        rootfs: rootfs.to_path_buf(),
        hosts_file: Some("/var/lib/berth/containers/x/hosts".into()),
        hostname_file: Some("/var/lib/berth/containers/x/hostname".into()),
        resolv_conf: Some("/var/lib/berth/containers/x/resolv.conf".into()),
        shm_path: None,
        namespace_paths: NamespacePaths::default(),
        extra_mounts: Vec::new(),
        cgroup_path: format!("/berth/{ID}"),
        host_facts: host,
        init_binary: init,
    })
}

fn process(spec: &Spec) -> &Process {
    spec.process().as_ref().unwrap()
}

fn linux(spec: &Spec) -> &Linux {
    spec.linux().as_ref().unwrap()
}

fn cmd(args: &[&str]) -> ContainerConfig {
    ContainerConfig {
        cmd: Some(args.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

/// The whole path for `docker run busybox echo hi`, checked on the serialized JSON.
#[test]
fn busybox_spec_as_json() {
    let rootfs = busybox_rootfs();
    let host = FakeHost::default();
    let config = cmd(&["echo", "hi"]);
    let spec = build_in(rootfs.path(), &config, &HostConfig::default(), &host, None).unwrap();
    let bundle = tempfile::tempdir().unwrap();
    crate::write_bundle(bundle.path(), &spec).unwrap();
    let json: Value =
        serde_json::from_slice(&fs::read(bundle.path().join("config.json")).unwrap()).unwrap();

    assert_eq!(json["ociVersion"], VERSION);
    assert_eq!(json["root"]["path"], rootfs.path().to_str().unwrap());
    assert_eq!(json["root"]["readonly"], false);
    assert_eq!(json["hostname"], &ID[..12]);

    let p = &json["process"];
    assert_eq!(p["args"], serde_json::json!(["echo", "hi"]));
    assert_eq!(p["cwd"], "/");
    assert_eq!(p["terminal"], false);
    assert_eq!(
        p["env"],
        serde_json::json!([
            format!("PATH={DEFAULT_PATH}"),
            format!("HOSTNAME={}", &ID[..12])
        ])
    );
    assert_eq!(p["user"]["uid"], 0);
    assert_eq!(p["user"]["gid"], 0);
    assert_eq!(p["user"]["additionalGids"], serde_json::json!([0, 10]));
    assert_eq!(p["capabilities"]["bounding"].as_array().unwrap().len(), 14);
    assert_eq!(p["capabilities"]["effective"].as_array().unwrap().len(), 14);
    assert!(p["capabilities"].get("inheritable").is_none());
    // Absent, not false: libcontainer reads any value as "set" (see spec/mod.rs).
    assert!(p.get("noNewPrivileges").is_none());
    assert_eq!(p["oomScoreAdj"], 0);
    assert_eq!(p["rlimits"][0]["type"], "RLIMIT_NOFILE");
    assert_eq!(p["rlimits"][0]["hard"], 1_048_576);

    let mounts: Vec<&str> = json["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["destination"].as_str().unwrap())
        .collect();
    assert_eq!(
        mounts,
        vec![
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts",
        ]
    );

    let l = &json["linux"];
    let ns: Vec<&str> = l["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(ns, vec!["mount", "network", "uts", "pid", "ipc"]);
    assert_eq!(l["cgroupsPath"], format!("/berth/{ID}"));
    assert_eq!(l["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(l["seccomp"]["architectures"][0], "SCMP_ARCH_X86_64");
    assert_eq!(l["maskedPaths"].as_array().unwrap().len(), 11);
    assert_eq!(l["readonlyPaths"].as_array().unwrap().len(), 5);
    assert_eq!(l["resources"]["devices"][0]["allow"], false);
    assert_eq!(l["resources"]["devices"].as_array().unwrap().len(), 8);
    assert_eq!(l["sysctl"]["net.ipv4.ip_unprivileged_port_start"], "0");
    assert!(l.get("rootfsPropagation").is_none());

    // And it loads back as an OCI spec, the way the shim will read it.
    let back = Spec::load(bundle.path().join("config.json")).unwrap();
    assert_eq!(back, spec);
}

#[test]
fn privileged_on_a_host_without_sys_resource() {
    let host = FakeHost {
        caps: CapSet::from_hex("000001fffeffffff").unwrap(),
        ..Default::default()
    };
    let hc = HostConfig {
        privileged: true,
        ..Default::default()
    };
    let spec = build(&ContainerConfig::default(), &hc, &host).unwrap();
    let caps = process(&spec).capabilities().as_ref().unwrap();
    let bounding = caps.bounding().as_ref().unwrap();
    assert_eq!(bounding.len(), 40);
    assert!(!bounding.contains(&oci_spec::runtime::Capability::SysResource));
    assert!(bounding.contains(&oci_spec::runtime::Capability::SysAdmin));
    let l = linux(&spec);
    assert!(l.seccomp().is_none());
    assert!(l.masked_paths().is_none());
    assert!(l.readonly_paths().is_none());
    let rules = l.resources().as_ref().unwrap().devices().as_ref().unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow() && rules[0].typ().is_none());
    assert_eq!(l.devices().as_ref().unwrap().len(), 6);
}

#[test]
fn entrypoint_and_cmd_precedence() {
    let args = |config: ContainerConfig| {
        let spec = build(&config, &HostConfig::default(), &FakeHost::default())?;
        Ok::<_, SpecError>(process(&spec).args().clone().unwrap())
    };
    assert_eq!(args(ContainerConfig::default()).unwrap(), vec!["sh"]);
    assert_eq!(args(cmd(&["ls", "-l"])).unwrap(), vec!["ls", "-l"]);
    let with_entry = ContainerConfig {
        entrypoint: Some(vec!["/bin/echo".into()]),
        ..Default::default()
    };
    assert_eq!(args(with_entry).unwrap(), vec!["/bin/echo"]);
    let reset = ContainerConfig {
        entrypoint: Some(vec!["".into()]),
        cmd: Some(vec!["id".into()]),
        ..Default::default()
    };
    assert_eq!(args(reset).unwrap(), vec!["id"]);
    let nothing = ContainerConfig {
        entrypoint: Some(vec!["".into()]),
        ..Default::default()
    };
    let err = args(nothing).unwrap_err();
    assert_eq!(err.to_string(), "No command specified");
    assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
}

#[test]
fn env_tty_user_and_workdir() {
    let config = ContainerConfig {
        env: vec!["FOO=bar".into(), "PATH=/custom".into()],
        tty: true,
        user: "www-data".into(),
        working_dir: "/var/www".into(),
        hostname: "web".into(),
        domainname: "example.com".into(),
        ..cmd(&["httpd"])
    };
    let mut hc = HostConfig {
        console_size: Some(vec![40, 120]),
        group_add: vec!["users".into()],
        ..Default::default()
    };
    hc.cap_add = Some(vec!["NET_ADMIN".into()]);
    let spec = build(&config, &hc, &FakeHost::default()).unwrap();
    let p = process(&spec);
    assert_eq!(
        p.env().clone().unwrap(),
        vec!["PATH=/custom", "HOSTNAME=web", "TERM=xterm", "FOO=bar"]
    );
    assert_eq!(p.terminal(), Some(true));
    let size = p.console_size().unwrap();
    assert_eq!((size.height(), size.width()), (40, 120));
    assert_eq!((p.user().uid(), p.user().gid()), (33, 33));
    assert_eq!(p.user().additional_gids().clone().unwrap(), vec![33, 100]);
    assert_eq!(p.cwd(), Path::new("/var/www"));
    // Not root: only the bounding set, like execve would leave it.
    let caps = p.capabilities().as_ref().unwrap();
    assert_eq!(caps.bounding().as_ref().unwrap().len(), 15);
    assert!(caps.effective().is_none());
    assert_eq!(spec.hostname().as_deref(), Some("web"));
    assert_eq!(spec.domainname().as_deref(), Some("example.com"));
}

#[test]
fn unknown_user_is_dockers_error() {
    let config = ContainerConfig {
        user: "xyz".into(),
        ..Default::default()
    };
    let err = build(&config, &HostConfig::default(), &FakeHost::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to find user xyz: no matching entries in passwd file"
    );
}

#[test]
fn init_wraps_the_command() {
    let rootfs = busybox_rootfs();
    let mut hc = HostConfig::default();
    hc.resources.init = Some(true);
    let host = FakeHost::default();
    let spec = build_in(
        rootfs.path(),
        &cmd(&["sleep", "1"]),
        &hc,
        &host,
        Some("/usr/lib/berth/tini".into()),
    )
    .unwrap();
    assert_eq!(
        process(&spec).args().clone().unwrap(),
        vec!["/sbin/docker-init", "--", "sleep", "1"]
    );
    let mounts = spec.mounts().as_ref().unwrap();
    assert!(mounts
        .iter()
        .any(|m| m.destination() == Path::new("/sbin/docker-init")));

    let err = build_in(rootfs.path(), &cmd(&["x"]), &hc, &host, None).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Internal);

    // Not PID 1 of its own namespace: no init.
    hc.pid_mode = "host".into();
    let spec = build_in(rootfs.path(), &cmd(&["x"]), &hc, &host, None).unwrap();
    assert_eq!(process(&spec).args().clone().unwrap(), vec!["x"]);
}

#[test]
fn host_namespaces_and_hostname() {
    let hc = HostConfig {
        network_mode: "host".into(),
        uts_mode: "host".into(),
        pid_mode: "host".into(),
        ..Default::default()
    };
    let spec = build(&ContainerConfig::default(), &hc, &FakeHost::default()).unwrap();
    assert_eq!(spec.hostname(), &None);
    assert!(process(&spec)
        .env()
        .as_ref()
        .unwrap()
        .contains(&"HOSTNAME=fakehost".to_string()));
    let kinds: Vec<_> = linux(&spec)
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    assert_eq!(
        kinds,
        vec![LinuxNamespaceType::Mount, LinuxNamespaceType::Ipc]
    );
    assert!(linux(&spec).sysctl().is_none());
}

#[test]
fn cgroup_v2_host_gets_a_cgroup_namespace() {
    let host = FakeHost {
        cgroup_v2: true,
        ..Default::default()
    };
    let spec = build(&ContainerConfig::default(), &HostConfig::default(), &host).unwrap();
    let kinds: Vec<_> = linux(&spec)
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    assert!(kinds.contains(&LinuxNamespaceType::Cgroup));
}

#[test]
fn security_options_reach_the_spec() {
    let hc = HostConfig {
        security_opt: vec!["no-new-privileges".into(), "seccomp=unconfined".into()],
        readonly_rootfs: true,
        oom_score_adj: 500,
        ..Default::default()
    };
    let spec = build(&ContainerConfig::default(), &hc, &FakeHost::default()).unwrap();
    assert_eq!(process(&spec).no_new_privileges(), Some(true));
    assert_eq!(process(&spec).oom_score_adj(), Some(500));
    assert!(linux(&spec).seccomp().is_none());
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));

    let bad = HostConfig {
        security_opt: vec!["apparmor".into()],
        ..Default::default()
    };
    assert!(build(&ContainerConfig::default(), &bad, &FakeHost::default()).is_err());
    let bad = HostConfig {
        oom_score_adj: 2000,
        ..Default::default()
    };
    assert_eq!(
        build(&ContainerConfig::default(), &bad, &FakeHost::default())
            .unwrap_err()
            .to_string(),
        "Invalid value 2000, range for oom score adj is [-1000, 1000]"
    );
}

#[test]
fn resources_ulimits_and_sysctls_reach_the_spec() {
    let mut hc = HostConfig::default();
    hc.resources.memory = 64 << 20;
    hc.resources.pids_limit = Some(100);
    hc.resources.ulimits = vec![Ulimit {
        name: "nofile".into(),
        soft: 1024,
        hard: 4096,
    }];
    hc.sysctls
        .insert("net.core.somaxconn".into(), "1024".into());
    hc.annotations.insert("org.example/key".into(), "v".into());
    let spec = build(&ContainerConfig::default(), &hc, &FakeHost::default()).unwrap();
    let r = linux(&spec).resources().as_ref().unwrap();
    assert_eq!(r.memory().unwrap().limit(), Some(64 << 20));
    assert_eq!(r.pids().unwrap().limit(), 100);
    let rl = process(&spec).rlimits().clone().unwrap();
    assert_eq!(rl.len(), 1);
    assert_eq!(
        (rl[0].typ(), rl[0].hard()),
        (PosixRlimitType::RlimitNofile, 4096)
    );
    assert_eq!(
        linux(&spec).sysctl().as_ref().unwrap()["net.core.somaxconn"],
        "1024"
    );
    assert_eq!(spec.annotations().as_ref().unwrap()["org.example/key"], "v");

    hc.resources.ulimits[0].hard = 1 << 30;
    let err = build(&ContainerConfig::default(), &hc, &FakeHost::default()).unwrap_err();
    assert!(err.to_string().contains("above the host's limit"), "{err}");
}

#[test]
fn container_namespaces_are_joined() {
    let rootfs = busybox_rootfs();
    let host = FakeHost::default();
    let config = cmd(&["true"]);
    let hc = HostConfig {
        network_mode: "container:db".into(),
        ..Default::default()
    };
    let spec = build_spec(&SpecInput {
        container_id: ID,
        config: &config,
        host_config: &hc,
        image: &busybox_image(),
        rootfs: rootfs.path().to_path_buf(),
        hosts_file: None,
        hostname_file: None,
        resolv_conf: None,
        shm_path: None,
        namespace_paths: NamespacePaths {
            network: Some("/proc/42/ns/net".into()),
            ..Default::default()
        },
        extra_mounts: Vec::new(),
        cgroup_path: String::new(),
        host_facts: &host,
        init_binary: None,
    })
    .unwrap();
    let net = linux(&spec)
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .unwrap()
        .path()
        .clone();
    assert_eq!(net, Some(PathBuf::from("/proc/42/ns/net")));
    assert!(linux(&spec).cgroups_path().is_none());
    // Another container's network: Docker's ping/port defaults are not ours to set.
    assert!(linux(&spec).sysctl().is_none());
}
