//! docker's JSON message streams (`pkg/jsonmessage`): the newline-delimited JSON objects that
//! load, import, pull, push and build answer with, decoded as they arrive and shown the way
//! the docker CLI shows them.
//!
//! Each message is one of: `{"stream": "text"}` (printed as-is), `{"status": "…", "id": "…"}`
//! (printed as `id: status`), a progress update (`progressDetail`; drawn as a bar on a
//! terminal, skipped otherwise), `{"aux": …}` (handed to the caller), or an error
//! (`{"errorDetail": {"message": …}, "error": …}`), which ends the display with that message.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use berth_client::ClientError;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::Value;

use crate::error::StatusError;

/// One message of a stream. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JsonMessage {
    #[serde(default)]
    pub stream: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "progressDetail")]
    pub progress_detail: Option<Progress>,
    /// The daemon's own rendering of the progress (deprecated in docker, still sent).
    #[serde(default)]
    pub progress: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(default, rename = "timeNano")]
    pub time_nano: Option<i64>,
    #[serde(default, rename = "errorDetail")]
    pub error_detail: Option<ErrorDetail>,
    /// The error's message (deprecated in docker in favour of `errorDetail`).
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub aux: Option<Value>,
}

/// `progressDetail`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Progress {
    #[serde(default)]
    pub current: i64,
    #[serde(default)]
    pub total: i64,
    /// Unix seconds the operation started, for the time-left estimate.
    #[serde(default)]
    pub start: i64,
    #[serde(default, rename = "hidecounts")]
    pub hide_counts: bool,
    #[serde(default)]
    pub units: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

impl JsonMessage {
    /// The error this message reports, if it is one: `errorDetail.message`, else `error`.
    pub fn error_message(&self) -> Option<&str> {
        match (&self.error_detail, &self.error) {
            (Some(d), _) if !d.message.is_empty() => Some(&d.message),
            (_, Some(e)) if !e.is_empty() => Some(e),
            (Some(d), _) => Some(&d.message),
            _ => None,
        }
    }

    /// Whether this is a progress update that only a terminal shows (docker skips
    /// messages whose progress renders to something when the output is not a terminal).
    fn has_visible_progress(&self) -> bool {
        self.progress_detail
            .as_ref()
            .is_some_and(|p| p.current > 0 || p.total > 0)
    }
}

/// Splits a byte stream into JSON values as they complete. Values may span chunks and
/// need not be separated by newlines (docker decodes with a streaming `json.Decoder`).
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a chunk; returns the messages it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<JsonMessage>> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut consumed = 0;
        {
            let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<JsonMessage>();
            loop {
                match it.next() {
                    Some(Ok(m)) => {
                        out.push(m);
                        consumed = it.byte_offset();
                    }
                    Some(Err(e)) if e.is_eof() => break,
                    Some(Err(e)) => {
                        return Err(anyhow::anyhow!("invalid JSON message from the daemon: {e}"))
                    }
                    None => {
                        consumed = it.byte_offset();
                        break;
                    }
                }
            }
        }
        self.buf.drain(..consumed);
        Ok(out)
    }

    /// Ends the stream: leftover bytes other than whitespace are a truncated message.
    pub fn finish(self) -> Result<()> {
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "the daemon's message stream ended in the middle of a message"
            ))
        }
    }
}

/// docker's `DisplayJSONMessagesStream`: the state of the output (which line each
/// progressing id is on, on a terminal).
pub struct Display<W: Write> {
    out: W,
    terminal: bool,
    width: usize,
    ids: HashMap<String, usize>,
    /// The overall bar under the per-layer lines (terminal only; moby#4022).
    overall: Overall,
}

/// What the overall bar adds up: bytes moved per layer, and the layers done.
#[derive(Default)]
struct Overall {
    /// id → (bytes downloaded or pushed, size), from `Downloading` / `Pushing` progress.
    bytes: HashMap<String, (i64, i64)>,
    done: std::collections::HashSet<String>,
    drawn: bool,
}

impl Overall {
    /// Statuses that end a layer's part of a pull or push.
    const DONE: &'static [&'static str] = &[
        "Pull complete",
        "Already exists",
        "Pushed",
        "Layer already exists",
        "Download complete",
    ];

    fn record(&mut self, jm: &JsonMessage) {
        let Some(id) = jm.id.as_deref().filter(|i| !i.is_empty()) else {
            return;
        };
        let status = jm.status.as_deref().unwrap_or("");
        match (status, jm.progress_detail.as_ref()) {
            ("Downloading" | "Pushing", Some(p)) if p.total > 0 => {
                self.bytes
                    .insert(id.to_string(), (p.current.min(p.total), p.total));
            }
            (s, _) if Self::DONE.contains(&s) || s.starts_with("Mounted from") => {
                if let Some(b) = self.bytes.get_mut(id) {
                    b.0 = b.1;
                }
                self.done.insert(id.to_string());
            }
            _ => {}
        }
    }

    /// `Total: [====>   ]  45.2MB/200.1MB  3/5 layers`, or nothing before any progress.
    fn line(&self, layers: usize, width: usize) -> Option<String> {
        if self.bytes.is_empty() {
            return None;
        }
        let (current, total) = self
            .bytes
            .values()
            .fold((0, 0), |(c, t), (bc, bt)| (c + bc, t + bt));
        let p = Progress {
            current,
            total,
            ..Default::default()
        };
        let done = self.done.len().min(layers);
        Some(format!(
            "Total: {}  {done}/{layers} layers",
            render_progress(&p, width, 0)
        ))
    }
}

impl<W: Write> Display<W> {
    /// `terminal`: draw progress bars in place (docker does when stdout is a terminal).
    pub fn new(out: W, terminal: bool) -> Self {
        Self {
            out,
            terminal,
            width: if terminal { terminal_width() } else { 200 },
            ids: HashMap::new(),
            overall: Overall::default(),
        }
    }

    /// Clears the overall bar's line (the cursor sits on it, below the layer lines).
    fn clear_overall(&mut self) {
        if self.overall.drawn {
            let _ = write!(self.out, "\x1b[2K\r");
            self.overall.drawn = false;
        }
    }

    /// Draws the overall bar on the line below the layer lines, cursor left on it.
    fn draw_overall(&mut self) {
        if !self.terminal || self.ids.len() < 2 {
            return;
        }
        if let Some(line) = self.overall.line(self.ids.len(), self.width) {
            let _ = write!(self.out, "\x1b[2K\r{line}\r");
            self.overall.drawn = true;
        }
    }

    /// Ends the display: the overall bar stays as the last line.
    pub fn finish(&mut self) {
        if self.overall.drawn {
            let _ = writeln!(self.out);
            self.overall.drawn = false;
            let _ = self.out.flush();
        }
    }

    /// Shows one message. An error message comes back as `Err(message)` and prints
    /// nothing; `aux` messages go to `on_aux`.
    pub fn message(
        &mut self,
        jm: &JsonMessage,
        on_aux: &mut dyn FnMut(&Value),
    ) -> std::result::Result<(), String> {
        if let Some(aux) = &jm.aux {
            on_aux(aux);
            return Ok(());
        }
        self.clear_overall();
        if self.terminal {
            self.overall.record(jm);
        }
        let id = jm.id.as_deref().unwrap_or("");
        let mut diff = 0;
        if !id.is_empty() && (jm.progress_detail.is_some() || has_text(&jm.progress)) {
            let line = match self.ids.get(id) {
                Some(l) => *l,
                None => {
                    let l = self.ids.len();
                    self.ids.insert(id.to_string(), l);
                    if self.terminal {
                        let _ = writeln!(self.out);
                    }
                    l
                }
            };
            diff = self.ids.len() - line;
            if self.terminal && diff > 0 {
                let _ = write!(self.out, "\x1b[{diff}A");
            }
        } else {
            // Output that is not progress starts a new block of progress lines.
            if !self.ids.is_empty() {
                self.finish();
            }
            self.ids.clear();
            self.overall = Overall::default();
        }
        let result = self.show(jm);
        if !id.is_empty() && self.terminal && diff > 0 {
            let _ = write!(self.out, "\x1b[{diff}B");
        }
        if result.is_ok() {
            self.draw_overall();
        }
        let _ = self.out.flush();
        result
    }

    /// docker's `JSONMessage.Display`.
    fn show(&mut self, jm: &JsonMessage) -> std::result::Result<(), String> {
        if let Some(e) = jm.error_message() {
            return Err(e.to_string());
        }
        let stream = jm.stream.as_deref().unwrap_or("");
        let status = jm.status.as_deref().unwrap_or("");
        let rendered = jm
            .progress_detail
            .as_ref()
            .map(|p| render_progress(p, self.width, now_unix()))
            .unwrap_or_default();
        let mut endl = "";
        if self.terminal && stream.is_empty() && jm.progress_detail.is_some() {
            let _ = write!(self.out, "\x1b[2K\r");
            endl = "\r";
        } else if !self.terminal && jm.has_visible_progress() {
            return Ok(());
        }
        let out = &mut self.out;
        let w = |out: &mut W, s: &str| out.write_all(s.as_bytes());
        let _ = (|| -> std::io::Result<()> {
            if let Some(ns) = jm.time_nano.filter(|n| *n != 0) {
                w(out, &format!("{} ", rfc3339_nano_fixed(ns)))?;
            } else if let Some(s) = jm.time.filter(|s| *s != 0) {
                w(out, &format!("{} ", rfc3339_nano_fixed(s * 1_000_000_000)))?;
            }
            if let Some(id) = jm.id.as_deref().filter(|i| !i.is_empty()) {
                w(out, &format!("{id}: "))?;
            }
            if let Some(from) = jm.from.as_deref().filter(|f| !f.is_empty()) {
                w(out, &format!("(from {from}) "))?;
            }
            if jm.progress_detail.is_some() && self.terminal {
                w(out, &format!("{status} {rendered}{endl}"))
            } else if let Some(p) = jm.progress.as_deref().filter(|p| !p.is_empty()) {
                w(out, &format!("{status} {p}{endl}\n"))
            } else if !stream.is_empty() {
                w(out, &format!("{stream}{endl}"))
            } else {
                w(out, &format!("{status}{endl}\n"))
            }
        })();
        Ok(())
    }
}

fn has_text(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

/// Reads a JSON message stream to its end, showing each message on `out`. The first error
/// message ends it with that message as a [`StatusError`] (exit status 1).
pub async fn display_stream<S, W>(
    mut body: S,
    out: W,
    terminal: bool,
    mut on_aux: impl FnMut(&Value),
) -> Result<()>
where
    S: Stream<Item = std::result::Result<Bytes, ClientError>> + Unpin,
    W: Write,
{
    let mut decoder = Decoder::new();
    let mut display = Display::new(out, terminal);
    while let Some(chunk) = body.next().await {
        for jm in decoder.feed(&chunk?)? {
            display
                .message(&jm, &mut on_aux)
                .map_err(StatusError::new)?;
        }
    }
    display.finish();
    decoder.finish()
}

/// go's `JSONProgress.String`: `[====>     ]  1.2MB/4.5MB 3s` (bar only on wide terminals).
pub fn render_progress(p: &Progress, width: usize, now: i64) -> String {
    use berth_format::human_size;
    if p.current <= 0 && p.total <= 0 {
        return String::new();
    }
    if p.total <= 0 {
        return if p.units.is_empty() {
            format!("{:>8}", human_size(p.current))
        } else {
            format!("{} {}", p.current, p.units)
        };
    }
    let percentage = ((p.current as f64 / p.total as f64 * 100.0) as i64 / 2).clamp(0, 50) as usize;
    let bar = if width > 110 {
        format!(
            "[{}>{}] ",
            "=".repeat(percentage),
            " ".repeat(50 - percentage)
        )
    } else {
        String::new()
    };
    let numbers = if p.hide_counts {
        String::new()
    } else if p.units.is_empty() {
        if p.current > p.total {
            format!("{:>8}", human_size(p.current))
        } else {
            format!("{:>8}/{}", human_size(p.current), human_size(p.total))
        }
    } else if p.current > p.total {
        format!("{} {}", p.current, p.units)
    } else {
        format!("{}/{} {}", p.current, p.total, p.units)
    };
    let mut left = String::new();
    if p.current > 0 && p.start > 0 && percentage < 50 && width > 50 {
        let elapsed = (now - p.start).max(0) as f64;
        let secs = (elapsed / p.current as f64 * (p.total - p.current) as f64) as u64;
        left = format!(" {}", go_duration(Duration::from_secs(secs)));
    }
    format!("{bar}{numbers}{left}")
}

/// Go's `Duration.String` for whole seconds: `0s`, `45s`, `2m5s`, `1h0m3s`.
fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, m, sec) => format!("{h}h{m}m{sec}s"),
    }
}

/// docker's `RFC3339NanoFixed` in UTC: `2006-01-02T15:04:05.000000000Z`.
pub(crate) fn rfc3339_nano_fixed(nanos: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos as i128)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Columns of the terminal on stdout, as the kernel reports them (0 for a pty nobody sized),
/// or 200 when it cannot say: docker's choices.
fn terminal_width() -> usize {
    use nix::libc;
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we pass; fd 1 may be anything,
    // and a failing ioctl leaves it untouched.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if rc == 0 {
        ws.ws_col as usize
    } else {
        200
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show_all(
        input: &[&[u8]],
        terminal: bool,
    ) -> (String, std::result::Result<(), String>, Vec<Value>) {
        let mut out = Vec::new();
        let mut aux = Vec::new();
        let mut result = Ok(());
        {
            let mut decoder = Decoder::new();
            let mut display = Display::new(&mut out, terminal);
            display.width = 120;
            'outer: for chunk in input {
                for jm in decoder.feed(chunk).unwrap() {
                    if let Err(e) = display.message(&jm, &mut |v| aux.push(v.clone())) {
                        result = Err(e);
                        break 'outer;
                    }
                }
            }
        }
        (String::from_utf8(out).unwrap(), result, aux)
    }

    #[test]
    fn an_overall_bar_adds_up_the_layers_on_a_terminal() {
        let msgs: &[&[u8]] = &[
            br#"{"status":"Pulling fs layer","progressDetail":{},"id":"a"}"#,
            br#"{"status":"Pulling fs layer","progressDetail":{},"id":"b"}"#,
            br#"{"status":"Downloading","progressDetail":{"current":500000,"total":1000000},"id":"a"}"#,
            br#"{"status":"Downloading","progressDetail":{"current":0,"total":3000000},"id":"b"}"#,
            br#"{"status":"Pull complete","progressDetail":{},"id":"a"}"#,
        ];
        let (out, r, _) = show_all(msgs, true);
        assert!(r.is_ok());
        // a is complete (1 MB counted whole), b has 0 of 3 MB.
        assert!(out.contains("Total: "), "{out:?}");
        let last = out.rsplit("Total: ").next().unwrap();
        assert!(last.contains("1MB/4MB  1/2 layers"), "{out:?}");
        // Not on a pipe: no bar at all.
        let (out, _, _) = show_all(msgs, false);
        assert!(!out.contains("Total"), "{out:?}");
    }

    #[test]
    fn decodes_across_chunks_and_without_newlines() {
        let mut d = Decoder::new();
        assert!(d.feed(b"{\"stream\":\"Loa").unwrap().is_empty());
        let got = d
            .feed(b"ded image: a\\n\"}\n{\"status\":\"x\"}{\"id\":")
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].stream.as_deref(), Some("Loaded image: a\n"));
        assert_eq!(got[1].status.as_deref(), Some("x"));
        assert!(Decoder { buf: d.buf.clone() }.finish().is_err());
        let got = d.feed(b"\"abc\",\"unknown\":[1,2]}\r\n  ").unwrap();
        assert_eq!(got[0].id.as_deref(), Some("abc"));
        d.finish().unwrap();
        let mut d = Decoder::new();
        assert!(d.feed(b"{\"stream\": nope}").is_err());
    }

    #[test]
    fn shows_stream_and_status_like_docker() {
        let (out, res, _) = show_all(
            &[
                b"{\"stream\":\"Loaded image: busybox:latest\\n\"}\n",
                b"{\"status\":\"sha256:abc\"}\n",
                b"{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"l1\"}\n",
                b"{\"status\":\"Downloading\",\"progressDetail\":{\"current\":5,\"total\":10},\"progress\":\"[=>  ]\",\"id\":\"l1\"}\n",
                b"{\"status\":\"Old\",\"progress\":\"50%\"}\n",
                b"{\"status\":\"x\",\"from\":\"img\",\"timeNano\":1000000001}\n",
            ],
            false,
        );
        res.unwrap();
        assert_eq!(
            out,
            "Loaded image: busybox:latest\nsha256:abc\nl1: Pulling fs layer\nOld 50%\n\
             1970-01-01T00:00:01.000000001Z (from img) x\n"
        );
    }

    #[test]
    fn errors_end_the_display() {
        let (out, res, _) = show_all(
            &[
                b"{\"status\":\"before\"}\n",
                b"{\"errorDetail\":{\"message\":\"Error processing tar file(exit status 1): unexpected EOF\"},\"error\":\"ignored\"}\n",
                b"{\"status\":\"after\"}\n",
            ],
            false,
        );
        assert_eq!(out, "before\n");
        assert_eq!(
            res.unwrap_err(),
            "Error processing tar file(exit status 1): unexpected EOF"
        );
        let (_, res, _) = show_all(&[b"{\"error\":\"only the old field\"}"], false);
        assert_eq!(res.unwrap_err(), "only the old field");
        let jm: JsonMessage =
            serde_json::from_str(r#"{"errorDetail":{"code":2,"message":"m"}}"#).unwrap();
        assert_eq!(jm.error_message(), Some("m"));
        assert_eq!(jm.error_detail.unwrap().code, 2);
    }

    #[test]
    fn aux_goes_to_the_caller() {
        let (out, res, aux) = show_all(&[b"{\"aux\":{\"ID\":\"sha256:1\"}}\n"], false);
        res.unwrap();
        assert_eq!(out, "");
        assert_eq!(aux, vec![serde_json::json!({"ID": "sha256:1"})]);
    }

    #[test]
    fn terminal_progress_is_drawn_in_place() {
        let (out, res, _) = show_all(
            &[
                b"{\"status\":\"Loading layer\",\"progressDetail\":{\"current\":500,\"total\":1000},\"id\":\"l1\"}\n",
                b"{\"status\":\"Loading layer\",\"progressDetail\":{\"current\":1000,\"total\":1000},\"id\":\"l1\"}\n",
                b"{\"stream\":\"Loaded image: a\\n\"}\n",
            ],
            true,
        );
        res.unwrap();
        let bar = |n: usize| format!("[{}>{}] ", "=".repeat(n), " ".repeat(50 - n));
        assert_eq!(
            out,
            format!(
                "\n\x1b[1A\x1b[2K\rl1: Loading layer {}    500B/1kB\r\x1b[1B\
                 \x1b[1A\x1b[2K\rl1: Loading layer {}     1kB/1kB\r\x1b[1B\
                 Loaded image: a\n",
                bar(25),
                bar(50)
            )
        );
    }

    #[test]
    fn progress_rendering() {
        let p = |current, total| Progress {
            current,
            total,
            ..Progress::default()
        };
        assert_eq!(render_progress(&p(0, 0), 200, 0), "");
        assert_eq!(render_progress(&p(1500, 0), 200, 0), "   1.5kB");
        assert_eq!(render_progress(&p(20, 10), 80, 0), "     20B");
        assert_eq!(render_progress(&p(5, 10), 80, 0), "      5B/10B");
        let q = Progress {
            current: 1,
            total: 4,
            start: 100,
            units: "items".into(),
            ..Progress::default()
        };
        assert_eq!(render_progress(&q, 80, 130), "1/4 items 1m30s");
        assert_eq!(go_duration(Duration::from_secs(3603)), "1h0m3s");
    }
}
