//! End-to-end tests of `berth-shim` with real containers (busybox rootfs, libcontainer).
//! They need root; each uses its own temp dir, container id `berth-test-<random>` and cgroup,
//! and a guard that kills what it started and removes its cgroups even on failure.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{alive_pid, proc_state, wait_exit_file, wait_until, Ctl, Harness, SpecOpts};

const T: Duration = Duration::from_secs(20);

/// After the shim is done: nothing of the container may remain.
fn assert_cleaned_up(h: &Harness, shim_pid: i32) {
    assert!(
        wait_until(T, || !alive_pid(shim_pid)),
        "shim {shim_pid} still running"
    );
    assert!(
        h.leftover_cgroups().is_empty(),
        "cgroups left: {:?}",
        h.leftover_cgroups()
    );
    assert!(h.leftover_mounts().is_empty(), "{:?}", h.leftover_mounts());
    assert!(
        !h.state.join("runtime").join(&h.id).exists(),
        "runtime state left"
    );
    assert!(!h.sock().exists(), "shim.sock left");
    assert!(!h.state.join("shim.pid").exists(), "shim.pid left");
}

#[test]
fn logs_both_streams_and_exit_code() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::sh(
        "echo hello; echo err >&2; printf tail; exit 3",
    ));
    let s = h.start(&[]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let exit = wait_exit_file(&h.state, T);
    assert_eq!(exit["exit_code"], 3);
    assert_eq!(exit["oom_killed"], false);
    assert!(exit.get("signal").is_none());
    let fin = exit["finished_at"].as_str().unwrap();
    assert!(fin.len() == 30 && fin.ends_with('Z'), "{fin}");

    let entries = h.log_entries();
    let got: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["log"].as_str().unwrap().to_string(),
                e["stream"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        got.contains(&("hello\n".into(), "stdout".into())),
        "{got:?}"
    );
    assert!(got.contains(&("err\n".into(), "stderr".into())), "{got:?}");
    // The last line had no newline: still logged, without one.
    assert!(got.contains(&("tail".into(), "stdout".into())), "{got:?}");
    for e in &entries {
        let t = e["time"].as_str().unwrap();
        assert!(
            t.len() == 30 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{t}"
        );
    }
    // init.pid: "<pid> <starttime>".
    let init = std::fs::read_to_string(h.state.join("init.pid")).unwrap();
    let mut it = init.split_whitespace();
    assert_eq!(it.next().unwrap().parse::<i32>().unwrap(), s.pid);
    assert!(it.next().unwrap().parse::<u64>().unwrap() > 0);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn sigterm_gives_143_and_shim_is_detached() {
    require_root!();
    // Without a pid namespace `sleep` is not an init, so SIGTERM's default action applies
    // (a pid-namespace init ignores signals it has no handler for, as under Docker).
    let mut opts = SpecOpts::new(&["sleep", "100"]);
    opts.pid_ns = false;
    let mut h = Harness::new(&opts);
    let s = h.start(&[]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);

    // The shim outlived the foreground and is not our child.
    let (state, ppid) = proc_state(s.shim_pid).expect("shim gone");
    assert_ne!(state, 'Z');
    assert_ne!(ppid, std::process::id() as i32);
    // The container's init is the shim's child (subreaper).
    assert_eq!(proc_state(s.pid).unwrap().1, s.shim_pid);
    let (rss, anon, file, pss) = support::rss_kib(s.shim_pid);
    eprintln!("shim RSS while running: VmRSS {rss} KiB (anon {anon}, file {file}), Pss {pss} KiB");

    let mut waiter = Ctl::connect(&h.sock());
    waiter.send(json!({"op": "wait"}));
    let mut ctl = Ctl::connect(&h.sock());
    let st = ctl.call(json!({"op": "state"}));
    assert_eq!(st["status"], "running");
    assert_eq!(st["pid"], s.pid);
    assert_eq!(st["shim_pid"], s.shim_pid);
    assert_eq!(
        ctl.call(json!({"op": "signal", "signal": 15})),
        json!({"ok": true})
    );
    let w = waiter.recv();
    assert_eq!(w["ok"], true);
    assert_eq!(w["exit_code"], 143);
    assert_eq!(w["signal"], 15);
    let exit = wait_exit_file(&h.state, T);
    assert_eq!(exit["exit_code"], 143);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn sigkill_by_name_on_pid_namespace_init() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::new(&["sleep", "100"]));
    let s = h.start(&[]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let mut ctl = Ctl::connect(&h.sock());
    assert_eq!(
        ctl.call(json!({"op": "signal", "signal": "SIGKILL"}))["ok"],
        true
    );
    let w = ctl.call(json!({"op": "wait"}));
    assert_eq!(w["exit_code"], 137);
    assert_eq!(w["signal"], 9);
    assert_eq!(w["oom_killed"], false);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn wait_client_gets_exit_code() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::sh("sleep 0.3; exit 42"));
    let s = h.start(&[]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let mut ctl = Ctl::connect(&h.sock());
    let w = ctl.call(json!({"op": "wait"}));
    assert_eq!(w["ok"], true);
    assert_eq!(w["exit_code"], 42);
    // exit.json is on disk before the reply.
    assert_eq!(
        support::read_log(&h.state.join("exit.json"))[0]["exit_code"],
        42
    );
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn attach_frames_stdout_and_stderr_and_feeds_stdin() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::sh(
        "read line; echo \"got $line\"; echo oops >&2; exit 0",
    ));
    let s = h.start(&["--stdin"]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let mut a = Ctl::connect(&h.sock());
    let mut b = Ctl::connect(&h.sock());
    let attach = json!({"op": "attach", "stdin": true, "stdout": true, "stderr": true});
    assert_eq!(a.call(attach.clone()), json!({"ok": true}));
    assert_eq!(
        b.call(json!({"op": "attach", "stdout": true, "stderr": true})),
        json!({"ok": true})
    );
    a.writer.write_all(b"ping\n").unwrap();
    for c in [&mut a, &mut b] {
        let frames = c.read_frames();
        let out: Vec<u8> = frames
            .iter()
            .filter(|f| f.0 == 1)
            .flat_map(|f| f.1.clone())
            .collect();
        let err: Vec<u8> = frames
            .iter()
            .filter(|f| f.0 == 2)
            .flat_map(|f| f.1.clone())
            .collect();
        assert_eq!(String::from_utf8_lossy(&out), "got ping\n");
        assert_eq!(String::from_utf8_lossy(&err), "oops\n");
    }
    assert_eq!(wait_exit_file(&h.state, T)["exit_code"], 0);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn stdin_once_closes_stdin_on_client_eof() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::new(&["wc", "-c"]));
    let s = h.start(&["--stdin"]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let mut a = Ctl::connect(&h.sock());
    let r = a.call(json!({"op": "attach", "stdin": true, "stdout": true, "stdin_once": true}));
    assert_eq!(r["ok"], true);
    a.writer.write_all(b"12345").unwrap();
    a.writer.shutdown(std::net::Shutdown::Write).unwrap();
    let frames = a.read_frames();
    let out: String = frames
        .iter()
        .map(|f| String::from_utf8_lossy(&f.1).into_owned())
        .collect();
    assert_eq!(out.trim(), "5");
    assert_eq!(wait_exit_file(&h.state, T)["exit_code"], 0);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn tty_output_is_logged_as_stdout_and_resize_works() {
    require_root!();
    let mut opts = SpecOpts::sh("read x; echo tty-out; echo tty-err >&2; stty size; tty");
    opts.tty = true;
    let mut h = Harness::new(&opts);
    let s = h.start(&["--tty", "--stdin"]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let mut ctl = Ctl::connect(&h.sock());
    assert_eq!(
        ctl.call(json!({"op": "resize", "height": 40, "width": 120})),
        json!({"ok": true})
    );
    let mut a = Ctl::connect(&h.sock());
    assert_eq!(
        a.call(json!({"op": "attach", "stdin": true, "stdout": true, "stderr": true})),
        json!({"ok": true})
    );
    a.writer.write_all(b"go\n").unwrap();
    let raw = String::from_utf8_lossy(&a.read_raw()).into_owned();
    // Raw tty bytes, no multiplexing header; the tty echoes input and maps \n to \r\n.
    assert!(raw.contains("tty-out\r\n"), "{raw:?}");
    assert!(raw.contains("tty-err\r\n"), "{raw:?}");
    assert!(raw.contains("40 120"), "{raw:?}");
    assert!(
        raw.contains("/dev/pts/0") || raw.contains("/dev/console"),
        "{raw:?}"
    );
    assert_eq!(wait_exit_file(&h.state, T)["exit_code"], 0);
    let entries = h.log_entries();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["stream"] == "stdout"),
        "{entries:?}"
    );
    let all: String = entries
        .iter()
        .map(|e| e["log"].as_str().unwrap().to_string())
        .collect();
    assert!(all.contains("tty-err"), "{all:?}");
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn tty_flag_must_match_spec() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::new(&["true"]));
    let s = h.start(&["--tty"]);
    assert_eq!(s.code, 1);
    let e: serde_json::Value = serde_json::from_str(s.stderr.trim()).unwrap();
    assert_eq!(e["kind"], "other");
    assert!(e["error"].as_str().unwrap().contains("terminal"), "{e}");
    assert!(h.leftover_cgroups().is_empty());
}

#[test]
fn missing_command_is_not_found() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::new(&["nosuchcmd"]));
    let s = h.start(&[]);
    assert_eq!(s.code, 127, "stdout {} stderr {}", s.stdout, s.stderr);
    assert!(s.stdout.is_empty());
    assert_eq!(s.stderr.lines().count(), 1, "{}", s.stderr);
    let e: serde_json::Value = serde_json::from_str(s.stderr.trim()).unwrap();
    assert_eq!(e["kind"], "not_found");
    assert_eq!(
        e["error"],
        "exec: \"nosuchcmd\": executable file not found in $PATH"
    );
    // Nothing left behind.
    assert!(
        h.leftover_cgroups().is_empty(),
        "{:?}",
        h.leftover_cgroups()
    );
    assert!(!h.state.join("runtime").join(&h.id).exists());
    assert!(!h.sock().exists());
    assert!(!h.state.join("exit.json").exists());
}

#[test]
fn non_executable_is_permission() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::new(&["/etc/passwd"]));
    let s = h.start(&[]);
    assert_eq!(s.code, 126, "stderr {}", s.stderr);
    let e: serde_json::Value = serde_json::from_str(s.stderr.trim()).unwrap();
    assert_eq!(e["kind"], "permission");
    assert_eq!(e["error"], "exec: \"/etc/passwd\": permission denied");
    assert!(h.leftover_cgroups().is_empty());
}

#[test]
fn container_gets_default_signal_state() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::new(&["cat", "/proc/self/status"]));
    let s = h.start(&[]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    assert_eq!(wait_exit_file(&h.state, T)["exit_code"], 0);
    let all: String = h
        .log_entries()
        .iter()
        .map(|e| e["log"].as_str().unwrap().to_string())
        .collect();
    assert!(all.contains("SigBlk:\t0000000000000000"), "{all}");
    assert!(all.contains("SigIgn:\t0000000000000000"), "{all}");
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn oom_kill_is_detected() {
    require_root!();
    let mut opts = SpecOpts::new(&["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]);
    opts.memory_limit = Some(32 * 1024 * 1024);
    let mut h = Harness::new(&opts);
    let s = h.start(&[]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let exit = wait_exit_file(&h.state, T);
    assert_eq!(exit["oom_killed"], true, "{exit}");
    assert_eq!(exit["exit_code"], 137, "{exit}");
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn log_rotation() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::sh(
        "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done",
    ));
    let s = h.start(&["--log-max-size", "4k", "--log-max-file", "3"]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    wait_exit_file(&h.state, T);
    let rotated = |i: u32| {
        let mut p = h.log.as_os_str().to_owned();
        p.push(format!(".{i}"));
        std::path::PathBuf::from(p)
    };
    assert!(rotated(1).exists() && rotated(2).exists());
    assert!(!rotated(3).exists());
    let last = h.log_entries();
    assert_eq!(last.last().unwrap()["log"], "line 299\n");
    assert!(std::fs::metadata(&h.log).unwrap().len() < 4096 + 200);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn slow_attach_client_does_not_block_the_container() {
    require_root!();
    // 4 MB on one line (split into 16 KiB log entries).
    let mut h = Harness::new(&SpecOpts::sh(
        "head -c 4000000 /dev/zero | tr '\\0' a; echo; exit 7",
    ));
    let s = h.start(&["--stdin"]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    // A client that attaches and never reads.
    let mut slow = Ctl::connect(&h.sock());
    slow.call(json!({"op": "attach", "stdout": true}));
    let t0 = Instant::now();
    let exit = wait_exit_file(&h.state, T);
    assert_eq!(exit["exit_code"], 7);
    assert!(t0.elapsed() < Duration::from_secs(10));
    let total: usize = h
        .log_entries()
        .iter()
        .map(|e| e["log"].as_str().unwrap().len())
        .sum();
    assert_eq!(total, 4_000_001);
    assert!(h
        .log_entries()
        .iter()
        .all(|e| e["log"].as_str().unwrap().len() <= 16 * 1024));
    // The slow client still gets well-formed (possibly incomplete) frames.
    let mut got = 0;
    slow.reader
        .get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for (stream, data) in slow.read_frames() {
        assert_eq!(stream, 1);
        got += data.len();
    }
    assert!(got > 0 && got <= 4_000_001);
    drop(slow);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn exec_runs_in_the_container() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::sh("echo $$ > /tmp/init; sleep 100"));
    let s = h.start(&[]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);

    let e = h.exec(
        "e1",
        &["sh", "-c", "echo exec-out; cat /tmp/init; exit 5"],
        &[],
    );
    assert_eq!(e.code, 0, "exec stderr: {}", e.stderr);
    assert_ne!(e.shim_pid, s.shim_pid);
    let dir = h.exec_dir("e1");
    // Output produced before anyone attached is replayed to the first attach client.
    let mut a = Ctl::connect(&dir.join("shim.sock"));
    let attached = a.call(json!({"op": "attach", "stdout": true, "stderr": true}));
    assert_eq!(attached["ok"], true);
    let out: String = a
        .read_frames()
        .iter()
        .map(|f| String::from_utf8_lossy(&f.1).into_owned())
        .collect();
    // Same pid namespace: the container's init is pid 1.
    assert_eq!(out, "exec-out\n1\n");
    let exit = wait_exit_file(&dir, T);
    assert_eq!(exit["exit_code"], 5);
    // libcontainer's per-exec sockets are not left in the container's runtime dir.
    let tenant_files: Vec<_> = std::fs::read_dir(h.state.join("runtime").join(&h.id))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tenant-"))
        .collect();
    assert!(tenant_files.is_empty(), "{tenant_files:?}");

    // Missing command in exec.
    let e2 = h.exec("e2", &["nosuchcmd"], &[]);
    assert_eq!(e2.code, 127, "{}", e2.stderr);
    let err: serde_json::Value = serde_json::from_str(e2.stderr.trim()).unwrap();
    assert_eq!(err["kind"], "not_found");

    // tty exec.
    let e3 = h.exec("e3", &["sh", "-c", "tty; exit 2"], &["--tty"]);
    assert_eq!(e3.code, 0, "{}", e3.stderr);
    let mut a = Ctl::connect(&h.exec_dir("e3").join("shim.sock"));
    let r = a.call(json!({"op": "attach", "stdout": true}));
    assert_eq!(r["ok"], true);
    let raw = String::from_utf8_lossy(&a.read_raw()).into_owned();
    assert!(raw.contains("/dev/pts/"), "{raw:?}");
    assert_eq!(wait_exit_file(&h.exec_dir("e3"), T)["exit_code"], 2);

    // The container is untouched; stop it.
    let mut ctl = Ctl::connect(&h.sock());
    assert_eq!(ctl.call(json!({"op": "state"}))["status"], "running");
    ctl.call(json!({"op": "signal", "signal": 9}));
    assert_eq!(ctl.call(json!({"op": "wait"}))["exit_code"], 137);
    assert_cleaned_up(&h, s.shim_pid);
    let runtime_dir = h.state.join("runtime");
    let left: Vec<_> = std::fs::read_dir(&runtime_dir)
        .map(|r| r.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn second_shim_on_same_state_is_refused() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::new(&["sleep", "100"]));
    let s = h.start(&[]);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let s2 = h.start(&[]);
    assert_eq!(s2.code, 1);
    assert!(s2.stderr.contains("another berth-shim"), "{}", s2.stderr);
    // The first one is unaffected.
    let mut ctl = Ctl::connect(&h.sock());
    assert_eq!(ctl.call(json!({"op": "state"}))["status"], "running");
    ctl.call(json!({"op": "signal", "signal": "KILL"}));
    assert_eq!(ctl.call(json!({"op": "wait"}))["exit_code"], 137);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn latency_of_true() {
    require_root!();
    let mut h = Harness::new(&SpecOpts::new(&["true"]));
    let t0 = Instant::now();
    let s = h.start(&[]);
    let started = t0.elapsed();
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let exit = wait_exit_file(&h.state, T);
    let done = t0.elapsed();
    assert_eq!(exit["exit_code"], 0);
    eprintln!(
        "true: create+start (foreground returned) {:?}, exit.json after {:?}",
        started, done
    );
    assert_cleaned_up(&h, s.shim_pid);
    let mut buf = String::new();
    let _ = std::fs::File::open(h.state.join("shim.log")).map(|mut f| f.read_to_string(&mut buf));
    assert!(buf.is_empty(), "shim.log: {buf}");
}
