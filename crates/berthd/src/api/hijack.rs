//! Docker's connection hijack: `attach` and `exec start` answer `101 Switching Protocols`
//! (`Upgrade: tcp`) and the HTTP connection becomes the process's raw stdio stream.
//! Clients that do not ask for the upgrade get the output as a streamed 200 body instead
//! (no input then).

use std::future::Future;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::io::DuplexStream;

/// The stream's content type: raw with a TTY, Docker's 8-byte-header frames without.
pub fn stream_content_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// Whether the client asked to upgrade the connection.
pub fn wants_upgrade(req: &Request) -> bool {
    req.headers().contains_key(header::UPGRADE)
}

/// The stream a session runs on: the upgraded connection, or the write side of a pipe
/// whose read side is the response body.
pub enum Conn {
    Upgraded(TokioIo<hyper::upgrade::Upgraded>),
    Body(DuplexStream),
}

/// Answers the request with the hijack response and runs `session` on the connection once
/// it is handed over. `on_fail` runs instead when the upgrade does not happen.
pub fn hijack<S, Fut>(
    req: &mut Request,
    tty: bool,
    session: S,
    on_fail: impl FnOnce() + Send + 'static,
) -> Response
where
    S: FnOnce(Conn) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let ct = HeaderValue::from_static(stream_content_type(tty));
    if wants_upgrade(req) {
        let upgrade = hyper::upgrade::on(req);
        tokio::spawn(async move {
            match upgrade.await {
                Ok(up) => session(Conn::Upgraded(TokioIo::new(up))).await,
                Err(e) => {
                    tracing::debug!(error = %e, "hijack: upgrade failed");
                    on_fail();
                }
            }
        });
        let mut resp = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let h = resp.headers_mut();
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("tcp"));
        h.insert(header::CONTENT_TYPE, ct);
        return resp;
    }
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(session(Conn::Body(ours)));
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(theirs));
    let mut resp = body.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    resp
}
