//! The control socket (`shim.sock`): line-delimited JSON requests, one JSON line per reply.
//! See `PROTOCOL.md` for the full protocol. This module holds the wire types and the
//! per-connection state; `supervise` drives them.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use serde::{Deserialize, Serialize};

use crate::exitfile::ExitStatus;
use crate::io::{frame_header, write_nb};
use crate::logfile::Stream;

/// Longest request line accepted.
pub const MAX_REQUEST: usize = 64 * 1024;
/// Output queued for one client before further output is dropped for it (a slow client must
/// never block the container or the other clients).
pub const CLIENT_QUEUE_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Send a signal to the process (number, or name like `"SIGTERM"`/`"TERM"`).
    Signal { signal: SignalArg },
    /// Set the pty window size (tty only).
    Resize { height: u16, width: u16 },
    /// Reply once the process has exited and `exit.json` is written.
    Wait,
    /// Current pid and status.
    State,
    /// Turn this connection into a raw stream of the process's stdio.
    Attach {
        #[serde(default)]
        stdin: bool,
        #[serde(default)]
        stdout: bool,
        #[serde(default)]
        stderr: bool,
        /// Close the process's stdin when this client's input ends (Docker's `StdinOnce`).
        #[serde(default)]
        stdin_once: bool,
    },
    /// Close the process's stdin (EOF for the process once queued input is written).
    CloseStdin,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SignalArg {
    Number(i32),
    Name(String),
}

impl SignalArg {
    pub fn number(&self) -> Option<i32> {
        match self {
            SignalArg::Number(n) => (1..=64).contains(n).then_some(*n),
            SignalArg::Name(s) => parse_signal(s),
        }
    }
}

/// `"15"`, `"TERM"`, `"SIGTERM"`, `"sigterm"`, `"RTMIN+3"`.
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let off = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('+')?.parse::<i32>().ok()?
        };
        let n = libc::SIGRTMIN() + off;
        return (n <= libc::SIGRTMAX()).then_some(n);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let off = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('-')?.parse::<i32>().ok()?
        };
        let n = libc::SIGRTMAX() - off;
        return (n >= libc::SIGRTMIN()).then_some(n);
    }
    let full = format!("SIG{name}");
    full.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}

/// Reply to `state`.
#[derive(Debug, Clone, Serialize)]
pub struct StateReply {
    pub ok: bool,
    pub pid: i32,
    pub shim_pid: i32,
    /// `running`, or `stopped` once the process has been reaped.
    pub status: &'static str,
    pub tty: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// Reply to `wait`: `exit.json`'s fields plus `"ok": true`.
#[derive(Debug, Clone, Serialize)]
pub struct WaitReply<'a> {
    pub ok: bool,
    #[serde(flatten)]
    pub status: &'a ExitStatus,
}

pub fn ok_line() -> Vec<u8> {
    b"{\"ok\":true}\n".to_vec()
}

pub fn error_line(msg: &str) -> Vec<u8> {
    let mut v =
        serde_json::to_vec(&serde_json::json!({"ok": false, "error": msg})).unwrap_or_default();
    v.push(b'\n');
    v
}

pub fn json_line<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachMode {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub stdin_once: bool,
}

impl AttachMode {
    pub fn wants(&self, s: Stream) -> bool {
        match s {
            Stream::Stdout => self.stdout,
            Stream::Stderr => self.stderr,
        }
    }
}

/// Bytes waiting to be written to a client, bounded.
#[derive(Default)]
pub struct OutQueue {
    buf: Vec<u8>,
    pos: usize,
    pub dropped: u64,
}

impl OutQueue {
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn len(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Queues a control reply (never dropped: replies are small and one per request).
    pub fn push_reply(&mut self, line: &[u8]) {
        self.buf.extend_from_slice(line);
    }

    /// Queues stream output, framed for a non-tty. Dropped whole (keeping the framing valid)
    /// when the client is too far behind.
    pub fn push_output(&mut self, stream: Stream, data: &[u8], tty: bool) -> bool {
        let extra = if tty { 0 } else { 8 };
        if self.len() + data.len() + extra > CLIENT_QUEUE_LIMIT {
            self.dropped += data.len() as u64;
            return false;
        }
        if !tty {
            self.buf
                .extend_from_slice(&frame_header(stream, data.len()));
        }
        self.buf.extend_from_slice(data);
        true
    }

    /// Writes as much as the socket takes without blocking.
    pub fn flush(&mut self, sock: &UnixStream) -> io::Result<()> {
        while !self.is_empty() {
            let n = write_nb(sock.as_raw_fd(), &self.buf[self.pos..])?;
            if n == 0 {
                break;
            }
            self.pos += n;
        }
        if self.is_empty() {
            self.buf.clear();
            self.pos = 0;
            if self.buf.capacity() > 64 * 1024 {
                self.buf.shrink_to(16 * 1024);
            }
        } else if self.pos > 64 * 1024 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        Ok(())
    }
}

/// One connection on `shim.sock`.
pub struct Client {
    pub sock: UnixStream,
    /// Unparsed request bytes (request mode) — after `attach`, leftovers are stdin data.
    pub inbuf: Vec<u8>,
    pub out: OutQueue,
    pub attach: Option<AttachMode>,
    /// Sent `wait`; gets the exit status when the process is gone.
    pub waiting: bool,
    /// The peer closed its sending side.
    pub read_closed: bool,
    /// Remove once `out` is flushed.
    pub closing: bool,
    /// Remove now (write error, protocol error after flush…).
    pub dead: bool,
}

impl Client {
    pub fn new(sock: UnixStream) -> Self {
        Client {
            sock,
            inbuf: Vec::new(),
            out: OutQueue::default(),
            attach: None,
            waiting: false,
            read_closed: false,
            closing: false,
            dead: false,
        }
    }

    /// Takes the next complete request line out of `inbuf`.
    pub fn next_line(&mut self) -> Option<Result<Request, String>> {
        let nl = self.inbuf.iter().position(|&b| b == b'\n')?;
        let line: Vec<u8> = self.inbuf.drain(..=nl).collect();
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            return self.next_line();
        }
        Some(serde_json::from_str(text).map_err(|e| format!("bad request: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests() {
        let r: Request = serde_json::from_str(r#"{"op":"signal","signal":15}"#).unwrap();
        assert_eq!(
            r,
            Request::Signal {
                signal: SignalArg::Number(15)
            }
        );
        let r: Request = serde_json::from_str(r#"{"op":"signal","signal":"SIGKILL"}"#).unwrap();
        let Request::Signal { signal } = r else {
            panic!()
        };
        assert_eq!(signal.number(), Some(9));
        let r: Request = serde_json::from_str(r#"{"op":"attach","stdout":true}"#).unwrap();
        assert_eq!(
            r,
            Request::Attach {
                stdin: false,
                stdout: true,
                stderr: false,
                stdin_once: false
            }
        );
        let r: Request =
            serde_json::from_str(r#"{"op":"resize","height":40,"width":120}"#).unwrap();
        assert_eq!(
            r,
            Request::Resize {
                height: 40,
                width: 120
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"op":"nope"}"#).is_err());
    }

    #[test]
    fn signal_names() {
        assert_eq!(parse_signal("TERM"), Some(15));
        assert_eq!(parse_signal("sighup"), Some(1));
        assert_eq!(parse_signal("9"), Some(9));
        assert_eq!(parse_signal("RTMIN+1"), Some(libc::SIGRTMIN() + 1));
        assert_eq!(parse_signal("BOGUS"), None);
        assert_eq!(parse_signal("0"), None);
    }

    #[test]
    fn queue_bounds_and_frames() {
        let mut q = OutQueue::default();
        assert!(q.push_output(Stream::Stderr, b"ab", false));
        assert_eq!(q.len(), 10);
        let big = vec![0u8; CLIENT_QUEUE_LIMIT];
        assert!(!q.push_output(Stream::Stdout, &big, false));
        assert_eq!(q.dropped, CLIENT_QUEUE_LIMIT as u64);
        assert_eq!(q.len(), 10);
    }
}
