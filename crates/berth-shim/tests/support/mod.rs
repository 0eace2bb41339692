//! Test harness: a busybox bundle in a temp dir, a hand-written OCI spec, and a guard that
//! kills what the test started (by pid, checking the start time) and removes its cgroups,
//! even when the test panics.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const SHIM: &str = env!("CARGO_BIN_EXE_berth-shim");

/// Docker's default capabilities (all present in this host's bounding set).
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

pub fn is_root() -> bool {
    // SAFETY: trivial libc call.
    unsafe { libc::geteuid() == 0 }
}

/// Skips the test (returns from it) when not root.
#[macro_export]
macro_rules! require_root {
    () => {
        if !support::is_root() {
            eprintln!("skipping: needs root");
            return;
        }
    };
}

fn random_hex() -> String {
    let mut b = [0u8; 6];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("urandom");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[derive(Clone)]
pub struct SpecOpts {
    pub args: Vec<String>,
    pub tty: bool,
    pub pid_ns: bool,
    pub memory_limit: Option<i64>,
}

impl SpecOpts {
    pub fn new(args: &[&str]) -> Self {
        SpecOpts {
            args: args.iter().map(|s| s.to_string()).collect(),
            tty: false,
            pid_ns: true,
            memory_limit: None,
        }
    }
    pub fn sh(script: &str) -> Self {
        Self::new(&["sh", "-c", script])
    }
}

/// One container's worth of temp files, and its cleanup.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub id: String,
    pub bundle: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
    /// (pid, start time) of processes this test started.
    pids: Vec<(i32, u64)>,
}

impl Harness {
    pub fn new(opts: &SpecOpts) -> Self {
        let id = format!("berth-test-{}", random_hex());
        let dir = tempfile::Builder::new()
            .prefix("berth-shim-test")
            .tempdir()
            .unwrap();
        let bundle = dir.path().join("bundle");
        let rootfs = bundle.join("rootfs");
        std::fs::create_dir_all(&rootfs).unwrap();
        let tar = dir.path().join("rootfs.tar");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/busybox-rootfs");
        let st = Command::new(&script).arg(&tar).status().unwrap();
        assert!(st.success(), "busybox-rootfs failed");
        let st = Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(&rootfs)
            .status()
            .unwrap();
        assert!(st.success(), "untar failed");
        let h = Harness {
            state: dir.path().join("state"),
            log: dir.path().join("container-json.log"),
            bundle,
            id,
            dir,
            pids: Vec::new(),
        };
        h.write_spec(opts);
        h
    }

    pub fn cgroup_path(&self) -> String {
        format!("/{}", self.id)
    }

    pub fn write_spec(&self, o: &SpecOpts) {
        let mut namespaces = vec![
            json!({"type": "ipc"}),
            json!({"type": "uts"}),
            json!({"type": "mount"}),
            json!({"type": "network"}),
        ];
        if o.pid_ns {
            namespaces.insert(0, json!({"type": "pid"}));
        }
        let mut resources = json!({});
        if let Some(limit) = o.memory_limit {
            resources = json!({"memory": {"limit": limit}});
        }
        let spec = json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": o.tty,
                "user": {"uid": 0, "gid": 0},
                "args": o.args,
                "env": [
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm",
                ],
                "cwd": "/",
                "capabilities": {
                    "bounding": DEFAULT_CAPS,
                    "effective": DEFAULT_CAPS,
                    "permitted": DEFAULT_CAPS,
                },
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                "noNewPrivileges": true,
            },
            "root": {"path": "rootfs", "readonly": false},
            "hostname": "berth-test",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc",
                 "options": ["nosuid", "noexec", "nodev"]},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
                {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                 "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
                {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                 "options": ["nosuid", "noexec", "nodev", "ro"]},
            ],
            "linux": {
                "cgroupsPath": self.cgroup_path(),
                "namespaces": namespaces,
                "resources": resources,
                "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
            },
        });
        std::fs::write(
            self.bundle.join("config.json"),
            serde_json::to_vec_pretty(&spec).unwrap(),
        )
        .unwrap();
    }

    /// Runs `berth-shim start` with the given extra flags; records the pids it reports.
    pub fn start(&mut self, extra: &[&str]) -> Started {
        let mut cmd = Command::new(SHIM);
        cmd.arg("start")
            .arg("--id")
            .arg(&self.id)
            .arg("--bundle")
            .arg(&self.bundle)
            .arg("--state")
            .arg(&self.state)
            .arg("--log")
            .arg(&self.log)
            .args(extra);
        let t0 = Instant::now();
        let out = cmd.output().unwrap();
        self.started(out, t0.elapsed())
    }

    /// Runs `berth-shim exec`; its state dir is `state/exec/<exec_id>`.
    pub fn exec(&mut self, exec_id: &str, args: &[&str], extra: &[&str]) -> Started {
        let process = json!({
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {
                "bounding": DEFAULT_CAPS,
                "effective": DEFAULT_CAPS,
                "permitted": DEFAULT_CAPS,
            },
            "noNewPrivileges": true,
        });
        let p = self.dir.path().join(format!("process-{exec_id}.json"));
        std::fs::write(&p, process.to_string()).unwrap();
        let t0 = Instant::now();
        let out = Command::new(SHIM)
            .arg("exec")
            .arg("--state")
            .arg(&self.state)
            .arg("--process")
            .arg(&p)
            .arg("--exec-id")
            .arg(exec_id)
            .args(extra)
            .output()
            .unwrap();
        self.started(out, t0.elapsed())
    }

    fn started(&mut self, out: Output, took: Duration) -> Started {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut s = Started {
            code: out.status.code().unwrap_or(-1),
            stdout,
            stderr,
            pid: 0,
            shim_pid: 0,
            took,
        };
        if s.code == 0 {
            let v: Value = serde_json::from_str(s.stdout.trim()).unwrap_or_else(|e| {
                panic!("bad handshake {:?}: {e}", s.stdout);
            });
            s.pid = v["pid"].as_i64().unwrap() as i32;
            s.shim_pid = v["shim_pid"].as_i64().unwrap() as i32;
            for p in [s.pid, s.shim_pid] {
                if let Some(st) = start_time(p) {
                    self.pids.push((p, st));
                }
            }
        }
        s
    }

    pub fn sock(&self) -> PathBuf {
        self.state.join("shim.sock")
    }

    pub fn exec_dir(&self, exec_id: &str) -> PathBuf {
        self.state.join("exec").join(exec_id)
    }

    /// Log entries as JSON values.
    pub fn log_entries(&self) -> Vec<Value> {
        read_log(&self.log)
    }

    /// cgroup dirs of this container that still exist (any controller).
    pub fn leftover_cgroups(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(CGROUP_ROOT) {
            for ctrl in rd.flatten() {
                let p = ctrl.path().join(&self.id);
                if p.exists() {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Mount points under this test's temp dir (there should be none on the host).
    pub fn leftover_mounts(&self) -> Vec<String> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|m| m.starts_with(&dir))
            .collect()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Kill what we started, only if the pid still belongs to it.
        for &(pid, st) in &self.pids {
            if start_time(pid) == Some(st) {
                // SAFETY: kill(2) on a pid we verified.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && self.pids.iter().any(|&(p, st)| alive(p, st)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        // cgroups: innermost first, retried while the kernel finishes tearing down.
        for _ in 0..50 {
            let left = self.leftover_cgroups();
            if left.is_empty() {
                break;
            }
            for p in left {
                let _ = std::fs::remove_dir(&p);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for m in self.leftover_mounts().into_iter().rev() {
            let c = std::ffi::CString::new(m).unwrap();
            // SAFETY: umount2 on a path string.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

pub struct Started {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub pid: i32,
    pub shim_pid: i32,
    pub took: Duration,
}

pub fn read_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
        .collect()
}

/// Field 22 of /proc/<pid>/stat.
pub fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// (state, ppid) from /proc/<pid>/stat.
pub fn proc_state(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let mut it = rest.split_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Running (not gone, not a zombie) and still the same process.
pub fn alive(pid: i32, st: u64) -> bool {
    start_time(pid) == Some(st) && !matches!(proc_state(pid), Some(('Z', _)) | None)
}

pub fn alive_pid(pid: i32) -> bool {
    !matches!(proc_state(pid), Some(('Z', _)) | Some(('X', _)) | None)
}

/// Waits for `dir/exit.json`.
pub fn wait_exit_file(dir: &Path, timeout: Duration) -> Value {
    let p = dir.join("exit.json");
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(data) = std::fs::read(&p) {
            return serde_json::from_slice(&data).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no exit.json in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// A connection to shim.sock.
pub struct Ctl {
    pub reader: BufReader<UnixStream>,
    pub writer: UnixStream,
}

impl Ctl {
    pub fn connect(sock: &Path) -> Ctl {
        let s = UnixStream::connect(sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Ctl {
            writer: s.try_clone().unwrap(),
            reader: BufReader::new(s),
        }
    }

    pub fn send(&mut self, req: Value) {
        let mut line = req.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).unwrap();
    }

    pub fn recv(&mut self) -> Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad reply {line:?}: {e}"))
    }

    pub fn call(&mut self, req: Value) -> Value {
        self.send(req);
        self.recv()
    }

    /// After an ok `attach`: read Docker-multiplexed frames until EOF.
    pub fn read_frames(&mut self) -> Vec<(u8, Vec<u8>)> {
        let mut frames = Vec::new();
        loop {
            let mut h = [0u8; 8];
            match self.reader.read_exact(&mut h) {
                Ok(()) => {}
                Err(_) => return frames,
            }
            assert!(h[0] == 1 || h[0] == 2, "bad stream byte {h:?}");
            assert_eq!(&h[1..4], &[0, 0, 0]);
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            let mut data = vec![0u8; len];
            self.reader.read_exact(&mut data).unwrap();
            frames.push((h[0], data));
        }
    }

    /// After an ok `attach` on a tty: everything until EOF.
    pub fn read_raw(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        let _ = self.reader.read_to_end(&mut v);
        v
    }
}

/// RSS figures of a process, in KiB: (VmRSS, RssAnon, RssFile, Pss).
pub fn rss_kib(pid: i32) -> (u64, u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |text: &str, name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    (
        field(&status, "VmRSS:"),
        field(&status, "RssAnon:"),
        field(&status, "RssFile:"),
        field(&rollup, "Pss:"),
    )
}
