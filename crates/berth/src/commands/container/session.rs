//! An attached session: the hijacked stream pumped to and from our stdio, the terminal in
//! raw mode with its size sent to the daemon, signals forwarded, the exit status waited
//! for. Shared by `run`, `start -a`, `attach` and `exec`.

use std::time::Duration;

use anyhow::Result;
use berth_client::{read_body, Client, ClientError, Hijacked, Query};
use http::Method;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::container_path;
use crate::error::StatusError;
use crate::streams::{self, DetachMatcher};

/// Which streams to attach, and how.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
    /// The user's `--detach-keys` (also passed to the daemon).
    pub detach_keys: Option<String>,
}

impl Spec {
    /// `POST /containers/{id}/attach?stream=1&stdin=…&stdout=…&stderr=…`.
    pub fn attach_path(&self, id: &str) -> String {
        Query::new()
            .add("stream", "1")
            .add_if(self.stdin, "stdin", "1")
            .add_if(self.stdout, "stdout", "1")
            .add_if(self.stderr, "stderr", "1")
            .add_opt("detachKeys", self.detach_keys.clone())
            .with_path(&container_path(id, "/attach"))
    }

    /// The detach sequence watched for on stdin: only with a TTY, like docker.
    pub fn escape_keys(&self) -> Result<Option<Vec<u8>>, StatusError> {
        if !(self.tty && self.stdin) {
            return Ok(None);
        }
        match &self.detach_keys {
            Some(k) => streams::parse_detach_keys(k)
                .map(Some)
                .map_err(|e| StatusError::with_code(125, e)),
            None => Ok(Some(streams::DEFAULT_DETACH_KEYS.to_vec())),
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The output stream closed (the process exited, or the daemon hung up).
    Output,
    /// The user typed the detach sequence.
    Detached,
}

/// Attaches to a container; `Ok(None)` when the daemon has no attach endpoint at all
/// (a 404 that is not about the container), so the caller can fall back to logs.
pub async fn attach(client: &Client, id: &str, spec: &Spec) -> Result<Option<Hijacked>> {
    match client
        .hijack(Method::POST, &spec.attach_path(id), None)
        .await
    {
        Ok(h) => Ok(Some(h)),
        Err(ClientError::Api {
            status: 404,
            message,
        }) if message.starts_with("page not found") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Pumps our stdin into the stream and the stream to our stdout/stderr until the output
/// ends or the user detaches.
pub async fn pump(h: Hijacked, spec: &Spec) -> Result<Ended> {
    let escape = spec.escape_keys()?;
    let Hijacked { reader, writer, .. } = h;
    let tty = spec.tty;
    let output = async move {
        let mut out = tokio::io::stdout();
        let mut err = tokio::io::stderr();
        streams::copy_output(reader, tty, &mut out, &mut err).await
    };
    let input = async move {
        let Some(mut writer) = writer.filter(|_| spec.stdin) else {
            return std::future::pending::<Result<Ended>>().await;
        };
        let mut matcher = DetachMatcher::new(escape.unwrap_or_default());
        let mut chunks = streams::stdin_chunks();
        while let Some(chunk) = chunks.recv().await {
            let (forward, detached) = matcher.feed(&chunk);
            if !forward.is_empty() && writer.write_all(&forward).await.is_err() {
                break;
            }
            let _ = writer.flush().await;
            if detached {
                return Ok(Ended::Detached);
            }
        }
        // EOF on our stdin: half-close, so the process sees EOF too; keep the output.
        let _ = writer.shutdown().await;
        std::future::pending::<Result<Ended>>().await
    };
    tokio::select! {
        r = output => r.map(|_| Ended::Output),
        r = input => r,
    }
}

/// `GET …/logs?follow=1`: the output of a started container for daemons without attach.
pub async fn follow_logs(client: &Client, id: &str, spec: &Spec) -> Result<Ended> {
    let path = Query::new()
        .add("follow", "1")
        .add_if(spec.stdout, "stdout", "1")
        .add_if(spec.stderr, "stderr", "1")
        .with_path(&container_path(id, "/logs"));
    let resp = client.request(Method::GET, &path, None).await?;
    let reader = body_reader(resp);
    let mut out = tokio::io::stdout();
    let mut err = tokio::io::stderr();
    streams::copy_output(reader, spec.tty, &mut out, &mut err).await?;
    Ok(Ended::Output)
}

/// A response body as an `AsyncRead`.
pub fn body_reader(
    resp: http::Response<hyper::body::Incoming>,
) -> impl tokio::io::AsyncRead + Unpin + Send + 'static {
    use futures_util::StreamExt;
    let (mut tx, rx) = tokio::io::duplex(64 * 1024);
    let mut chunks = berth_client::body_stream(resp);
    tokio::spawn(async move {
        while let Some(Ok(chunk)) = chunks.next().await {
            if tx.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = tx.shutdown().await;
    });
    rx
}

/// A pending `POST /containers/{id}/wait`.
pub struct Waiter {
    handle: JoinHandle<Result<i64, anyhow::Error>>,
}

impl Waiter {
    /// Sends the wait request. Returns once the daemon has answered with headers (dockerd
    /// sends them at once, so the wait is surely registered before the container starts),
    /// or after a short grace period for daemons that hold the headers back until the exit.
    pub async fn start(client: &Client, id: &str, condition: &str) -> Waiter {
        let path = Query::new()
            .add("condition", condition)
            .with_path(&container_path(id, "/wait"));
        let (tx, rx) = oneshot::channel();
        let client = client.clone();
        let handle = tokio::spawn(async move {
            let resp = client.request(Method::POST, &path, None).await;
            let _ = tx.send(());
            let body: Value = serde_json::from_slice(&read_body(resp?).await?)
                .map_err(|e| anyhow::anyhow!("unexpected wait answer: {e}"))?;
            if let Some(msg) = body["Error"]["Message"].as_str().filter(|m| !m.is_empty()) {
                anyhow::bail!("{msg}");
            }
            Ok(body["StatusCode"].as_i64().unwrap_or(0))
        });
        let _ = tokio::time::timeout(Duration::from_millis(100), rx).await;
        Waiter { handle }
    }

    /// The exit status. When `poll` is set, also watches the container's state, so a
    /// daemon that misses the exit (the container was already gone when the wait got
    /// there) cannot hang us: once inspect shows it exited, its `ExitCode` is used after a
    /// grace period.
    pub async fn status(self, client: &Client, id: &str, poll: bool) -> Result<i64> {
        let mut handle = self.handle;
        let watch = async {
            if !poll {
                return std::future::pending::<Result<i64>>().await;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let Ok(v) = client.get_json::<Value>(&container_path(id, "/json")).await else {
                    continue;
                };
                let st = &v["State"];
                if st["Running"] == false
                    && matches!(st["Status"].as_str(), Some("exited" | "dead"))
                {
                    tokio::time::sleep(Duration::from_millis(1000)).await;
                    return Ok(st["ExitCode"].as_i64().unwrap_or(0));
                }
            }
        };
        tokio::select! {
            r = &mut handle => r.map_err(anyhow::Error::from)?,
            r = watch => r,
        }
    }

    pub fn abort(&self) {
        self.handle.abort();
    }
}

/// Sends the terminal's size to `{prefix}/resize` (prefix `/containers/ID` or `/exec/ID`).
pub async fn resize(client: &Client, prefix: &str) {
    if let Some((h, w)) = crate::term::size() {
        let path = Query::new()
            .add("h", h.to_string())
            .add("w", w.to_string())
            .with_path(&format!("{prefix}/resize"));
        let _ = client.post(&path).await;
    }
}

/// Resizes now and on every SIGWINCH until aborted.
pub fn monitor_size(client: &Client, prefix: String) -> JoinHandle<()> {
    let client = client.clone();
    tokio::spawn(async move {
        resize(&client, &prefix).await;
        let Ok(mut winch) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while winch.recv().await.is_some() {
            resize(&client, &prefix).await;
        }
    })
}

/// docker's `ForwardAllSignals` for the signals a user sends: each is passed on with
/// `POST /containers/{id}/kill?signal=NAME` until aborted.
pub fn proxy_signals(client: &Client, id: &str) -> JoinHandle<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let client = client.clone();
    let path = container_path(id, "/kill");
    tokio::spawn(async move {
        let kinds = [
            (SignalKind::interrupt(), "SIGINT"),
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::hangup(), "SIGHUP"),
            (SignalKind::quit(), "SIGQUIT"),
            (SignalKind::user_defined1(), "SIGUSR1"),
            (SignalKind::user_defined2(), "SIGUSR2"),
        ];
        let (tx, mut rx) = tokio::sync::mpsc::channel::<&'static str>(8);
        for (kind, name) in kinds {
            let Ok(mut s) = signal(kind) else { continue };
            let tx = tx.clone();
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    if tx.send(name).await.is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        while let Some(name) = rx.recv().await {
            let p = Query::new().add("signal", name).with_path(&path);
            let _ = client.post(&p).await;
        }
    })
}

/// docker's `runStartContainerErr`: a command that cannot be found exits 127, one that
/// cannot be invoked 126, any other start failure 125.
pub fn start_error(e: &anyhow::Error, command: &str) -> StatusError {
    let text = e.to_string();
    let trimmed = text
        .strip_prefix("Error response from daemon: ")
        .unwrap_or(&text);
    let code = if trimmed.contains("executable file not found")
        || trimmed.contains("no such file or directory")
    {
        127
    } else if trimmed.contains("permission denied") || trimmed.contains("is a directory") {
        126
    } else {
        125
    };
    StatusError::with_code(
        code,
        format!("berth: {text}\n\nRun 'berth {command} --help' for more information"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_queries() {
        let s = Spec {
            stdin: true,
            stdout: true,
            stderr: false,
            tty: true,
            detach_keys: Some("ctrl-a,a".into()),
        };
        assert_eq!(
            s.attach_path("web"),
            "/containers/web/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-a%2Ca"
        );
        assert_eq!(s.escape_keys().unwrap(), Some(vec![1, b'a']));
        let s = Spec {
            stdout: true,
            stderr: true,
            ..Spec::default()
        };
        assert_eq!(
            s.attach_path("x"),
            "/containers/x/attach?stream=1&stdout=1&stderr=1"
        );
        assert_eq!(s.escape_keys().unwrap(), None, "no detach keys without -it");
        let bad = Spec {
            stdin: true,
            tty: true,
            detach_keys: Some("nope".into()),
            ..Spec::default()
        };
        assert_eq!(bad.escape_keys().unwrap_err().code, 125);
    }

    #[test]
    fn start_errors_map_to_126_and_127() {
        let e = |m: &str| start_error(&anyhow::anyhow!("Error response from daemon: {m}"), "run");
        assert_eq!(
            e("failed to create task: exec: \"nosuch\": executable file not found in $PATH").code,
            127
        );
        assert_eq!(e("exec /bin/x: no such file or directory").code, 127);
        assert_eq!(e("exec /etc: permission denied").code, 126);
        assert_eq!(e("cgroup trouble").code, 125);
        assert!(e("cgroup trouble")
            .message
            .starts_with("berth: Error response from daemon: cgroup trouble"));
    }
}
