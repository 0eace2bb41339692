//! The real docker CLI against berthd: `docker run` attached, with `-i` and `-t`, exit
//! codes 125/126/127, `exec`, restart policies, `restart`/`rename`/`prune`, and live
//! restore (berthd killed with SIGKILL while containers run).

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use berth_tests::ContainerCleanup as Cleanup;
use berth_tests::*;

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

#[test]
fn run_attached_passes_streams_stdin_tty_and_exit_codes() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);

    // stdout and stderr stay apart; the exit status is the container's.
    let (code, out, err) = docker(
        &d,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
    );
    assert_eq!((code, out.as_str()), (3, "out\n"), "stderr: {err}");
    assert!(err.contains("err"), "{err}");

    // A container that exits at once still reports its status, every time.
    for _ in 0..5 {
        let (code, _, err) = docker(&d, &["run", "--rm", "busybox", "sh", "-c", "exit 4"]);
        assert_eq!(code, 4, "{err}");
    }

    // `echo x | docker run -i`: stdin reaches the process, and its end closes stdin.
    let mut child = d
        .docker()
        .args([
            "run",
            "-i",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "read x; echo got $x; cat; echo end",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped\nrest\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "got piped\nrest\nend\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());

    // `-t` gives a pty (and TERM); its output comes raw.
    let (code, out, err) = docker(
        &d,
        &[
            "run",
            "-t",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "tty; echo $TERM",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "/dev/pts/0\r\nxterm\r\n");

    // 127 not found, 126 not executable; --rm removes them even so.
    let (code, _, err) = docker(&d, &["run", "--rm", "busybox", "nosuchcmd"]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("executable file not found"), "{err}");
    let (code, _, err) = docker(&d, &["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(code, 126, "{err}");
    // 125: the daemon refuses the request.
    let (code, _, err) = docker(&d, &["run", "--rm", "--cap-add", "NOPE", "busybox", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(
        wait_until(Duration::from_secs(10), || ok(d
            .docker()
            .args(["ps", "-aq"]))
        .is_empty()),
        "--rm containers were left: {}",
        ok(d.docker().args(["ps", "-a"]))
    );
}

#[test]
fn exec_attach_detach_and_resize() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let id = ok(d
        .docker()
        .args(["run", "-d", "--name", "ex", "busybox", "sleep", "300"]))
    .trim()
    .to_string();
    assert_eq!(id.len(), 64);

    let (code, out, _) = docker(&d, &["exec", "ex", "sh", "-c", "echo in exec; exit 5"]);
    assert_eq!((code, out.as_str()), (5, "in exec\n"));
    let out = ok_with_input(
        d.docker().args(["exec", "-i", "ex", "cat"]),
        std::fs::File::open("/etc/hostname").unwrap(),
    );
    assert_eq!(out, std::fs::read_to_string("/etc/hostname").unwrap());
    let (code, _, err) = docker(&d, &["exec", "ex", "nosuch"]);
    assert_eq!(code, 127, "{err}");
    assert_eq!(
        ok(d.docker().args([
            "exec",
            "-u",
            "nobody",
            "-w",
            "/etc",
            "-e",
            "A=b",
            "ex",
            "sh",
            "-c",
            "id -u; pwd; echo $A"
        ])),
        "65534\n/etc\nb\n"
    );
    // The exec runs in the container's namespaces: it sees the container's PID 1.
    assert_eq!(
        ok(d.docker().args(["exec", "ex", "cat", "/proc/1/cmdline"])),
        "sleep\u{0}300\u{0}"
    );
    // Detached exec: runs on; its exit code is in exec inspect.
    ok(d.docker()
        .args(["exec", "-d", "ex", "sh", "-c", "sleep 0.2; touch /tmp/done"]));
    assert!(wait_until(Duration::from_secs(10), || {
        docker(&d, &["exec", "ex", "test", "-f", "/tmp/done"]).0 == 0
    }));
    let execs = inspect(&d, "ex", "{{len .ExecIDs}}");
    assert!(execs.parse::<usize>().unwrap() >= 6, "{execs}");

    // A resize of a running TTY container reaches its pty.
    let tty = ok(d.docker().args([
        "run",
        "-d",
        "-t",
        "busybox",
        "sh",
        "-c",
        "sleep 1; stty size; sleep 300",
    ]))
    .trim()
    .to_string();
    let r = d.http(
        "POST",
        &format!("/containers/{tty}/resize?h=33&w=111"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(wait_until(Duration::from_secs(10), || {
        ok(d.docker().args(["logs", &tty])).contains("33 111")
    }));
    // Bad sizes are a 400, an unknown container a 404.
    assert_eq!(
        d.http("POST", &format!("/containers/{tty}/resize?h=x&w=1"), None)
            .status,
        400
    );
    assert_eq!(
        d.http("POST", "/containers/nope/resize?h=1&w=1", None)
            .status,
        404
    );
    // exec into a stopped container: 409.
    ok(d.docker().args(["kill", "ex"]));
    let (code, _, err) = docker(&d, &["exec", "ex", "true"]);
    assert_ne!(code, 0);
    assert!(err.contains("is not running"), "{err}");
}

#[test]
fn restart_policies_restart_rename_and_prune() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);

    // on-failure:2 — two restarts, then it stays exited with the last code.
    ok(d.docker().args([
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]));
    assert!(
        wait_until(Duration::from_secs(20), || {
            inspect(&d, "flaky", "{{.RestartCount}} {{.State.Status}}") == "2 exited"
        }),
        "{}",
        inspect(&d, "flaky", "{{.RestartCount}} {{.State.Status}}")
    );
    assert_eq!(inspect(&d, "flaky", "{{.State.ExitCode}}"), "3");
    // A success is not restarted by on-failure.
    ok(d.docker().args([
        "run",
        "-d",
        "--name",
        "fine",
        "--restart",
        "on-failure",
        "busybox",
        "true",
    ]));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        inspect(&d, "fine", "{{.RestartCount}} {{.State.Status}}"),
        "0 exited"
    );

    // always: restarted after it exits; `docker stop` ends that.
    ok(d.docker().args([
        "run",
        "-d",
        "--name",
        "always",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 0.2",
    ]));
    assert!(wait_until(Duration::from_secs(20), || {
        inspect(&d, "always", "{{.RestartCount}}")
            .parse::<i64>()
            .unwrap_or(0)
            >= 2
    }));
    ok(d.docker().args(["stop", "-t", "1", "always"]));
    let count = inspect(&d, "always", "{{.RestartCount}}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(inspect(&d, "always", "{{.State.Running}}"), "false");
    assert_eq!(inspect(&d, "always", "{{.RestartCount}}"), count);
    // An explicit start clears the count.
    ok(d.docker().args(["start", "always"]));
    assert_eq!(inspect(&d, "always", "{{.RestartCount}}"), "0");

    // restart: a new run (new StartedAt), event `restart`.
    ok(d.docker()
        .args(["run", "-d", "--name", "r1", "busybox", "sleep", "300"]));
    let before = inspect(&d, "r1", "{{.State.StartedAt}}");
    ok(d.docker().args(["restart", "-t", "0", "r1"]));
    assert_eq!(inspect(&d, "r1", "{{.State.Running}}"), "true");
    assert_ne!(inspect(&d, "r1", "{{.State.StartedAt}}"), before);

    // rename: the new name works, the old one is gone, a taken name is a conflict.
    ok(d.docker().args(["rename", "r1", "r2"]));
    assert_eq!(inspect(&d, "r2", "{{.Name}}"), "/r2");
    let (code, _, err) = docker(&d, &["inspect", "r1"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = docker(&d, &["rename", "r2", "fine"]);
    assert_eq!(code, 1);
    assert!(err.contains("is already in use"), "{err}");

    // prune: every stopped container goes, running ones stay.
    ok(d.docker().args(["stop", "-t", "1", "always"]));
    let out = ok(d.docker().args(["container", "prune", "-f"]));
    assert!(out.contains("Deleted Containers:"), "{out}");
    let left = ok(d.docker().args(["ps", "-a", "--format", "{{.Names}}"]));
    assert_eq!(left.trim(), "r2");
}

#[test]
fn containers_survive_a_berthd_sigkill() {
    let mut d = daemon_with_busybox();
    let cleanup = Cleanup(&d);
    let n = 20;
    for i in 0..n {
        ok(d.docker().args([
            "run",
            "-d",
            "--name",
            &format!("live{i}"),
            "busybox",
            "sh",
            "-c",
            &format!("echo hello {i}; trap 'exit 7' TERM; while true; do sleep 0.1; done"),
        ]));
    }
    // One exits while berthd is down: its real exit code must show.
    ok(d.docker().args([
        "run",
        "-d",
        "--name",
        "quitter",
        "busybox",
        "sh",
        "-c",
        "sleep 2; exit 9",
    ]));
    // The containers are left for the second daemon (its guard removes them).
    std::mem::forget(cleanup);
    d.signal(nix::sys::signal::Signal::SIGKILL);
    d.wait_exit(Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));

    let d2 = Daemon::builder()
        .arg("--data-root")
        .arg(d.data_root.display().to_string())
        .start();
    let _cleanup = Cleanup(&d2);
    assert!(wait_until(Duration::from_secs(10), || {
        inspect(&d2, "quitter", "{{.State.Status}} {{.State.ExitCode}}") == "exited 9"
    }));
    // restore_containers records exits in the background: wait for it first.
    let running = ok(d2.docker().args(["ps", "-q"]));
    assert_eq!(
        running.lines().count(),
        n,
        "{}",
        ok(d2.docker().args(["ps", "-a"]))
    );
    for i in [0, n - 1] {
        assert_eq!(
            ok(d2.docker().args(["logs", &format!("live{i}")])),
            format!("hello {i}\n")
        );
    }
    // wait, stop, exec and the exit code all work through the re-adopted shim.
    assert_eq!(
        ok(d2.docker().args(["exec", "live3", "echo", "hi"])),
        "hi\n"
    );
    let waiter = d2
        .docker()
        .args(["wait", "live5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    ok(d2.docker().args(["stop", "live5"]));
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "7");
}
