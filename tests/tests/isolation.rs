//! Isolation and Docker's security defaults, seen from inside containers started with the
//! real docker CLI: namespaces, capabilities, masked paths, cgroup limits, `--init`, and
//! no leaked host file descriptors or working directory (CVE-2024-21626).

use std::time::Duration;

use berth_tests::ContainerCleanup as Cleanup;
use berth_tests::*;

/// `docker run --rm ARGS`: (exit code, stdout, stderr).
fn run(d: &Daemon, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    let (code, out, err) = run_with_timeout(d.docker().args(&all), Duration::from_secs(60));
    (code.unwrap_or(-1), out, err)
}

fn run_ok(d: &Daemon, args: &[&str]) -> String {
    let (code, out, err) = run(d, args);
    assert_eq!(code, 0, "docker run {args:?}: {err}");
    out
}

#[test]
fn namespaces_mounts_and_masked_paths() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);

    // PID 1 is the command; the hostname is the short ID; `none` leaves only lo.
    let out = run_ok(
        &d,
        &[
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "echo $$; hostname; ls /sys/class/net",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1");
    assert_eq!(lines[1].len(), 12, "{out}");
    assert_eq!(&lines[2..], ["lo"], "{out}");

    // Only the container's own mounts: nothing of the host's tree is visible.
    let out = run_ok(&d, &["busybox", "cat", "/proc/self/mountinfo"]);
    let allowed = [
        "/",
        "/proc",
        "/dev",
        "/dev/pts",
        "/sys",
        "/dev/mqueue",
        "/dev/shm",
        "/sys/fs/cgroup",
        "/etc/resolv.conf",
        "/etc/hostname",
        "/etc/hosts",
    ];
    for line in out.lines() {
        let target = line.split(' ').nth(4).unwrap();
        let ok = allowed.contains(&target)
            || target.starts_with("/sys/fs/cgroup/")
            || target.starts_with("/proc/")
            || target.starts_with("/sys/firmware")
            || target.starts_with("/sys/devices/virtual/powercap");
        assert!(ok, "unexpected mount {target} in the container:\n{out}");
    }
    let host_dir = d.dir().display().to_string();
    let (code, _, _) = run(&d, &["busybox", "ls", &host_dir]);
    assert_ne!(code, 0, "the host's {host_dir} is visible in the container");

    // Masked and read-only paths like Docker's.
    assert_eq!(
        run_ok(&d, &["busybox", "sh", "-c", "wc -c < /proc/timer_list"]).trim(),
        "0"
    );
    assert_eq!(run_ok(&d, &["busybox", "ls", "/sys/firmware"]), "");
    let (code, _, err) = run(
        &d,
        &[
            "busybox",
            "sh",
            "-c",
            "echo x > /proc/sys/kernel/domainname",
        ],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("Read-only") || err.contains("Permission"),
        "{err}"
    );

    // No mount without privileges; `--read-only` holds.
    let (code, _, err) = run(&d, &["busybox", "mount", "-t", "tmpfs", "none", "/tmp"]);
    assert_ne!(code, 0, "mount worked without privileges: {err}");
    let (code, _, err) = run(&d, &["--read-only", "busybox", "touch", "/x"]);
    assert_ne!(code, 0);
    assert!(err.contains("Read-only file system"), "{err}");
}

#[test]
fn capabilities_privileged_and_no_leaks() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);

    let cap = |args: &[&str]| -> String {
        let mut all = args.to_vec();
        all.extend_from_slice(&["busybox", "sh", "-c", "grep CapEff /proc/self/status"]);
        run_ok(&d, &all)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    // Docker's default 14 capabilities, none with --cap-drop ALL.
    assert_eq!(cap(&[]), "00000000a80425fb");
    assert_eq!(cap(&["--cap-drop", "ALL"]), "0000000000000000");
    let (code, _, err) = run(&d, &["--cap-drop", "ALL", "busybox", "chown", "1", "/tmp"]);
    assert_ne!(code, 0, "chown worked without CAP_CHOWN: {err}");
    // Privileged: every capability the host has (this host may lack some), and mount works.
    let host_bnd = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("CapBnd"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(cap(&["--privileged"]), host_bnd);
    assert_eq!(
        run_ok(
            &d,
            &[
                "--privileged",
                "busybox",
                "sh",
                "-c",
                "mount -t tmpfs none /tmp && echo mounted"
            ]
        ),
        "mounted\n"
    );

    // CVE-2024-21626: the process starts in the container's root with only its stdio open,
    // and so does an exec.
    let out = run_ok(
        &d,
        &[
            "busybox",
            "sh",
            "-c",
            "readlink /proc/self/cwd; ls /proc/self/fd | tr '\\n' ' '",
        ],
    );
    assert_eq!(out, "/\n0 1 2 3 ", "cwd or fds leaked into the container");
    ok(d.docker()
        .args(["run", "-d", "--name", "fds", "busybox", "sleep", "300"]));
    let out = ok(d.docker().args([
        "exec",
        "fds",
        "sh",
        "-c",
        "readlink /proc/self/cwd; ls /proc/self/fd | tr '\\n' ' '",
    ]));
    assert_eq!(out, "/\n0 1 2 3 ", "cwd or fds leaked into the exec");
    // No berthd or shim fd reaches PID 1 either.
    let out = ok(d.docker().args(["exec", "fds", "ls", "/proc/1/fd"]));
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2"],
        "{out}"
    );
}

#[test]
fn cgroup_limits_and_init() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);

    // A memory limit ends in an OOM kill, reported as such.
    let (code, _, _) = run_with_timeout(
        d.docker().args([
            "run",
            "--name",
            "hog",
            "-m",
            "16m",
            "--memory-swap",
            "16m",
            "busybox",
            "sh",
            "-c",
            "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(137));
    assert_eq!(
        ok(d.docker().args([
            "inspect",
            "-f",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            "hog"
        ]))
        .trim(),
        "true 137"
    );

    // --pids-limit: the 11th process cannot be forked.
    let out = run_ok(
        &d,
        &[
            "--pids-limit", "10", "busybox", "sh", "-c",
            "sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 5 & done' \
             2>/dev/null; set -- /proc/[0-9]*; echo $#",
        ],
    );
    let procs: usize = out.trim().parse().unwrap();
    assert!(procs <= 10, "{procs} processes under --pids-limit 10");

    // --init: docker-init is PID 1 and reaps; the command is its child.
    let out = run_ok(
        &d,
        &[
            "--init",
            "busybox",
            "sh",
            "-c",
            "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("/sbin/docker-init -- sh -c"), "{out}");
    assert_ne!(lines[1], "1", "{out}");
}
