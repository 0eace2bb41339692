//! Command line of `berth-shim`. Hand-rolled (no clap) to keep the binary and its start-up
//! small; the grammar is tiny and only berthd calls it.

use std::fmt;
use std::path::PathBuf;

pub const USAGE: &str = "\
usage:
  berth-shim start --id ID --bundle DIR --state DIR [--log PATH] [--tty] [--stdin]
                   [--log-max-size BYTES] [--log-max-file N] [--replay-buffer BYTES]
                   [--runtime berth|runc] [--runtime-path PATH]
  berth-shim exec  --state DIR --exec-id ID --process FILE [--id CONTAINER_ID] [--tty] [--stdin]
                   [--log PATH] [--log-max-size BYTES] [--log-max-file N] [--replay-buffer BYTES]
                   [--runtime berth|runc] [--runtime-path PATH]
";

/// Default bytes of early output kept for the first attach client of an exec (`start` keeps none
/// unless asked: `docker run -d` containers are never attached and must stay small).
pub const DEFAULT_EXEC_REPLAY: usize = 256 * 1024;

/// Options shared by `start` and `exec`: how the process's stdio is wired and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoOpts {
    /// Allocate a pseudo-terminal (the spec's `process.terminal` is forced to match).
    pub tty: bool,
    /// Keep the process's stdin open (a pipe, or the pty) so attach clients can write to it.
    pub stdin: bool,
    /// Docker json-file log to append to.
    pub log: Option<PathBuf>,
    /// Rotate the log when it reaches this size (Docker's `max-size`).
    pub log_max_size: Option<u64>,
    /// Files kept including the current one (Docker's `max-file`, default 1).
    pub log_max_file: u32,
    /// Output produced before the first attach client is kept (up to this many bytes) and sent
    /// to that client, so `docker run`/`docker exec` lose nothing between start and attach.
    pub replay_buffer: usize,
}

/// Which OCI runtime creates the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// youki's libcontainer, linked into the shim (`--runtime berth`, the default).
    Libcontainer,
    /// The runc binary (`--runtime runc`): `runc create`/`start`/`exec`/`delete`, state in
    /// `<state>/runc`. `path` is the binary (`--runtime-path`, default `runc` from PATH).
    Runc { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartOpts {
    pub id: String,
    pub bundle: PathBuf,
    pub state: PathBuf,
    pub io: IoOpts,
    pub runtime: Runtime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOpts {
    /// The container's state dir (the one given to `start`).
    pub state: PathBuf,
    pub exec_id: String,
    /// An OCI `process` object (JSON) describing what to run.
    pub process: PathBuf,
    /// Container id; found in the state dir when omitted.
    pub id: Option<String>,
    pub io: IoOpts,
    pub runtime: Runtime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start(StartOpts),
    Exec(ExecOpts),
    Help,
    Version,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn err<T>(msg: impl Into<String>) -> Result<T, UsageError> {
    Err(UsageError(msg.into()))
}

pub fn parse<I, S>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args = args.into_iter().map(Into::into);
    let sub = match args.next() {
        Some(s) => s,
        None => return err("missing command"),
    };
    let is_exec = match sub.as_str() {
        "start" => false,
        "exec" => true,
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "-V" | "--version" | "version" => return Ok(Command::Version),
        other => return err(format!("unknown command {other:?}")),
    };

    let mut id = None;
    let mut bundle = None;
    let mut state = None;
    let mut exec_id = None;
    let mut process = None;
    let mut runtime_name = None;
    let mut runtime_path = None;
    let mut io = IoOpts {
        tty: false,
        stdin: false,
        log: None,
        log_max_size: None,
        log_max_file: 1,
        replay_buffer: if is_exec { DEFAULT_EXEC_REPLAY } else { 0 },
    };

    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, UsageError> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) => Ok(v),
                None => err(format!("{name} needs a value")),
            }
        };
        match name.as_str() {
            "--id" => id = Some(value("--id")?),
            "--bundle" if !is_exec => bundle = Some(PathBuf::from(value("--bundle")?)),
            "--state" => state = Some(PathBuf::from(value("--state")?)),
            "--exec-id" if is_exec => exec_id = Some(value("--exec-id")?),
            "--process" if is_exec => process = Some(PathBuf::from(value("--process")?)),
            "--log" => io.log = Some(PathBuf::from(value("--log")?)),
            "--log-max-size" => io.log_max_size = Some(parse_size(&value("--log-max-size")?)?),
            "--log-max-file" => {
                let v = value("--log-max-file")?;
                io.log_max_file = match v.parse::<u32>() {
                    Ok(n) if n >= 1 => n,
                    _ => return err(format!("--log-max-file: invalid count {v:?}")),
                }
            }
            "--replay-buffer" => {
                io.replay_buffer = parse_size(&value("--replay-buffer")?)? as usize;
            }
            "--runtime" => runtime_name = Some(value("--runtime")?),
            "--runtime-path" => runtime_path = Some(PathBuf::from(value("--runtime-path")?)),
            "--tty" | "-t" if inline.is_none() => io.tty = true,
            "--stdin" | "-i" if inline.is_none() => io.stdin = true,
            other => return err(format!("unknown option {other:?}")),
        }
    }

    let state = match state {
        Some(s) => absolute(s)?,
        None => return err("--state is required"),
    };
    if let Some(log) = io.log.take() {
        io.log = Some(absolute(log)?);
    }
    let runtime = match (runtime_name.as_deref(), runtime_path) {
        (None | Some("berth"), None) => Runtime::Libcontainer,
        (None | Some("berth"), Some(_)) => return err("--runtime-path needs --runtime runc"),
        (Some("runc"), path) => Runtime::Runc {
            path: match path {
                // A bare name is looked up on PATH; anything else must survive the chdir.
                Some(p) if p.components().count() > 1 || p.is_absolute() => absolute(p)?,
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => PathBuf::from("runc"),
            },
        },
        (Some(other), _) => return err(format!("--runtime: unknown runtime {other:?}")),
    };
    if is_exec {
        let exec_id = exec_id.ok_or_else(|| UsageError("--exec-id is required".into()))?;
        check_id("--exec-id", &exec_id)?;
        let process = process.ok_or_else(|| UsageError("--process is required".into()))?;
        if let Some(id) = &id {
            check_id("--id", id)?;
        }
        Ok(Command::Exec(ExecOpts {
            state,
            exec_id,
            process: absolute(process)?,
            id,
            io,
            runtime,
        }))
    } else {
        let id = id.ok_or_else(|| UsageError("--id is required".into()))?;
        check_id("--id", &id)?;
        let bundle = bundle.ok_or_else(|| UsageError("--bundle is required".into()))?;
        Ok(Command::Start(StartOpts {
            id,
            bundle: absolute(bundle)?,
            state,
            io,
            runtime,
        }))
    }
}

/// Ids become file names (libcontainer's state dir, exec dirs): same rule as libcontainer.
fn check_id(flag: &str, id: &str) -> Result<(), UsageError> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        err(format!("{flag}: invalid id {id:?}"))
    }
}

/// The daemon chdirs to `/`, so every path must be made absolute first.
fn absolute(p: PathBuf) -> Result<PathBuf, UsageError> {
    if p.is_absolute() {
        return Ok(p);
    }
    match std::env::current_dir() {
        Ok(cwd) => Ok(cwd.join(p)),
        Err(e) => err(format!("cannot resolve {}: {e}", p.display())),
    }
}

/// Bytes, optionally with Docker's units (`10k`, `20m`, `1g`; powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, UsageError> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    match num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
        Some(n) => Ok(n),
        None => err(format!("invalid size {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_start() {
        let c = parse([
            "start",
            "--id",
            "abc",
            "--bundle=/b",
            "--state",
            "/s",
            "--tty",
            "--log",
            "/l",
            "--log-max-size",
            "10m",
            "--log-max-file",
            "3",
        ])
        .unwrap();
        let Command::Start(o) = c else { panic!() };
        assert_eq!(o.id, "abc");
        assert_eq!(o.bundle, PathBuf::from("/b"));
        assert!(o.io.tty && !o.io.stdin);
        assert_eq!(o.io.log_max_size, Some(10 << 20));
        assert_eq!(o.io.log_max_file, 3);
        assert_eq!(o.io.replay_buffer, 0);
        assert_eq!(o.runtime, Runtime::Libcontainer);
    }

    #[test]
    fn parses_runtime() {
        let base = ["start", "--id", "a", "--bundle", "/b", "--state", "/s"];
        let rt = |extra: &[&str]| {
            let args = base.iter().chain(extra).copied();
            match parse(args) {
                Ok(Command::Start(o)) => Ok(o.runtime),
                Ok(_) => panic!(),
                Err(e) => Err(e),
            }
        };
        assert_eq!(rt(&["--runtime", "berth"]).unwrap(), Runtime::Libcontainer);
        assert_eq!(
            rt(&["--runtime", "runc"]).unwrap(),
            Runtime::Runc {
                path: PathBuf::from("runc")
            }
        );
        assert_eq!(
            rt(&["--runtime=runc", "--runtime-path", "/usr/sbin/runc"]).unwrap(),
            Runtime::Runc {
                path: PathBuf::from("/usr/sbin/runc")
            }
        );
        let Runtime::Runc { path } =
            rt(&["--runtime", "runc", "--runtime-path", "bin/runc"]).unwrap()
        else {
            panic!()
        };
        assert!(path.is_absolute() && path.ends_with("bin/runc"), "{path:?}");
        assert!(rt(&["--runtime", "crun"]).is_err());
        assert!(rt(&["--runtime-path", "/usr/sbin/runc"]).is_err());
        let c = parse([
            "exec",
            "--state",
            "/s",
            "--process",
            "/p",
            "--exec-id",
            "e",
            "--runtime",
            "runc",
        ])
        .unwrap();
        let Command::Exec(o) = c else { panic!() };
        assert!(matches!(o.runtime, Runtime::Runc { .. }));
    }

    #[test]
    fn parses_exec() {
        let c = parse([
            "exec",
            "--state",
            "/s",
            "--process",
            "/p.json",
            "--exec-id",
            "e1",
            "--stdin",
        ])
        .unwrap();
        let Command::Exec(o) = c else { panic!() };
        assert_eq!(o.exec_id, "e1");
        assert!(o.io.stdin);
        assert_eq!(o.io.replay_buffer, DEFAULT_EXEC_REPLAY);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(["start", "--id", "a/b", "--bundle", "/b", "--state", "/s"]).is_err());
        assert!(parse(["start", "--bundle", "/b", "--state", "/s"]).is_err());
        assert!(parse(["start", "--id", "a", "--bundle", "/b", "--state"]).is_err());
        assert!(parse(["start", "--bogus"]).is_err());
        assert!(parse(["exec", "--state", "/s", "--exec-id", "x"]).is_err());
        assert!(parse(["frobnicate"]).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("1k").unwrap(), 1024);
        assert_eq!(parse_size("2MB").unwrap(), 2 << 20);
        assert!(parse_size("x").is_err());
    }
}
