//! `berth-shim --runtime runc`: the same bundles, created by the runc binary. Skipped when
//! not root or when runc is not installed.

mod support;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use support::{alive_pid, proc_state, wait_exit_file, wait_until, Ctl, Harness, SpecOpts};

const T: Duration = Duration::from_secs(20);
const RUNC: [&str; 2] = ["--runtime", "runc"];

macro_rules! require_runc {
    () => {
        if !support::is_root() || !runc_installed() {
            eprintln!("skipping: needs root and runc");
            return;
        }
    };
}

fn runc_installed() -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("runc").is_file()))
        .unwrap_or(false)
}

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    RUNC.iter().chain(extra).copied().collect()
}

/// After the shim is done: no cgroup, no runc state, no socket.
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
        !h.state.join("runc").join(&h.id).exists(),
        "runc state left"
    );
    assert!(!h.state.join("runtime").join(&h.id).exists());
    assert!(!h.sock().exists(), "shim.sock left");
    assert!(!h.state.join("shim.pid").exists(), "shim.pid left");
}

fn runc_list(state: &Path) -> String {
    let out = std::process::Command::new("runc")
        .arg("--root")
        .arg(state.join("runc"))
        .arg("list")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn runc_logs_both_streams_and_exit_code() {
    require_runc!();
    let mut h = Harness::new(&SpecOpts::sh("echo hello; echo err >&2; exit 3"));
    let s = h.start(&RUNC);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let exit = wait_exit_file(&h.state, T);
    assert_eq!(exit["exit_code"], 3);
    assert_eq!(exit["oom_killed"], false);
    let got: Vec<(String, String)> = h
        .log_entries()
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
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn runc_container_is_listed_signalled_and_reaped() {
    require_runc!();
    let mut h = Harness::new(&SpecOpts::new(&["sleep", "100"]));
    let s = h.start(&RUNC);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    // runc knows it, running, with the pid the shim reported; the shim is its parent.
    let list = runc_list(&h.state);
    assert!(
        list.lines().any(|l| l.starts_with(&h.id)
            && l.contains("running")
            && l.contains(&s.pid.to_string())),
        "{list}"
    );
    assert_eq!(proc_state(s.pid).unwrap().1, s.shim_pid);
    let (rss, ..) = support::rss_kib(s.shim_pid);
    eprintln!("runc shim RSS while running: {rss} KiB");

    let mut ctl = Ctl::connect(&h.sock());
    assert_eq!(ctl.call(json!({"op": "state"}))["status"], "running");
    assert_eq!(
        ctl.call(json!({"op": "signal", "signal": "SIGKILL"}))["ok"],
        true
    );
    let w = ctl.call(json!({"op": "wait"}));
    assert_eq!(w["exit_code"], 137);
    assert_eq!(w["signal"], 9);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn runc_tty_and_resize() {
    require_runc!();
    let mut opts = SpecOpts::sh("read x; echo tty-out; stty size; tty");
    opts.tty = true;
    let mut h = Harness::new(&opts);
    let s = h.start(&with(&["--tty", "--stdin"]));
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
    assert!(raw.contains("tty-out\r\n"), "{raw:?}");
    assert!(raw.contains("40 120"), "{raw:?}");
    assert!(
        raw.contains("/dev/pts/0") || raw.contains("/dev/console"),
        "{raw:?}"
    );
    assert_eq!(wait_exit_file(&h.state, T)["exit_code"], 0);
    assert_cleaned_up(&h, s.shim_pid);
}

#[test]
fn runc_missing_command_is_not_found() {
    require_runc!();
    let mut h = Harness::new(&SpecOpts::new(&["nosuchcmd"]));
    let s = h.start(&RUNC);
    assert_eq!(s.code, 127, "stdout {} stderr {}", s.stdout, s.stderr);
    let e: serde_json::Value = serde_json::from_str(s.stderr.trim()).unwrap();
    assert_eq!(e["kind"], "not_found");
    let msg = e["error"].as_str().unwrap();
    assert!(
        msg.contains("exec: \"nosuchcmd\": executable file not found in $PATH"),
        "{msg}"
    );
    assert!(
        h.leftover_cgroups().is_empty(),
        "{:?}",
        h.leftover_cgroups()
    );
    assert!(!h.state.join("runc").join(&h.id).exists());
    assert!(!h.sock().exists());
    assert!(!h.state.join("exit.json").exists());
}

#[test]
fn runc_binary_missing_is_an_error() {
    require_runc!();
    let mut h = Harness::new(&SpecOpts::new(&["true"]));
    let s = h.start(&with(&["--runtime-path", "/nonexistent/runc"]));
    assert_eq!(s.code, 1, "{}", s.stderr);
    let e: serde_json::Value = serde_json::from_str(s.stderr.trim()).unwrap();
    assert_eq!(e["kind"], "other");
    assert!(
        e["error"].as_str().unwrap().contains("/nonexistent/runc"),
        "{e}"
    );
    assert!(!h.sock().exists());
}

#[test]
fn runc_exec_runs_in_the_container() {
    require_runc!();
    let mut h = Harness::new(&SpecOpts::sh("echo $$ > /tmp/init; sleep 100"));
    let s = h.start(&RUNC);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);

    let e = h.exec(
        "e1",
        &[
            "sh",
            "-c",
            "echo exec-out; cat /tmp/init; echo exec-err >&2; exit 5",
        ],
        &RUNC,
    );
    assert_eq!(e.code, 0, "exec stderr: {}", e.stderr);
    let dir = h.exec_dir("e1");
    let mut a = Ctl::connect(&dir.join("shim.sock"));
    assert_eq!(
        a.call(json!({"op": "attach", "stdout": true, "stderr": true}))["ok"],
        true
    );
    let frames = a.read_frames();
    let out: String = frames
        .iter()
        .filter(|f| f.0 == 1)
        .map(|f| String::from_utf8_lossy(&f.1).into_owned())
        .collect();
    assert_eq!(out, "exec-out\n1\n");
    assert!(
        frames.iter().any(|f| f.0 == 2 && f.1 == b"exec-err\n"),
        "{frames:?}"
    );
    assert_eq!(wait_exit_file(&dir, T)["exit_code"], 5);

    let e2 = h.exec("e2", &["nosuchcmd"], &RUNC);
    assert_eq!(e2.code, 127, "{}", e2.stderr);
    let err: serde_json::Value = serde_json::from_str(e2.stderr.trim()).unwrap();
    assert_eq!(err["kind"], "not_found");
    assert_eq!(
        err["error"],
        "exec: \"nosuchcmd\": executable file not found in $PATH"
    );

    let e3 = h.exec("e3", &["sh", "-c", "tty; exit 2"], &with(&["--tty"]));
    assert_eq!(e3.code, 0, "{}", e3.stderr);
    let mut a = Ctl::connect(&h.exec_dir("e3").join("shim.sock"));
    assert_eq!(a.call(json!({"op": "attach", "stdout": true}))["ok"], true);
    let raw = String::from_utf8_lossy(&a.read_raw()).into_owned();
    assert!(raw.contains("/dev/pts/"), "{raw:?}");
    assert_eq!(wait_exit_file(&h.exec_dir("e3"), T)["exit_code"], 2);

    let mut ctl = Ctl::connect(&h.sock());
    assert_eq!(ctl.call(json!({"op": "state"}))["status"], "running");
    ctl.call(json!({"op": "signal", "signal": 9}));
    assert_eq!(ctl.call(json!({"op": "wait"}))["exit_code"], 137);
    assert_cleaned_up(&h, s.shim_pid);
    assert!(runc_list(&h.state).lines().count() <= 1);
}

#[test]
fn runc_non_executable_is_permission() {
    require_runc!();
    let mut h = Harness::new(&SpecOpts::new(&["/etc/passwd"]));
    let s = h.start(&RUNC);
    assert_eq!(s.code, 126, "stderr {}", s.stderr);
    let e: serde_json::Value = serde_json::from_str(s.stderr.trim()).unwrap();
    assert_eq!(e["kind"], "permission");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("exec: \"/etc/passwd\": permission denied"),
        "{e}"
    );
    assert!(h.leftover_cgroups().is_empty());
}

#[test]
fn runc_container_gets_default_signal_state() {
    require_runc!();
    let mut h = Harness::new(&SpecOpts::new(&["cat", "/proc/self/status"]));
    let s = h.start(&RUNC);
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
fn runc_oom_kill_is_detected() {
    require_runc!();
    let mut opts = SpecOpts::new(&["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]);
    opts.memory_limit = Some(32 * 1024 * 1024);
    let mut h = Harness::new(&opts);
    let s = h.start(&RUNC);
    assert_eq!(s.code, 0, "stderr: {}", s.stderr);
    let exit = wait_exit_file(&h.state, T);
    assert_eq!(exit["oom_killed"], true, "{exit}");
    assert_eq!(exit["exit_code"], 137, "{exit}");
    assert_cleaned_up(&h, s.shim_pid);
}
