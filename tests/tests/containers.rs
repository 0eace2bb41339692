//! Containers through the API (first slice): create, start under berth-shim, logs, wait,
//! stop, remove — isolated by namespaces, seccomp and Docker's default capabilities.

use std::time::Duration;

use berth_tests::images::busybox_rootfs;
use berth_tests::*;

use berth_tests::ContainerCleanup as Cleanup;

fn create(d: &Daemon, body: serde_json::Value) -> String {
    let r = d.http(
        "POST",
        "/v1.47/containers/create",
        Some(("application/json", body.to_string().as_bytes())),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["Id"].as_str().unwrap().to_string()
}

/// Docker's multiplexed log stream → (stdout, stderr).
fn demux(mut b: &[u8]) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while b.len() >= 8 {
        let n = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
        let payload = &b[8..(8 + n).min(b.len())];
        if b[0] == 2 {
            err.extend_from_slice(payload)
        } else {
            out.extend_from_slice(payload)
        }
        b = &b[(8 + n).min(b.len())..];
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

#[test]
fn run_a_container_through_the_api() {
    let d = Daemon::builder().arg("-D").start();
    let _cleanup = Cleanup(&d);
    let rootfs = busybox_rootfs(d.dir());
    ok(d.docker()
        .args(["import", rootfs.to_str().unwrap(), "busybox:latest"]));

    let id = create(
        &d,
        serde_json::json!({
            "Image": "busybox",
            "Cmd": ["sh", "-c", "echo pid=$$; hostname; grep -E 'Seccomp:|CapEff' /proc/self/status; echo oops >&2; exit 3"],
        }),
    );
    assert_eq!(
        d.http("POST", &format!("/containers/{id}/start"), None)
            .status,
        204
    );
    let w = d.http("POST", &format!("/containers/{id}/wait"), None);
    assert_eq!(w.json()["StatusCode"], 3, "{}", w.text());
    let logs = d.http(
        "GET",
        &format!("/containers/{id}/logs?stdout=1&stderr=1"),
        None,
    );
    let (out, err) = demux(&logs.body);
    assert!(out.contains("pid=1\n"), "PID 1 is the command: {out}");
    assert!(out.contains(&id[..12]), "own hostname: {out}");
    assert!(out.contains("Seccomp:\t2"), "seccomp filter on: {out}");
    assert!(
        out.contains("CapEff:\t00000000a80425fb"),
        "Docker's default capabilities: {out}"
    );
    assert_eq!(err, "oops\n");
    let inspect = d
        .http("GET", &format!("/containers/{id}/json"), None)
        .json();
    assert_eq!(inspect["State"]["Status"], "exited");
    assert_eq!(inspect["State"]["ExitCode"], 3);
    // The image is protected while the container exists.
    let r = d.http("DELETE", "/images/busybox", None);
    assert_eq!(r.status, 409, "{}", r.text());

    // A long-running one: listed while up, stopped with SIGTERM → SIGKILL after the timeout.
    let id2 = create(
        &d,
        serde_json::json!({"Image": "busybox", "Cmd": ["sleep", "300"]}),
    );
    assert_eq!(
        d.http("POST", &format!("/containers/{id2}/start"), None)
            .status,
        204
    );
    assert_eq!(
        d.http("POST", &format!("/containers/{id2}/start"), None)
            .status,
        304
    );
    let ps = d.http("GET", "/containers/json", None).json();
    assert_eq!(ps.as_array().unwrap().len(), 1, "{ps}");
    assert_eq!(ps[0]["State"], "running");
    let r = d.http("DELETE", &format!("/containers/{id2}"), None);
    assert_eq!(r.status, 409, "running containers need force: {}", r.text());
    assert_eq!(
        d.http("POST", &format!("/containers/{id2}/stop?t=1"), None)
            .status,
        204
    );
    let st = d
        .http("GET", &format!("/containers/{id2}/json"), None)
        .json();
    assert_eq!(
        st["State"]["ExitCode"], 137,
        "sleep ignores SIGTERM as PID 1: {st}"
    );

    // A command that does not exist fails the start like Docker (run exits 127).
    let id3 = create(
        &d,
        serde_json::json!({"Image": "busybox", "Cmd": ["nosuchcmd"]}),
    );
    let r = d.http("POST", &format!("/containers/{id3}/start"), None);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("executable file not found"),
        "{}",
        r.text()
    );

    for c in [&id, &id2, &id3] {
        assert_eq!(
            d.http("DELETE", &format!("/containers/{c}"), None).status,
            204
        );
    }
    assert_eq!(
        d.http("GET", "/containers/json?all=1", None)
            .json()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let root = d.data_root.canonicalize().unwrap();
    assert_eq!(
        std::fs::read_dir(root.join("containers"))
            .map(|r| r.count())
            .unwrap_or(0),
        0
    );
    assert!(!std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(&root.display().to_string()));
    assert!(wait_until(Duration::from_secs(5), || d
        .http("DELETE", "/images/busybox", None)
        .status
        == 200));
}

/// A cgroup a stopped container left behind (a shim killed mid-start can) goes with the
/// container, its processes killed first.
#[test]
fn rm_removes_a_leftover_cgroup() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let id = d.create_container(
        "leftover",
        serde_json::json!({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}}),
    );
    let pids = std::path::Path::new("/sys/fs/cgroup/pids");
    let base = if pids.is_dir() {
        pids.to_path_buf()
    } else {
        std::path::PathBuf::from("/sys/fs/cgroup")
    };
    let dir = base.join("berth").join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    // A process in it, as a container's would be.
    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    std::fs::write(dir.join("cgroup.procs"), child.id().to_string()).unwrap();
    let r = d.http("DELETE", "/containers/leftover", None);
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(!dir.exists(), "{} is still there", dir.display());
    // The process in it was killed (the cgroup could not go otherwise).
    let status = child.wait().unwrap();
    assert!(!status.success());
}
