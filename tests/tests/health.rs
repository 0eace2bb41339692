//! Healthchecks through the real docker CLI: starting → unhealthy → healthy in `ps`,
//! `inspect` and events; a hung check killed at its timeout; start period; checks that
//! stop with the container and resume after a berthd restart.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use berth_tests::ContainerCleanup as Cleanup;
use berth_tests::*;

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    ok(d.docker().args(["inspect", "-f", format, name]))
        .trim()
        .to_string()
}

fn health(d: &Daemon, name: &str) -> String {
    inspect(d, name, "{{.State.Health.Status}}")
}

fn ps_status(d: &Daemon, name: &str) -> String {
    ok(d.docker()
        .args(["ps", "-a", "--format", "{{.Names}}\t{{.Status}}"]))
    .lines()
    .find_map(|l| l.strip_prefix(&format!("{name}\t")).map(str::to_string))
    .unwrap_or_default()
}

#[test]
fn a_failing_check_turns_unhealthy_and_a_passing_one_healthy() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    // Follow health_status events from the start.
    let mut events = d
        .docker()
        .args([
            "events",
            "--filter",
            "event=health_status",
            "--format",
            "{{.Status}} {{.Actor.Attributes.name}}",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = events.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    ok(d.docker().args([
        "run",
        "-d",
        "--name",
        "hc1",
        "--health-cmd",
        "test -f /tmp/ok",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "300",
    ]));
    assert_eq!(health(&d, "hc1"), "starting");
    assert!(
        ps_status(&d, "hc1").ends_with("(health: starting)"),
        "{}",
        ps_status(&d, "hc1")
    );
    assert!(
        wait_until(Duration::from_secs(15), || health(&d, "hc1") == "unhealthy"),
        "{}",
        inspect(&d, "hc1", "{{json .State.Health}}")
    );
    assert!(ps_status(&d, "hc1").ends_with("(unhealthy)"));
    let streak: i64 = inspect(&d, "hc1", "{{.State.Health.FailingStreak}}")
        .parse()
        .unwrap();
    assert!(streak >= 2);
    assert_eq!(
        inspect(&d, "hc1", "{{(index .State.Health.Log 0).ExitCode}}"),
        "1"
    );
    assert_eq!(
        ok(d.docker()
            .args(["ps", "-q", "--filter", "health=unhealthy"]))
        .lines()
        .count(),
        1
    );

    ok(d.docker().args(["exec", "hc1", "touch", "/tmp/ok"]));
    assert!(wait_until(Duration::from_secs(10), || health(&d, "hc1") == "healthy"));
    assert!(
        ps_status(&d, "hc1").ends_with("(healthy)"),
        "{}",
        ps_status(&d, "hc1")
    );
    assert_eq!(inspect(&d, "hc1", "{{.State.Health.FailingStreak}}"), "0");
    assert_eq!(
        ok(d.docker().args(["ps", "-q", "--filter", "health=healthy"]))
            .lines()
            .count(),
        1
    );
    assert_eq!(
        ok(d.docker()
            .args(["ps", "-q", "--filter", "health=unhealthy"]))
        .lines()
        .count(),
        0
    );
    // A container without a check is `none`.
    ok(d.docker()
        .args(["run", "-d", "--name", "hc1plain", "busybox", "sleep", "300"]));
    let none = ok(d
        .docker()
        .args(["ps", "--filter", "health=none", "--format", "{{.Names}}"]));
    assert_eq!(none.trim(), "hc1plain");
    assert!(!ps_status(&d, "hc1plain").contains('('));
    assert!(inspect(&d, "hc1plain", "{{json .State}}")
        .find("Health")
        .is_none());

    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while seen.len() < 2 && std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(l);
        }
    }
    let _ = events.kill();
    let _ = events.wait();
    assert_eq!(
        seen,
        vec!["health_status: unhealthy hc1", "health_status: healthy hc1"]
    );

    // The checks stop with the container; the last status stays in inspect.
    ok(d.docker().args(["stop", "-t", "1", "hc1"]));
    let log_len = inspect(&d, "hc1", "{{len .State.Health.Log}}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(inspect(&d, "hc1", "{{len .State.Health.Log}}"), log_len);
    assert!(ps_status(&d, "hc1").starts_with("Exited"));
}

#[test]
fn a_hanging_check_is_killed_at_its_timeout() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    ok(d.docker().args([
        "run",
        "-d",
        "--name",
        "hc2",
        "--health-cmd",
        "echo begun; sleep 30",
        "--health-interval",
        "1s",
        "--health-timeout",
        "1s",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "300",
    ]));
    let begin = std::time::Instant::now();
    assert!(wait_until(Duration::from_secs(10), || health(&d, "hc2") == "unhealthy"));
    assert!(begin.elapsed() < Duration::from_secs(8));
    assert_eq!(
        inspect(&d, "hc2", "{{(index .State.Health.Log 0).ExitCode}}"),
        "-1"
    );
    assert_eq!(
        inspect(&d, "hc2", "{{(index .State.Health.Log 0).Output}}"),
        "Health check exceeded timeout (1s)"
    );
    // Each hung `sleep 30` is killed with its check: at most the current probe's runs
    // (without that, one more would pile up every two seconds).
    std::thread::sleep(Duration::from_secs(6));
    let top = ok(d.docker().args(["top", "hc2"]));
    assert!(top.matches("sleep 30").count() <= 1, "{top}");
}

#[test]
fn output_is_kept_and_the_start_period_forgives_failures() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    ok(d.docker().args([
        "run",
        "-d",
        "--name",
        "hc3",
        "--health-cmd",
        // stdout and stderr reach the check's output through two pipes: the pause
        // keeps their order fixed.
        "echo out; echo err >&2; sleep 0.2; head -c 6000 /dev/zero | tr '\\0' x; exit 1",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        "--health-start-period",
        "8s",
        "busybox",
        "sleep",
        "300",
    ]));
    // Failures inside the start period don't count. (Probes run every StartInterval, 5 s
    // by default, while the container is starting inside its start period.)
    assert!(wait_until(Duration::from_secs(8), || {
        inspect(&d, "hc3", "{{len .State.Health.Log}}") != "0"
    }));
    assert_eq!(health(&d, "hc3"), "starting");
    assert_eq!(inspect(&d, "hc3", "{{.State.Health.FailingStreak}}"), "0");
    assert!(wait_until(Duration::from_secs(12), || health(&d, "hc3") == "unhealthy"));
    let output = inspect(&d, "hc3", "{{(index .State.Health.Log 0).Output}}");
    assert!(output.starts_with("out\nerr\nxxx"), "{output:?}");
    assert_eq!(output.len(), 4096 + 3);
    assert!(output.ends_with("x..."));
}

#[test]
fn image_healthchecks_apply_and_checks_resume_after_a_berthd_restart() {
    let mut d = daemon_with_busybox();
    let cleanup = Cleanup(&d);
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nHEALTHCHECK --interval=1s --retries=1 CMD test -f /tmp/ok\n",
    )
    .unwrap();
    ok(d.docker()
        .args(["build", "-q", "-t", "hcimage", ctx.path().to_str().unwrap()]));
    ok(d.docker()
        .args(["run", "-d", "--name", "hc4", "hcimage", "sleep", "300"]));
    assert!(wait_until(Duration::from_secs(10), || health(&d, "hc4") == "unhealthy"));
    // `--no-healthcheck` turns the image's off.
    ok(d.docker().args([
        "run",
        "-d",
        "--name",
        "hc4off",
        "--no-healthcheck",
        "hcimage",
        "sleep",
        "300",
    ]));
    assert_eq!(inspect(&d, "hc4off", "{{json .State.Health}}"), "null");

    std::mem::forget(cleanup);
    d.signal(nix::sys::signal::Signal::SIGKILL);
    d.wait_exit(Duration::from_secs(10));
    let d2 = Daemon::builder()
        .arg("--data-root")
        .arg(d.data_root.display().to_string())
        .start();
    let _cleanup = Cleanup(&d2);
    assert_eq!(health(&d2, "hc4"), "unhealthy", "kept across the restart");
    ok(d2.docker().args(["exec", "hc4", "touch", "/tmp/ok"]));
    assert!(wait_until(Duration::from_secs(10), || health(&d2, "hc4") == "healthy"));
}
