//! HTTP/1.1 to registries: hyper's pooled client over plain TCP or rustls (ring provider
//! only), one client per TLS setting. Connection failures (DNS, refused, timeout, TLS
//! handshake) become [`RegistryError::Unreachable`], so callers know to try the next
//! endpoint.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::RegistryError;

/// A request body: empty, in memory, or streamed from a file.
pub type ReqBody = UnsyncBoxBody<Bytes, io::Error>;

/// How long a TCP connect (and TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

pub fn empty() -> ReqBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub fn full(bytes: impl Into<Bytes>) -> ReqBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A pooled HTTP client with one TLS setting.
#[derive(Clone)]
pub struct Transport {
    client: Client<Connector, ReqBody>,
}

impl Transport {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(Connector {
                tls: TlsConnector::from(tls),
            });
        Self { client }
    }

    /// Sends one request; no redirects, no auth.
    pub async fn send(&self, req: Request<ReqBody>) -> Result<Response<Incoming>, RegistryError> {
        let method = req.method().to_string();
        let uri = req.uri().clone();
        self.client.request(req).await.map_err(|e| {
            let reason = error_chain(&e);
            if e.is_connect() {
                RegistryError::Unreachable {
                    method: http_method_name(&method),
                    url: uri.to_string(),
                    host: uri.authority().map(|a| a.to_string()).unwrap_or_default(),
                    reason,
                }
            } else {
                RegistryError::Transport {
                    method: http_method_name(&method),
                    url: uri.to_string(),
                    reason,
                }
            }
        })
    }
}

/// Go's way of naming methods in errors: `Get "https://…/v2/"`.
pub fn http_method_name(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(first) => first
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// The innermost causes of an error, joined (hyper wraps the useful part).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !s.is_empty() && !parts.iter().any(|p: &String| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    // "client error (Connect)" says nothing: keep the causes.
    if parts.len() > 1 {
        parts.remove(0);
    }
    parts.join(": ")
}

#[derive(Clone)]
struct Connector {
    tls: TlsConnector,
}

impl tower::Service<Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        Box::pin(async move {
            let https = uri.scheme_str() == Some("https");
            let host = uri
                .host()
                .ok_or_else(|| io::Error::other(format!("no host in {uri}")))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
            let connect = async {
                let tcp = TcpStream::connect((host.as_str(), port)).await?;
                tcp.set_nodelay(true)?;
                if !https {
                    return Ok(Stream::Plain(tcp));
                }
                let name = ServerName::try_from(host.clone())
                    .map_err(|e| io::Error::other(format!("invalid server name {host:?}: {e}")))?;
                let s = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| io::Error::other(format!("TLS handshake failed: {e}")))?;
                Ok(Stream::Tls(Box::new(s)))
            };
            match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                Ok(r) => r.map(TokioIo::new),
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
                )),
            }
        })
    }
}

/// A connection: plain TCP or TLS over TCP.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}
