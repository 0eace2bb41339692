//! `docker run --runtime runc`: the same bundle through the runc binary (berth-shim's
//! `--runtime runc`), with the real docker CLI — attached, `-t`, `-d`, `exec`, `stop`, exit
//! codes; runc really runs it; `docker info` lists the runtime; an unknown one is a 400;
//! nothing is left behind. Skipped when runc is not installed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_tests::ContainerCleanup as Cleanup;
use berth_tests::*;

const T: Duration = Duration::from_secs(10);

fn runc_installed() -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("runc").is_file()))
        .unwrap_or(false)
}

macro_rules! require_runc {
    () => {
        if !runc_installed() {
            eprintln!("skipping: runc is not installed");
            return;
        }
    };
}

/// `docker ARGS` with a timeout; (exit code, stdout, stderr).
fn docker(d: &Daemon, args: &[&str]) -> (i32, String, String) {
    let (code, out, err) = run_with_timeout(d.docker().args(args), Duration::from_secs(60));
    (code.unwrap_or(-1), out, err)
}

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    ok(d.docker().args(["inspect", "-f", format, name]))
        .trim()
        .to_string()
}

/// runc's state root for a container (the shim passes `--root <state>/runc`).
fn runc_root(d: &Daemon, id: &str) -> PathBuf {
    d.data_root
        .join("containers")
        .join(id)
        .join("shim")
        .join("runc")
}

/// `runc --root R list` as (id, pid, status) rows; empty when the root is gone.
fn runc_list(root: &Path) -> Vec<(String, String, String)> {
    if !root.exists() {
        return Vec::new();
    }
    let out = ok(std::process::Command::new("runc")
        .arg("--root")
        .arg(root)
        .arg("list"));
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((
                f.next()?.to_string(),
                f.next()?.to_string(),
                f.next()?.to_string(),
            ))
        })
        .collect()
}

/// cgroup dirs of the container that still exist (any controller).
fn leftover_cgroups(id: &str) -> Vec<PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .map(|rd| {
            rd.flatten()
                .map(|c| c.path().join("berth").join(id))
                .filter(|p| p.exists())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn runc_run_attached_tty_and_exit_codes() {
    require_runc!();
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);

    let (code, out, err) = docker(
        &d,
        &[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
    );
    assert_eq!((code, out.as_str()), (3, "out\n"), "stderr: {err}");
    assert!(err.contains("err"), "{err}");

    // Fast exits report their status every time.
    for _ in 0..3 {
        let (code, _, err) = docker(
            &d,
            &[
                "run",
                "--rm",
                "--runtime",
                "runc",
                "busybox",
                "sh",
                "-c",
                "exit 4",
            ],
        );
        assert_eq!(code, 4, "{err}");
    }

    // stdin: piped in, closed at its end.
    let out = ok_with_input(
        d.docker().args([
            "run",
            "-i",
            "--rm",
            "--runtime",
            "runc",
            "busybox",
            "sh",
            "-c",
            "cat; echo end",
        ]),
        std::fs::File::open("/etc/hostname").unwrap(),
    );
    assert_eq!(
        out,
        format!("{}end\n", std::fs::read_to_string("/etc/hostname").unwrap())
    );

    // -t: a pty from runc's console socket.
    let (code, out, err) = docker(
        &d,
        &[
            "run",
            "-t",
            "--rm",
            "--runtime",
            "runc",
            "busybox",
            "sh",
            "-c",
            "tty; echo $TERM",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "/dev/pts/0\r\nxterm\r\n");

    // The spec is the same as for berth's runtime: network namespace, bind mounts, limits.
    let vol = d.dir().join("runc-vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("f"), "from host\n").unwrap();
    let (code, out, err) = docker(
        &d,
        &[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "-v",
            &format!("{}:/data", vol.display()),
            "--memory",
            "64m",
            "busybox",
            "sh",
            "-c",
            "cat /data/f; ip -o link show eth0 >/dev/null && echo eth0; hostname | wc -c",
        ],
    );
    assert_eq!((code, out.as_str()), (0, "from host\neth0\n13\n"), "{err}");

    // 127: runc's own message, Docker's exit code.
    let (code, _, err) = docker(
        &d,
        &["run", "--rm", "--runtime", "runc", "busybox", "nosuchcmd"],
    );
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("executable file not found"), "{err}");
    assert!(err.contains("runc create failed"), "{err}");

    assert!(
        wait_until(T, || ok(d.docker().args(["ps", "-aq"])).is_empty()),
        "--rm containers were left: {}",
        ok(d.docker().args(["ps", "-a"]))
    );
}

#[test]
fn runc_detached_exec_stop_and_nothing_left() {
    require_runc!();
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let name = format!("runc-{}", std::process::id());
    let id = ok(d.docker().args([
        "run",
        "-d",
        "--runtime",
        "runc",
        "--name",
        &name,
        "busybox",
        "sleep",
        "300",
    ]))
    .trim()
    .to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(inspect(&d, &name, "{{.HostConfig.Runtime}}"), "runc");

    // Really under runc: its state knows the container, running, with inspect's pid.
    let root = runc_root(&d, &id);
    let pid = inspect(&d, &name, "{{.State.Pid}}");
    let rows = runc_list(&root);
    assert!(
        rows.iter()
            .any(|(i, p, s)| i == &id && p == &pid && s == "running"),
        "{rows:?} (pid {pid})"
    );
    assert!(!leftover_cgroups(&id).is_empty(), "no cgroup for {id}");

    // exec: output, exit codes, 127, a tty.
    let (code, out, _) = docker(&d, &["exec", &name, "sh", "-c", "echo in exec; exit 5"]);
    assert_eq!((code, out.as_str()), (5, "in exec\n"));
    assert_eq!(
        ok(d.docker().args(["exec", &name, "cat", "/proc/1/cmdline"])),
        "sleep\u{0}300\u{0}"
    );
    let (code, out, err) = docker(&d, &["exec", &name, "nosuch"]);
    assert_eq!(code, 127, "{err}");
    assert!(
        format!("{out}{err}").contains("executable file not found"),
        "out {out:?} err {err:?}"
    );
    let (code, out, err) = docker(&d, &["exec", "-t", &name, "tty"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("/dev/pts/"), "{out:?}");

    // stop: sleep as PID 1 ignores SIGTERM, so SIGKILL after the timeout.
    ok(d.docker().args(["stop", "-t", "1", &name]));
    let code = inspect(&d, &name, "{{.State.ExitCode}}");
    assert!(code == "137" || code == "143", "{code}");
    assert_eq!(inspect(&d, &name, "{{.State.Status}}"), "exited");
    // runc's state and the cgroups are gone once the container has exited.
    assert!(
        wait_until(T, || runc_list(&root).is_empty()),
        "{:?}",
        runc_list(&root)
    );
    assert!(
        wait_until(T, || leftover_cgroups(&id).is_empty()),
        "{:?}",
        leftover_cgroups(&id)
    );

    // It starts again under runc, and a TERM handler gives 143.
    let id2 = ok(d.docker().args([
        "run",
        "-d",
        "--runtime",
        "runc",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 143' TERM; while true; do sleep 0.1; done",
    ]))
    .trim()
    .to_string();
    ok(d.docker().args(["stop", "-t", "10", &id2]));
    assert_eq!(inspect(&d, &id2, "{{.State.ExitCode}}"), "143");
    ok(d.docker().args(["start", &name]));
    assert_eq!(inspect(&d, &name, "{{.State.Running}}"), "true");
    ok(d.docker().args(["rm", "-f", &name, &id2]));
    for i in [&id, &id2] {
        assert!(
            wait_until(T, || leftover_cgroups(i).is_empty()),
            "{:?}",
            leftover_cgroups(i)
        );
        assert!(!runc_root(&d, i).exists());
    }
}

#[test]
fn info_lists_runtimes_and_unknown_runtime_is_400() {
    require_runc!();
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let info = d.http("GET", "/info", None).json();
    assert_eq!(info["DefaultRuntime"], "berth");
    assert_eq!(
        info["Runtimes"]["runc"]["path"], "runc",
        "{}",
        info["Runtimes"]
    );
    assert!(
        info["Runtimes"]["berth"].is_object(),
        "{}",
        info["Runtimes"]
    );
    let out = ok(d.docker().args(["info"]));
    assert!(
        out.lines().any(|l| l.trim().starts_with("Runtimes:")
            && l.contains("runc")
            && l.contains("berth")),
        "{out}"
    );
    assert!(out.contains("Default Runtime: berth"), "{out}");

    // Unknown runtime: 400 from create, 125 from docker run.
    let r = d.http(
        "POST",
        "/containers/create",
        Some((
            "application/json",
            br#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"Runtime":"nope"}}"#,
        )),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.text().contains("unknown or invalid runtime name: nope"),
        "{}",
        r.text()
    );
    let (code, _, err) = docker(&d, &["run", "--rm", "--runtime", "nope", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        err.contains("unknown or invalid runtime name: nope"),
        "{err}"
    );
    // berth's own runtime by name is the default one.
    let (code, out, err) = docker(
        &d,
        &["run", "--rm", "--runtime", "berth", "busybox", "echo", "hi"],
    );
    assert_eq!((code, out.as_str()), (0, "hi\n"), "{err}");

    // daemon.json's `runtimes` names the binary (dockerd's format).
    let d2 = Daemon::builder()
        .config(r#"{"runtimes": {"runc": {"path": "/usr/sbin/runc"}}}"#)
        .start();
    let info = d2.http("GET", "/info", None).json();
    assert_eq!(info["Runtimes"]["runc"]["path"], "/usr/sbin/runc");
}
