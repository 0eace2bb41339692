//! Where the daemon is and how to reach it.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::ClientError;

/// TLS settings for a TCP endpoint (docker's `--tls`/`--tlsverify` and cert flags).
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Verify the daemon's certificate against `ca` (`--tlsverify`).
    pub verify: bool,
    pub ca: Option<PathBuf>,
    /// Client certificate and key, if any.
    pub identity: Option<(PathBuf, PathBuf)>,
}

/// A daemon address.
#[derive(Clone)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp {
        host: String,
        port: u16,
        tls: Option<Arc<rustls::ClientConfig>>,
    },
}

impl Endpoint {
    /// Parses `unix:///path`, `/path`, `tcp://host:port` (docker's `-H` syntax). TLS options
    /// apply to TCP only; `tls` None means plain TCP.
    pub fn parse(addr: &str, tls: Option<&TlsOptions>) -> Result<Self, ClientError> {
        if let Some(p) = addr.strip_prefix("unix://") {
            if !p.starts_with('/') {
                return Err(ClientError::Request(format!(
                    "invalid host {addr:?}: the socket path must be absolute, e.g. unix:///run/berth/berth.sock"
                )));
            }
            return Ok(Self::Unix(PathBuf::from(p)));
        }
        if addr.starts_with('/') {
            return Ok(Self::Unix(PathBuf::from(addr)));
        }
        let Some(hp) = addr.strip_prefix("tcp://") else {
            return Err(ClientError::Request(format!(
                "invalid host {addr:?}: use unix:///path/to.sock or tcp://host:port"
            )));
        };
        let hp = hp.trim_end_matches('/');
        let default_port = if tls.is_some() { 2376 } else { 2375 };
        let (host, port) = match hp.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !p.contains(']') => (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                p.parse::<u16>().map_err(|_| {
                    ClientError::Request(format!("invalid host {addr:?}: bad port {p:?}"))
                })?,
            ),
            _ if !hp.is_empty() => (hp.to_string(), default_port),
            _ => {
                return Err(ClientError::Request(format!(
                    "invalid host {addr:?}: no host name"
                )))
            }
        };
        let tls = match tls {
            None => None,
            Some(t) => Some(berth_tls::client_config(
                t.ca.as_deref(),
                t.identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
                t.verify,
            )?),
        };
        Ok(Self::Tcp { host, port, tls })
    }

    pub(crate) async fn connect(&self) -> Result<Stream, ClientError> {
        match self {
            Endpoint::Unix(path) => UnixStream::connect(path)
                .await
                .map(Stream::Unix)
                .map_err(|e| self.connect_error(e)),
            Endpoint::Tcp { host, port, tls } => {
                let tcp = TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| self.connect_error(e))?;
                let _ = tcp.set_nodelay(true);
                let Some(cfg) = tls else {
                    return Ok(Stream::Tcp(tcp));
                };
                let name = ServerName::try_from(host.clone()).map_err(|_| {
                    ClientError::Request(format!("invalid TLS server name {host:?}"))
                })?;
                let connector = tokio_rustls::TlsConnector::from(cfg.clone());
                connector
                    .connect(name, tcp)
                    .await
                    .map(|s| Stream::Tls(Box::new(s)))
                    .map_err(|e| ClientError::Connect {
                        endpoint: self.to_string(),
                        reason: format!("TLS handshake failed: {e}"),
                    })
            }
        }
    }

    pub(crate) fn connect_error(&self, e: std::io::Error) -> ClientError {
        let reason = match e.kind() {
            std::io::ErrorKind::PermissionDenied => {
                format!("{e} (the socket is root-only: run as root or join its group)")
            }
            _ => e.to_string(),
        };
        ClientError::Connect {
            endpoint: self.to_string(),
            reason,
        }
    }

    pub(crate) fn host_header(&self) -> String {
        match self {
            // dockerd ignores Host on unix sockets; docker sends "api.moby.localhost".
            Endpoint::Unix(_) => "api.moby.localhost".to_string(),
            Endpoint::Tcp { host, port, .. } => format!("{host}:{port}"),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix://{}", p.display()),
            Endpoint::Tcp { host, port, .. } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// A connected byte stream to the daemon.
pub(crate) enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Stream::Unix($s) => {
                let $s = Pin::new($s);
                $e
            }
            Stream::Tcp($s) => {
                let $s = Pin::new($s);
                $e
            }
            Stream::Tls($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
        }
    };
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        delegate!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        delegate!(self, s => s.poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        delegate!(self, s => s.poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        delegate!(self, s => s.poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts() {
        assert_eq!(
            Endpoint::parse("unix:///run/x.sock", None)
                .unwrap()
                .to_string(),
            "unix:///run/x.sock"
        );
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:1234", None)
                .unwrap()
                .to_string(),
            "tcp://127.0.0.1:1234"
        );
        assert_eq!(
            Endpoint::parse("tcp://example.test", None)
                .unwrap()
                .to_string(),
            "tcp://example.test:2375"
        );
        assert!(Endpoint::parse("ssh://x", None).is_err());
        assert!(Endpoint::parse("unix://rel", None).is_err());
    }

    #[tokio::test]
    async fn connect_error_names_the_socket() {
        let e = Endpoint::parse("unix:///nonexistent/berth-test.sock", None).unwrap();
        let err = crate::Client::new(e).api_version().await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unix:///nonexistent/berth-test.sock"), "{msg}");
        assert!(msg.contains("Is berthd running?"), "{msg}");
    }
}
