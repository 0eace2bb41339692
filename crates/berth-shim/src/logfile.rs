//! Docker's `json-file` log format, written the way dockerd writes it:
//!
//! ```text
//! {"log":"hello\n","stream":"stdout","time":"2026-11-23T13:00:00.123456789Z"}
//! ```
//!
//! * one entry per line of output, the newline kept inside `log`;
//! * a line longer than 16 KiB is cut into 16 KiB entries without a newline (Docker's
//!   "partial" messages); the last bytes before EOF are written without a newline too;
//! * strings escaped like Go's encoder (`<`, `>`, `&`, U+2028/9 as `\uXXXX`, invalid UTF-8 as
//!   U+FFFD), so files are byte-compatible with dockerd's;
//! * with `max-size`, the file is rotated before an entry is written once it has reached the
//!   limit: `log` → `log.1` → `log.2` … keeping `max-file` files in all (`max-file` 1 truncates).
//!
//! Every batch of entries is written with a single `write(2)` on an `O_APPEND` fd: nothing is
//! buffered in user space, so a reader following the file sees lines as they are produced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::timefmt::push_rfc3339_nanos;

/// Docker's maximum log message size; longer lines are split.
pub const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 1,
    Stderr = 2,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
    fn index(self) -> usize {
        self as usize - 1
    }
}

pub struct JsonLog {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: Option<u64>,
    max_file: u32,
    /// Incomplete last line of each stream, waiting for its newline.
    partial: [Vec<u8>; 2],
    /// Reused output buffer.
    out: Vec<u8>,
}

impl JsonLog {
    pub fn open(path: &Path, max_size: Option<u64>, max_file: u32) -> io::Result<Self> {
        let file = open_log(path)?;
        let size = file.metadata()?.len();
        Ok(JsonLog {
            path: path.to_path_buf(),
            file,
            size,
            max_size: max_size.filter(|&m| m > 0),
            max_file: max_file.max(1),
            partial: [Vec::new(), Vec::new()],
            out: Vec::new(),
        })
    }

    /// Logs a chunk of output from `stream`; complete lines are written now.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> io::Result<()> {
        self.write_at(stream, data, SystemTime::now())
    }

    pub fn write_at(&mut self, stream: Stream, data: &[u8], now: SystemTime) -> io::Result<()> {
        let mut time = String::with_capacity(32);
        push_rfc3339_nanos(&mut time, now);
        let mut buf = std::mem::take(&mut self.partial[stream.index()]);
        let mut rest: &[u8] = data;
        let mut result = Ok(());
        // Split into lines without copying whole chunks through the partial buffer.
        while !rest.is_empty() {
            let room = MAX_LINE - buf.len();
            let window = &rest[..rest.len().min(room)];
            if let Some(nl) = window.iter().position(|&b| b == b'\n') {
                let line = &window[..=nl];
                if buf.is_empty() {
                    result = result.and(self.entry(stream, line, &time));
                } else {
                    buf.extend_from_slice(line);
                    result = result.and(self.entry(stream, &buf, &time));
                    buf.clear();
                }
                rest = &rest[nl + 1..];
            } else if window.len() == room {
                // A full 16 KiB without a newline: emit it as a partial entry.
                if buf.is_empty() {
                    result = result.and(self.entry(stream, window, &time));
                } else {
                    buf.extend_from_slice(window);
                    result = result.and(self.entry(stream, &buf, &time));
                    buf.clear();
                }
                rest = &rest[room..];
            } else {
                buf.extend_from_slice(window);
                rest = &[];
            }
        }
        if buf.capacity() > 2 * MAX_LINE {
            buf.shrink_to(MAX_LINE);
        }
        self.partial[stream.index()] = buf;
        result.and(self.flush())
    }

    /// Writes what is left of each stream (the last line had no newline): called at EOF.
    pub fn finish(&mut self) -> io::Result<()> {
        let mut time = String::with_capacity(32);
        push_rfc3339_nanos(&mut time, SystemTime::now());
        let mut result = Ok(());
        for stream in [Stream::Stdout, Stream::Stderr] {
            let buf = std::mem::take(&mut self.partial[stream.index()]);
            if !buf.is_empty() {
                result = result.and(self.entry(stream, &buf, &time));
            }
        }
        result.and(self.flush())
    }

    /// Flushes the partial line of one stream (its source reached EOF).
    pub fn finish_stream(&mut self, stream: Stream) -> io::Result<()> {
        let buf = std::mem::take(&mut self.partial[stream.index()]);
        if buf.is_empty() {
            return Ok(());
        }
        let mut time = String::with_capacity(32);
        push_rfc3339_nanos(&mut time, SystemTime::now());
        let r = self.entry(stream, &buf, &time);
        r.and(self.flush())
    }

    /// Queues one entry, rotating first when the file has reached `max-size`.
    fn entry(&mut self, stream: Stream, line: &[u8], time: &str) -> io::Result<()> {
        if let Some(max) = self.max_size {
            if self.size + self.out.len() as u64 >= max {
                self.flush()?;
                self.rotate()?;
            }
        }
        self.out.extend_from_slice(b"{\"log\":\"");
        escape_json_into(&mut self.out, line);
        self.out.extend_from_slice(b"\",\"stream\":\"");
        self.out.extend_from_slice(stream.name().as_bytes());
        self.out.extend_from_slice(b"\",\"time\":\"");
        self.out.extend_from_slice(time.as_bytes());
        self.out.extend_from_slice(b"\"}\n");
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = self.file.write_all(&self.out);
        // Count what was attempted: on a write error the next rotation check still progresses.
        self.size += self.out.len() as u64;
        self.out.clear();
        if self.out.capacity() > 4 * MAX_LINE {
            self.out.shrink_to(MAX_LINE);
        }
        r
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.max_file >= 2 {
            for i in (1..self.max_file - 1).rev() {
                let from = numbered(&self.path, i);
                if from.exists() {
                    fs::rename(&from, numbered(&self.path, i + 1))?;
                }
            }
            fs::rename(&self.path, numbered(&self.path, 1))?;
            self.file = open_log(&self.path)?;
        } else {
            self.file.set_len(0)?;
        }
        self.size = 0;
        Ok(())
    }
}

fn numbered(path: &Path, i: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

fn open_log(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

/// Appends `s` JSON-escaped (without quotes) exactly as Go's `encoding/json` HTML-safe encoder
/// and dockerd's jsonlog do.
pub fn escape_json_into(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0..=0x1f | b'<' | b'>' | b'&' => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 0xf) as usize]);
                }
                _ => out.push(b),
            }
            i += 1;
            continue;
        }
        // Multi-byte: validate one UTF-8 sequence.
        let len = utf8_len(&s[i..]);
        if len == 0 {
            out.extend_from_slice(b"\\ufffd");
            i += 1;
            continue;
        }
        let seq = &s[i..i + len];
        if seq == "\u{2028}".as_bytes() {
            out.extend_from_slice(b"\\u2028");
        } else if seq == "\u{2029}".as_bytes() {
            out.extend_from_slice(b"\\u2029");
        } else {
            out.extend_from_slice(seq);
        }
        i += len;
    }
}

/// Length of the valid UTF-8 sequence starting `s` (non-ASCII lead), or 0 if invalid.
fn utf8_len(s: &[u8]) -> usize {
    let n = match s[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return 0,
    };
    if s.len() < n {
        return 0;
    }
    match std::str::from_utf8(&s[..n]) {
        Ok(_) => n,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn t() -> SystemTime {
        UNIX_EPOCH + Duration::new(1_795_438_800, 123_456_789)
    }

    fn esc(s: &[u8]) -> String {
        let mut v = Vec::new();
        escape_json_into(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(esc(b"a\"b\\c\n\t\r"), r#"a\"b\\c\n\t\r"#);
        assert_eq!(esc(b"<a&b>"), r"\u003ca\u0026b\u003e");
        assert_eq!(esc(b"\x01\x1b"), r"\u0001\u001b");
        assert_eq!(esc("é€😀".as_bytes()), "é€😀");
        assert_eq!(esc(b"\xff\xc3"), r"\ufffd\ufffd");
        assert_eq!(esc("\u{2028}".as_bytes()), r"\u2028");
        // Round-trips through a JSON parser.
        let v: String = serde_json::from_str(&format!("\"{}\"", esc(b"x<\"\n\x7f"))).unwrap();
        assert_eq!(v, "x<\"\n\x7f");
    }

    fn lines(path: &Path) -> Vec<serde_json::Value> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn splits_lines_and_streams() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c-json.log");
        let mut log = JsonLog::open(&p, None, 1).unwrap();
        log.write_at(Stream::Stdout, b"hel", t()).unwrap();
        log.write_at(Stream::Stderr, b"err\n", t()).unwrap();
        log.write_at(Stream::Stdout, b"lo\nworld\nta", t()).unwrap();
        log.write_at(Stream::Stdout, b"il", t()).unwrap();
        log.finish().unwrap();
        let raw = fs::read_to_string(&p).unwrap();
        assert!(raw.starts_with(
            "{\"log\":\"err\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-23T13:00:00.123456789Z\"}\n"
        ));
        let v = lines(&p);
        let got: Vec<(&str, &str)> = v
            .iter()
            .map(|e| (e["log"].as_str().unwrap(), e["stream"].as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("err\n", "stderr"),
                ("hello\n", "stdout"),
                ("world\n", "stdout"),
                ("tail", "stdout")
            ]
        );
    }

    #[test]
    fn long_lines_are_split_at_16k() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l.log");
        let mut log = JsonLog::open(&p, None, 1).unwrap();
        let mut data = vec![b'a'; MAX_LINE * 2 + 10];
        data.push(b'\n');
        // Feed in odd-sized chunks.
        for c in data.chunks(1000) {
            log.write_at(Stream::Stdout, c, t()).unwrap();
        }
        log.finish().unwrap();
        let v = lines(&p);
        let lens: Vec<usize> = v.iter().map(|e| e["log"].as_str().unwrap().len()).collect();
        assert_eq!(lens, [MAX_LINE, MAX_LINE, 11]);
        assert!(v[2]["log"].as_str().unwrap().ends_with('\n'));
    }

    #[test]
    fn rotates_by_size() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.log");
        let mut log = JsonLog::open(&p, Some(200), 3).unwrap();
        for i in 0..20 {
            log.write_at(Stream::Stdout, format!("line {i}\n").as_bytes(), t())
                .unwrap();
        }
        let cur = fs::metadata(&p).unwrap().len();
        let r1 = fs::metadata(numbered(&p, 1)).unwrap().len();
        assert!(numbered(&p, 2).exists());
        assert!(!numbered(&p, 3).exists());
        // Each file is over the limit by at most one entry.
        assert!(cur < 300 && r1 < 300, "{cur} {r1}");
        let last = lines(&p);
        assert_eq!(last.last().unwrap()["log"], "line 19\n");

        // max-file 1: truncate in place.
        let p2 = d.path().join("t.log");
        let mut log = JsonLog::open(&p2, Some(100), 1).unwrap();
        for i in 0..10 {
            log.write_at(Stream::Stdout, format!("x{i}\n").as_bytes(), t())
                .unwrap();
        }
        assert!(!numbered(&p2, 1).exists());
        assert!(fs::metadata(&p2).unwrap().len() < 200);
    }
}
