//! Files the shim leaves in its state dir for berthd: `exit.json` (how the process ended) and
//! `init.pid` (which host pid to signal, with its start time so a recycled pid is never hit).
//! Both are written atomically: temp file in the same dir, fsync, rename.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub const EXIT_FILE: &str = "exit.json";
pub const INIT_PID_FILE: &str = "init.pid";
pub const SHIM_PID_FILE: &str = "shim.pid";
pub const SHIM_SOCK: &str = "shim.sock";
/// Diagnostics of the daemonized shim (its stderr).
pub const SHIM_LOG: &str = "shim.log";
/// libcontainer's state root inside the state dir (`runtime/<id>/state.json`).
pub const RUNTIME_DIR: &str = "runtime";
/// Per-exec state dirs live under `exec/<exec-id>/`.
pub const EXEC_DIR: &str = "exec";

/// Contents of `exit.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitStatus {
    /// The exit code, or 128+signal when the process was killed by a signal (Docker's rule).
    pub exit_code: i32,
    /// The container's memory cgroup recorded an OOM kill while it ran.
    pub oom_killed: bool,
    /// RFC 3339 with nanoseconds, UTC.
    pub finished_at: String,
    /// The terminating signal's number, when killed by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

/// Writes `contents` to `dir/name` so readers see either the old file or the whole new one.
pub fn write_atomic(dir: &Path, name: &str, contents: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, dir.join(name))?;
    // Make the rename itself durable.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

pub fn write_exit(dir: &Path, status: &ExitStatus) -> io::Result<()> {
    let mut json = serde_json::to_vec(status).map_err(io::Error::other)?;
    json.push(b'\n');
    write_atomic(dir, EXIT_FILE, &json)
}

#[cfg(test)]
pub fn read_exit(dir: &Path) -> io::Result<ExitStatus> {
    let data = fs::read(dir.join(EXIT_FILE))?;
    serde_json::from_slice(&data).map_err(io::Error::other)
}

/// `init.pid` holds one line: `<pid> <starttime>`, the start time being field 22 of
/// `/proc/<pid>/stat` (clock ticks since boot). Before signalling, compare it with the live
/// value; a mismatch means the pid now belongs to another process.
pub fn write_init_pid(dir: &Path, pid: i32, start_time: u64) -> io::Result<()> {
    write_atomic(
        dir,
        INIT_PID_FILE,
        format!("{pid} {start_time}\n").as_bytes(),
    )
}

#[cfg(test)]
pub fn read_init_pid(dir: &Path) -> io::Result<(i32, u64)> {
    let s = fs::read_to_string(dir.join(INIT_PID_FILE))?;
    let mut it = s.split_whitespace();
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed init.pid");
    let pid = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let start = it.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    Ok((pid, start))
}

/// Field 22 (`starttime`) of `/proc/<pid>/stat`. The command name (field 2) may contain
/// spaces and parentheses, so fields are counted after the last `)`.
pub fn proc_start_time(pid: i32) -> io::Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_start_time(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed /proc/pid/stat"))
}

fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ")" come field 3 (state) onwards; starttime is field 22.
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_of_self() {
        let me = std::process::id() as i32;
        assert!(proc_start_time(me).unwrap() > 0);
        let fake = "42 (a) b (c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 0 0";
        assert_eq!(parse_start_time(fake), Some(777));
    }

    #[test]
    fn exit_and_pid_files_roundtrip() {
        let d = tempfile::tempdir().unwrap();
        let st = ExitStatus {
            exit_code: 143,
            oom_killed: false,
            finished_at: "2026-11-23T13:00:00.000000001Z".into(),
            signal: Some(15),
        };
        write_exit(d.path(), &st).unwrap();
        assert_eq!(read_exit(d.path()).unwrap(), st);
        let text = fs::read_to_string(d.path().join(EXIT_FILE)).unwrap();
        assert!(text.contains("\"exit_code\":143"), "{text}");
        write_init_pid(d.path(), 12, 34).unwrap();
        assert_eq!(read_init_pid(d.path()).unwrap(), (12, 34));
        assert!(!d.path().join(".exit.json.tmp").exists());
    }
}
