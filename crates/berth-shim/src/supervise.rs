//! The shim's event loop while the process runs: one thread, one `poll(2)` over
//!
//! * the SIGCHLD signalfd → reap, record the exit status;
//! * the process's stdout/stderr pipes or pty master → json-file log + attach clients;
//! * the process's stdin (only while input is queued) ← attach clients;
//! * `shim.sock` and its connections → requests, replies, attach streams.
//!
//! Nothing here blocks: every fd is non-blocking, output for a client that falls more than
//! [`CLIENT_QUEUE_LIMIT`](crate::control::CLIENT_QUEUE_LIMIT) behind is dropped for that client
//! only, and input is read from clients only while the stdin queue has room. When the process
//! has exited, output is drained until EOF (bounded by [`DRAIN_TIMEOUT`]), the exit status is
//! written, waiters are answered, and pending attach output gets a last chance to flush.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::control::{
    error_line, json_line, ok_line, AttachMode, Client, Request, StateReply, WaitReply, MAX_REQUEST,
};
use crate::exitfile::{self, ExitStatus};
use crate::io::{read_nb, resize, write_nb, Endpoints};
use crate::logfile::{JsonLog, Stream};
use crate::reaper::{reap_all, ChildSignals, OomCounter};
use crate::timefmt::rfc3339_nanos;

/// After the process exits, how long to keep reading output still in flight (pipes held open
/// by surviving descendants would otherwise keep the shim alive forever).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an exited shim waits for the first attach client when it holds replay output.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long queued attach output may take to flush once the process is gone.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// Input queued for the process's stdin before clients stop being read.
const STDIN_QUEUE_LIMIT: usize = 64 * 1024;
const READ_CHUNK: usize = 32 * 1024;

pub struct Supervisor {
    /// Where `exit.json` goes (the container's or the exec's state dir).
    pub state_dir: PathBuf,
    /// Host pid of the process being supervised.
    pub pid: i32,
    pub tty: bool,
    pub io: Endpoints,
    pub log: Option<JsonLog>,
    pub listener: UnixListener,
    pub signals: ChildSignals,
    /// Memory cgroup counter and its value before the process started.
    pub oom: Option<(OomCounter, u64)>,
    /// Keep up to this many bytes of output for the first attach client.
    pub replay_limit: usize,
}

struct StdinSink {
    fd: OwnedFd,
    buf: Vec<u8>,
    close_requested: bool,
}

/// Output produced before anyone attached, stored as (stream, bytes) chunks.
struct Replay {
    chunks: Vec<(Stream, Vec<u8>)>,
    size: usize,
    limit: usize,
}

struct Exited {
    code: i32,
    signal: Option<i32>,
    at: SystemTime,
}

/// Buffers reused across poll rounds.
struct Scratch {
    buf: Vec<u8>,
    fds: Vec<libc::pollfd>,
    slots: Vec<Slot>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            buf: vec![0u8; READ_CHUNK],
            fds: Vec::with_capacity(16),
            slots: Vec::with_capacity(16),
        }
    }
}

#[derive(Clone, Copy)]
enum Slot {
    Signals,
    Listener,
    Output(usize),
    Stdin,
    Client(usize),
}

struct Loop {
    cfg_state_dir: PathBuf,
    pid: i32,
    shim_pid: i32,
    tty: bool,
    outputs: Vec<(OwnedFd, Stream, bool)>,
    stdin: Option<StdinSink>,
    pty: Option<OwnedFd>,
    log: Option<JsonLog>,
    log_failed: bool,
    listener: Option<UnixListener>,
    clients: Vec<Client>,
    signals: ChildSignals,
    replay: Option<Replay>,
    exited: Option<Exited>,
    /// Set once `exit.json` is written: `wait` is answered at once, attach ends at once.
    final_status: Option<ExitStatus>,
    oom: Option<(OomCounter, u64)>,
    /// (dev, inode) of the `shim.sock` this shim bound: only that one is removed at the end
    /// (berthd may already have started a new shim in the same dir).
    sock_id: Option<(u64, u64)>,
}

impl Supervisor {
    /// Runs until the process has exited and everything is written. `cleanup` runs after the
    /// output is drained and before `exit.json` is written (deleting the container's runtime
    /// state and cgroups, so that when berthd sees `exit.json` nothing is left behind).
    pub fn run(self, cleanup: impl FnOnce()) -> ExitStatus {
        let Supervisor {
            state_dir,
            pid,
            tty,
            io,
            log,
            listener,
            signals,
            oom,
            replay_limit,
        } = self;
        let sock_id = file_id(&state_dir.join(exitfile::SHIM_SOCK));
        let mut l = Loop {
            cfg_state_dir: state_dir,
            pid,
            shim_pid: std::process::id() as i32,
            tty,
            outputs: io.outputs.into_iter().map(|(f, s)| (f, s, false)).collect(),
            stdin: io.stdin.map(|fd| StdinSink {
                fd,
                buf: Vec::new(),
                close_requested: false,
            }),
            pty: io.pty,
            log,
            log_failed: false,
            listener: Some(listener),
            clients: Vec::new(),
            signals,
            replay: (replay_limit > 0).then(|| Replay {
                chunks: Vec::new(),
                size: 0,
                limit: replay_limit,
            }),
            exited: None,
            final_status: None,
            oom,
            sock_id,
        };
        l.main_loop();
        l.finish(cleanup)
    }
}

impl Loop {
    fn main_loop(&mut self) {
        let mut scratch = Scratch::default();
        let mut deadline: Option<Instant> = None;
        // A child may have exited before the signalfd existed.
        self.reap();
        loop {
            if self.exited.is_some() {
                let d = *deadline.get_or_insert_with(|| Instant::now() + DRAIN_TIMEOUT);
                if self.outputs.is_empty() || Instant::now() >= d {
                    return;
                }
            }
            self.poll_once(&mut scratch, deadline);
        }
    }

    /// After the exit: nobody has attached yet but early output is kept for the first attach
    /// client (an exec berthd attaches to after the handshake, a fast `docker run`): keep
    /// serving the socket until that client has had its replay, or [`LINGER_TIMEOUT`].
    fn linger(&mut self) {
        let mut scratch = Scratch::default();
        let deadline = Instant::now() + LINGER_TIMEOUT;
        while Instant::now() < deadline {
            if self.replay.is_none() && self.clients.iter().all(|c| c.out.is_empty()) {
                return;
            }
            self.poll_once(&mut scratch, Some(deadline));
        }
    }

    /// One `poll(2)` round over everything, dispatching what is ready.
    fn poll_once(&mut self, sc: &mut Scratch, deadline: Option<Instant>) {
        let (fds, slots) = (&mut sc.fds, &mut sc.slots);
        fds.clear();
        slots.clear();
        let mut add = |fd: RawFd, events: i16, slot: Slot| {
            fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            slots.push(slot);
        };
        add(self.signals.raw_fd(), libc::POLLIN, Slot::Signals);
        if let Some(l) = &self.listener {
            add(l.as_raw_fd(), libc::POLLIN, Slot::Listener);
        }
        for (i, (fd, _, _)) in self.outputs.iter().enumerate() {
            add(fd.as_raw_fd(), libc::POLLIN, Slot::Output(i));
        }
        let stdin_room = match &self.stdin {
            Some(s) => {
                if !s.buf.is_empty() {
                    add(s.fd.as_raw_fd(), libc::POLLOUT, Slot::Stdin);
                }
                s.buf.len() < STDIN_QUEUE_LIMIT
            }
            None => true,
        };
        for (i, c) in self.clients.iter().enumerate() {
            let mut ev = 0;
            let wants_input = match c.attach {
                Some(a) => a.stdin && stdin_room,
                None => true,
            };
            if wants_input && !c.read_closed {
                ev |= libc::POLLIN;
            }
            if !c.out.is_empty() {
                ev |= libc::POLLOUT;
            }
            add(c.sock.as_raw_fd(), ev, Slot::Client(i));
        }
        let timeout = match deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .as_millis()
                .min(i32::MAX as u128) as i32,
            None => -1,
        };
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                eprintln!("berth-shim: poll: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
            return;
        }
        for (pfd, slot) in fds.iter().zip(slots.iter()) {
            if pfd.revents == 0 {
                continue;
            }
            match *slot {
                Slot::Signals => {
                    self.signals.drain();
                    self.reap();
                }
                Slot::Listener => self.accept(),
                Slot::Output(i) => self.read_output(i, &mut sc.buf),
                Slot::Stdin => self.write_stdin(),
                Slot::Client(i) => self.client_event(i, pfd.revents, &mut sc.buf),
            }
        }
        self.outputs.retain(|(_, _, eof)| !eof);
        self.clients
            .retain(|c| !(c.dead || (c.closing && c.out.is_empty())));
    }

    fn reap(&mut self) {
        for (pid, code, signal) in reap_all() {
            if pid == self.pid && self.exited.is_none() {
                self.exited = Some(Exited {
                    code,
                    signal,
                    at: SystemTime::now(),
                });
            }
        }
    }

    fn accept(&mut self) {
        let Some(l) = &self.listener else { return };
        loop {
            match l.accept() {
                Ok((sock, _)) => {
                    if sock.set_nonblocking(true).is_ok() {
                        self.clients.push(Client::new(sock));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("berth-shim: accept: {e}");
                    break;
                }
            }
        }
    }

    fn read_output(&mut self, i: usize, buf: &mut [u8]) {
        let (fd, stream) = (self.outputs[i].0.as_raw_fd(), self.outputs[i].1);
        match read_nb(fd, buf) {
            Ok(None) => {}
            Ok(Some(0)) => {
                self.outputs[i].2 = true;
                if let Some(log) = &mut self.log {
                    let r = log.finish_stream(stream);
                    self.log_result(r);
                }
            }
            Ok(Some(n)) => self.on_output(stream, &buf[..n]),
            Err(e) => {
                eprintln!("berth-shim: reading {}: {e}", stream.name());
                self.outputs[i].2 = true;
            }
        }
    }

    fn log_result(&mut self, r: io::Result<()>) {
        if let Err(e) = r {
            if !self.log_failed {
                eprintln!("berth-shim: writing the log: {e}");
                self.log_failed = true;
            }
        }
    }

    fn on_output(&mut self, stream: Stream, data: &[u8]) {
        if let Some(log) = &mut self.log {
            let r = log.write(stream, data);
            self.log_result(r);
        }
        for c in &mut self.clients {
            if let Some(a) = c.attach {
                if a.wants(stream) {
                    c.out.push_output(stream, data, self.tty);
                    if c.out.flush(&c.sock).is_err() {
                        c.dead = true;
                    }
                }
            }
        }
        if let Some(r) = &mut self.replay {
            if r.size + data.len() <= r.limit {
                r.size += data.len();
                match r.chunks.last_mut() {
                    Some((s, v)) if *s == stream => v.extend_from_slice(data),
                    _ => r.chunks.push((stream, data.to_vec())),
                }
            }
        }
    }

    fn write_stdin(&mut self) {
        let Some(s) = &mut self.stdin else { return };
        match write_nb(s.fd.as_raw_fd(), &s.buf) {
            Ok(n) => {
                s.buf.drain(..n);
            }
            Err(_) => {
                // The process closed its stdin: drop what is queued and stop accepting input.
                self.stdin = None;
                return;
            }
        }
        if s.buf.is_empty() {
            s.buf.shrink_to(4096);
            if s.close_requested {
                self.stdin = None;
            }
        }
    }

    fn queue_stdin(&mut self, data: &[u8]) {
        if let Some(s) = &mut self.stdin {
            if !s.close_requested {
                s.buf.extend_from_slice(data);
                // Try right away; most of the time the pipe has room.
                self.write_stdin();
            }
        }
    }

    fn close_stdin(&mut self) {
        if let Some(s) = &mut self.stdin {
            s.close_requested = true;
            if s.buf.is_empty() {
                self.stdin = None;
            }
        }
    }

    fn client_event(&mut self, i: usize, revents: i16, buf: &mut [u8]) {
        if revents & libc::POLLOUT != 0 {
            let c = &mut self.clients[i];
            if c.out.flush(&c.sock).is_err() {
                c.dead = true;
                return;
            }
        }
        if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
            && !self.clients[i].read_closed
        {
            let fd = self.clients[i].sock.as_raw_fd();
            match read_nb(fd, buf) {
                Ok(None) => {}
                Ok(Some(0)) | Err(_) => self.client_eof(i),
                Ok(Some(n)) => self.client_data(i, n, buf),
            }
        }
        if revents & (libc::POLLHUP | libc::POLLERR) != 0 {
            // The peer is gone in both directions.
            self.clients[i].dead = true;
        }
    }

    fn client_eof(&mut self, i: usize) {
        let c = &mut self.clients[i];
        c.read_closed = true;
        match c.attach {
            Some(a) => {
                if a.stdin && a.stdin_once {
                    self.close_stdin();
                }
            }
            None => {
                if !c.waiting {
                    c.closing = true;
                }
            }
        }
    }

    fn client_data(&mut self, i: usize, n: usize, buf: &[u8]) {
        if let Some(a) = self.clients[i].attach {
            if a.stdin {
                self.queue_stdin(&buf[..n]);
            }
            return;
        }
        self.clients[i].inbuf.extend_from_slice(&buf[..n]);
        while self.clients[i].attach.is_none() {
            let Some(req) = self.clients[i].next_line() else {
                break;
            };
            match req {
                Ok(r) => self.handle(i, r),
                Err(e) => self.clients[i].out.push_reply(&error_line(&e)),
            }
        }
        let c = &mut self.clients[i];
        if c.attach.is_none() && c.inbuf.len() > MAX_REQUEST {
            c.inbuf.clear();
            c.out.push_reply(&error_line("request too long"));
            c.closing = true;
        }
        if c.out.flush(&c.sock).is_err() {
            c.dead = true;
        }
    }

    fn handle(&mut self, i: usize, req: Request) {
        let reply = match req {
            Request::Signal { signal } => match signal.number() {
                None => error_line("invalid signal"),
                // Once reaped, the pid may belong to someone else: never signal it.
                Some(_) if self.exited.is_some() => error_line("process has exited"),
                Some(sig) => {
                    // SAFETY: kill(2) on our own unreaped child.
                    if unsafe { libc::kill(self.pid, sig) } == 0 {
                        ok_line()
                    } else {
                        error_line(&format!("kill: {}", io::Error::last_os_error()))
                    }
                }
            },
            Request::Resize { height, width } => match &self.pty {
                None => error_line("not a tty"),
                Some(p) => match resize(p, height, width) {
                    Ok(()) => ok_line(),
                    Err(e) => error_line(&format!("resize: {e}")),
                },
            },
            Request::Wait => match &self.final_status {
                Some(st) => json_line(&WaitReply {
                    ok: true,
                    status: st,
                }),
                None => {
                    self.clients[i].waiting = true;
                    return;
                }
            },
            Request::State => json_line(&StateReply {
                ok: true,
                pid: self.pid,
                shim_pid: self.shim_pid,
                status: if self.exited.is_some() {
                    "stopped"
                } else {
                    "running"
                },
                tty: self.tty,
                exit_code: self.exited.as_ref().map(|e| e.code),
            }),
            Request::CloseStdin => {
                self.close_stdin();
                ok_line()
            }
            Request::Attach {
                stdin,
                stdout,
                stderr,
                stdin_once,
            } => {
                let mode = AttachMode {
                    stdin,
                    stdout,
                    stderr,
                    stdin_once,
                };
                let tty = self.tty;
                let replay = self.replay.take();
                let done = self.final_status.is_some();
                let c = &mut self.clients[i];
                c.out.push_reply(&ok_line());
                c.attach = Some(mode);
                // After the exit, the stream ends once the replay is sent.
                c.closing = done;
                if let Some(r) = replay {
                    for (s, data) in &r.chunks {
                        if mode.wants(*s) {
                            c.out.push_output(*s, data, tty);
                        }
                    }
                }
                // Bytes after the attach line are already stdin.
                let rest = std::mem::take(&mut c.inbuf);
                let read_closed = c.read_closed;
                if stdin && !rest.is_empty() {
                    self.queue_stdin(&rest);
                }
                if read_closed && stdin && stdin_once {
                    self.close_stdin();
                }
                return;
            }
        };
        self.clients[i].out.push_reply(&reply);
    }

    fn finish(mut self, cleanup: impl FnOnce()) -> ExitStatus {
        if let Some(log) = &mut self.log {
            let r = log.finish();
            self.log_result(r);
        }
        self.stdin = None;
        self.outputs.clear();
        let oom_killed = match &self.oom {
            Some((c, before)) => c.read().is_some_and(|after| after > *before),
            None => false,
        };
        cleanup();
        let exited = self.exited.take().unwrap_or(Exited {
            code: 255,
            signal: None,
            at: SystemTime::now(),
        });
        let status = ExitStatus {
            exit_code: exited.code,
            oom_killed,
            finished_at: rfc3339_nanos(exited.at),
            signal: exited.signal,
        };
        self.exited = Some(exited);
        if let Err(e) = exitfile::write_exit(&self.cfg_state_dir, &status) {
            eprintln!("berth-shim: writing exit.json: {e}");
        }
        self.final_status = Some(status.clone());
        let reply = json_line(&WaitReply {
            ok: true,
            status: &status,
        });
        for c in &mut self.clients {
            if c.waiting {
                c.out.push_reply(&reply);
                c.waiting = false;
            }
            // Attach streams end here (after their queued output).
            if c.attach.is_some() {
                c.closing = true;
            }
        }
        if self.replay.is_some() {
            self.linger();
        }
        // No new connections from here on.
        self.listener = None;
        let sock = self.cfg_state_dir.join(exitfile::SHIM_SOCK);
        if self.sock_id.is_some() && file_id(&sock) == self.sock_id {
            let _ = std::fs::remove_file(&sock);
        }
        let _ = std::fs::remove_file(self.cfg_state_dir.join(exitfile::SHIM_PID_FILE));
        // Requests already sent but not read yet still get an answer.
        let mut scratch = Scratch::default();
        self.poll_once(&mut scratch, Some(Instant::now()));
        self.flush_clients();
        status
    }

    /// Last chance for queued replies and output, bounded in time.
    fn flush_clients(&mut self) {
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        loop {
            self.clients.retain_mut(|c| {
                if c.dead || c.out.flush(&c.sock).is_err() {
                    return false;
                }
                !c.out.is_empty()
            });
            let now = Instant::now();
            if self.clients.is_empty() || now >= deadline {
                return;
            }
            let mut fds: Vec<libc::pollfd> = self
                .clients
                .iter()
                .map(|c| libc::pollfd {
                    fd: c.sock.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                })
                .collect();
            let ms = (deadline - now).as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: valid pollfd array.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            for (c, p) in self.clients.iter_mut().zip(&fds) {
                if p.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                    c.dead = true;
                }
            }
        }
    }
}

fn file_id(p: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(p)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}
