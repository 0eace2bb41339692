//! The `--runtime runc` backend: the same bundle, created by the runc binary instead of the
//! linked-in libcontainer (the containerd-shim model).
//!
//! * `runc --root <state>/runc --log <dir>/runc.log --log-format json create --bundle B
//!   --pid-file P [--console-socket S] <id>` — runc forks `runc init`, which sets up the
//!   container and waits on runc's exec fifo; `runc create` exits, and the orphaned init is
//!   re-parented to the shim, a child subreaper. Without a tty runc passes its own stdio
//!   through to the container ("detached pass-through"), so the shim's pipes are runc's
//!   stdin/stdout/stderr. With a tty runc connects to the console socket and sends the pty
//!   master, exactly as libcontainer does.
//! * `runc start <id>` lets the init exec the command.
//! * `runc exec --process F [--console-socket S] --pid-file P --detach <id>` for an exec: same
//!   stdio rules, the process is re-parented to the exec's shim.
//! * `runc delete --force <id>` once the init has been reaped: cgroups and runc's state go.
//!
//! The shim signals the process itself with kill(2): it is the shim's unreaped child, so the
//! pid cannot have been reused. runc's errors are read from its json log (the last `error`
//! entry) and classified like libcontainer's: `exec: "x": executable file not found` is
//! [`FailureKind::NotFound`] (Docker's 127), `permission denied` [`FailureKind::Permission`].

use std::ffi::OsString;
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::io::ContainerStdio;
use crate::run::{Failure, FailureKind};

/// runc's state root, inside the container's shim state dir.
pub const RUNC_DIR: &str = "runc";
const LOG_FILE: &str = "runc.log";
const PID_FILE: &str = "runc.pid";
/// runc's own prefix for exec failures; berthd adds Docker's wording around the message.
const EXEC_PREFIX: &str = "exec failed: unable to start container process: ";

pub struct Runc {
    bin: PathBuf,
    /// `--root`: runc's state for this container (`<container state>/runc`).
    root: PathBuf,
    /// Where runc's log and pid file go (the container's or the exec's dir).
    dir: PathBuf,
}

/// One runc command; [`Runc::args`] turns it into a command line.
#[derive(Debug, Clone, Copy)]
enum Sub<'a> {
    Create {
        bundle: &'a Path,
        console: Option<&'a Path>,
    },
    Start,
    Delete,
    Exec {
        process: &'a Path,
        console: Option<&'a Path>,
    },
}

impl Runc {
    /// `container_state` is the container's shim state dir; `dir` is where this shim keeps
    /// its files (the same dir for `start`, `exec/<exec-id>` for an exec).
    pub fn new(bin: &Path, container_state: &Path, dir: &Path) -> Self {
        Runc {
            bin: bin.to_path_buf(),
            root: container_state.join(RUNC_DIR),
            dir: dir.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn args(&self, sub: Sub<'_>, id: &str) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "--root".into(),
            self.root.clone().into(),
            "--log".into(),
            self.dir.join(LOG_FILE).into(),
            "--log-format".into(),
            "json".into(),
        ];
        let pid_file = self.dir.join(PID_FILE);
        match sub {
            Sub::Create { bundle, console } => {
                a.extend(["create".into(), "--bundle".into(), bundle.into()]);
                a.extend(["--pid-file".into(), pid_file.into()]);
                if let Some(c) = console {
                    a.extend(["--console-socket".into(), c.into()]);
                }
            }
            Sub::Start => a.push("start".into()),
            Sub::Delete => a.extend(["delete".into(), "--force".into()]),
            Sub::Exec { process, console } => {
                a.extend(["exec".into(), "--process".into(), process.into()]);
                if let Some(c) = console {
                    a.extend(["--console-socket".into(), c.into()]);
                }
                a.extend(["--pid-file".into(), pid_file.into(), "--detach".into()]);
            }
        }
        a.push(id.into());
        a
    }

    /// `runc create`: the container exists, its init waits for `start`. Returns the init's pid.
    pub fn create(&self, id: &str, bundle: &Path, stdio: ContainerStdio) -> Result<i32, Failure> {
        self.spawn_process(stdio, false, bundle, id)
    }

    /// `runc start`: the init execs the container's command.
    pub fn start(&self, id: &str) -> Result<(), Failure> {
        self.run(Sub::Start, id, None)
    }

    /// `runc delete --force`: removes runc's state and the container's cgroups (killing
    /// what is left in them). Nothing to do when runc has no state for `id`.
    pub fn delete(&self, id: &str) -> Result<(), Failure> {
        if !self.root.join(id).exists() {
            return Ok(());
        }
        self.run(Sub::Delete, id, None)
    }

    /// `runc exec --detach`: starts `process` (an OCI process JSON) in the running container.
    /// Returns its host pid.
    pub fn exec(&self, id: &str, process: &Path, stdio: ContainerStdio) -> Result<i32, Failure> {
        self.spawn_process(stdio, true, process, id)
            .map_err(|mut f| {
                if let Some(rest) = f.message.strip_prefix(EXEC_PREFIX) {
                    f.message = rest.to_string();
                }
                f
            })
    }

    /// create (`path`: the bundle) or exec (`path`: the process JSON): wires the stdio, runs
    /// runc, reads the pid it wrote.
    fn spawn_process(
        &self,
        stdio: ContainerStdio,
        exec: bool,
        path: &Path,
        id: &str,
    ) -> Result<i32, Failure> {
        let sub = |console| match exec {
            false => Sub::Create {
                bundle: path,
                console,
            },
            true => Sub::Exec {
                process: path,
                console,
            },
        };
        let pid_file = self.dir.join(PID_FILE);
        let _ = fs::remove_file(&pid_file);
        let r = match stdio {
            ContainerStdio::Pipes {
                stdin,
                stdout,
                stderr,
            } => self.run(sub(None), id, Some([stdin, stdout, stderr])),
            ContainerStdio::Console(path) => {
                let short = ShortPath::new(&path).map_err(|e| {
                    Failure::other(format!("console socket {}: {e}", path.display()))
                })?;
                self.run(sub(Some(short.path())), id, None)
            }
        };
        let pid = r.and_then(|()| read_pid(&pid_file));
        let _ = fs::remove_file(&pid_file);
        pid
    }

    /// Runs one runc command and waits for it. `stdio`: the container's ends (non-tty create
    /// and exec); otherwise runc's stdio is /dev/null and its errors come from the log.
    fn run(&self, sub: Sub<'_>, id: &str, stdio: Option<[OwnedFd; 3]>) -> Result<(), Failure> {
        let log = self.dir.join(LOG_FILE);
        let _ = fs::remove_file(&log);
        let mut cmd = Command::new(&self.bin);
        cmd.args(self.args(sub, id))
            // Under systemd, berthd's environment may name a notify socket: runc would then
            // proxy sd_notify for the container.
            .env_remove("NOTIFY_SOCKET")
            .current_dir("/");
        match stdio {
            Some([i, o, e]) => {
                cmd.stdin(Stdio::from(i))
                    .stdout(Stdio::from(o))
                    .stderr(Stdio::from(e));
            }
            None => {
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
            }
        }
        // SAFETY: the closure only makes raw signal syscalls (async-signal-safe) in the forked
        // child before exec.
        unsafe {
            cmd.pre_exec(|| {
                crate::run::reset_signals();
                Ok(())
            });
        }
        let status = cmd.status().map_err(|e| {
            Failure::other(format!(
                "cannot run the runc binary {}: {e}",
                self.bin.display()
            ))
        })?;
        // `cmd` (and with it our copies of the container's stdio ends) is dropped here.
        drop(cmd);
        if status.success() {
            let _ = fs::remove_file(&log);
            return Ok(());
        }
        let text = fs::read_to_string(&log).unwrap_or_default();
        let msg = last_error(&text)
            .unwrap_or_else(|| format!("runc {} failed ({status})", sub_name(sub)));
        Err(classify(msg))
    }
}

fn sub_name(sub: Sub<'_>) -> &'static str {
    match sub {
        Sub::Create { .. } => "create",
        Sub::Start => "start",
        Sub::Delete => "delete",
        Sub::Exec { .. } => "exec",
    }
}

fn read_pid(path: &Path) -> Result<i32, Failure> {
    let text = fs::read_to_string(path)
        .map_err(|e| Failure::other(format!("reading runc's pid file: {e}")))?;
    match text.trim().parse::<i32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(Failure::other(format!(
            "runc's pid file holds {:?}",
            text.trim()
        ))),
    }
}

/// The message of the last `error` (or `fatal`) entry of runc's json log; else the last
/// non-empty line that is not JSON.
fn last_error(log: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        level: String,
        #[serde(default)]
        msg: String,
    }
    let mut found = None;
    for line in log.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match serde_json::from_str::<Entry>(line) {
            Ok(e) if matches!(e.level.as_str(), "error" | "fatal" | "panic") => found = Some(e.msg),
            Ok(_) => {}
            Err(_) => found = Some(line.to_string()),
        }
    }
    found.map(|m| m.replace('\n', " ").trim().to_string())
}

/// runc's messages with Go's wording: `exec: "x": executable file not found in $PATH`,
/// `exec: "/x": stat /x: no such file or directory`, `exec: "/etc": permission denied`.
fn classify(message: String) -> Failure {
    let kind = match message.find("exec: \"") {
        Some(i) => {
            let tail = &message[i..];
            if tail.contains("executable file not found") || tail.contains("no such file") {
                FailureKind::NotFound
            } else if tail.contains("permission denied") || tail.contains("is a directory") {
                FailureKind::Permission
            } else {
                FailureKind::Other
            }
        }
        None => FailureKind::Other,
    };
    Failure { kind, message }
}

/// A path another process can connect to even when it is longer than `sun_path` allows:
/// `/proc/<shim pid>/fd/<dir fd>/<name>` while the directory fd is held.
struct ShortPath {
    path: PathBuf,
    _dir: Option<OwnedFd>,
}

impl ShortPath {
    const MAX: usize = 100;

    fn new(p: &Path) -> std::io::Result<Self> {
        if p.as_os_str().len() < Self::MAX {
            return Ok(ShortPath {
                path: p.to_path_buf(),
                _dir: None,
            });
        }
        let (Some(dir), Some(name)) = (p.parent(), p.file_name()) else {
            return Err(std::io::Error::other("bad socket path"));
        };
        let fd: OwnedFd = fs::File::open(dir)?.into();
        let path = PathBuf::from(format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            fd.as_raw_fd()
        ))
        .join(name);
        Ok(ShortPath {
            path,
            _dir: Some(fd),
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: Vec<OsString>) -> Vec<String> {
        v.into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn builds_create_start_delete() {
        let r = Runc::new(
            Path::new("/usr/sbin/runc"),
            Path::new("/s"),
            Path::new("/s"),
        );
        let common = [
            "--root",
            "/s/runc",
            "--log",
            "/s/runc.log",
            "--log-format",
            "json",
        ];
        let a = strs(r.args(
            Sub::Create {
                bundle: Path::new("/b"),
                console: None,
            },
            "c1",
        ));
        let mut want: Vec<&str> = common.to_vec();
        want.extend([
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/s/runc.pid",
            "c1",
        ]);
        assert_eq!(a, want);
        let a = strs(r.args(
            Sub::Create {
                bundle: Path::new("/b"),
                console: Some(Path::new("/s/console.sock")),
            },
            "c1",
        ));
        assert_eq!(
            &a[6..],
            [
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/s/runc.pid",
                "--console-socket",
                "/s/console.sock",
                "c1"
            ]
        );
        assert_eq!(&strs(r.args(Sub::Start, "c1"))[6..], ["start", "c1"]);
        assert_eq!(
            &strs(r.args(Sub::Delete, "c1"))[6..],
            ["delete", "--force", "c1"]
        );
    }

    #[test]
    fn builds_exec() {
        let r = Runc::new(Path::new("runc"), Path::new("/s"), Path::new("/s/exec/e1"));
        let a = strs(r.args(
            Sub::Exec {
                process: Path::new("/s/exec/e1/process.json"),
                console: Some(Path::new("/s/exec/e1/console.sock")),
            },
            "c1",
        ));
        assert_eq!(
            a,
            [
                "--root",
                "/s/runc",
                "--log",
                "/s/exec/e1/runc.log",
                "--log-format",
                "json",
                "exec",
                "--process",
                "/s/exec/e1/process.json",
                "--console-socket",
                "/s/exec/e1/console.sock",
                "--pid-file",
                "/s/exec/e1/runc.pid",
                "--detach",
                "c1"
            ]
        );
    }

    #[test]
    fn reads_errors_from_the_log() {
        let log = r#"{"level":"warning","msg":"something","time":"2026-11-23T16:24:04Z"}
{"level":"error","msg":"runc create failed: unable to start container process: exec: \"nosuchcmd\": executable file not found in $PATH","time":"2026-11-23T16:24:04Z"}
"#;
        let f = classify(last_error(log).unwrap());
        assert_eq!(f.kind, FailureKind::NotFound);
        assert_eq!(
            f.message,
            "runc create failed: unable to start container process: exec: \"nosuchcmd\": executable file not found in $PATH"
        );
        let f = classify(
            "runc create failed: unable to start container process: exec: \"/etc\": permission denied".into(),
        );
        assert_eq!(f.kind, FailureKind::Permission);
        let f = classify("container \"x\" does not exist".into());
        assert_eq!(f.kind, FailureKind::Other);
        // A mount source missing is not a missing command.
        let f = classify("error mounting \"/x\": no such file or directory".into());
        assert_eq!(f.kind, FailureKind::Other);
        assert_eq!(last_error("plain text\n").as_deref(), Some("plain text"));
        assert_eq!(last_error(""), None);
    }

    #[test]
    fn short_socket_paths() {
        let p = Path::new("/tmp/x/console.sock");
        assert_eq!(ShortPath::new(p).unwrap().path(), p);
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("x".repeat(60)).join("y".repeat(60));
        fs::create_dir_all(&deep).unwrap();
        let long = deep.join("console.sock");
        let _l = crate::io::bind_unix(&long).unwrap();
        let s = ShortPath::new(&long).unwrap();
        assert!(s.path().as_os_str().len() < 100, "{:?}", s.path());
        std::os::unix::net::UnixStream::connect(s.path()).unwrap();
    }
}
