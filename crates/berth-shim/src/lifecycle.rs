//! The two things a shim can be asked to do, step by step: `start` a container from a bundle,
//! or `exec` an extra process in one. Both daemonize first (so the process they create is the
//! daemon's descendant), then set everything up, create the process, answer the handshake and
//! supervise until it exits.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::cli::{ExecOpts, IoOpts, Runtime, StartOpts};
use crate::daemonize::{daemonize, Handshake, Ready};
use crate::exitfile::{self, EXEC_DIR, RUNTIME_DIR, SHIM_PID_FILE, SHIM_SOCK};
use crate::io::{self as shimio, bind_unix};
use crate::logfile::JsonLog;
use crate::reaper::{become_subreaper, reap_all, ChildSignals, OomCounter};
use crate::run::{self, Failure};
use crate::runc::Runc;
use crate::supervise::Supervisor;

/// `berth-shim start`. Returns only for errors found before daemonizing (main reports them);
/// past that point the foreground exits in `daemonize` and the daemon exits from here.
pub fn start(o: StartOpts) -> Result<(), Failure> {
    let backend = Backend::new(&o.runtime, &o.state, &o.state);
    fs::create_dir_all(backend.root()).map_err(|e| io_failure("creating the state dir", e))?;
    if !o.bundle.join("config.json").is_file() {
        return Err(Failure::other(format!(
            "{}/config.json: no such file",
            o.bundle.display()
        )));
    }
    ensure_no_shim(&o.state)?;
    clear_stale(&o.state);
    crate::seccomp_compat::prune_unknown_syscalls(&o.bundle)
        .map_err(|e| io_failure("fitting the seccomp profile to this host", e))?;
    let hs = daemonize(&o.state).map_err(|e| io_failure("daemonizing", e))?;
    // ---- from here on we are the daemon ----
    let lock = match lock_dir(&o.state) {
        Ok(l) => l,
        Err(f) => fail_unowned(hs, f),
    };
    let shim = match Prepared::new(lock, &o.state, &o.io) {
        Ok(p) => p,
        Err(f) => fail(hs, &o.state, f),
    };
    let Prepared {
        _lock,
        listener,
        stdio,
        pending,
        log,
    } = shim;

    let (created, pid) = match backend.create(&o.id, &o.bundle, stdio) {
        Ok(c) => c,
        Err(f) => {
            pending.cleanup();
            fail(hs, &o.state, f)
        }
    };
    let abort = |hs: Handshake, f: Failure| -> ! {
        // SAFETY: SIGKILL to our own (unreaped) child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        wait_for(pid);
        let _ = backend.delete(&o.id);
        fail(hs, &o.state, f)
    };
    let endpoints = match pending.connect() {
        Ok(e) => e,
        Err(e) => abort(hs, io_failure("connecting the container's stdio", e)),
    };
    let start_time = exitfile::proc_start_time(pid).unwrap_or(0);
    if let Err(e) = exitfile::write_init_pid(&o.state, pid, start_time) {
        abort(hs, io_failure("writing init.pid", e));
    }
    let oom = OomCounter::for_pid(pid).map(|c| {
        let before = c.read().unwrap_or(0);
        (c, before)
    });
    // Block SIGCHLD only now: the container process must not inherit the mask.
    let signals = match ChildSignals::new() {
        Ok(s) => s,
        Err(e) => abort(hs, io_failure("signalfd", e)),
    };
    if let Err(f) = backend.start(created, &o.id) {
        abort(hs, f);
    }
    hs.send(&Ready::Started {
        pid,
        shim_pid: std::process::id() as i32,
    });
    // The creation code and its heap are not needed any more.
    crate::memory::trim();

    let sup = Supervisor {
        state_dir: o.state.clone(),
        pid,
        tty: o.io.tty,
        io: endpoints,
        log,
        listener,
        signals,
        oom,
        replay_limit: o.io.replay_buffer,
    };
    sup.run(|| {
        if let Err(f) = backend.delete(&o.id) {
            eprintln!("berth-shim: deleting the container: {}", f.message);
        }
    });
    std::process::exit(0);
}

/// `berth-shim exec`.
pub fn exec(o: ExecOpts) -> Result<(), Failure> {
    let dir = o.state.join(EXEC_DIR).join(&o.exec_id);
    let backend = Backend::new(&o.runtime, &o.state, &dir);
    let id = match &o.id {
        Some(id) => id.clone(),
        None => find_container_id(backend.root())?,
    };
    fs::create_dir_all(&dir).map_err(|e| io_failure("creating the exec dir", e))?;
    // The process's `terminal` must agree with --tty: write the spec the runtime reads.
    let process_path = dir.join("process.json");
    let data = fs::read(&o.process)
        .map_err(|e| io_failure(&format!("reading {}", o.process.display()), e))?;
    let mut process: oci_spec::runtime::Process = serde_json::from_slice(&data)
        .map_err(|e| Failure::other(format!("{}: {e}", o.process.display())))?;
    process.set_terminal(Some(o.io.tty));
    let json = serde_json::to_vec(&process).map_err(|e| Failure::other(e.to_string()))?;
    ensure_no_shim(&dir)?;
    exitfile::write_atomic(&dir, "process.json", &json)
        .map_err(|e| io_failure("writing process.json", e))?;
    clear_stale(&dir);

    let hs = daemonize(&dir).map_err(|e| io_failure("daemonizing", e))?;
    // ---- daemon ----
    let Prepared {
        _lock,
        listener,
        stdio,
        pending,
        log,
    } = match lock_dir(&dir) {
        Err(f) => fail_unowned(hs, f),
        Ok(lock) => match Prepared::new(lock, &dir, &o.io) {
            Ok(p) => p,
            Err(f) => fail(hs, &dir, f),
        },
    };
    let pid = match backend.exec(&id, &process_path, stdio) {
        Ok(pid) => pid,
        Err(f) => {
            pending.cleanup();
            fail(hs, &dir, f)
        }
    };
    let endpoints = match pending.connect() {
        Ok(e) => e,
        Err(e) => {
            // SAFETY: SIGKILL to our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            wait_for(pid);
            fail(hs, &dir, io_failure("connecting the process's stdio", e))
        }
    };
    let start_time = exitfile::proc_start_time(pid).unwrap_or(0);
    let _ = exitfile::write_init_pid(&dir, pid, start_time);
    let signals = match ChildSignals::new() {
        Ok(s) => s,
        Err(e) => fail(hs, &dir, io_failure("signalfd", e)),
    };
    hs.send(&Ready::Started {
        pid,
        shim_pid: std::process::id() as i32,
    });
    // The creation code and its heap are not needed any more.
    crate::memory::trim();
    let sup = Supervisor {
        state_dir: dir.clone(),
        pid,
        tty: o.io.tty,
        io: endpoints,
        log,
        listener,
        signals,
        oom: None,
        replay_limit: o.io.replay_buffer,
    };
    sup.run(|| {});
    std::process::exit(0);
}

/// The OCI runtime behind `--runtime`: youki's libcontainer in this process (state in
/// `<state>/runtime`), or the runc binary (state in `<state>/runc`).
enum Backend {
    Youki(PathBuf),
    Runc(Runc),
}

/// A created container waiting for `start`.
enum Created {
    Youki(Box<libcontainer::container::Container>),
    Runc,
}

impl Backend {
    /// `state`: the container's state dir; `dir`: this shim's (the same, or the exec's).
    fn new(rt: &Runtime, state: &Path, dir: &Path) -> Self {
        match rt {
            Runtime::Libcontainer => Backend::Youki(state.join(RUNTIME_DIR)),
            Runtime::Runc { path } => Backend::Runc(Runc::new(path, state, dir)),
        }
    }

    /// Where the runtime keeps per-container state (`<root>/<id>/state.json` for both).
    fn root(&self) -> &Path {
        match self {
            Backend::Youki(root) => root,
            Backend::Runc(r) => r.root(),
        }
    }

    /// Creates the container; returns it with its init's host pid.
    fn create(
        &self,
        id: &str,
        bundle: &Path,
        stdio: shimio::ContainerStdio,
    ) -> Result<(Created, i32), Failure> {
        match self {
            Backend::Youki(root) => {
                let c = run::create(id, bundle, root, stdio)?;
                match c.pid() {
                    Some(pid) => Ok((Created::Youki(Box::new(c)), pid.as_raw())),
                    None => {
                        let _ = run::delete(root, id);
                        Err(Failure::other("libcontainer reported no init pid"))
                    }
                }
            }
            Backend::Runc(r) => Ok((Created::Runc, r.create(id, bundle, stdio)?)),
        }
    }

    fn start(&self, created: Created, id: &str) -> Result<(), Failure> {
        match (self, created) {
            (_, Created::Youki(mut c)) => run::start(&mut c),
            (Backend::Runc(r), Created::Runc) => r.start(id),
            (Backend::Youki(_), Created::Runc) => Err(Failure::other("runtime mismatch")),
        }
    }

    /// Removes the runtime's state and the container's cgroups once its init has exited.
    fn delete(&self, id: &str) -> Result<(), Failure> {
        match self {
            Backend::Youki(root) => run::delete(root, id),
            Backend::Runc(r) => r.delete(id),
        }
    }

    /// Starts an extra process in the running container; returns its host pid.
    fn exec(
        &self,
        id: &str,
        process: &Path,
        stdio: shimio::ContainerStdio,
    ) -> Result<i32, Failure> {
        match self {
            Backend::Youki(root) => run::exec(id, root, process, stdio),
            Backend::Runc(r) => r.exec(id, process, stdio),
        }
    }
}

/// What the daemon sets up before any process exists.
struct Prepared {
    /// flock on `shim.pid`, held for the shim's life: berthd can test liveness with
    /// `flock(LOCK_EX|LOCK_NB)`, and a second shim on the same dir is refused.
    _lock: Flock<File>,
    listener: UnixListener,
    stdio: shimio::ContainerStdio,
    pending: shimio::Pending,
    log: Option<JsonLog>,
}

impl Prepared {
    fn new(lock: Flock<File>, dir: &Path, io_opts: &IoOpts) -> Result<Self, Failure> {
        become_subreaper().map_err(|e| io_failure("PR_SET_CHILD_SUBREAPER", e))?;
        let sock = dir.join(SHIM_SOCK);
        let _ = fs::remove_file(&sock);
        let listener = bind_unix(&sock).map_err(|e| io_failure("binding shim.sock", e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| io_failure("shim.sock", e))?;
        let log = match &io_opts.log {
            Some(p) => Some(
                JsonLog::open(p, io_opts.log_max_size, io_opts.log_max_file)
                    .map_err(|e| io_failure(&format!("opening the log {}", p.display()), e))?,
            ),
            None => None,
        };
        let (stdio, pending) = shimio::prepare(io_opts.tty, io_opts.stdin, dir)
            .map_err(|e| io_failure("creating stdio", e))?;
        Ok(Prepared {
            _lock: lock,
            listener,
            stdio,
            pending,
            log,
        })
    }
}

/// Takes the shim's lock on `dir/shim.pid` and writes our pid into it.
fn lock_dir(dir: &Path) -> Result<Flock<File>, Failure> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(dir.join(SHIM_PID_FILE))
        .map_err(|e| io_failure("opening shim.pid", e))?;
    let mut lock =
        Flock::lock(f, FlockArg::LockExclusiveNonblock).map_err(|_| already_running(dir))?;
    lock.set_len(0)
        .and_then(|_| lock.write_all(format!("{}\n", std::process::id()).as_bytes()))
        .map_err(|e| io_failure("writing shim.pid", e))?;
    Ok(lock)
}

fn already_running(dir: &Path) -> Failure {
    Failure::other(format!(
        "another berth-shim is running for {}",
        dir.display()
    ))
}

/// Foreground check, before anything in `dir` is touched: is a shim alive there?
fn ensure_no_shim(dir: &Path) -> Result<(), Failure> {
    let Ok(f) = File::open(dir.join(SHIM_PID_FILE)) else {
        return Ok(());
    };
    match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
        Ok(_unlocked_on_drop) => Ok(()),
        Err(_) => Err(already_running(dir)),
    }
}

/// Reports a failure that happened before this shim owned anything in the dir.
fn fail_unowned(hs: Handshake, f: Failure) -> ! {
    eprintln!("berth-shim: {}", f.message);
    hs.send(&Ready::Failed {
        error: f.message,
        kind: f.kind,
    });
    std::process::exit(1);
}

/// Reports `f` to the foreground, removes what this shim created, exits.
fn fail(hs: Handshake, dir: &Path, f: Failure) -> ! {
    let _ = fs::remove_file(dir.join(SHIM_SOCK));
    let _ = fs::remove_file(dir.join(SHIM_PID_FILE));
    eprintln!("berth-shim: {}", f.message);
    hs.send(&Ready::Failed {
        error: f.message,
        kind: f.kind,
    });
    std::process::exit(1);
}

/// Files of a previous run that would mislead berthd about this one.
fn clear_stale(dir: &Path) {
    for name in [exitfile::EXIT_FILE, exitfile::INIT_PID_FILE] {
        let _ = fs::remove_file(dir.join(name));
    }
}

fn wait_for(pid: i32) {
    for _ in 0..500 {
        if reap_all().iter().any(|(p, _, _)| *p == pid) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

fn find_container_id(runtime: &Path) -> Result<String, Failure> {
    let mut ids: Vec<PathBuf> = fs::read_dir(runtime)
        .map_err(|e| io_failure(&format!("{}", runtime.display()), e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("state.json").is_file())
        .map(|e| e.path())
        .collect();
    match ids.len() {
        1 => Ok(ids
            .pop()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default()),
        0 => Err(Failure::other(
            "container is not running (no runtime state)",
        )),
        _ => Err(Failure::other(
            "several containers in the state dir: pass --id",
        )),
    }
}

fn io_failure(what: &str, e: io::Error) -> Failure {
    Failure::other(format!("{what}: {e}"))
}
