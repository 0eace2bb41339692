//! berthd's API surface: ping/version/info/events, version negotiation, error bodies,
//! start-up and shutdown behaviour. Driven with raw HTTP, the real docker CLI and bollard.

use std::time::Duration;

use berth_tests::*;
use nix::sys::signal::Signal;

#[test]
fn ping_answers_with_dockerd_headers() {
    let d = Daemon::start();
    for path in ["/_ping", "/v1.41/_ping", "/v1.24/_ping"] {
        let r = d.http("GET", path, None);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.text(), "OK");
        assert_eq!(r.header("Api-Version"), Some("1.47"));
        assert_eq!(r.header("Ostype"), Some("linux"));
        assert_eq!(r.header("Docker-Experimental"), Some("false"));
        assert_eq!(r.header("Builder-Version"), Some("1"));
    }
    let r = d.http("HEAD", "/_ping", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Length"), Some("0"));
    assert_eq!(r.header("Api-Version"), Some("1.47"));
}

#[test]
fn version_and_info_report_the_daemon() {
    let keep = tempfile::tempdir().unwrap();
    let root = keep.path().join("root");
    let d = Daemon::builder()
        .args(["--data-root", root.to_str().unwrap()])
        .start();
    let v = d.http("GET", "/v1.41/version", None).json();
    assert_eq!(v["ApiVersion"], "1.47");
    assert_eq!(v["MinAPIVersion"], "1.24");
    assert_eq!(v["Version"], env_version());
    assert_eq!(v["Os"], "linux");
    let i = d.http("GET", "/info", None).json();
    assert_eq!(
        i["DockerRootDir"],
        root.canonicalize().unwrap().display().to_string()
    );
    assert_eq!(i["OSType"], "linux");
    assert_eq!(i["Driver"], "overlay2");
    assert!(i["NCPU"].as_i64().unwrap() >= 1);
    assert!(i["MemTotal"].as_i64().unwrap() > 0);
    let expected_cgroup = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    };
    assert_eq!(i["CgroupVersion"], expected_cgroup);
    assert_eq!(i["ID"].as_str().unwrap().len(), 36);
    // The daemon ID survives a restart on the same data root.
    let id = i["ID"].clone();
    drop(d);
    let d2 = Daemon::builder()
        .args(["--data-root", root.to_str().unwrap()])
        .start();
    assert_eq!(d2.http("GET", "/info", None).json()["ID"], id);
}

fn env_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[test]
fn errors_are_docker_json_and_the_daemon_keeps_serving() {
    let d = Daemon::start();
    let cases: &[(&str, &str, u16, &str)] = &[
        ("GET", "/v1.41/no/such/endpoint", 404, "page not found"),
        ("GET", "/nope", 404, "page not found"),
        ("DELETE", "/_ping", 404, "page not found"),
        ("POST", "/v1.41/version", 404, "page not found"),
        ("GET", "/v1.99/version", 400, "client version 1.99 is too new. Maximum supported API version is 1.47"),
        ("GET", "/v1.12/version", 400, "client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"),
        ("GET", "/v1..2/version", 400, "invalid API version"),
        ("GET", "/events?filters=%7Bnot-json", 400, "invalid filter"),
        ("GET", "/events?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D", 400, "invalid filter 'bogus'"),
        ("GET", "/events?since=yesterday", 400, "invalid value for since"),
    ];
    for (method, path, status, message) in cases {
        let r = d.http(method, path, None);
        assert_eq!(r.status, *status, "{method} {path}: {}", r.text());
        assert_eq!(
            r.header("Content-Type"),
            Some("application/json"),
            "{method} {path}"
        );
        let m = r.json()["message"].as_str().unwrap().to_string();
        assert!(
            m.contains(message),
            "{method} {path}: {m:?} lacks {message:?}"
        );
    }
    // A huge body on an endpoint that takes none is ignored, not fatal.
    let big = vec![b'x'; 8 << 20];
    let r = d.http("GET", "/v1.41/version", Some(("application/json", &big)));
    assert!(r.status == 200 || r.status == 413, "{}", r.status);
    assert_eq!(d.http("GET", "/_ping", None).status, 200);
}

#[test]
fn real_docker_cli_version_info_events() {
    let d = Daemon::start();
    let out = ok(d.docker().args(["version"]));
    assert!(out.contains("Server: berth"), "{out}");
    assert!(
        out.contains(&format!("Version:          {}", env_version())),
        "{out}"
    );
    assert!(out.contains("1.47 (minimum version 1.24)"), "{out}");
    let out = ok(d.docker().args([
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}}",
    ]));
    assert_eq!(out.trim(), format!("{} 1.47", env_version()));
    let out = ok(d.docker().args(["info"]));
    assert!(out.contains("Storage Driver: overlay2"), "{out}");
    let out = ok(d.docker().args(["info", "--format", "{{.DockerRootDir}}"]));
    assert_eq!(
        out.trim(),
        d.data_root.canonicalize().unwrap().display().to_string()
    );
    // Both relative times are in the past: the stream must end by itself, cleanly.
    let (code, out, err) = run_with_timeout(
        d.docker()
            .args(["events", "--since", "1s", "--until", "2s"]),
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    // An `until` in the future ends when it is reached.
    let (code, out, err) = run_with_timeout(
        d.docker().args(["events", "--until", "1s"]),
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn the_docker_20_10_cli_works_too() {
    // Debian's docker.io CLI speaks API 1.41; the test command installs it.
    let cli = std::path::Path::new("/usr/bin/docker");
    assert!(
        cli.exists(),
        "/usr/bin/docker (Debian docker.io) missing: run the README's test command"
    );
    let d = Daemon::start();
    let out = ok(d
        .docker_cli(cli)
        .args(["version", "--format", "{{.Server.APIVersion}}"]));
    assert_eq!(out.trim(), "1.47");
    ok(d.docker_cli(cli).args(["info"]));
}

#[test]
fn events_reach_subscribers_with_filters() {
    let d = Daemon::start();
    // A live subscriber, filtered to daemon events; SIGHUP makes berthd reload → `reload`.
    // (`--until` takes an absolute time here: a duration would mean "8s ago".)
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 15;
    let mut sub = d
        .docker()
        .args([
            "events",
            "--filter",
            "type=daemon",
            "--format",
            "{{.Type}} {{.Action}}",
            "--until",
            &until.to_string(),
        ])
        .env("DOCKER_HOST", d.host())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the daemon counts the listener, then reload.
    assert!(wait_until(Duration::from_secs(10), || {
        d.http("GET", "/info", None).json()["NEventsListener"].as_i64() == Some(1)
    }));
    d.signal(Signal::SIGHUP);
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(sub.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "daemon reload");
    let _ = sub.kill();
    let _ = sub.wait();
    // History: `since` replays it; a non-matching filter hides it.
    let out = ok(d.berth().args(["events", "--since", "1m", "--until", "0s"]));
    assert!(out.contains(" daemon reload "), "{out}");
    let out = ok(d.berth().args([
        "events",
        "--since",
        "1m",
        "--until",
        "0s",
        "--filter",
        "type=container",
    ]));
    assert!(out.trim().is_empty(), "{out}");
    let out = ok(d.berth().args([
        "events",
        "--since",
        "1m",
        "--until",
        "0s",
        "--format",
        "{{json .}}",
    ]));
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["Type"], "daemon");
    assert_eq!(v["scope"], "local");
}

#[tokio::test]
async fn bollard_client_works() {
    let d = Daemon::start();
    let docker = d.bollard();
    docker.ping().await.unwrap();
    let v = docker.version().await.unwrap();
    assert_eq!(v.api_version.as_deref(), Some("1.47"));
    let i = docker.info().await.unwrap();
    assert_eq!(i.os_type.as_deref(), Some("linux"));
}

#[test]
fn second_daemon_on_the_same_data_root_is_refused() {
    let d = Daemon::start();
    let mut second = Daemon::builder()
        .args(["--data-root", d.data_root.to_str().unwrap()])
        .no_unix_socket()
        .arg("-H")
        .arg(format!("unix://{}/other.sock", d.dir().display()))
        .start();
    let status = second
        .wait_exit(Duration::from_secs(10))
        .expect("second berthd must exit");
    assert!(!status.success());
    let log = second.log_text();
    assert!(log.contains("in use by another berthd"), "{log}");
    assert_eq!(d.http("GET", "/_ping", None).status, 200);
}

#[test]
fn sigterm_stops_cleanly_and_removes_the_socket() {
    let mut d = Daemon::start();
    let status = d.stop();
    assert!(status.success(), "{status}");
    assert!(!d.socket.exists());
    // A killed daemon leaves a stale socket behind; the next start replaces it.
    let d2 = Daemon::start();
    let socket = d2.socket.clone();
    let root = d2.data_root.clone();
    d2.signal(Signal::SIGKILL);
    std::thread::sleep(Duration::from_millis(200));
    assert!(socket.exists());
    let d3 = Daemon::builder()
        .no_unix_socket()
        .args([
            "-H",
            &format!("unix://{}", socket.display()),
            "--data-root",
            root.to_str().unwrap(),
        ])
        .start();
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::panic::catch_unwind(|| raw_http(&socket, "GET", "/_ping", None).status == 200)
                .unwrap_or(false)
        }),
        "{}",
        d3.log_text()
    );
}

#[test]
fn plain_tcp_needs_insecure_flag() {
    let port = free_port();
    let mut d = Daemon::builder()
        .arg("-H")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .no_unix_socket()
        .start();
    let status = d
        .wait_exit(Duration::from_secs(10))
        .expect("berthd must refuse");
    assert!(!status.success());
    let log = d.log_text();
    assert!(
        log.contains("--insecure-tcp") && log.contains("berth tls init"),
        "{log}"
    );

    let port = free_port();
    let d = Daemon::builder()
        .args(["-H", &format!("tcp://127.0.0.1:{port}"), "--insecure-tcp"])
        .start();
    assert!(d.log_text().contains("WITHOUT TLS"), "{}", d.log_text());
    let out = ok(d
        .berth()
        .env("BERTH_HOST", format!("tcp://127.0.0.1:{port}"))
        .args(["version", "--format", "{{.Server.ApiVersion}}"]));
    assert_eq!(out.trim(), "1.47");
    let warnings = d.http("GET", "/info", None).json()["Warnings"].to_string();
    assert!(warnings.contains("without encryption"), "{warnings}");
}

#[test]
fn config_file_uses_dockerd_keys() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("from-config");
    let d = Daemon::builder()
        .config(format!(
            r#"{{"data-root": "{}", "log-level": "debug", "labels": ["a=b"]}}"#,
            root.display()
        ))
        .start();
    let i = d.http("GET", "/info", None).json();
    assert_eq!(
        i["DockerRootDir"],
        root.canonicalize().unwrap().display().to_string()
    );
    assert_eq!(i["Debug"], true);
    assert_eq!(i["Labels"][0], "a=b");
    drop(d);

    let mut bad = Daemon::builder()
        .config(r#"{"data_root": "/x"}"#)
        .no_unix_socket()
        .start();
    assert!(!bad.wait_exit(Duration::from_secs(10)).unwrap().success());
    assert!(
        bad.log_text().contains("unknown field `data_root`"),
        "{}",
        bad.log_text()
    );
}

#[test]
fn cli_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("nobody.sock");
    let (code, out) = fails(
        std::process::Command::new(berth_bin())
            .env("BERTH_CONFIG", dir.path())
            .args(["-H", &format!("unix://{}", sock.display()), "info"]),
    );
    assert_eq!(code, 1);
    assert!(
        out.contains(&sock.display().to_string()) && out.contains("Is berthd running?"),
        "{out}"
    );
    let (code, out) = fails(std::process::Command::new(berth_bin()).arg("no-such-command"));
    assert_eq!(code, 125, "{out}");
}
