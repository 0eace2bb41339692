//! Every call into youki's `libcontainer`, in one place.
//!
//! libcontainer clones with a raw syscall and runs Rust code in the child (allocations,
//! tracing, stderr) before exec: safe only in a process with a single thread, which is why this
//! runs in the shim and never in berthd. It also sets the *caller's* `oom_score_adj` (from the
//! spec) and marks it non-dumpable; the shim restores its own score afterwards.
//!
//! Errors are reduced to a one-line message and a [`FailureKind`] berthd maps to Docker's
//! `docker run` exit codes: 127 when the command does not exist, 126 when it cannot be
//! executed. To classify them reliably the shim installs its own [`Executor`], whose
//! validation (run inside the container, before `start`) produces Docker's wording with a
//! marker the shim finds in libcontainer's error chain.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::error::{ErrInvalidSpec, LibcontainerError};
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::io::ContainerStdio;

/// How a failure to start should be reported (Docker's 127 / 126 / 125-ish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The executable does not exist (Docker: exit 127).
    NotFound,
    /// The executable exists but cannot be run: no x bit, a directory (Docker: exit 126).
    Permission,
    Other,
}

impl FailureKind {
    fn marker(self) -> &'static str {
        match self {
            FailureKind::NotFound => "[berth:not_found] ",
            FailureKind::Permission => "[berth:permission] ",
            FailureKind::Other => "[berth:other] ",
        }
    }

    /// Exit code of the foreground `berth-shim` for this failure.
    pub fn exit_code(self) -> i32 {
        match self {
            FailureKind::NotFound => 127,
            FailureKind::Permission => 126,
            FailureKind::Other => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn other(message: impl Into<String>) -> Self {
        Failure {
            kind: FailureKind::Other,
            message: message.into(),
        }
    }
}

fn builder(id: &str, root: &Path, stdio: ContainerStdio) -> Result<ContainerBuilder, Failure> {
    let mut b = ContainerBuilder::new(id.to_string(), SyscallType::default())
        .with_executor(ShimExecutor)
        .with_root_path(root)
        .map_err(failure)?;
    b = match stdio {
        ContainerStdio::Pipes {
            stdin,
            stdout,
            stderr,
        } => b.with_stdin(stdin).with_stdout(stdout).with_stderr(stderr),
        ContainerStdio::Console(path) => b.with_console_socket(Some(path)),
    };
    Ok(b)
}

/// Creates the container (namespaces, cgroup, rootfs, process waiting to exec). Returns it in
/// the `Created` state; its init pid is `container.pid()`.
pub fn create(
    id: &str,
    bundle: &Path,
    root: &Path,
    stdio: ContainerStdio,
) -> Result<Container, Failure> {
    let tty = matches!(stdio, ContainerStdio::Console(_));
    let score = OomScoreGuard::save();
    let r = builder(id, root, stdio)?
        .validate_id()
        .map_err(failure)?
        .as_init(bundle)
        .with_systemd(false)
        .with_detach(true)
        .build();
    drop(score);
    r.map_err(|e| tty_mismatch(&e, tty).unwrap_or_else(|| failure(e)))
}

/// Lets the created container's process exec its command.
pub fn start(container: &mut Container) -> Result<(), Failure> {
    container.start().map_err(failure)
}

/// Removes libcontainer's state and the container's cgroups once its init has exited.
pub fn delete(root: &Path, id: &str) -> Result<(), Failure> {
    let dir = root.join(id);
    if !dir.exists() {
        return Ok(());
    }
    let mut c = Container::load(dir).map_err(failure)?;
    c.delete(true).map_err(failure)
}

/// Starts an extra process in the running container `id` (libcontainer's *tenant*: it joins
/// the init's namespaces and cgroup). Returns its host pid once it has exec'd.
pub fn exec(id: &str, root: &Path, process: &Path, stdio: ContainerStdio) -> Result<i32, Failure> {
    let tty = matches!(stdio, ContainerStdio::Console(_));
    let dir = root.join(id);
    let before = list_dir(&dir);
    let score = OomScoreGuard::save();
    let r = builder(id, root, stdio)?
        .as_tenant()
        .with_process(Some(process))
        .with_detach(true)
        .build();
    drop(score);
    // The tenant builder leaves its notify socket and console-socket symlink behind.
    for name in list_dir(&dir) {
        if name.starts_with("tenant-") && !before.contains(&name) {
            let _ = fs::remove_file(dir.join(name));
        }
    }
    r.map(|pid| pid.as_raw())
        .map_err(|e| tty_mismatch(&e, tty).unwrap_or_else(|| failure(e)))
}

fn list_dir(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn tty_mismatch(e: &LibcontainerError, tty: bool) -> Option<Failure> {
    match e {
        LibcontainerError::InvalidSpec(ErrInvalidSpec::ConsoleSocketRequired) if !tty => Some(
            Failure::other("process.terminal is true in the spec but --tty was not given"),
        ),
        LibcontainerError::InvalidSpec(ErrInvalidSpec::InvalidConsoleSocket) if tty => Some(
            Failure::other("--tty was given but process.terminal is false in the spec"),
        ),
        _ => None,
    }
}

/// Flattens libcontainer's error chain into one line and classifies it.
pub fn failure(e: impl std::error::Error) -> Failure {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = cur {
        let msg = err.to_string();
        for kind in [FailureKind::NotFound, FailureKind::Permission] {
            if let Some(i) = msg.find(kind.marker()) {
                return Failure {
                    kind,
                    message: msg[i + kind.marker().len()..].trim().to_string(),
                };
            }
        }
        // `#[error(transparent)]` layers repeat their source's message.
        if parts.last() != Some(&msg) && !parts.iter().any(|p| p.ends_with(&msg)) {
            parts.push(msg);
        }
        cur = err.source();
    }
    let message = parts.join(": ").replace('\n', " ");
    let message = message
        .strip_prefix(FailureKind::Other.marker())
        .unwrap_or(&message)
        .to_string();
    Failure {
        kind: FailureKind::Other,
        message,
    }
}

/// Keeps the shim's `oom_score_adj` from inheriting the container's (libcontainer writes the
/// spec's value to `/proc/self/oom_score_adj` of the *caller*).
struct OomScoreGuard(Option<String>);

impl OomScoreGuard {
    fn save() -> Self {
        OomScoreGuard(fs::read_to_string("/proc/self/oom_score_adj").ok())
    }
}

impl Drop for OomScoreGuard {
    fn drop(&mut self) {
        if let Some(v) = &self.0 {
            if fs::read_to_string("/proc/self/oom_score_adj").ok().as_ref() != Some(v) {
                // Lowering needs CAP_SYS_RESOURCE only below the inherited minimum; best effort.
                let _ = fs::write("/proc/self/oom_score_adj", v.trim());
            }
        }
    }
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The workload executor: validation with Docker's error texts (run in the container before it
/// is reported started), and an exec that restores default signal handling first.
#[derive(Clone)]
pub struct ShimExecutor;

impl Executor for ShimExecutor {
    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        let process = spec.process().as_ref().ok_or_else(|| {
            ExecutorValidationError::ArgValidationError("spec has no process".into())
        })?;
        let Some(arg0) = process.args().as_ref().and_then(|a| a.first()) else {
            return Err(ExecutorValidationError::ArgValidationError(
                "no command specified".into(),
            ));
        };
        let path_var = process
            .env()
            .as_ref()
            .and_then(|env| env.iter().find_map(|e| e.strip_prefix("PATH=")))
            .unwrap_or(DEFAULT_PATH);
        lookup(arg0, path_var).map(|_| ()).map_err(|f| {
            ExecutorValidationError::ArgValidationError(format!("{}{}", f.kind.marker(), f.message))
        })
    }

    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let args = spec
            .process()
            .as_ref()
            .and_then(|p| p.args().as_ref())
            .filter(|a| !a.is_empty())
            .ok_or(ExecutorError::InvalidArg)?;
        let argv: Vec<CString> = args
            .iter()
            .map(|s| CString::new(s.as_bytes()).map_err(|_| ExecutorError::InvalidArg))
            .collect::<Result<_, _>>()?;
        reset_signals();
        // setup_envs() already installed the spec's environment, PATH included.
        let err = nix::unistd::execvp(&argv[0], &argv).unwrap_err();
        // exec failed after validation (e.g. a script whose interpreter is missing): report it
        // on the container's stderr the way runc does, and exit like a shell would.
        let msg = format!("exec {}: {}\n", args[0], errno_text(err as i32));
        // SAFETY: writing a buffer to fd 2 and exiting without running destructors in the
        // container's (about to die) init.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(if err == nix::errno::Errno::ENOENT {
                127
            } else {
                126
            });
        }
    }
}

/// Like Go's `exec.LookPath`, with Docker's messages.
fn lookup(arg0: &str, path_var: &str) -> Result<PathBuf, Failure> {
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return match check_executable(&p) {
            Ok(()) => Ok(p),
            Err(libc::ENOENT) | Err(libc::ENOTDIR) => Err(Failure {
                kind: FailureKind::NotFound,
                message: format!("exec: \"{arg0}\": stat {arg0}: no such file or directory"),
            }),
            Err(e) => Err(Failure {
                kind: FailureKind::Permission,
                message: format!("exec: \"{arg0}\": {}", errno_text(e)),
            }),
        };
    }
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let p = Path::new(dir).join(arg0);
        if check_executable(&p).is_ok() {
            return Ok(p);
        }
    }
    Err(Failure {
        kind: FailureKind::NotFound,
        message: format!("exec: \"{arg0}\": executable file not found in $PATH"),
    })
}

/// Go's `findExecutable`: a regular file (after symlinks) with an execute bit.
fn check_executable(p: &Path) -> Result<(), i32> {
    use std::os::unix::fs::PermissionsExt;
    let m = fs::metadata(p).map_err(|e| e.raw_os_error().unwrap_or(libc::ENOENT))?;
    if m.is_dir() {
        return Err(libc::EISDIR);
    }
    if m.permissions().mode() & 0o111 == 0 {
        return Err(libc::EACCES);
    }
    Ok(())
}

/// Go-style lower-case error text.
fn errno_text(e: i32) -> String {
    match e {
        libc::ENOENT => "no such file or directory".into(),
        libc::EACCES => "permission denied".into(),
        libc::EISDIR => "is a directory".into(),
        libc::ENOEXEC => "exec format error".into(),
        _ => {
            let s = std::io::Error::from_raw_os_error(e).to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => s,
            }
        }
    }
}

/// The container process must not inherit the shim's signal state: Rust ignores SIGPIPE, and
/// "ignore" dispositions (berthd's, or whoever started it) and the blocked mask survive exec.
/// The raw syscall also reaches the real-time signals glibc keeps to itself (32, 33).
pub(crate) fn reset_signals() {
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: rt_sigaction with a valid struct; the mask reset is plain sigprocmask. Both run in
    // the single-threaded container init right before exec.
    unsafe {
        for sig in 1..=64 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &dfl as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8usize,
                );
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_matches_docker_messages() {
        let e = lookup("nosuchcmd", "/nonexistent:/also-not").unwrap_err();
        assert_eq!(e.kind, FailureKind::NotFound);
        assert_eq!(
            e.message,
            "exec: \"nosuchcmd\": executable file not found in $PATH"
        );
        assert_eq!(
            lookup("sh", "/nonexistent:/bin").unwrap(),
            PathBuf::from("/bin/sh")
        );
        let e = lookup("/etc", "").unwrap_err();
        assert_eq!(e.kind, FailureKind::Permission);
        assert_eq!(e.message, "exec: \"/etc\": is a directory");
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("data");
        fs::write(&f, "x").unwrap();
        let e = lookup(f.to_str().unwrap(), "").unwrap_err();
        assert_eq!(e.kind, FailureKind::Permission);
        assert!(e.message.ends_with(": permission denied"), "{}", e.message);
        let e = lookup("/no/such", "").unwrap_err();
        assert_eq!(e.kind, FailureKind::NotFound);
    }

    #[test]
    fn failure_finds_markers_in_chains() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("failed to create container")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let inner = std::io::Error::other(
            "error in executing process : [berth:not_found] exec: \"x\": executable file not found in $PATH",
        );
        let f = failure(Outer(inner));
        assert_eq!(f.kind, FailureKind::NotFound);
        assert_eq!(f.message, "exec: \"x\": executable file not found in $PATH");
        let f = failure(Outer(std::io::Error::other("boom")));
        assert_eq!(f.kind, FailureKind::Other);
        assert_eq!(f.message, "failed to create container: boom");
    }
}
