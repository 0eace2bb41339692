//! Talking to `berth-shim`: starting one for a container, and its control socket
//! (`shim.sock`, one JSON line per request and reply — see crates/berth-shim/PROTOCOL.md).

use std::path::{Path, PathBuf};

use berth_api::ApiError;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// Where `berth-shim` is: `BERTH_SHIM` if set, else beside berthd.
pub fn shim_binary() -> PathBuf {
    if let Ok(p) = std::env::var("BERTH_SHIM") {
        return PathBuf::from(p);
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("berth-shim")))
        .unwrap_or_else(|| PathBuf::from("berth-shim"))
}

#[derive(Debug, Deserialize)]
struct Started {
    pid: i64,
}

#[derive(Debug, Deserialize)]
struct StartError {
    error: String,
    kind: String,
}

/// Why a start failed, as `docker run` reports it (exit 127 / 126 / 125).
#[derive(Debug)]
pub struct StartFailure {
    pub message: String,
    pub kind: String,
}

/// The json-file log: where, and Docker's `max-size` / `max-file` rotation.
pub struct LogSettings<'a> {
    pub path: &'a Path,
    pub max_size: Option<&'a str>,
    pub max_file: Option<&'a str>,
}

/// Starts the container's shim; returns the container's host pid once it runs.
#[allow(clippy::too_many_arguments)] // runtime hook: `runc` made it eight
pub async fn start(
    id: &str,
    bundle: &Path,
    state: &Path,
    log: Option<&LogSettings<'_>>,
    tty: bool,
    stdin: bool,
    replay_buffer: u64,
    runc: Option<&Path>, // runtime hook
) -> Result<i64, StartFailure> {
    let mut cmd = tokio::process::Command::new(shim_binary());
    cmd.arg("start")
        .arg("--id")
        .arg(id)
        .arg("--bundle")
        .arg(bundle)
        .arg("--state")
        .arg(state);
    if let Some(log) = log {
        cmd.arg("--log").arg(log.path);
        if let Some(size) = log.max_size {
            cmd.arg("--log-max-size").arg(size);
        }
        if let Some(n) = log.max_file {
            cmd.arg("--log-max-file").arg(n);
        }
    }
    if tty {
        cmd.arg("--tty");
    }
    if stdin {
        cmd.arg("--stdin");
    }
    if replay_buffer > 0 {
        cmd.arg("--replay-buffer").arg(replay_buffer.to_string());
    }
    runtime_args(&mut cmd, runc); // runtime hook
    run_foreground(cmd).await
}

/// Starts `berth-shim exec` for one exec in the container's shim state dir `state`; returns
/// the process's host pid once it runs.
pub async fn exec(
    container_id: &str,
    state: &Path,
    exec_id: &str,
    process: &Path,
    tty: bool,
    stdin: bool,
    runc: Option<&Path>, // runtime hook
) -> Result<i64, StartFailure> {
    let mut cmd = tokio::process::Command::new(shim_binary());
    cmd.arg("exec")
        .arg("--id")
        .arg(container_id)
        .arg("--state")
        .arg(state)
        .arg("--exec-id")
        .arg(exec_id)
        .arg("--process")
        .arg(process);
    if tty {
        cmd.arg("--tty");
    }
    if stdin {
        cmd.arg("--stdin");
    }
    runtime_args(&mut cmd, runc); // runtime hook
    run_foreground(cmd).await
}

// runtime hook
/// `--runtime runc --runtime-path P` for a container created with `--runtime runc`; nothing
/// for berth's own runtime (the shim's default).
fn runtime_args(cmd: &mut tokio::process::Command, runc: Option<&Path>) {
    if let Some(path) = runc {
        cmd.arg("--runtime")
            .arg("runc")
            .arg("--runtime-path")
            .arg(path);
    }
}

/// Runs the foreground shim invocation and reads its one-line report.
async fn run_foreground(mut cmd: tokio::process::Command) -> Result<i64, StartFailure> {
    // Not `output()`: that waits for EOF on the pipes, which the running container's
    // processes may hold; the foreground shim prints one line and exits, so wait for its
    // exit and then read what it printed.
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| StartFailure {
            message: format!("cannot run {}: {e}", shim_binary().display()),
            kind: "other".into(),
        })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let status = child.wait().await.map_err(|e| StartFailure {
        message: format!("waiting for berth-shim: {e}"),
        kind: "other".into(),
    })?;
    if status.success() {
        let line = first_line(stdout).await;
        let s: Started = serde_json::from_str(&line).map_err(|e| StartFailure {
            message: format!("berth-shim answered oddly ({e}): {line}"),
            kind: "other".into(),
        })?;
        return Ok(s.pid);
    }
    let line = first_line(stderr).await;
    match serde_json::from_str::<StartError>(&line) {
        Ok(e) => Err(StartFailure {
            message: e.error,
            kind: e.kind,
        }),
        Err(_) => Err(StartFailure {
            message: format!("berth-shim failed ({status}): {}", line.trim()),
            kind: "other".into(),
        }),
    }
}

/// The first line on a pipe, waiting at most 2 s for it.
async fn first_line<R: tokio::io::AsyncRead + Unpin>(pipe: Option<R>) -> String {
    let mut line = String::new();
    if let Some(p) = pipe {
        let mut r = BufReader::new(p);
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(2), r.read_line(&mut line)).await;
    }
    line
}

/// The exit record the shim writes (`exit.json`) and sends to `wait` clients.
#[derive(Debug, Clone, Deserialize)]
pub struct Exit {
    pub exit_code: i64,
    #[serde(default)]
    pub oom_killed: bool,
    #[serde(default)]
    pub finished_at: String,
}

/// Reads `exit.json` if the container has exited.
pub fn read_exit(state: &Path) -> Option<Exit> {
    let bytes = std::fs::read(state.join("exit.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// One request on `shim.sock`; returns the reply line as JSON.
pub async fn request(state: &Path, req: serde_json::Value) -> Result<serde_json::Value, ApiError> {
    let sock = state.join("shim.sock");
    let mut s = connect(&sock).await.map_err(|e| {
        ApiError::internal(format!(
            "container's shim is not answering ({}): {e}",
            sock.display()
        ))
    })?;
    let mut line = serde_json::to_vec(&req).unwrap_or_default();
    line.push(b'\n');
    s.write_all(&line)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut reader = BufReader::new(s);
    let mut reply = String::new();
    reader
        .read_line(&mut reply)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&reply)
        .map_err(|e| ApiError::internal(format!("bad reply from the shim: {e}")))?;
    if v["ok"] == false {
        return Err(ApiError::internal(
            v["error"].as_str().unwrap_or("shim error").to_string(),
        ));
    }
    Ok(v)
}

/// Connects to a socket whose path may be longer than `sun_path` allows (deep data roots):
/// through `/proc/self/fd/<dir fd>/<name>`, which is always short.
pub(super) async fn connect(sock: &Path) -> std::io::Result<UnixStream> {
    use std::os::fd::AsRawFd;
    let dir = std::fs::File::open(sock.parent().unwrap_or(Path::new("/")))?;
    let name = sock
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let short = format!("/proc/self/fd/{}/{name}", dir.as_raw_fd());
    let stream = UnixStream::connect(&short).await;
    drop(dir);
    stream
}

/// Which streams an attach client wants (the shim's `attach` request).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct AttachStreams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub stdin_once: bool,
}

/// Sends `attach` on the control socket `sock`; once the shim says ok the connection is the
/// raw stream (see PROTOCOL.md).
pub async fn attach(sock: &Path, streams: AttachStreams) -> std::io::Result<UnixStream> {
    use tokio::io::AsyncReadExt;
    let mut s = connect(sock).await?;
    let mut req = serde_json::json!(streams);
    req["op"] = "attach".into();
    let mut line = serde_json::to_vec(&req)?;
    line.push(b'\n');
    s.write_all(&line).await?;
    // Byte by byte: what follows the reply line is already the container's output.
    let mut reply = Vec::new();
    loop {
        let b = s.read_u8().await?;
        if b == b'\n' {
            break;
        }
        reply.push(b);
        if reply.len() > 64 * 1024 {
            return Err(std::io::Error::other("attach reply too long"));
        }
    }
    let v: serde_json::Value = serde_json::from_slice(&reply)?;
    if v["ok"] != true {
        return Err(std::io::Error::other(
            v["error"].as_str().unwrap_or("attach refused").to_string(),
        ));
    }
    Ok(s)
}

/// Waits (as long as it takes) for the container to exit; `None` when neither the shim
/// nor its `exit.json` can say how it ended.
pub async fn wait(state: &Path) -> Option<Exit> {
    let reply = request(state, serde_json::json!({"op": "wait"})).await;
    if let Err(e) = &reply {
        tracing::debug!(error = %e.message, "wait on the shim failed; reading exit.json");
    }
    if let Ok(v) = reply {
        if let Ok(e) = serde_json::from_value::<Exit>(v.clone()) {
            return Some(e);
        }
        tracing::warn!(reply = %v, "unexpected wait reply from the shim");
    }
    // The shim may be finishing: `exit.json` is written before its socket goes away.
    for _ in 0..500 {
        if let Some(e) = read_exit(state) {
            return Some(e);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

/// Whether a shim is alive in `state` (it holds a lock on `shim.pid` for its life).
pub fn alive(state: &Path) -> bool {
    let Ok(f) = std::fs::File::open(state.join("shim.pid")) else {
        return false;
    };
    match nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(_unlocked_on_drop) => false,
        Err(_) => true,
    }
}
