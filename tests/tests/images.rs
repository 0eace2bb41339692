//! The image store through the real docker CLI, the berth CLI and raw HTTP: import, tag,
//! inspect, history, save/load round trips, removal and garbage, bad archives, breakouts.

use berth_tests::images::*;
use berth_tests::*;

fn data_root_counts(d: &Daemon) -> (usize, usize) {
    let root = d.data_root.canonicalize().unwrap();
    (
        count_files(&root.join("layers")),
        count_files(&root.join("blobs/sha256")),
    )
}

#[test]
fn docker_cli_import_tag_inspect_rmi() {
    let d = Daemon::start();
    let rootfs = busybox_rootfs(d.dir());
    let id = ok(d
        .docker()
        .args(["import", rootfs.to_str().unwrap(), "busybox:latest"]));
    let id = id.trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");

    assert_eq!(d.http("GET", "/info", None).json()["Images"], 1);
    let out = ok(d.docker().args(["images"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("REPOSITORY"), "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("busybox") && l.contains("latest") && l.contains(&id[7..19])),
        "{out}"
    );

    let inspect: serde_json::Value =
        serde_json::from_str(&ok(d.docker().args(["image", "inspect", "busybox"]))).unwrap();
    let i = &inspect[0];
    assert_eq!(i["Id"], id);
    assert_eq!(i["RepoTags"][0], "busybox:latest");
    assert_eq!(i["Os"], "linux");
    assert_eq!(i["RootFS"]["Layers"].as_array().unwrap().len(), 1);
    assert!(i["Size"].as_i64().unwrap() > 1_000_000);
    // By ID prefix and by full ID too.
    assert_eq!(
        ok(d.docker()
            .args(["image", "inspect", "-f", "{{.Id}}", &id[7..15]]))
        .trim(),
        id
    );
    assert_eq!(
        ok(d.docker().args(["image", "inspect", "-f", "{{.Id}}", &id])).trim(),
        id
    );

    ok(d.docker()
        .args(["tag", "busybox", "localhost:5000/team/bb:v1"]));
    let out = ok(d
        .docker()
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}"]));
    let mut names: Vec<&str> = out.lines().collect();
    names.sort();
    assert_eq!(names, ["busybox:latest", "localhost:5000/team/bb:v1"]);
    let out = ok(d.docker().args(["history", "localhost:5000/team/bb:v1"]));
    assert!(out.contains("Imported from -"), "{out}");

    // Two names: removing by ID needs force; removing a tag only untags.
    let (_, msg) = fails(d.docker().args(["rmi", &id[7..19]]));
    assert!(msg.contains("must be forced"), "{msg}");
    let out = ok(d.docker().args(["rmi", "localhost:5000/team/bb:v1"]));
    assert!(
        out.contains("Untagged: localhost:5000/team/bb:v1") && !out.contains("Deleted"),
        "{out}"
    );
    let out = ok(d.docker().args(["rmi", "busybox"]));
    assert!(
        out.contains("Untagged: busybox:latest") && out.contains(&format!("Deleted: {id}")),
        "{out}"
    );
    assert_eq!(data_root_counts(&d), (0, 0), "layers or blobs left behind");
    let (_, msg) = fails(d.docker().args(["image", "inspect", "busybox"]));
    assert!(msg.contains("No such image"), "{msg}");
}

#[test]
fn import_applies_changes() {
    let d = Daemon::start();
    let rootfs = busybox_rootfs(d.dir());
    ok(d.docker().args([
        "import",
        "-c",
        "CMD [\"/bin/sh\", \"-c\", \"echo hi\"]",
        "-c",
        "ENV A=b",
        "-c",
        "WORKDIR /srv",
        "-c",
        "LABEL team=core",
        "-c",
        "EXPOSE 8080",
        "-m",
        "from test",
        rootfs.to_str().unwrap(),
        "bb:changed",
    ]));
    let cfg: serde_json::Value = serde_json::from_str(&ok(d.docker().args([
        "image",
        "inspect",
        "-f",
        "{{json .Config}}",
        "bb:changed",
    ])))
    .unwrap();
    assert_eq!(cfg["Cmd"], serde_json::json!(["/bin/sh", "-c", "echo hi"]));
    assert!(
        cfg["Env"].as_array().unwrap().contains(&"A=b".into()),
        "{cfg}"
    );
    assert_eq!(cfg["WorkingDir"], "/srv");
    assert_eq!(cfg["Labels"]["team"], "core");
    assert!(cfg["ExposedPorts"].get("8080/tcp").is_some(), "{cfg}");
    assert_eq!(
        ok(d.docker()
            .args(["image", "inspect", "-f", "{{.Comment}}", "bb:changed"]))
        .trim(),
        "from test"
    );
    let out = ok(d
        .docker()
        .args(["images", "--filter", "label=team=core", "-q"]));
    assert_eq!(out.lines().count(), 1, "{out}");
    let (_, msg) = fails(
        d.docker()
            .args(["import", "-c", "FROB x", rootfs.to_str().unwrap()]),
    );
    assert!(msg.to_lowercase().contains("frob"), "{msg}");
}

#[test]
fn save_load_round_trip_and_nothing_leaks() {
    let d = Daemon::start();
    let rootfs = busybox_rootfs(d.dir());
    let id = ok(d
        .docker()
        .args(["import", rootfs.to_str().unwrap(), "busybox:latest"]))
    .trim()
    .to_string();
    ok(d.docker().args(["tag", "busybox", "busybox:2"]));
    let archive = d.dir().join("saved.tar");
    ok(d.docker().args([
        "save",
        "-o",
        archive.to_str().unwrap(),
        "busybox:latest",
        "busybox:2",
    ]));
    let listing = ok(std::process::Command::new("tar").args(["tf", archive.to_str().unwrap()]));
    for f in ["manifest.json", "index.json", "oci-layout"] {
        assert!(
            listing.lines().any(|l| l == f),
            "{f} missing from the archive:\n{listing}"
        );
    }
    ok(d.docker().args(["rmi", "busybox:latest", "busybox:2"]));
    assert_eq!(data_root_counts(&d), (0, 0));

    let out = ok(d.docker().args(["load", "-i", archive.to_str().unwrap()]));
    assert!(
        out.contains("Loaded image: busybox:latest") && out.contains("Loaded image: busybox:2"),
        "{out}"
    );
    assert_eq!(
        ok(d.docker()
            .args(["image", "inspect", "-f", "{{.Id}}", "busybox:2"]))
        .trim(),
        id
    );
    // Loading again changes nothing.
    ok(d.docker().args(["load", "-i", archive.to_str().unwrap()]));
    assert_eq!(ok(d.docker().args(["images", "-q"])).lines().count(), 2);
    // A fresh daemon loads the same archive through stdin.
    let d2 = Daemon::start();
    let out = ok_with_input(
        d2.docker().args(["load"]),
        std::fs::File::open(&archive).unwrap(),
    );
    assert!(out.contains("Loaded image"), "{out}");
    ok(d.docker().args(["rmi", "busybox:latest", "busybox:2"]));
    assert_eq!(data_root_counts(&d), (0, 0));
}

#[test]
fn multi_layer_archives_share_layers() {
    let d = Daemon::start();
    let base = layer_tar(&[Entry::Dir("etc/"), Entry::File("etc/os", b"base\n")]);
    let mid = layer_tar(&[
        Entry::File("etc/app", b"app v1\n"),
        Entry::Symlink("etc/link", "app"),
    ]);
    let top = layer_tar(&[
        Entry::File("etc/.wh.os", b""),
        Entry::File("etc/app2", b"app v2\n"),
        Entry::Hardlink("etc/hard", "etc/app2"),
    ]);
    let a = TestImage {
        layers: vec![base.clone(), mid.clone()],
        tags: vec!["app:1".into()],
        labels: vec![],
        diff_ids: None,
    };
    let b = TestImage {
        layers: vec![base, mid, top],
        tags: vec!["app:2".into()],
        labels: vec![("v".into(), "2".into())],
        diff_ids: None,
    };
    let archive = docker_archive(&[a, b]);
    let r = d.http(
        "POST",
        "/v1.41/images/load",
        Some(("application/x-tar", &archive)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("Loaded image: app:1") && r.text().contains("Loaded image: app:2"),
        "{}",
        r.text()
    );
    let root = d.data_root.canonicalize().unwrap();
    assert_eq!(
        std::fs::read_dir(root.join("layers")).unwrap().count(),
        3,
        "shared layers are stored once"
    );
    let history: serde_json::Value = d.http("GET", "/images/app:2/history", None).json();
    assert_eq!(history.as_array().unwrap().len(), 3);
    assert_eq!(history[0]["CreatedBy"], "layer 2");
    assert_eq!(history[0]["Tags"][0], "app:2");
    assert_eq!(history[1]["Id"], "<missing>");
    // The whiteout became an overlay whiteout (char 0/0) in the top layer.
    let inspect = d.http("GET", "/images/app:2/json", None).json();
    let upper = inspect["GraphDriver"]["Data"]["UpperDir"]
        .as_str()
        .unwrap()
        .to_string();
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(format!("{upper}/etc/os"))
        .unwrap()
        .file_type()
        .is_char_device());
    // Removing app:2 frees only its own top layer.
    ok(d.docker().args(["rmi", "app:2"]));
    assert_eq!(std::fs::read_dir(root.join("layers")).unwrap().count(), 2);
    assert_eq!(
        ok(d.docker()
            .args(["image", "inspect", "-f", "{{.RepoTags}}", "app:1"]))
        .trim(),
        "[app:1]"
    );
    // `system df` sees one image of two layers.
    let df = d.http("GET", "/system/df", None).json();
    assert_eq!(df["Images"].as_array().unwrap().len(), 1);
    assert!(df["LayersSize"].as_i64().unwrap() > 0);
    let out = ok(d.docker().args(["system", "df"]));
    assert!(
        out.lines()
            .any(|l| l.starts_with("Images") && l.contains(" 1 ")),
        "{out}"
    );
    let out = ok(d.berth().args(["system", "df"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("TYPE") && lines[0].contains("RECLAIMABLE"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("Images") && lines[1].contains("(100%)"),
        "{out}"
    );
    let out = ok(d.berth().args(["system", "df", "-v"]));
    assert!(out.contains("SHARED SIZE") && out.contains("app"), "{out}");
}

#[test]
fn prune_removes_dangling_then_all() {
    let d = Daemon::start();
    let l1 = layer_tar(&[Entry::File("a", b"1")]);
    let l2 = layer_tar(&[Entry::File("a", b"2")]);
    let archive = docker_archive(&[
        TestImage {
            layers: vec![l1],
            tags: vec![],
            labels: vec![],
            diff_ids: None,
        },
        TestImage {
            layers: vec![l2],
            tags: vec!["keep:1".into()],
            labels: vec![],
            diff_ids: None,
        },
    ]);
    let r = d.http(
        "POST",
        "/images/load",
        Some(("application/x-tar", &archive)),
    );
    assert!(
        r.text().contains("Loaded image ID: sha256:"),
        "{}",
        r.text()
    );
    let out = ok(d
        .docker()
        .args(["images", "--filter", "dangling=true", "-q"]));
    assert_eq!(out.lines().count(), 1);
    let out = ok(d.docker().args(["image", "prune", "-f"]));
    assert!(
        out.contains("deleted: sha256:") && out.contains("Total reclaimed space"),
        "{out}"
    );
    assert_eq!(ok(d.docker().args(["images", "-q"])).lines().count(), 1);
    ok(d.docker().args(["image", "prune", "-a", "-f"]));
    assert_eq!(ok(d.docker().args(["images", "-q"])).lines().count(), 0);
    assert_eq!(data_root_counts(&d), (0, 0));
}

#[test]
fn bad_archives_are_rejected_and_change_nothing() {
    let d = Daemon::start();
    let good = docker_archive(&[TestImage {
        layers: vec![layer_tar(&[Entry::File("ok", b"ok")])],
        tags: vec!["good:1".into()],
        labels: vec![],
        diff_ids: None,
    }]);
    assert_eq!(
        d.http("POST", "/images/load", Some(("application/x-tar", &good)))
            .status,
        200
    );
    let before = data_root_counts(&d);

    let lying = docker_archive(&[TestImage {
        layers: vec![layer_tar(&[Entry::File("x", b"x")])],
        tags: vec!["lie:1".into()],
        labels: vec![],
        diff_ids: Some(vec![format!("sha256:{}", "ab".repeat(32))]),
    }]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec()),
        (
            "garbage",
            b"this is not a tar archive at all, just some bytes that go on and on".repeat(20),
        ),
        (
            "empty tar",
            tar::Builder::new(Vec::new()).into_inner().unwrap(),
        ),
        ("wrong diff id", lying),
    ];
    for (what, body) in cases {
        let r = d.http("POST", "/images/load", Some(("application/x-tar", &body)));
        assert!(
            r.status == 400 || r.status == 500,
            "{what}: {} {}",
            r.status,
            r.text()
        );
        assert!(
            r.json()["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        assert_eq!(data_root_counts(&d), before, "{what} changed the store");
        let tmp = d.data_root.canonicalize().unwrap().join("tmp");
        assert_eq!(count_files(&tmp), 0, "{what} left scratch files");
    }
    let out = ok(d.docker().args(["images", "--format", "{{.Repository}}"]));
    assert_eq!(out.trim(), "good");
    // Importing garbage fails cleanly too.
    let r = d.http(
        "POST",
        "/images/create?fromSrc=-&repo=junk",
        Some(("application/x-tar", b"not a tar")),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(data_root_counts(&d), before);
}

#[test]
fn layer_breakouts_never_touch_the_host() {
    let d = Daemon::start();
    let victim = d.dir().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("file"), b"precious").unwrap();
    let passwd_before = std::fs::read("/etc/passwd").unwrap();
    let v = victim.display().to_string();
    let evil_layers: Vec<(&str, Vec<u8>)> = vec![
        (
            "dotdot",
            layer_tar(&[Entry::File(
                "../../../../../../../../../../../../tmp/berth-evil",
                b"x",
            )]),
        ),
        (
            "symlink dir then file",
            layer_tar(&[Entry::Symlink("link", &v), Entry::File("link/evil", b"x")]),
        ),
        (
            "symlink to /etc then passwd",
            layer_tar(&[
                Entry::Symlink("etc", "/etc"),
                Entry::File("etc/passwd", b"pwned"),
            ]),
        ),
        (
            "relative symlink chain",
            layer_tar(&[
                Entry::Symlink("up", "../../../../../../../.."),
                Entry::File(&format!("up{v}/file"), b"pwned"),
            ]),
        ),
        (
            "hardlink outside",
            layer_tar(&[Entry::Hardlink("h", &format!("../../../..{v}/file"))]),
        ),
    ];
    for (what, layer) in evil_layers {
        let archive = docker_archive(&[TestImage {
            layers: vec![layer],
            tags: vec!["evil:1".into()],
            labels: vec![],
            diff_ids: None,
        }]);
        let _ = d.http(
            "POST",
            "/images/load",
            Some(("application/x-tar", &archive)),
        );
        assert_eq!(
            std::fs::read(victim.join("file")).unwrap(),
            b"precious",
            "{what}"
        );
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 1, "{what}");
        assert!(!std::path::Path::new("/tmp/berth-evil").exists(), "{what}");
        assert_eq!(
            std::fs::read("/etc/passwd").unwrap(),
            passwd_before,
            "{what}"
        );
        let _ = d.http("DELETE", "/images/evil:1", None);
    }
    assert_eq!(d.http("GET", "/_ping", None).status, 200);
}

#[tokio::test]
async fn bollard_lists_and_inspects_images() {
    let d = Daemon::start();
    let rootfs = busybox_rootfs(d.dir());
    ok(d.docker()
        .args(["import", rootfs.to_str().unwrap(), "bb:bollard"]));
    let docker = d.bollard();
    let list = docker
        .list_images(None::<bollard::query_parameters::ListImagesOptions>)
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].repo_tags, vec!["bb:bollard".to_string()]);
    let i = docker.inspect_image("bb:bollard").await.unwrap();
    assert_eq!(i.os.as_deref(), Some("linux"));
}

#[test]
fn loads_an_archive_written_by_real_dockerd() {
    // `docker save` output of dockerd 20.10 (classic layout, a symlinked shared layer.tar),
    // committed as a fixture so the test never needs dockerd.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/berth-image/tests/fixtures/docker-20.10-save.tar");
    let d = Daemon::start();
    let out = ok(d.docker().args(["load", "-i", fixture.to_str().unwrap()]));
    for tag in [
        "berthtest/app:latest",
        "berthtest/app:v2",
        "berthtest/base:1.0",
    ] {
        assert!(out.contains(&format!("Loaded image: {tag}")), "{out}");
    }
    // The image IDs are the configs' digests, exactly as dockerd had them.
    assert_eq!(
        ok(d.docker()
            .args(["image", "inspect", "-f", "{{.Id}}", "berthtest/app:v2"]))
        .trim(),
        "sha256:9f2fadd44c7f0ae685c9e408913401faa374cb2ae951f2f92b1394c11175f590"
    );
    assert_eq!(
        ok(d.docker().args([
            "image",
            "inspect",
            "-f",
            "{{len .RootFS.Layers}}",
            "berthtest/app"
        ]))
        .trim(),
        "3"
    );
    // Saved again by berth, the archive round-trips into a fresh daemon with the same IDs.
    let again = d.dir().join("again.tar");
    ok(d.docker().args([
        "save",
        "-o",
        again.to_str().unwrap(),
        "berthtest/app:v2",
        "berthtest/base:1.0",
    ]));
    let d2 = Daemon::start();
    ok(d2.docker().args(["load", "-i", again.to_str().unwrap()]));
    assert_eq!(
        ok(d2
            .docker()
            .args(["images", "--format", "{{.ID}}", "berthtest/app"]))
        .trim(),
        "9f2fadd44c7f"
    );
}

#[test]
fn berth_cli_image_commands() {
    let d = Daemon::start();
    let rootfs = busybox_rootfs(d.dir());
    let id = ok(d
        .berth()
        .args(["import", rootfs.to_str().unwrap(), "bb:cli"]))
    .trim()
    .to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    let out = ok(d.berth().args(["images"]));
    let header = out.lines().next().unwrap();
    assert!(
        header.starts_with("REPOSITORY") && header.contains("IMAGE ID") && header.contains("SIZE"),
        "{out}"
    );
    assert!(out.contains(&id[7..19]), "{out}");
    ok(d.berth().args(["tag", "bb:cli", "bb:two"]));
    assert_eq!(
        ok(d.berth().args(["images", "-q"])).lines().count(),
        2,
        "one row per tag"
    );
    let hist = ok(d.berth().args(["history", "bb:two"]));
    assert!(hist.contains("Imported from -"), "{hist}");
    let archive = d.dir().join("cli.tar");
    ok(d.berth()
        .args(["save", "-o", archive.to_str().unwrap(), "bb:cli"]));
    let out = ok(d.berth().args(["rmi", "bb:cli", "bb:two"]));
    assert!(
        out.contains("Untagged: bb:cli") && out.contains(&format!("Deleted: {id}")),
        "{out}"
    );
    let out = ok(d.berth().args(["load", "-i", archive.to_str().unwrap()]));
    assert!(out.contains("Loaded image: bb:cli"), "{out}");
    assert_eq!(
        ok(d.berth()
            .args(["image", "inspect", "-f", "{{.Id}}", "bb:cli"]))
        .trim(),
        id
    );
    let (code, msg) = fails(d.berth().args(["image", "inspect", "nope:1"]));
    assert_eq!(code, 1);
    assert!(msg.contains("No such image"), "{msg}");
    ok(d.berth().args(["rmi", "bb:cli"]));
    let root = d.data_root.canonicalize().unwrap();
    assert_eq!(
        count_files(&root.join("layers")) + count_files(&root.join("blobs/sha256")),
        0
    );
}

#[test]
fn oci_layout_archives_load_and_unknown_media_types_are_refused() {
    let d = Daemon::start();
    let img = TestImage {
        layers: vec![layer_tar(&[Entry::File("hello", b"oci\n")])],
        tags: vec![],
        labels: vec![],
        diff_ids: None,
    };
    let good = oci_archive(
        &img,
        "docker.io/library/oci:1",
        "application/vnd.oci.image.layer.v1.tar",
    );
    let r = d.http("POST", "/images/load", Some(("application/x-tar", &good)));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Loaded image: oci:1"), "{}", r.text());
    let before = (
        count_files(&d.data_root.canonicalize().unwrap().join("layers")),
        count_files(&d.data_root.canonicalize().unwrap().join("blobs/sha256")),
    );
    let odd = TestImage {
        layers: vec![layer_tar(&[Entry::File("x", b"other")])],
        tags: vec![],
        labels: vec![],
        diff_ids: None,
    };
    let bad = oci_archive(&odd, "docker.io/library/odd:1", "application/x-bogus");
    let r = d.http("POST", "/images/load", Some(("application/x-tar", &bad)));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("application/x-bogus"),
        "{}",
        r.text()
    );
    let after = (
        count_files(&d.data_root.canonicalize().unwrap().join("layers")),
        count_files(&d.data_root.canonicalize().unwrap().join("blobs/sha256")),
    );
    assert_eq!(before, after);
    assert_eq!(d.http("GET", "/images/odd:1/json", None).status, 404);
}

#[test]
fn start_up_check_removes_what_a_crash_left_behind() {
    let keep = tempfile::tempdir().unwrap();
    let root = keep.path().join("root");
    let args = ["--data-root", root.to_str().unwrap()];
    let d = Daemon::builder().args(args).start();
    let archive = docker_archive(&[TestImage {
        layers: vec![layer_tar(&[Entry::File("a", b"1")])],
        tags: vec!["survivor:1".into()],
        labels: vec![],
        diff_ids: None,
    }]);
    assert_eq!(
        d.http(
            "POST",
            "/images/load",
            Some(("application/x-tar", &archive))
        )
        .status,
        200
    );
    d.signal(nix::sys::signal::Signal::SIGKILL);
    drop(d);
    // What a kill in the middle of a load could leave: a blob and a layer directory that
    // no record names.
    let stray_blob = format!("{:064x}", 7);
    let stray_layer = format!("{:064x}", 8);
    let root = root.canonicalize().unwrap();
    std::fs::write(root.join("blobs/sha256").join(&stray_blob), b"half a layer").unwrap();
    std::fs::create_dir(root.join("layers").join(&stray_layer)).unwrap();
    let d = Daemon::builder().args(args).start();
    assert!(!root.join("blobs/sha256").join(&stray_blob).exists());
    assert!(!root.join("layers").join(&stray_layer).exists());
    let log = d.log_text();
    assert!(
        log.contains("orphaned blob") && log.contains("orphaned layer directory"),
        "{log}"
    );
    assert_eq!(d.http("GET", "/images/survivor:1/json", None).status, 200);
}
