//! The berth CLI's container commands against a real berthd: output, exit codes and the
//! requests they build.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_tests::*;

use berth_tests::ContainerCleanup as Cleanup;

/// A daemon with the busybox image imported as `busybox:latest`.
/// Runs `berth ARGS` with a timeout; returns (exit code, stdout, stderr).
fn berth(d: &Daemon, args: &[&str]) -> (i32, String, String) {
    let (code, out, err) = run_with_timeout(d.berth().args(args), Duration::from_secs(60));
    (code.unwrap_or(-1), out, err)
}

fn container_count(d: &Daemon) -> usize {
    d.http("GET", "/containers/json?all=1", None)
        .json()
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn run_in_the_foreground_passes_output_and_exit_status() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let (code, out, err) = berth(
        &d,
        &[
            "run",
            "--name",
            "fg",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
    );
    assert_eq!(code, 3, "stdout: {out}\nstderr: {err}");
    assert_eq!(out, "out\n");
    assert_eq!(err, "err\n");
    // The container stays (no --rm) and remembers its status.
    let st = ok(d.berth().args([
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        "fg",
    ]));
    assert_eq!(st, "exited 3\n");
}

#[test]
fn run_detached_then_ps_inspect_stop_wait_rm() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let id = ok(d.berth().args([
        "run", "-d", "--name", "bg", "-l", "team=a", "busybox", "sleep", "300",
    ]));
    let id = id.trim();
    assert_eq!(id.len(), 64, "-d prints the full ID: {id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));

    let table = ok(d.berth().arg("ps"));
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let row = lines.next().expect("one row");
    assert!(row.starts_with(&id[..12]), "{row}");
    assert!(row.contains("\"sleep 300\""), "{row}");
    assert!(row.trim_end().ends_with("bg"), "{row}");
    assert_eq!(ok(d.berth().args(["ps", "-q"])), format!("{}\n", &id[..12]));
    assert_eq!(
        ok(d.berth().args(["ps", "-q", "--no-trunc"])),
        format!("{id}\n")
    );
    assert_eq!(
        ok(d.berth().args([
            "container",
            "ls",
            "--format",
            "{{.Names}} {{.State}} {{.Labels}}"
        ])),
        "bg running team=a\n"
    );
    let json = ok(d.berth().args(["ps", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["Names"], "bg");
    assert_eq!(v["Image"], "busybox");
    assert_eq!(
        ok(d.berth()
            .args(["ps", "--format", "table {{.Names}}\t{{.Image}}"])),
        "NAMES     IMAGE\nbg        busybox\n"
    );
    assert_eq!(
        ok(d.berth().args([
            "inspect",
            "-f",
            "{{.State.Running}} {{.Config.Labels.team}}",
            "bg"
        ])),
        "true a\n"
    );
    let arr: serde_json::Value =
        serde_json::from_str(&ok(d.berth().args(["container", "inspect", "bg"]))).unwrap();
    assert_eq!(arr[0]["Id"], id);

    // stop echoes the name; sleep as PID 1 ignores SIGTERM, so -t 1 ends in SIGKILL.
    assert_eq!(ok(d.berth().args(["stop", "-t", "1", "bg"])), "bg\n");
    assert_eq!(ok(d.berth().args(["wait", "bg"])), "137\n");
    assert_eq!(
        ok(d.berth().args(["ps", "-q"])),
        "",
        "no running containers"
    );
    let all = ok(d
        .berth()
        .args(["ps", "-a", "--format", "{{.Names}}: {{.Status}}"]));
    assert!(all.starts_with("bg: Exited (137)"), "{all}");
    assert_eq!(
        ok(d.berth().args([
            "ps",
            "-a",
            "--filter",
            "name=nomatch",
            "--format",
            "{{.Names}}"
        ])),
        ""
    );
    assert_eq!(ok(d.berth().args(["rm", "bg"])), "bg\n");
    assert_eq!(container_count(&d), 0);
    let (code, out) = fails(d.berth().args(["rm", "bg"]));
    assert_eq!(code, 1);
    assert!(
        out.contains("Error response from daemon: No such container: bg"),
        "{out}"
    );
}

#[test]
fn create_start_logs() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let envfile = d.dir().join("env");
    std::fs::write(&envfile, "# comment\nFROM_FILE=yes\n").unwrap();
    let id = ok(d.berth().env("BERTH_TEST_PASSED", "through").args([
        "create",
        "--name",
        "c1",
        "-e",
        "A=1",
        "-e",
        "BERTH_TEST_PASSED",
        "--env-file",
        envfile.to_str().unwrap(),
        "-w",
        "/tmp",
        "-l",
        "k=v",
        "--restart",
        "on-failure:2",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "echo $A $BERTH_TEST_PASSED $FROM_FILE; pwd; echo line3",
    ]));
    assert_eq!(id.trim().len(), 64);
    let got = ok(d.berth().args([
        "inspect",
        "-f",
        "{{.State.Status}}|{{.Config.WorkingDir}}|{{.Config.Labels.k}}|{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}|{{.HostConfig.Memory}}",
        "c1",
    ]));
    assert_eq!(got, "created|/tmp|v|on-failure:2|67108864\n");
    assert_eq!(ok(d.berth().args(["start", "c1"])), "c1\n");
    assert_eq!(ok(d.berth().args(["wait", "c1"])), "0\n");
    assert_eq!(
        ok(d.berth().args(["logs", "c1"])),
        "1 through yes\n/tmp\nline3\n"
    );
    assert_eq!(ok(d.berth().args(["logs", "--tail", "1", "c1"])), "line3\n");
    let stamped = ok(d.berth().args(["logs", "-t", "c1"]));
    let first = stamped.lines().next().unwrap();
    assert!(
        first.len() > 20 && first.ends_with(" 1 through yes") && first.starts_with("20"),
        "{first}"
    );
    // Errors from `logs` for a missing container.
    let (code, out) = fails(d.berth().args(["logs", "nope"]));
    assert_eq!(code, 1);
    assert!(out.contains("No such container: nope"), "{out}");
}

#[test]
fn bad_input_exits_125_and_creates_nothing() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    for args in [
        &["run", "-m", "12x", "busybox"][..],
        &["run", "-p", "80/xyz", "busybox"],
        &["run", "--cpus", "1.0000000001", "busybox"],
        &["run", "--restart", "on-failure:x", "busybox"],
        &["run", "--ulimit", "nofile=2048:1024", "busybox"],
        &["run", "--rm", "--restart", "always", "busybox"],
        &["run", "--mount", "type=bind", "busybox"],
        &["run", "--env-file", "/nonexistent/berth-env", "busybox"],
        &["create", "-v", "", "busybox"],
        &["run", "-d", "-a", "stdout", "busybox"],
        &[
            "run",
            "-d",
            "--health-cmd",
            "x",
            "--no-healthcheck",
            "busybox",
        ],
    ] {
        let (code, out) = fails(d.berth().args(args));
        assert_eq!(code, 125, "{args:?}: {out}");
        assert!(!out.trim().is_empty(), "{args:?} says why");
    }
    let (_, out) = fails(d.berth().args(["run", "-p", "80/xyz", "busybox"]));
    assert!(out.contains("invalid proto: xyz"), "{out}");
    assert_eq!(container_count(&d), 0, "nothing was created");
}

#[test]
fn start_failures_map_to_docker_exit_codes() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let (code, out) = fails(d.berth().args(["run", "busybox", "nosuchcmd"]));
    assert_eq!(code, 127, "{out}");
    assert!(out.contains("executable file not found"), "{out}");
    // A daemon error that is not about the command: 125.
    let (code, out) = fails(d.berth().args(["run", "--name", "bad name", "busybox"]));
    assert_eq!(code, 125, "{out}");
    assert!(out.contains("Invalid container name"), "{out}");
}

#[test]
fn commands_on_missing_containers_fail_with_dockers_words() {
    let d = Daemon::start();
    for (args, want) in [
        (
            &["stop", "nope"][..],
            "Error response from daemon: No such container: nope",
        ),
        (
            &["kill", "nope"],
            "Error response from daemon: No such container: nope",
        ),
        (
            &["start", "nope"],
            "Error response from daemon: No such container: nope",
        ),
        (
            &["wait", "nope"],
            "Error response from daemon: No such container: nope",
        ),
        (
            &["container", "inspect", "nope"],
            "Error: No such container: nope",
        ),
        (&["inspect", "nope"], "Error: No such object: nope"),
    ] {
        let (code, out) = fails(d.berth().args(args));
        assert_eq!(code, 1, "{args:?}: {out}");
        assert!(out.contains(want), "{args:?}: {out}");
    }
    // Several names: the good ones are done, each bad one reported, status 1.
    let (code, out) = fails(d.berth().args(["rm", "-f", "x1", "x2"]));
    assert_eq!(code, 1);
    assert!(out.contains("x1") && out.contains("x2"), "{out}");
}

#[test]
fn kill_and_generic_inspect() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    ok(d.berth()
        .args(["run", "-d", "--name", "kk", "busybox", "sleep", "300"]));
    assert_eq!(ok(d.berth().args(["kill", "kk"])), "kk\n");
    assert_eq!(ok(d.berth().args(["wait", "kk"])), "137\n");
    // `inspect` finds containers and images; --type narrows it.
    assert_eq!(
        ok(d.berth().args(["inspect", "-f", "{{.Name}}", "kk"])),
        "/kk\n"
    );
    let img = ok(d
        .berth()
        .args(["inspect", "--type", "image", "-f", "{{.Id}}", "busybox"]));
    assert!(img.starts_with("sha256:"), "{img}");
    let (code, out) = fails(
        d.berth()
            .args(["inspect", "--type", "container", "busybox"]),
    );
    assert_eq!(code, 1);
    assert!(out.contains("Error: No such container: busybox"), "{out}");
    let (code, out) = fails(d.berth().args(["inspect", "--type", "bogus", "kk"]));
    assert_eq!(code, 1);
    assert!(
        out.contains("\"bogus\" is not a valid value for --type"),
        "{out}"
    );
    assert_eq!(ok(d.berth().args(["rm", "-f", "kk"])), "kk\n");
}

#[test]
fn run_rm_removes_the_container_and_keeps_the_status() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    // Runs long enough for berthd's polling `wait?condition=next-exit` to see it running
    // (see `run_rm_quick_exit_keeps_the_status` for the short case).
    let (code, out, err) = berth(
        &d,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo bye; sleep 0.3; exit 4",
        ],
    );
    assert_eq!((code, out.as_str()), (4, "bye\n"), "stderr: {err}");
    assert!(
        wait_until(Duration::from_secs(10), || container_count(&d) == 0),
        "--rm removed the container"
    );
}

/// A container that exits at once must still report its status through `wait
/// condition=removed` (a polling wait used to miss it about one run in three).
#[test]
fn run_rm_quick_exit_keeps_the_status() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    for _ in 0..5 {
        let (code, out, err) = berth(&d, &["run", "--rm", "busybox", "sh", "-c", "exit 4"]);
        assert_eq!(code, 4, "stdout: {out}\nstderr: {err}");
    }
}

#[test]
fn run_pulls_a_missing_image_then_fails_cleanly() {
    // No registry on 127.0.0.1:9 (discard port): the pull fails, and run says so with 125.
    let d = Daemon::start();
    let (code, out) = fails(d.berth().args(["run", "127.0.0.1:9/nothing/here:1"]));
    assert_eq!(code, 125, "{out}");
    assert!(
        out.contains("Unable to find image '127.0.0.1:9/nothing/here:1' locally"),
        "{out}"
    );
    assert_eq!(container_count(&d), 0);
}

// ----- Needs daemon endpoints in progress -------------------------------------------------

/// `echo … | berth run -i busybox cat`: stdin reaches the container through attach.
#[test]
fn run_interactive_pipes_stdin() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let mut child = d
        .berth()
        .args(["run", "-i", "--rm", "busybox", "sh", "-c", "cat; exit 5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"hello through stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello through stdin\n"
    );
}

#[test]
fn exec_runs_commands_and_passes_their_status() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    ok(d.berth()
        .args(["run", "-d", "--name", "ex", "busybox", "sleep", "300"]));
    let (code, out, err) = berth(
        &d,
        &[
            "exec",
            "-e",
            "X=42",
            "-w",
            "/tmp",
            "ex",
            "sh",
            "-c",
            "echo $X; pwd; echo e >&2; exit 7",
        ],
    );
    assert_eq!(code, 7, "{err}");
    assert_eq!(out, "42\n/tmp\n");
    assert_eq!(err, "e\n");
    let out = ok_with_input(
        d.berth().args(["exec", "-i", "ex", "cat"]),
        Stdio::from(std::fs::File::open("/etc/hostname").unwrap()),
    );
    assert_eq!(out, std::fs::read_to_string("/etc/hostname").unwrap());
    let (code, out) = fails(d.berth().args(["exec", "nope", "true"]));
    assert_eq!(code, 1);
    assert!(out.contains("No such container: nope"), "{out}");
}

#[test]
fn start_attach_returns_the_status() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    ok(d.berth().args([
        "create",
        "--name",
        "sa",
        "busybox",
        "sh",
        "-c",
        "echo attached; exit 2",
    ]));
    let (code, out, err) = berth(&d, &["start", "-a", "sa"]);
    assert_eq!((code, out.as_str()), (2, "attached\n"), "{err}");
}

#[test]
fn attach_to_a_running_container() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    ok(d.berth().args([
        "run",
        "-d",
        "--name",
        "at",
        "busybox",
        "sh",
        "-c",
        "sleep 1; echo late; exit 6",
    ]));
    let (code, out, err) = berth(&d, &["attach", "--no-stdin", "at"]);
    assert_eq!((code, out.as_str()), (6, "late\n"), "{err}");
}

#[test]
fn restart_pause_rename_top() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    ok(d.berth()
        .args(["run", "-d", "--name", "pp", "busybox", "sleep", "300"]));
    assert_eq!(ok(d.berth().args(["pause", "pp"])), "pp\n");
    assert_eq!(
        ok(d.berth().args(["inspect", "-f", "{{.State.Status}}", "pp"])),
        "paused\n"
    );
    assert_eq!(ok(d.berth().args(["unpause", "pp"])), "pp\n");
    ok(d.berth().args(["rename", "pp", "qq"]));
    assert_eq!(ok(d.berth().args(["ps", "--format", "{{.Names}}"])), "qq\n");
    let top = ok(d.berth().args(["top", "qq"]));
    assert!(top.lines().next().unwrap().contains("PID"), "{top}");
    assert!(top.contains("sleep 300"), "{top}");
    assert_eq!(ok(d.berth().args(["restart", "-t", "1", "qq"])), "qq\n");
    assert_eq!(
        ok(d.berth()
            .args(["inspect", "-f", "{{.State.Running}}", "qq"])),
        "true\n"
    );
}

#[test]
fn stats_no_stream_prints_one_table() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    ok(d.berth()
        .args(["run", "-d", "--name", "st", "busybox", "sleep", "300"]));
    let out = ok(d.berth().args(["stats", "--no-stream"]));
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("CONTAINER ID") && header.contains("MEM USAGE / LIMIT"),
        "{header}"
    );
    let row = lines.next().unwrap();
    assert!(row.contains(" st ") && row.contains('%'), "{row}");
}

#[test]
fn cp_both_ways_diff_export_commit() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    ok(d.berth()
        .args(["run", "-d", "--name", "fs", "busybox", "sleep", "300"]));
    let local = d.dir().join("in.txt");
    std::fs::write(&local, "from the host\n").unwrap();
    ok(d.berth()
        .args(["cp", local.to_str().unwrap(), "fs:/tmp/copied.txt"]));
    let (code, out, _) = berth(&d, &["logs", "fs"]);
    assert_eq!(code, 0, "{out}");
    let back = d.dir().join("back.txt");
    ok(d.berth()
        .args(["cp", "fs:/tmp/copied.txt", back.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "from the host\n");
    let outdir = d.dir().join("etcdir");
    std::fs::create_dir(&outdir).unwrap();
    ok(d.berth().args(["cp", "fs:/etc", outdir.to_str().unwrap()]));
    assert!(outdir.join("etc/hostname").exists());
    let diff = ok(d.berth().args(["diff", "fs"]));
    assert!(diff.lines().any(|l| l == "A /tmp/copied.txt"), "{diff}");
    let tar_path = d.dir().join("fs.tar");
    ok(d.berth()
        .args(["export", "-o", tar_path.to_str().unwrap(), "fs"]));
    let mut a = tar::Archive::new(std::fs::File::open(&tar_path).unwrap());
    assert!(a.entries().unwrap().any(|e| e
        .unwrap()
        .path()
        .unwrap()
        .to_string_lossy()
        .contains("tmp/copied.txt")));
    let img = ok(d.berth().args(["commit", "-m", "snap", "fs", "snap:1"]));
    assert!(img.starts_with("sha256:"), "{img}");
    let (code, out, _) = berth(&d, &["run", "--rm", "snap:1", "cat", "/tmp/copied.txt"]);
    assert_eq!((code, out.as_str()), (0, "from the host\n"));
}

/// Exact requests: the docker CLI and berth send the same create body for the same flags
/// (the daemon records what it was given, so compare what inspect reports back).
#[test]
fn same_create_request_as_the_docker_cli() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    if Command::new(docker_bin())
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("the docker CLI is needed for this test (set DOCKER_CLI)");
    }
    let flags = [
        "-e",
        "A=1",
        "-w",
        "/w",
        "-l",
        "a=b",
        "--restart",
        "on-failure:3",
        "-h",
        "host",
        "--read-only",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "ALL",
        "--shm-size",
        "64m",
        "-m",
        "512m",
        "--cpus",
        "1.5",
        "-c",
        "512",
        "--pids-limit",
        "100",
        "--stop-signal",
        "SIGINT",
        "--stop-timeout",
        "5",
        "-p",
        "8080:80",
        "--expose",
        "7000",
        "--dns",
        "1.1.1.1",
        "--add-host",
        "h:1.2.3.4",
        "--ulimit",
        "nofile=1024:2048",
        "--tmpfs",
        "/run:size=64m",
    ];
    let fmt = "{{json .Config.Env}} {{json .Config.Labels}} {{.Config.WorkingDir}} {{.Config.Hostname}} {{json .Config.ExposedPorts}} {{.Config.StopSignal}} {{.Config.StopTimeout}} {{json .HostConfig.RestartPolicy}} {{.HostConfig.ReadonlyRootfs}} {{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{.HostConfig.ShmSize}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}} {{json .HostConfig.PortBindings}} {{json .HostConfig.Dns}} {{json .HostConfig.ExtraHosts}} {{json .HostConfig.Ulimits}} {{json .HostConfig.Tmpfs}} {{.HostConfig.Init}}";
    let mut b = d.berth();
    b.args(["create", "--name", "via-berth"])
        .args(flags)
        .args(["busybox", "true"]);
    ok(&mut b);
    let mut k = d.docker();
    k.args(["create", "--name", "via-docker"])
        .args(flags)
        .args(["busybox", "true"]);
    ok(&mut k);
    let a = ok(d.berth().args(["inspect", "-f", fmt, "via-berth"]));
    let z = ok(d.berth().args(["inspect", "-f", fmt, "via-docker"]));
    assert_eq!(a, z);
    assert!(a.contains("\"CAP_NET_ADMIN\""), "{a}");
}
