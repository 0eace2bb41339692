//! Reaping: the shim is the container's parent and collects its exit status.
//!
//! libcontainer clones an intermediate process, which forks the container's init and exits.
//! The orphaned init is re-parented to the nearest *child subreaper* among its ancestors — the
//! shim, which set `PR_SET_CHILD_SUBREAPER` before creating it — so the shim, and only the
//! shim, can `waitpid` it. SIGCHLD is blocked and read from a `signalfd` so the single-threaded
//! event loop can poll it next to the stdio pipes and sockets.
//!
//! OOM kills are detected from the memory cgroup's `oom_kill` counter (cgroup v1
//! `memory.oom_control`, cgroup v2 `memory.events`), read when the process starts and again
//! when it has exited.

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::PathBuf;

use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Makes orphaned descendants (the container's init) children of this process.
pub fn become_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

/// SIGCHLD as a pollable fd.
pub struct ChildSignals {
    fd: SignalFd,
}

impl ChildSignals {
    /// Blocks SIGCHLD and opens a signalfd for it. Call only after the container process exists:
    /// the blocked mask would otherwise be inherited by it.
    pub fn new() -> io::Result<Self> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGCHLD);
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(ChildSignals { fd })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_fd().as_raw_fd()
    }

    /// Empties the signalfd (signals coalesce; `reap_all` does the real work).
    pub fn drain(&mut self) {
        while let Ok(Some(_)) = self.fd.read_signal() {}
    }
}

/// Collects every exited child without blocking. Returns `(pid, exit_code, signal)` for each.
pub fn reap_all() -> Vec<(i32, i32, Option<i32>)> {
    let mut out = Vec::new();
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => out.push((pid.as_raw(), code, None)),
            Ok(WaitStatus::Signaled(pid, sig, _)) => {
                let n = sig as i32;
                out.push((pid.as_raw(), 128 + n, Some(n)));
            }
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => continue,
        }
    }
    out
}

/// The `oom_kill` counter of a process's memory cgroup.
pub struct OomCounter {
    path: PathBuf,
}

impl OomCounter {
    /// Finds the memory cgroup of `pid` (v1 `memory` controller, else the v2 unified tree).
    pub fn for_pid(pid: i32) -> Option<Self> {
        let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
        let (v1, v2) = cgroup_mounts(&mountinfo);
        let mut unified = None;
        for line in cgroups.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(hid), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let rel = path.trim_start_matches('/');
            if ctrls.split(',').any(|c| c == "memory") {
                let mnt = v1.as_ref()?;
                return Some(OomCounter {
                    path: mnt.join(rel).join("memory.oom_control"),
                });
            }
            if hid == "0" && ctrls.is_empty() {
                unified = Some(rel.to_string());
            }
        }
        let (mnt, rel) = (v2?, unified?);
        let path = mnt.join(rel).join("memory.events");
        path.exists().then_some(OomCounter { path })
    }

    pub fn read(&self) -> Option<u64> {
        let s = fs::read_to_string(&self.path).ok()?;
        parse_oom_kill(&s)
    }
}

fn parse_oom_kill(s: &str) -> Option<u64> {
    s.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == "oom_kill").then(|| v.trim().parse().ok())?
    })
}

/// Mount points of the v1 `memory` hierarchy and of cgroup2, from `/proc/self/mountinfo`.
fn cgroup_mounts(mountinfo: &str) -> (Option<PathBuf>, Option<PathBuf>) {
    let (mut v1, mut v2) = (None, None);
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mnt = match pre.split(' ').nth(4) {
            Some(m) => m,
            None => continue,
        };
        let mut post = post.split(' ');
        let fstype = post.next().unwrap_or("");
        let opts = post.nth(1).unwrap_or("");
        if fstype == "cgroup2" && v2.is_none() {
            v2 = Some(PathBuf::from(mnt));
        } else if fstype == "cgroup" && v1.is_none() && opts.split(',').any(|o| o == "memory") {
            v1 = Some(PathBuf::from(mnt));
        }
    }
    (v1, v2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counters() {
        assert_eq!(
            parse_oom_kill("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"),
            Some(3)
        );
        assert_eq!(
            parse_oom_kill("low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n"),
            Some(1)
        );
        assert_eq!(parse_oom_kill("oom 1\n"), None);
    }

    #[test]
    fn finds_mounts() {
        let mi = "\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
33 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let (v1, v2) = cgroup_mounts(mi);
        assert_eq!(v1.unwrap(), PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(v2.unwrap(), PathBuf::from("/sys/fs/cgroup/unified"));
    }

    #[test]
    fn own_counter_is_readable() {
        // Whatever this host uses, our own memory cgroup should expose a counter.
        if let Some(c) = OomCounter::for_pid(std::process::id() as i32) {
            assert!(c.read().is_some(), "{:?}", c.path);
        }
    }
}
