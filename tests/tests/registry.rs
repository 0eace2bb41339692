//! Pull, push and login against a real registry (Debian's docker-registry on 127.0.0.1),
//! through the real docker CLI, the berth CLI and raw HTTP.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_tests::images::*;
use berth_tests::registry::Registry;
use berth_tests::*;

fn image_id(d: &Daemon, name: &str) -> String {
    ok(d.docker().args(["image", "inspect", "-f", "{{.Id}}", name]))
        .trim()
        .to_string()
}

/// busybox imported into `d` and tagged `name`; returns the image ID.
fn busybox_as(d: &Daemon, name: &str) -> String {
    let rootfs = busybox_rootfs(d.dir());
    let id = ok(d.docker().args(["import", rootfs.to_str().unwrap(), name]));
    id.trim().to_string()
}

fn data_root_counts(d: &Daemon) -> (usize, usize) {
    let root = d.data_root.canonicalize().unwrap();
    (
        count_files(&root.join("layers")),
        count_files(&root.join("blobs/sha256")),
    )
}

#[test]
fn docker_push_then_pull_into_a_fresh_daemon_gives_the_same_image() {
    let reg = Registry::start();
    let name = format!("{}/test/bb:1", reg.host());
    let a = Daemon::start();
    let id = busybox_as(&a, "busybox:latest");
    ok(a.docker().args(["tag", "busybox", &name]));
    let out = ok(a.docker().args(["push", &name]));
    assert!(
        out.contains(&format!(
            "The push refers to repository [{}/test/bb]",
            reg.host()
        )),
        "{out}"
    );
    assert!(out.contains("Pushed"), "{out}");
    let digest = out
        .lines()
        .find_map(|l| l.strip_prefix("1: digest: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest line in {out}"))
        .to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    assert_eq!(reg.tags("test/bb"), ["1"]);
    let (status, manifest) = reg.get(&format!("/v2/test/bb/manifests/{digest}"));
    assert_eq!(status, 200, "{manifest}");
    // Pushing again finds every layer there.
    let out = ok(a.docker().args(["push", &name]));
    assert!(out.contains("Layer already exists"), "{out}");

    let b = Daemon::start();
    let out = ok(b.docker().args(["pull", &name]));
    assert!(out.contains("1: Pulling from test/bb"), "{out}");
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}")),
        "{out}"
    );
    assert_eq!(image_id(&b, &name), id);
    let out = ok(b.docker().args(["images", "--digests"]));
    assert!(out.contains(&digest), "{out}");
    let inspect = ok(b
        .docker()
        .args(["image", "inspect", "-f", "{{json .RepoDigests}}", &name]));
    assert!(
        inspect.contains(&format!("{}/test/bb@{digest}", reg.host())),
        "{inspect}"
    );

    // A second pull downloads nothing.
    let out = ok(b.docker().args(["pull", &name]));
    assert!(out.contains("Already exists"), "{out}");
    assert!(out.contains("Image is up to date"), "{out}");
    assert!(!out.contains("Pull complete"), "{out}");

    // By digest, into a store that lost the image.
    ok(b.docker().args(["rmi", &name]));
    assert_eq!(data_root_counts(&b), (0, 0));
    let by_digest = format!("{}/test/bb@{digest}", reg.host());
    let out = ok(b.docker().args(["pull", &by_digest]));
    assert!(out.contains("Pull complete"), "{out}");
    assert_eq!(image_id(&b, &by_digest), id);
    // Nothing was left in the temp areas.
    let root = b.data_root.canonicalize().unwrap();
    assert_eq!(count_files(&root.join("blobs/tmp")), 0);
    assert_eq!(count_files(&root.join("layer-tmp")), 0);
}

#[test]
fn multi_layer_image_round_trips_with_chunked_uploads_and_all_tags() {
    let reg = Registry::start();
    let a = Daemon::start();
    // One layer above the 16 MiB chunk size, so it goes up in PATCH chunks.
    let big: Vec<u8> = (0..20u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let repo = format!("{}/multi/app", reg.host());
    let img = TestImage {
        layers: vec![
            layer_tar(&[Entry::Dir("etc/"), Entry::File("etc/one", b"1")]),
            layer_tar(&[Entry::File("big.bin", &big)]),
            layer_tar(&[Entry::File("etc/three", b"3")]),
        ],
        tags: vec![format!("{repo}:v1"), format!("{repo}:v2")],
        labels: vec![],
        diff_ids: None,
    };
    let archive = d_path(&a, "multi.tar");
    std::fs::write(&archive, docker_archive(&[img])).unwrap();
    ok(a.docker().args(["load", "-i", archive.to_str().unwrap()]));
    let id = image_id(&a, &format!("{repo}:v1"));

    let out = ok(a.berth().args(["push", "--all-tags", &repo]));
    assert!(out.contains("v1: digest: sha256:"), "{out}");
    assert!(out.contains("v2: digest: sha256:"), "{out}");
    assert_eq!(reg.tags("multi/app"), ["v1", "v2"]);

    let b = Daemon::start();
    let out = ok(b.berth().args(["pull", &format!("{repo}:v2")]));
    assert!(out.contains("Pull complete"), "{out}");
    assert!(out.trim_end().ends_with(&format!("{repo}:v2")), "{out}");
    assert_eq!(image_id(&b, &format!("{repo}:v2")), id);
    let layers = ok(b
        .docker()
        .args(["image", "inspect", "-f", "{{len .RootFS.Layers}}", &id]));
    assert_eq!(layers.trim(), "3");
    // All tags; the shared layers are already there.
    let out = ok(b.berth().args(["pull", "-a", &repo]));
    assert!(out.contains("Already exists"), "{out}");
    let tags = ok(b.docker().args(["images", "--format", "{{.Tag}}", &repo]));
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    assert_eq!(tags, ["v1", "v2"]);

    // Another repository of the same registry gets the layers by cross-repo mount.
    let other = format!("{}/multi/copy:1", reg.host());
    ok(b.docker().args(["tag", &id, &other]));
    let out = ok(b.docker().args(["push", &other]));
    assert!(out.contains("Mounted from multi/app"), "{out}");
    assert_eq!(reg.tags("multi/copy"), ["1"]);
}

fn d_path(d: &Daemon, name: &str) -> std::path::PathBuf {
    d.dir().join(name)
}

#[test]
fn missing_images_and_docker_hub_fail_clearly() {
    let reg = Registry::start();
    let d = Daemon::start();
    let missing = format!("{}/test/none:nope", reg.host());
    let (_, msg) = fails(d.docker().args(["pull", &missing]));
    assert!(
        msg.contains(&format!(
            "manifest for {missing} not found: manifest unknown"
        )) || msg.contains("repository") && msg.contains("not found"),
        "{msg}"
    );
    // Detected before the stream starts: a 404, not a 200 with an error line.
    let r = d.http(
        "POST",
        &format!("/images/create?fromImage={}/test/none&tag=nope", reg.host()),
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let (_, msg) = fails(d.berth().args(["pull", &missing]));
    assert!(msg.contains("not found"), "{msg}");
    let (_, msg) = fails(
        d.docker()
            .args(["push", &format!("{}/test/none:1", reg.host())]),
    );
    assert!(
        msg.contains("An image does not exist locally with the tag"),
        "{msg}"
    );

    // No network here: Docker Hub fails at once, saying which host it could not reach.
    let start = Instant::now();
    let (_, msg) = fails(d.docker().args(["pull", "busybox"]));
    assert!(msg.contains("registry-1.docker.io"), "{msg}");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );

    // The registry settings are visible in /info.
    let info = d.http("GET", "/info", None).json();
    let cidrs = &info["RegistryConfig"]["InsecureRegistryCIDRs"];
    assert!(cidrs.to_string().contains("127.0.0.0/8"), "{cidrs}");
}

#[test]
fn docker_cli_login_and_push_pull_against_an_auth_registry() {
    let reg = Registry::with_auth("alice", "s3cret");
    let name = format!("{}/private/bb:1", reg.host());
    let a = Daemon::start();
    let id = busybox_as(&a, &name);

    let (_, msg) = fails(a.docker().args(["push", &name]));
    assert!(msg.contains("no basic auth credentials"), "{msg}");

    let (_, msg) = fails(
        a.docker()
            .args(["login", &reg.host(), "-u", "alice", "-p", "wrong"]),
    );
    assert!(msg.contains("401 Unauthorized"), "{msg}");

    // /auth itself, as docker login calls it.
    let body =
        serde_json::json!({"username": "alice", "password": "s3cret", "serveraddress": reg.host()});
    let r = a.http(
        "POST",
        "/auth",
        Some(("application/json", body.to_string().as_bytes())),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["Status"], "Login Succeeded");
    let bad =
        serde_json::json!({"username": "alice", "password": "x", "serveraddress": reg.host()});
    let r = a.http(
        "POST",
        "/auth",
        Some(("application/json", bad.to_string().as_bytes())),
    );
    assert_eq!(r.status, 401, "{}", r.text());

    let out = ok(a
        .docker()
        .args(["login", &reg.host(), "-u", "alice", "-p", "s3cret"]));
    assert!(out.contains("Login Succeeded"), "{out}");
    let out = ok(a.docker().args(["push", &name]));
    assert!(out.contains("Pushed"), "{out}");
    assert_eq!(reg.tags("private/bb"), ["1"]);

    // A daemon whose client has no credentials cannot pull; after login it can.
    let b = Daemon::start();
    let (_, msg) = fails(b.docker().args(["pull", &name]));
    assert!(msg.contains("no basic auth credentials"), "{msg}");
    ok(b.docker()
        .args(["login", &reg.host(), "-u", "alice", "-p", "s3cret"]));
    ok(b.docker().args(["pull", &name]));
    assert_eq!(image_id(&b, &name), id);
}

#[test]
fn berth_cli_login_push_pull_logout() {
    let reg = Registry::with_auth("bob", "pa:ss word");
    let name = format!("{}/team/bb:2", reg.host());
    let a = Daemon::start();
    let id = busybox_as(&a, &name);
    let config_dir = a.dir().join("berth-config");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.json"),
        r#"{"currentContext":"default","x-unknown":1}"#,
    )
    .unwrap();

    let (_, msg) = fails(a.berth().args(["push", &name]));
    assert!(msg.contains("no basic auth credentials"), "{msg}");

    let mut wrong = a.berth();
    wrong.args(["login", "-u", "bob", "--password-stdin", &reg.host()]);
    let (code, out, err) = run_with_input(&mut wrong, pipe_of("nope\n"), Duration::from_secs(30));
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(err.contains("401 Unauthorized"), "{err}");

    let mut login = a.berth();
    login.args(["login", "-u", "bob", "--password-stdin", &reg.host()]);
    let out = ok_with_input(&mut login, pipe_of("pa:ss word\n"));
    assert!(out.contains("Login Succeeded"), "{out}");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(config_dir.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config["currentContext"], "default");
    assert_eq!(config["x-unknown"], 1);
    assert!(config["auths"][reg.host()]["auth"].is_string(), "{config}");

    let out = ok(a.berth().args(["push", &name]));
    assert!(out.contains("Pushed"), "{out}");

    // A fresh daemon, the same client config: berth pull sends the stored credentials.
    let b = Daemon::start();
    let out = ok(b
        .berth()
        .env("BERTH_CONFIG", &config_dir)
        .args(["pull", "-q", &name]));
    assert_eq!(out.trim(), name);
    assert_eq!(image_id(&b, &name), id);

    let out = ok(a.berth().args(["logout", &reg.host()]));
    assert!(out.contains("Removing login credentials"), "{out}");
    let out = ok(a.berth().args(["logout", &reg.host()]));
    assert!(out.contains("Not logged in"), "{out}");
    ok(b.docker().args(["rmi", &name]));
    let (_, msg) = fails(
        b.berth()
            .env("BERTH_CONFIG", &config_dir)
            .args(["pull", &name]),
    );
    assert!(msg.contains("no basic auth credentials"), "{msg}");
}

#[test]
fn tls_registry_with_auth_on_loopback() {
    let reg = Registry::with_tls_auth("carol", "pw");
    // It really speaks TLS: a plain HTTP request is refused.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", reg.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.0 400"), "{answer}");
    }
    // 127.0.0.0/8 is insecure by default: HTTPS without certificate checks.
    let name = format!("{}/secure/bb:1", reg.host());
    let a = Daemon::start();
    let id = busybox_as(&a, &name);
    let (_, msg) = fails(a.docker().args(["push", &name]));
    assert!(msg.contains("no basic auth credentials"), "{msg}");
    ok(a.docker()
        .args(["login", &reg.host(), "-u", "carol", "-p", "pw"]));
    let out = ok(a.docker().args(["push", &name]));
    assert!(out.contains("Pushed"), "{out}");
    let b = Daemon::start();
    ok(b.docker()
        .args(["login", &reg.host(), "-u", "carol", "-p", "pw"]));
    ok(b.docker().args(["pull", &name]));
    assert_eq!(image_id(&b, &name), id);
}

fn pipe_of(text: &str) -> Stdio {
    let mut f = tempfile::tempfile().unwrap();
    use std::io::{Seek, Write};
    f.write_all(text.as_bytes()).unwrap();
    f.rewind().unwrap();
    Stdio::from(f)
}

#[test]
fn registry_mirror_serves_docker_hub_pulls() {
    let mirror = Registry::start();
    let a = Daemon::start();
    let id = busybox_as(&a, &format!("{}/library/busybox:latest", mirror.host()));
    ok(a.docker()
        .args(["push", &format!("{}/library/busybox:latest", mirror.host())]));

    let b = Daemon::builder()
        .config(format!(
            r#"{{"registry-mirrors": ["http://{}"]}}"#,
            mirror.host()
        ))
        .start();
    let info = b.http("GET", "/info", None).json();
    assert_eq!(
        info["RegistryConfig"]["Mirrors"][0],
        format!("http://{}/", mirror.host())
    );
    let out = ok(b.docker().args(["pull", "busybox"]));
    assert!(
        out.contains("latest: Pulling from library/busybox"),
        "{out}"
    );
    assert_eq!(image_id(&b, "busybox:latest"), id);
    // A tag the mirror lacks falls through to Docker Hub, which is unreachable here.
    let (_, msg) = fails(b.docker().args(["pull", "busybox:nope"]));
    assert!(msg.contains("registry-1.docker.io"), "{msg}");
}

#[test]
fn killed_pull_leaves_nothing_and_the_next_pull_completes() {
    let reg = Registry::start();
    let a = Daemon::start();
    let big: Vec<u8> = (0..48u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let repo = format!("{}/big/img", reg.host());
    let img = TestImage {
        layers: vec![layer_tar(&[Entry::File("big.bin", &big)])],
        tags: vec![format!("{repo}:1")],
        labels: vec![],
        diff_ids: None,
    };
    let archive = d_path(&a, "big.tar");
    std::fs::write(&archive, docker_archive(&[img])).unwrap();
    ok(a.docker().args(["load", "-i", archive.to_str().unwrap()]));
    ok(a.docker().args(["push", &format!("{repo}:1")]));
    let id = image_id(&a, &format!("{repo}:1"));
    drop(a);

    let mut b = Daemon::start();
    let data_root = b.data_root.clone();
    // Read the pull's stream until the download is under way, then kill berthd.
    {
        use std::io::{BufRead, BufReader, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&b.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "POST /images/create?fromImage={repo}&tag=1 HTTP/1.1\r\nHost: berth\r\n\r\n"
        )
        .unwrap();
        let mut lines = BufReader::new(s);
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                lines.read_line(&mut line).unwrap() > 0,
                "stream ended early"
            );
            if line.contains("Downloading") {
                break;
            }
        }
        b.signal(nix::sys::signal::Signal::SIGKILL);
        b.wait_exit(Duration::from_secs(10)).expect("berthd killed");
    }
    // Restart on the same data root: the unfinished pull is gone, no half layer is visible.
    let c = Daemon::builder()
        .arg("--data-root")
        .arg(data_root.to_str().unwrap())
        .start();
    let root = data_root.canonicalize().unwrap();
    assert_eq!(count_files(&root.join("layers")), 0);
    assert_eq!(count_files(&root.join("blobs/tmp")), 0);
    assert_eq!(count_files(&root.join("layer-tmp")), 0);
    let out = ok(c.docker().args(["pull", &format!("{repo}:1")]));
    assert!(out.contains("Downloaded newer image"), "{out}");
    assert_eq!(image_id(&c, &format!("{repo}:1")), id);
    // c runs on b's data root: stop it before b's directory goes.
    drop(c);
    drop(b);
}

/// skopeo as an independent client: it reads what berth pushed, and berth pulls and runs
/// what skopeo pushed; `search` finds both through the registry's catalog.
#[test]
fn skopeo_interop_and_search() {
    let reg = Registry::start();
    let d = daemon_with_busybox();
    let _cleanup = ContainerCleanup(&d);
    let pushed = format!("{}/interop/bb:1", reg.host());
    ok(d.berth().args(["tag", "busybox", &pushed]));
    ok(d.berth().args(["push", &pushed]));

    // skopeo inspects and copies out berth's push.
    let out = ok(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{pushed}"),
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["Digest"].as_str().unwrap().starts_with("sha256:"),
        "{out}"
    );
    assert_eq!(v["Layers"].as_array().unwrap().len(), 1, "{out}");
    let oci = d.dir().join("oci-out");
    ok(Command::new("skopeo").args([
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{pushed}"),
        &format!("oci:{}:bb", oci.display()),
    ]));
    assert!(oci.join("index.json").is_file());

    // skopeo pushes an archive berth saved; berth pulls it into a fresh daemon and runs it.
    let archive = d.dir().join("bb-save.tar");
    ok(d.berth()
        .args(["save", "-o", archive.to_str().unwrap(), "busybox"]));
    let by_skopeo = format!("{}/interop/sk:1", reg.host());
    ok(Command::new("skopeo").args([
        "copy",
        "--dest-tls-verify=false",
        &format!("docker-archive:{}", archive.display()),
        &format!("docker://{by_skopeo}"),
    ]));
    let d2 = Daemon::start();
    let _cleanup2 = ContainerCleanup(&d2);
    ok(d2.berth().args(["pull", &by_skopeo]));
    assert_eq!(
        ok(d2
            .berth()
            .args(["run", "--rm", &by_skopeo, "echo", "pulled from skopeo"])),
        "pulled from skopeo\n"
    );

    // search: the catalog, filtered by the term, with the registry's name in front.
    let out = ok(d
        .docker()
        .args(["search", &format!("{}/interop", reg.host())]));
    let names: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        [
            format!("{}/interop/bb", reg.host()),
            format!("{}/interop/sk", reg.host())
        ],
        "{out}"
    );
    let out = ok(d.berth().args([
        "search",
        "--format",
        "{{.Name}}",
        &format!("{}/sk", reg.host()),
    ]));
    assert_eq!(out, format!("{}/interop/sk\n", reg.host()));
    let (code, out) =
        fails(
            d.berth()
                .args(["search", "--limit", "0", &format!("{}/x", reg.host())]),
        );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("outside the range"), "{out}");
}
