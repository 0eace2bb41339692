//! Container filesystem operations through the API and the real docker CLI: `docker cp` both
//! ways (running and stopped containers, symlink breakout attempts), `docker diff`,
//! `docker export`, `docker commit` and running the committed image.

use std::time::Duration;

use base64::Engine as _;
use berth_tests::images::busybox_rootfs;
use berth_tests::*;

use berth_tests::ContainerCleanup as Cleanup;

fn wait(d: &Daemon, id: &str) -> i64 {
    let w = d.http("POST", &format!("/containers/{id}/wait"), None);
    w.json()["StatusCode"].as_i64().unwrap()
}

/// stdout of a container's log (multiplexed stream, stdout frames only).
fn stdout_of(d: &Daemon, id: &str) -> String {
    let logs = d.http("GET", &format!("/containers/{id}/logs?stdout=1"), None);
    let mut b = &logs.body[..];
    let mut out = Vec::new();
    while b.len() >= 8 {
        let n = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
        let end = (8 + n).min(b.len());
        if b[0] == 1 {
            out.extend_from_slice(&b[8..end]);
        }
        b = &b[end..];
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A unique-enough name for this test run.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

fn setup() -> Daemon {
    let d = Daemon::builder().arg("-D").start();
    let rootfs = busybox_rootfs(d.dir());
    ok(d.docker()
        .args(["import", rootfs.to_str().unwrap(), "busybox:latest"]));
    d
}

#[test]
fn cp_diff_and_export_on_running_and_stopped_containers() {
    let d = setup();
    let _cleanup = Cleanup(&d);
    let host = tempfile::tempdir().unwrap();
    let h = host.path();
    // A host directory the container's symlinks aim at: if cp ever resolved them on the
    // host, the file would land here (inside our temp dir, never in a system directory).
    let victim = h.join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(h.join("host-secret"), "HOST SECRET").unwrap();
    let v = victim.to_str().unwrap();
    let name = unique("cpfs");
    let script = format!(
        "echo content > /hello; mkdir -p /data/sub; echo deep > /data/sub/f; \
         echo container-shadow > /etc/shadow; rm /etc/group; \
         ln -s / /escape; ln -s ../../../../../../../..{v} /e2; mkdir -p {v}; \
         touch /ready; sleep 300"
    );
    let id = d.create_container(
        &name,
        serde_json::json!({"Image": "busybox", "Cmd": ["sh", "-c", script]}),
    );
    d.start_container(&id);
    assert!(
        wait_until(Duration::from_secs(20), || {
            d.http(
                "HEAD",
                &format!("/containers/{id}/archive?path=/ready"),
                None,
            )
            .status
                == 200
        }),
        "the container did not get ready"
    );

    // Out of a running container, with the real docker CLI.
    let out = h.join("hello");
    ok(d.docker()
        .args(["cp", &format!("{name}:/hello"), out.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "content\n");
    ok(d.docker().args([
        "cp",
        &format!("{name}:/data"),
        h.join("data").to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read_to_string(h.join("data/sub/f")).unwrap(),
        "deep\n"
    );
    // Into it.
    std::fs::write(h.join("in.txt"), "from host").unwrap();
    ok(d.docker().args([
        "cp",
        h.join("in.txt").to_str().unwrap(),
        &format!("{name}:/data/"),
    ]));
    let back = h.join("back.txt");
    ok(d.docker().args([
        "cp",
        &format!("{name}:/data/in.txt"),
        back.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "from host");

    // Symlink breakouts: reads and writes stay in the container.
    let shadow = h.join("shadow");
    ok(d.docker().args([
        "cp",
        &format!("{name}:/escape/etc/shadow"),
        shadow.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read_to_string(&shadow).unwrap(),
        "container-shadow\n"
    );
    let secret = format!("{name}:/escape{}", h.join("host-secret").display());
    let (_, msg) = fails(
        d.docker()
            .args(["cp", &secret, h.join("s").to_str().unwrap()]),
    );
    assert!(msg.contains("Could not find the file"), "{msg}");
    assert!(!h.join("s").exists());
    let planted = h.join("planted.txt");
    std::fs::write(&planted, "planted").unwrap();
    ok(d.docker()
        .args(["cp", planted.to_str().unwrap(), &format!("{name}:/e2/")]));
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "written on the host through the container's symlink"
    );
    let r = d.http(
        "HEAD",
        &format!("/containers/{id}/archive?path={v}/planted.txt"),
        None,
    );
    assert_eq!(r.status, 200, "the file is inside the container");
    let stat: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(r.header("X-Docker-Container-Path-Stat").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stat["name"], "planted.txt");
    assert_eq!(stat["size"], 7);
    let r = d.http("HEAD", &format!("/containers/{id}/archive?path=/e2"), None);
    let stat: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(r.header("X-Docker-Container-Path-Stat").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stat["linkTarget"], v, "resolved inside the container");

    // Errors like dockerd's.
    let r = d.http("GET", &format!("/containers/{id}/archive?path=/nope"), None);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["message"],
        format!("Could not find the file /nope in container {id}")
    );
    let tar = layer_of_one_file("x", b"y");
    let r = d.http(
        "PUT",
        &format!("/containers/{id}/archive?path=/hello"),
        Some(("application/x-tar", &tar)),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.http("GET", "/containers/nope/archive?path=/", None);
    assert_eq!(r.status, 404);
    // noOverwriteDirNonDir: a file may not replace the directory /data.
    let tar = layer_of_one_file("data", b"not a dir");
    let r = d.http(
        "PUT",
        &format!("/containers/{id}/archive?path=/&noOverwriteDirNonDir=1"),
        Some(("application/x-tar", &tar)),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.http(
        "HEAD",
        &format!("/containers/{id}/archive?path=/data/sub/f"),
        None,
    );
    assert_eq!(r.status, 200, "/data is still a directory");

    // `docker cp -a` into a never-started container: the container user's ids.
    let owned = unique("owned");
    d.create_container(
        &owned,
        serde_json::json!({"Image": "busybox", "User": "nobody", "Cmd": ["true"]}),
    );
    ok(d.docker().args([
        "cp",
        "-a",
        h.join("in.txt").to_str().unwrap(),
        &format!("{owned}:/tmp/owned.txt"),
    ]));
    let r = d.http(
        "GET",
        &format!("/containers/{owned}/archive?path=/tmp/owned.txt"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let mut a = tar::Archive::new(&r.body[..]);
    let e = a.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(e.path().unwrap().to_str(), Some("owned.txt"));
    assert_eq!(
        (e.header().uid().unwrap(), e.header().gid().unwrap()),
        (65534, 65534)
    );

    // diff: added, changed and deleted; no runtime placeholders.
    let diff = ok(d.docker().args(["diff", &name]));
    for line in [
        "A /hello",
        "A /data",
        "A /data/sub/f",
        "C /etc",
        "A /etc/shadow",
        "D /etc/group",
        "A /escape",
    ] {
        assert!(diff.lines().any(|l| l == line), "{line:?} missing:\n{diff}");
    }
    assert!(!diff.contains("/etc/hosts"), "{diff}");
    assert!(!diff.contains("/proc"), "{diff}");

    // Stopped: cp, diff and export go through a temporary detached mount.
    let r = d.http("POST", &format!("/containers/{id}/stop?t=0"), None);
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(mounts_under(d.dir()), 0, "stopped container unmounted");
    ok(d.docker().args([
        "cp",
        h.join("in.txt").to_str().unwrap(),
        &format!("{name}:/stopped.txt"),
    ]));
    let back2 = h.join("back2.txt");
    ok(d.docker().args([
        "cp",
        &format!("{name}:/stopped.txt"),
        back2.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read_to_string(&back2).unwrap(), "from host");
    let diff = ok(d.docker().args(["diff", &name]));
    assert!(diff.lines().any(|l| l == "A /stopped.txt"), "{diff}");
    let export = h.join("export.tar");
    ok(d.docker()
        .args(["export", "-o", export.to_str().unwrap(), &name]));
    let listing = ok(std::process::Command::new("tar").args(["tf", export.to_str().unwrap()]));
    for f in ["hello", "stopped.txt", "bin/sh", "data/sub/f", "etc/passwd"] {
        assert!(listing.lines().any(|l| l == f), "{f} not exported");
    }
    assert!(
        !listing.lines().any(|l| l == "etc/group"),
        "deleted file exported"
    );
    assert_eq!(mounts_under(d.dir()), 0, "no mount left after cp/export");
}

/// A tar with one regular file.
fn layer_of_one_file(name: &str, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, name, data).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn commit_makes_a_runnable_image() {
    let d = setup();
    let _cleanup = Cleanup(&d);
    let name = unique("commit");
    let id = d.create_container(&name,
        serde_json::json!({
            "Image": "busybox",
            "Cmd": ["sh", "-c", "echo committed > /committed.txt; rm /etc/group; mkdir -p /var/x; echo y > /var/x/y"],
        }),
    );
    d.start_container(&id);
    assert_eq!(wait(&d, &id), 0);
    let repo = unique("committed");
    let out = ok(d.docker().args([
        "commit",
        "-c",
        "CMD [\"sh\", \"-c\", \"cat /committed.txt /var/x/y; test -e /etc/group || echo group-gone\"]",
        "-c",
        "ENV FROM_COMMIT=1",
        "-m",
        "a message",
        "-a",
        "tester",
        &name,
        &format!("{repo}:v1"),
    ]));
    assert!(out.trim().starts_with("sha256:"), "{out}");
    let inspect = ok(d.docker().args(["image", "inspect", &format!("{repo}:v1")]));
    let img: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    let img = &img[0];
    assert_eq!(img["Comment"], "a message");
    assert_eq!(img["Author"], "tester");
    assert_eq!(img["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    assert!(img["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "FROM_COMMIT=1"));
    let history = ok(d
        .docker()
        .args(["history", "--no-trunc", &format!("{repo}:v1")]));
    assert!(history.contains("a message"), "{history}");

    // The new image runs: its layer holds the file, and the deletion.
    let id2 = d.create_container(
        &unique("fromcommit"),
        serde_json::json!({"Image": format!("{repo}:v1")}),
    );
    d.start_container(&id2);
    assert_eq!(wait(&d, &id2), 0);
    assert_eq!(stdout_of(&d, &id2), "committed\ny\ngroup-gone\n");

    // Nothing changed: no new layer, an empty_layer history entry.
    let quiet = d.create_container(
        &unique("quiet"),
        serde_json::json!({"Image": "busybox", "Cmd": ["true"]}),
    );
    let r = d.http(
        "POST",
        &format!("/commit?container={quiet}&comment=nothing"),
        None,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let new_id = r.json()["Id"].as_str().unwrap().to_string();
    let img = d
        .http("GET", &format!("/images/{new_id}/json"), None)
        .json();
    assert_eq!(img["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    let r = d.http("POST", "/commit?container=nope", None);
    assert_eq!(r.status, 404, "{}", r.text());
    let r = d.http(
        "POST",
        &format!("/commit?container={quiet}&changes=RUN%20x"),
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text());
}
