//! `berth-shim`: the per-container supervisor berthd starts for every container (the model of
//! containerd-shim and conmon).
//!
//! # Why a separate process
//!
//! * **Crash isolation.** The shim, not berthd, is the container's parent: it alone can reap
//!   the exit status, it holds the stdio pipes or the pty master, appends the json-file log and
//!   writes `exit.json`. Containers, their logs and exit codes survive a berthd crash or
//!   upgrade; berthd reconnects to `shim.sock` when it starts.
//! * **libcontainer needs a single-threaded caller.** youki's libcontainer clones with a raw
//!   syscall and runs Rust code in the child; in a multi-threaded daemon that deadlocked on the
//!   malloc and stderr locks. It also changes the caller's `oom_score_adj` and dumpable flag.
//!   The shim is a small single-threaded program (blocking code + `poll(2)`, no async runtime).
//!
//! # Process dance
//!
//! `berth-shim start` (foreground, run by berthd; `cli` parses it, `lifecycle` sequences the
//! steps) → `daemonize` (double fork, `setsid`) → the daemon locks `shim.pid`, makes itself a
//! child subreaper (`reaper`), binds `shim.sock`, prepares stdio (`io`), creates and starts
//! the container with libcontainer (`run`) — or, with `--runtime runc`, the runc binary
//! (`runc`) — reports `{"pid":…,"shim_pid":…}` through a pipe
//! to the foreground, which prints it and exits 0 → the daemon drops the pages of the creation
//! code (`memory`) and `supervise`s: copies output to the json-file log (`logfile`) and attach
//! clients, serves `shim.sock` (`control`), reaps the exit, deletes the container's runtime
//! state and cgroups, writes `exit.json` (`exitfile`), answers waiters, and exits.
//! `berth-shim exec` is the same dance around libcontainer's tenant builder (or `runc exec`).
//!
//! The full CLI and socket protocol are in `PROTOCOL.md` next to this crate's `Cargo.toml`.

mod cli;
mod control;
mod daemonize;
mod exitfile;
mod io;
mod lifecycle;
mod logfile;
mod memory;
mod reaper;
mod run;
mod runc;
mod seccomp_compat;
mod supervise;
mod timefmt;

use cli::Command;
use daemonize::Ready;
use run::Failure;

fn main() {
    let result = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return;
        }
        Ok(Command::Version) => {
            println!("berth-shim {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Ok(Command::Start(o)) => lifecycle::start(o),
        Ok(Command::Exec(o)) => lifecycle::exec(o),
        Err(e) => {
            report(&Failure::other(format!("{e} (see berth-shim --help)")));
            std::process::exit(2);
        }
    };
    // start/exec return only on errors found before daemonizing.
    if let Err(f) = result {
        report(&f);
        std::process::exit(f.kind.exit_code());
    }
}

/// Errors are one JSON line on stderr: `{"error":"…","kind":"not_found"|"permission"|"other"}`.
fn report(f: &Failure) {
    let r = Ready::Failed {
        error: f.message.clone(),
        kind: f.kind,
    };
    eprintln!("{}", serde_json::to_string(&r).unwrap_or_default());
}
