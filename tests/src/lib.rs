//! # berth-tests: the integration test harness
//!
//! [`Daemon::start`] runs a real `berthd` as a child process on a socket and data root in a
//! fresh temp directory, waits until `/_ping` answers, and hands out clients pointed at it:
//! the berth CLI ([`Daemon::berth`]), the real docker CLI ([`Daemon::docker`]) and bollard
//! ([`Daemon::bollard`]). Dropping the [`Daemon`] stops berthd (SIGTERM, then SIGKILL) and
//! removes the temp directory, also when the test failed; the daemon's log is printed when
//! a test panics so failures explain themselves.
//!
//! The binaries come from the same cargo target directory as the test executable (build
//! them first: `cargo build --workspace`), or from `BERTH_BIN_DIR`.

pub mod images;
pub mod registry;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// FNV-1a: a short stable tag for per-daemon names (bridge, firewall table).
fn fnv32(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ *b as u32).wrapping_mul(0x0100_0193)
    })
}

/// Where `berthd` and `berth` are.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("BERTH_BIN_DIR") {
        return PathBuf::from(dir);
    }
    // target/<profile>/deps/<test-exe> → target/<profile>
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf();
    for bin in ["berthd", "berth"] {
        assert!(
            dir.join(bin).exists(),
            "{} not found: run `cargo build --workspace` before the integration tests",
            dir.join(bin).display()
        );
    }
    dir
}

pub fn berthd_bin() -> PathBuf {
    bin_dir().join("berthd")
}

pub fn berth_bin() -> PathBuf {
    bin_dir().join("berth")
}

/// The real docker CLI: `DOCKER_CLI` if set, else `docker` on PATH.
pub fn docker_bin() -> PathBuf {
    std::env::var("DOCKER_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("docker"))
}

/// How to start a daemon.
#[derive(Default)]
pub struct DaemonBuilder {
    args: Vec<String>,
    config: Option<String>,
    no_unix: bool,
}

impl DaemonBuilder {
    /// Extra berthd flags.
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, a: I) -> Self {
        self.args.extend(a.into_iter().map(Into::into));
        self
    }
    /// Contents of a daemon.json to pass with --config-file.
    pub fn config(mut self, json: impl Into<String>) -> Self {
        self.config = Some(json.into());
        self
    }
    /// Don't add the default `-H unix://<tmp>/berth.sock` listener.
    pub fn no_unix_socket(mut self) -> Self {
        self.no_unix = true;
        self
    }

    /// Starts berthd and waits for it to answer; panics with its log if it does not.
    pub fn start(self) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("berth-it-")
            .tempdir()
            .expect("tempdir");
        let socket = dir.path().join("berth.sock");
        let data_root = dir.path().join("root");
        let log = dir.path().join("berthd.log");
        let config_file = dir.path().join("daemon.json");
        std::fs::write(&config_file, self.config.as_deref().unwrap_or("{}")).unwrap();
        let mut cmd = Command::new(berthd_bin());
        if !self.no_unix {
            cmd.arg("-H").arg(format!("unix://{}", socket.display()));
        }
        if !self.args.iter().any(|a| a == "--data-root")
            && !self.config.as_deref().unwrap_or("").contains("data-root")
        {
            cmd.arg("--data-root").arg(&data_root);
        }
        // networking: each test daemon gets its own default bridge, subnet, address pool
        // and firewall table, so parallel daemons never share (or delete) each other's.
        let net_set = |k: &str| {
            self.args.iter().any(|a| a == &format!("--{k}"))
                || self
                    .config
                    .as_deref()
                    .unwrap_or("")
                    .contains(&format!("\"{k}\""))
        };
        // Derived from the data root, so a daemon restarted on the same root (after a
        // SIGKILL, say) finds and cleans up its predecessor's bridge and table.
        let root_arg = self
            .args
            .iter()
            .position(|a| a == "--data-root")
            .and_then(|i| self.args.get(i + 1).cloned())
            .unwrap_or_else(|| data_root.display().to_string());
        let tag = hex::encode(fnv32(root_arg.as_bytes()).to_be_bytes());
        if !net_set("bridge") {
            cmd.arg("--bridge").arg(format!("bt{tag}"));
        }
        if !net_set("bip") {
            cmd.arg("--bip").arg(format!(
                "172.18.{}.1/24",
                u8::from_str_radix(&tag[..2], 16).unwrap()
            ));
        }
        if !net_set("default-address-pool") && !net_set("default-address-pools") {
            cmd.arg("--default-address-pool").arg(format!(
                "base=172.19.{}.0/24,size=26",
                u8::from_str_radix(&tag[2..4], 16).unwrap()
            ));
        }
        if !net_set("firewall-table") {
            cmd.arg("--firewall-table").arg(format!("berth_t{tag}"));
        }
        cmd.arg("--config-file")
            .arg(&config_file)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("berthd.out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = cmd.spawn().expect("spawn berthd");
        let mut d = Daemon {
            socket,
            data_root,
            log,
            child: Some(child),
            dir,
        };
        if !self.no_unix {
            d.wait_ready();
        }
        d
    }
}

/// A running berthd on its own temp socket and data root.
pub struct Daemon {
    pub socket: PathBuf,
    pub data_root: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Daemon {
    pub fn builder() -> DaemonBuilder {
        DaemonBuilder::default()
    }

    /// berthd with default settings.
    pub fn start() -> Daemon {
        DaemonBuilder::default().start()
    }

    /// The temp directory holding the socket, data root and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon running").id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The berth CLI aimed at this daemon, with its own empty config dir.
    pub fn berth(&self) -> Command {
        let mut c = Command::new(berth_bin());
        c.env_remove("BERTH_HOST")
            .env_remove("DOCKER_HOST")
            .env_remove("BERTH_CONTEXT")
            .env_remove("DOCKER_CONTEXT")
            .env("BERTH_CONFIG", self.dir.path().join("berth-config"))
            .env("BERTH_HOST", self.host());
        c
    }

    /// The real docker CLI aimed at this daemon, with its own empty config dir.
    pub fn docker(&self) -> Command {
        self.docker_cli(&docker_bin())
    }

    /// A specific docker CLI binary aimed at this daemon.
    pub fn docker_cli(&self, bin: &Path) -> Command {
        let mut c = Command::new(bin);
        c.env_remove("DOCKER_CONTEXT")
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env("DOCKER_HOST", self.host());
        c
    }

    /// A bollard client on the socket.
    pub fn bollard(&self) -> bollard::Docker {
        bollard::Docker::connect_with_unix(
            &self.socket.display().to_string(),
            30,
            bollard::API_DEFAULT_VERSION,
        )
        .expect("bollard client")
    }

    /// A raw HTTP/1.1 request on the socket; returns (status, headers, body).
    /// `POST /containers/create?name=NAME` (no name when empty) with a JSON body; panics
    /// unless berthd answers 201; returns the container's ID.
    pub fn create_container(&self, name: &str, body: serde_json::Value) -> String {
        let path = if name.is_empty() {
            "/v1.41/containers/create".to_string()
        } else {
            format!("/v1.41/containers/create?name={name}")
        };
        let r = self.http(
            "POST",
            &path,
            Some(("application/json", body.to_string().as_bytes())),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["Id"].as_str().unwrap().to_string()
    }

    /// `POST /containers/{id}/start`; panics unless berthd answers 204.
    pub fn start_container(&self, id: &str) {
        let r = self.http("POST", &format!("/containers/{id}/start"), None);
        assert_eq!(r.status, 204, "{}", r.text());
    }

    pub fn http(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> HttpResponse {
        raw_http(&self.socket, method, path, body)
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "berthd exited during start-up ({status}):\n{}",
                    self.log_text()
                );
            }
            if self.socket.exists() {
                if let Ok(r) =
                    std::panic::catch_unwind(|| raw_http(&self.socket, "GET", "/_ping", None))
                {
                    if r.status == 200 {
                        return;
                    }
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "berthd did not answer /_ping within 20s:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for berthd to exit on its own (e.g. a start-up error) and returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                self.child = None;
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to berthd.
    pub fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.pid() as i32), sig).expect("signal berthd");
    }

    /// SIGTERM, then waits (≤ 10 s) for a clean exit; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal(Signal::SIGTERM);
        match self.wait_exit(Duration::from_secs(10)) {
            Some(s) => s,
            None => panic!(
                "berthd did not stop within 10s of SIGTERM:\n{}",
                self.log_text()
            ),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- berthd log ({}) ----\n{}",
                self.log.display(),
                self.log_text()
            );
        }
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(child.id() as i32);
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An HTTP response read off a socket.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A minimal HTTP/1.1 client (Connection: close) for poking at the API with exact bytes.
pub fn raw_http(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> HttpResponse {
    let mut s = UnixStream::connect(socket).expect("connect to berthd socket");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n");
    if let Some((ct, b)) = body {
        req.push_str(&format!(
            "Content-Type: {ct}\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    if let Some((_, b)) = body {
        // The server may answer (e.g. 413) and close before reading everything.
        let _ = s.write_all(b);
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw, method == "HEAD")
}

fn parse_response(raw: &[u8], head: bool) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP header in {:?}", String::from_utf8_lossy(raw)));
    let head_text = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head_text.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked && !head {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = nl + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}

/// Runs a command with no stdin, returning (exit code, stdout, stderr); never hangs longer
/// than `timeout`.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> (Option<i32>, String, String) {
    run_with_input(cmd, Stdio::null(), timeout)
}

/// Like [`run_with_timeout`], with `stdin` as the command's standard input.
pub fn run_with_input(
    cmd: &mut Command,
    stdin: Stdio,
    timeout: Duration,
) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a command that must succeed; returns stdout. Panics with both outputs otherwise.
pub fn ok(cmd: &mut Command) -> String {
    let (code, out, err) = run_with_timeout(cmd, Duration::from_secs(60));
    assert_eq!(
        code,
        Some(0),
        "{cmd:?} failed\nstdout:\n{out}\nstderr:\n{err}"
    );
    out
}

/// Runs a command that must succeed, reading `input` as its stdin; returns stdout.
pub fn ok_with_input(cmd: &mut Command, input: impl Into<Stdio>) -> String {
    let (code, out, err) = run_with_input(cmd, input.into(), Duration::from_secs(60));
    assert_eq!(
        code,
        Some(0),
        "{cmd:?} failed\nstdout:\n{out}\nstderr:\n{err}"
    );
    out
}

/// Runs a command that must fail; returns (exit code, stdout + stderr).
pub fn fails(cmd: &mut Command) -> (i32, String) {
    let (code, out, err) = run_with_timeout(cmd, Duration::from_secs(60));
    let code = code.unwrap_or(-1);
    assert_ne!(
        code, 0,
        "{cmd:?} unexpectedly succeeded\nstdout:\n{out}\nstderr:\n{err}"
    );
    (code, format!("{out}{err}"))
}

/// A TCP port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Mount points under `dir` (from `/proc/self/mountinfo`).
pub fn mounts_under(dir: &Path) -> usize {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let dir = dir.to_str().unwrap_or("/nonexistent");
    info.lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(dir)))
        .count()
}

/// Removes every container of the daemon with its anonymous volumes (and so their mounts,
/// shims and cgroups) when dropped, even when the test failed; then the empty `berth`
/// cgroup parents. When the test passed, also checks that nothing stays mounted under
/// the daemon's temp dir.
pub struct ContainerCleanup<'a>(pub &'a Daemon);

impl Drop for ContainerCleanup<'_> {
    fn drop(&mut self) {
        let list = self.0.http("GET", "/containers/json?all=1", None);
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&list.body) {
            for c in v.as_array().into_iter().flatten() {
                let id = c["Id"].as_str().unwrap_or_default();
                let _ = self
                    .0
                    .http("DELETE", &format!("/containers/{id}?force=1&v=1"), None);
            }
        }
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for ctrl in rd.flatten() {
                let _ = std::fs::remove_dir(ctrl.path().join("berth"));
            }
        }
        if !std::thread::panicking() {
            assert_eq!(mounts_under(self.0.dir()), 0, "mounts left behind");
        }
    }
}

/// A daemon with `busybox:latest` imported from Debian's busybox-static.
pub fn daemon_with_busybox() -> Daemon {
    let d = Daemon::start();
    let rootfs = images::busybox_rootfs(d.dir());
    ok(d.berth()
        .args(["import", rootfs.to_str().unwrap(), "busybox:latest"]));
    d
}
