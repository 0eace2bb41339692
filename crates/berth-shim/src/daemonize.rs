//! Detaching from berthd, with a start-up handshake.
//!
//! ```text
//! berthd ── fork+exec ──▶ berth-shim start   (foreground: waits on the pipe)
//!                           │ fork
//!                           └▶ child: setsid() ── fork ──▶ daemon (the real shim)
//!                                 exits at once               │ creates + starts the container
//!                                                             │ writes one JSON line to the pipe
//! foreground reads the line ◀─────────────────────────────────┘
//!   prints {"pid":…,"shim_pid":…} and exits 0, or the error on stderr and exits non-zero
//! ```
//!
//! The double fork makes the daemon a session leader's child with no controlling terminal
//! and not berthd's child (it is re-parented to init or berthd's subreaper), so berthd neither
//! has to reap it nor takes it down when it dies; `setsid` keeps signals sent to berthd's
//! process group away from it. The daemon's stdin/stdout are `/dev/null`, its stderr is
//! `shim.log` in the state dir, its cwd is `/`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, setsid, ForkResult};
use serde::{Deserialize, Serialize};

use crate::run::FailureKind;

/// The one line the daemon sends back, and the foreground prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Ready {
    Started {
        /// Host pid of the container's process.
        pid: i32,
        /// Pid of the daemonized shim.
        shim_pid: i32,
    },
    Failed {
        error: String,
        kind: FailureKind,
    },
}

/// The daemon's end of the handshake pipe.
pub struct Handshake {
    fd: OwnedFd,
}

impl Handshake {
    pub fn send(self, r: &Ready) {
        let mut line = serde_json::to_vec(r).unwrap_or_default();
        line.push(b'\n');
        let mut f = File::from(self.fd);
        if let Err(e) = f.write_all(&line) {
            // The foreground is gone (berthd killed it); the shim carries on regardless.
            eprintln!("berth-shim: handshake: {e}");
        }
    }
}

/// Forks the daemon. Returns only in the daemon; the foreground process exits with the
/// daemon's verdict (see [`foreground`]).
pub fn daemonize(state_dir: &Path) -> io::Result<Handshake> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    // Open the daemon's stderr before forking so a failure is reported in the foreground.
    let log = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(state_dir.join(crate::exitfile::SHIM_LOG))?;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    // SAFETY: the shim is single-threaded at this point (no runtime, no helper threads).
    match unsafe { fork() }? {
        ForkResult::Parent { child } => {
            drop(w);
            let _ = waitpid(child, None);
            std::process::exit(foreground(r, state_dir));
        }
        ForkResult::Child => {}
    }
    drop(r);
    setsid()?;
    // SAFETY: still single-threaded.
    match unsafe { fork() }? {
        ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
        ForkResult::Child => {}
    }
    std::env::set_current_dir("/")?;
    // SAFETY: dup2 onto the standard fds, which we own.
    unsafe {
        libc::dup2(null.as_raw_fd(), 0);
        libc::dup2(null.as_raw_fd(), 1);
        libc::dup2(log.as_raw_fd(), 2);
    }
    Ok(Handshake { fd: w })
}

/// Reads the daemon's line; prints it to stdout (success, exit 0) or stderr (failure, exit
/// 127/126/1 like Docker's `docker run` for missing/non-executable commands).
fn foreground(r: OwnedFd, state_dir: &Path) -> i32 {
    let mut f = File::from(r);
    let mut line = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    // One line; do not wait for EOF (another copy of the pipe might linger a moment).
    while let Ok(1) = f.read(&mut byte) {
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    let ready = serde_json::from_slice::<Ready>(&line).unwrap_or_else(|_| Ready::Failed {
        error: format!(
            "berth-shim exited before reporting (see {})",
            state_dir.join(crate::exitfile::SHIM_LOG).display()
        ),
        kind: FailureKind::Other,
    });
    let text = serde_json::to_string(&ready).unwrap_or_default();
    match ready {
        Ready::Started { .. } => {
            println!("{text}");
            0
        }
        Ready::Failed { kind, .. } => {
            eprintln!("{text}");
            kind.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_wire_format() {
        let s = serde_json::to_string(&Ready::Started {
            pid: 10,
            shim_pid: 9,
        })
        .unwrap();
        assert_eq!(s, r#"{"pid":10,"shim_pid":9}"#);
        let f = Ready::Failed {
            error: "exec: \"x\": executable file not found in $PATH".into(),
            kind: FailureKind::NotFound,
        };
        let s = serde_json::to_string(&f).unwrap();
        assert!(s.ends_with(r#","kind":"not_found"}"#), "{s}");
        assert_eq!(serde_json::from_str::<Ready>(&s).unwrap(), f);
    }
}
