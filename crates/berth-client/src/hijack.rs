//! Hijacked connections: `attach` and `exec start` turn their HTTP connection into a raw,
//! bidirectional byte stream. The request carries `Connection: Upgrade` and
//! `Upgrade: tcp`; the daemon answers `101 Switching Protocols` and from then on the
//! socket carries the container's output one way and its stdin the other (multiplexed
//! 8-byte-header frames without a TTY, raw bytes with one).
//!
//! Older daemons answer `200 OK` and stream the output as the response body instead; that
//! is handled too, as a read-only stream (stdin cannot be sent over it).

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::{api_error, body_stream, Client, ClientError};

/// How much of an old-style streamed body may be buffered between the network and the
/// reader.
const PIPE_CAPACITY: usize = 64 * 1024;

/// The two halves of a hijacked connection.
pub struct Hijacked {
    /// The daemon's side: container output.
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
    /// Our side: the container's stdin. `None` when the daemon did not upgrade the
    /// connection (an old-style `200` stream has no way back).
    pub writer: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    /// The response's `Content-Type`, when the daemon sent one
    /// (`application/vnd.docker.raw-stream` or `…multiplexed-stream`).
    pub content_type: Option<String>,
}

impl Client {
    /// Sends a versioned request asking to upgrade the connection and returns the raw
    /// stream. A JSON `body` is sent as the request body (`exec start` takes one). An error
    /// status becomes [`ClientError::Api`] as with [`Client::request`].
    pub async fn hijack(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Hijacked, ClientError> {
        let body = body
            .map(|b| serde_json::to_vec(b).map(|v| (Bytes::from(v), "application/json")))
            .transpose()
            .map_err(|e| ClientError::Request(e.to_string()))?;
        let v = self.api_version().await?;
        let path = format!("/v{v}{path_and_query}");
        let resp = self
            .send(
                method.clone(),
                &path,
                body,
                &[("Connection", "Upgrade"), ("Upgrade", "tcp")],
            )
            .await?;
        let content_type = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let upgraded = hyper::upgrade::on(resp)
                .await
                .map_err(|e| ClientError::Transport(format!("upgrading the connection: {e}")))?;
            let (reader, writer) = tokio::io::split(TokioIo::new(upgraded));
            return Ok(Hijacked {
                reader: Box::pin(reader),
                writer: Some(Box::pin(writer)),
                content_type,
            });
        }
        if !resp.status().is_success() {
            return Err(crate::unknown_route_hint(
                api_error(resp).await,
                &method,
                path_and_query,
            ));
        }
        // Old style: the output is the response body. Pipe it into a reader.
        let (mut tx, rx) = tokio::io::duplex(PIPE_CAPACITY);
        let mut chunks = body_stream(resp);
        tokio::spawn(async move {
            while let Some(chunk) = chunks.next().await {
                let Ok(chunk) = chunk else { break };
                if tx.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = tx.shutdown().await;
        });
        Ok(Hijacked {
            reader: Box::pin(rx),
            writer: None,
            content_type,
        })
    }
}

/// Whether an I/O error only means the other side went away (not worth reporting when a
/// stream ends).
pub fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
            | io::ErrorKind::UnexpectedEof
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Endpoint;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    use tokio::net::UnixListener;

    /// A one-connection fake daemon: answers `/_ping`, then the hijack request with `head`,
    /// then (for a 101) echoes what it reads back in upper case.
    async fn fake_daemon(head: &'static str, tail: &'static [u8]) -> (tempfile::TempDir, Client) {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("d.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        tokio::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut r = BufReader::new(s);
                    let mut first = String::new();
                    r.read_line(&mut first).await.unwrap();
                    let mut upgrade = false;
                    loop {
                        let mut l = String::new();
                        r.read_line(&mut l).await.unwrap();
                        if l.to_ascii_lowercase().starts_with("upgrade: tcp") {
                            upgrade = true;
                        }
                        if l == "\r\n" {
                            break;
                        }
                    }
                    if first.contains("/_ping") {
                        r.get_mut()
                            .write_all(b"HTTP/1.1 200 OK\r\nApi-Version: 1.47\r\nContent-Length: 2\r\n\r\nOK")
                            .await
                            .unwrap();
                        return;
                    }
                    assert!(upgrade, "the hijack request asks for an upgrade");
                    r.get_mut().write_all(head.as_bytes()).await.unwrap();
                    r.get_mut().write_all(tail).await.unwrap();
                    if head.contains(" 101 ") {
                        let mut buf = [0u8; 64];
                        loop {
                            let n = r.read(&mut buf).await.unwrap();
                            if n == 0 {
                                break;
                            }
                            let up = buf[..n].to_ascii_uppercase();
                            r.get_mut().write_all(&up).await.unwrap();
                        }
                    }
                    let _ = r.get_mut().shutdown().await;
                });
            }
        });
        let client = Client::new(Endpoint::Unix(sock));
        (dir, client)
    }

    #[tokio::test]
    async fn upgrades_to_a_raw_bidirectional_stream() {
        let (_dir, client) = fake_daemon(
            "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
            b"hello ",
        )
        .await;
        let mut h = client
            .hijack(Method::POST, "/containers/x/attach?stream=1", None)
            .await
            .unwrap();
        assert_eq!(
            h.content_type.as_deref(),
            Some("application/vnd.docker.raw-stream")
        );
        let mut w = h.writer.take().unwrap();
        w.write_all(b"world").await.unwrap();
        w.shutdown().await.unwrap();
        let mut out = Vec::new();
        h.reader.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"hello WORLD");
    }

    #[tokio::test]
    async fn old_style_200_streams_read_only() {
        let (_dir, client) = fake_daemon(
            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\nContent-Length: 5\r\n\r\n",
            b"hello",
        )
        .await;
        let mut h = client
            .hijack(Method::POST, "/containers/x/attach?stream=1", None)
            .await
            .unwrap();
        assert!(h.writer.is_none());
        let mut out = Vec::new();
        h.reader.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"hello");
    }

    #[tokio::test]
    async fn errors_are_api_errors() {
        let (_dir, client) = fake_daemon(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 37\r\n\r\n",
            br#"{"message":"No such container: nope"}"#,
        )
        .await;
        let e = client
            .hijack(Method::POST, "/containers/nope/attach", None)
            .await
            .err()
            .unwrap();
        assert_eq!(e.status(), Some(404));
        assert_eq!(
            e.to_string(),
            "Error response from daemon: No such container: nope"
        );
    }
}
