//! `GET /containers/{id}/logs`: the json-file log the shim writes, in Docker's stream
//! framing (8-byte headers without a TTY, raw with one), optionally followed.

use std::io::{BufRead, Seek};
use std::sync::Arc;
use std::time::Duration;

use berth_api::ApiError;
use berth_runtime::ContainerConfig;
use bytes::Bytes;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::engine::Engine;

#[derive(Debug, Default, Clone)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    pub timestamps: bool,
    /// Last N lines; None = all.
    pub tail: Option<usize>,
    /// Unix nanoseconds.
    pub since: Option<i64>,
    pub until: Option<i64>,
}

#[derive(Deserialize)]
struct Line {
    log: String,
    stream: String,
    time: String,
}

impl Engine {
    /// Returns (tty, a stream of framed chunks).
    pub fn container_logs(
        self: &Arc<Self>,
        name: &str,
        opts: LogOptions,
    ) -> Result<(bool, mpsc::Receiver<Bytes>), ApiError> {
        let c = self.resolve_container(name)?;
        let config: ContainerConfig = serde_json::from_str(&c.config).unwrap_or_default();
        let tty = config.tty;
        let path = self.log_path(&c.id);
        let (tx, rx) = mpsc::channel(64);
        let engine = self.clone();
        let id = c.id.clone();
        tokio::task::spawn_blocking(move || {
            let Ok(file) = std::fs::File::open(&path) else {
                return;
            };
            let mut reader = std::io::BufReader::new(file);
            // Frames go out in batches of up to BATCH bytes: one channel send and one HTTP
            // chunk per line made `logs` of 100 MB take 50 s.
            let mut out = Batch::new(tx);
            let mut line = String::new();
            // The backlog first (tail keeps only the last N lines in memory), then new
            // lines when following.
            let mut last: std::collections::VecDeque<Bytes> = std::collections::VecDeque::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let Some(b) = frame(&line, &opts, tty) else {
                            continue;
                        };
                        match opts.tail {
                            Some(0) => {}
                            Some(t) => {
                                if last.len() == t {
                                    last.pop_front();
                                }
                                last.push_back(b);
                            }
                            None => {
                                if !out.push(&b) {
                                    return;
                                }
                            }
                        }
                    }
                }
            }
            for b in last {
                if !out.push(&b) {
                    return;
                }
            }
            if !out.flush() || !opts.follow {
                return;
            }
            loop {
                let pos = reader.stream_position().unwrap_or(0);
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(n) if n > 0 && line.ends_with('\n') => {
                        if let Some(b) = frame(&line, &opts, tty) {
                            if !out.push(&b) {
                                return;
                            }
                        }
                    }
                    _ => {
                        // Partial or no line yet: rewind to the line's start and wait.
                        let _ = reader.seek(std::io::SeekFrom::Start(pos));
                        if !out.flush() {
                            return;
                        }
                        let running = engine
                            .db()
                            .container(&id)
                            .ok()
                            .flatten()
                            .map(|c| engine.container_state(&c).running)
                            .unwrap_or(false);
                        if !running || out.is_closed() {
                            // One last drain of what the shim wrote before the exit.
                            let _ = reader.seek(std::io::SeekFrom::Start(pos));
                            for l in reader.lines().map_while(Result::ok) {
                                if let Some(b) = frame(&format!("{l}\n"), &opts, tty) {
                                    if !out.push(&b) {
                                        return;
                                    }
                                }
                            }
                            out.flush();
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
        });
        Ok((tty, rx))
    }
}

/// Largest chunk of frames sent at once.
const BATCH: usize = 64 * 1024;

/// Collects frames and sends them in chunks of up to [`BATCH`] bytes.
struct Batch {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl Batch {
    fn new(tx: mpsc::Sender<Bytes>) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(BATCH),
        }
    }

    /// Adds a frame; false when the client has gone away.
    fn push(&mut self, frame: &[u8]) -> bool {
        self.buf.extend_from_slice(frame);
        self.buf.len() < BATCH || self.flush()
    }

    /// Sends what is collected; false when the client has gone away.
    fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH)));
        self.tx.blocking_send(chunk).is_ok()
    }

    fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// One json-file line → the bytes Docker sends for it (or None when filtered out).
fn frame(raw: &str, opts: &LogOptions, tty: bool) -> Option<Bytes> {
    let l: Line = serde_json::from_str(raw.trim_end()).ok()?;
    let stream = match l.stream.as_str() {
        "stdout" if opts.stdout => 1u8,
        "stderr" if opts.stderr => 2u8,
        _ => return None,
    };
    if opts.since.is_some() || opts.until.is_some() {
        let t = time::OffsetDateTime::parse(&l.time, &time::format_description::well_known::Rfc3339)
            .ok()?
            .unix_timestamp_nanos() as i64;
        if opts.since.is_some_and(|s| t < s) || opts.until.is_some_and(|u| t > u) {
            return None;
        }
    }
    let mut payload = Vec::new();
    if opts.timestamps {
        payload.extend_from_slice(l.time.as_bytes());
        payload.push(b' ');
    }
    payload.extend_from_slice(l.log.as_bytes());
    if tty {
        return Some(Bytes::from(payload));
    }
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    Some(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_follow_dockers_stream_format() {
        let opts = LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let line = r#"{"log":"hi\n","stream":"stderr","time":"2026-01-01T00:00:00.000000001Z"}"#;
        let b = frame(line, &opts, false).unwrap();
        assert_eq!(&b[..8], &[2, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(&b[8..], b"hi\n");
        assert_eq!(&frame(line, &opts, true).unwrap()[..], b"hi\n");
        let only_out = LogOptions {
            stdout: true,
            ..Default::default()
        };
        assert!(frame(line, &only_out, false).is_none());
        let ts = LogOptions {
            stderr: true,
            timestamps: true,
            ..Default::default()
        };
        assert!(frame(line, &ts, true)
            .unwrap()
            .starts_with(b"2026-01-01T00:00:00.000000001Z hi"));
    }
}
