//! Listener addresses (`-H unix:///path`, `-H tcp://host:port`) and binding them.

use std::fmt;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Port dockerd uses for TLS when `tcp://host` has no port.
const DEFAULT_TLS_PORT: u16 = 2376;

/// One address berthd listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    Unix(PathBuf),
    Tcp(String),
}

impl ListenAddr {
    /// Parses dockerd's `-H` syntax: `unix:///path`, `unix://` (default socket), `/path`,
    /// `tcp://host:port`, `tcp://:port` (all interfaces).
    pub fn parse(s: &str) -> Result<Self> {
        if let Some(path) = s.strip_prefix("unix://") {
            let path = if path.is_empty() {
                crate::config::DEFAULT_SOCKET
            } else {
                path
            };
            if !path.starts_with('/') {
                bail!("invalid listen address {s:?}: the socket path must be absolute");
            }
            Ok(Self::Unix(PathBuf::from(path)))
        } else if s.starts_with('/') {
            Ok(Self::Unix(PathBuf::from(s)))
        } else if let Some(hp) = s.strip_prefix("tcp://") {
            let hp = hp.trim_end_matches('/');
            let (host, port) = match hp.rsplit_once(':') {
                Some((h, p)) if !p.contains(']') => (
                    h,
                    p.parse::<u16>()
                        .with_context(|| format!("invalid listen address {s:?}: bad port {p:?}"))?,
                ),
                _ => (hp, DEFAULT_TLS_PORT),
            };
            let host = if host.is_empty() { "0.0.0.0" } else { host };
            Ok(Self::Tcp(format!("{host}:{port}")))
        } else if s.starts_with("fd://") {
            bail!("invalid listen address {s:?}: fd:// (systemd socket activation) is not supported; use unix:// or tcp://")
        } else {
            bail!("invalid listen address {s:?}: use unix:///path/to.sock or tcp://host:port")
        }
    }

    pub fn is_tcp(&self) -> bool {
        matches!(self, Self::Tcp(_))
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(p) => write!(f, "unix://{}", p.display()),
            Self::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

/// A bound listener.
pub enum Bound {
    Unix(tokio::net::UnixListener, PathBuf),
    Tcp(tokio::net::TcpListener, SocketAddr),
}

/// Binds a unix socket: creates the parent directory (0755), replaces a stale socket file
/// (one nobody answers on), refuses to steal a live one, and sets mode 0660.
pub async fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener> {
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .with_context(|| format!("cannot create socket directory {}", parent.display()))?;
    }
    if path.exists() {
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            bail!(
                "{} is in use by a running daemon; stop it or choose another socket with -H",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("cannot listen on unix://{}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("cannot chmod {}", path.display()))?;
    Ok(listener)
}

/// Binds every address; on any failure the sockets already created are removed.
pub async fn bind_all(addrs: &[ListenAddr]) -> Result<Vec<Bound>> {
    let mut bound = Vec::new();
    for addr in addrs {
        let result = match addr {
            ListenAddr::Unix(path) => bind_unix(path).await.map(|l| Bound::Unix(l, path.clone())),
            ListenAddr::Tcp(a) => match tokio::net::TcpListener::bind(a).await {
                Ok(l) => {
                    let local = l.local_addr()?;
                    Ok(Bound::Tcp(l, local))
                }
                Err(e) => Err(anyhow::Error::new(e).context(format!("cannot listen on {addr}"))),
            },
        };
        match result {
            Ok(b) => bound.push(b),
            Err(e) => {
                remove_sockets(&socket_paths(&bound));
                return Err(e);
            }
        }
    }
    Ok(bound)
}

/// The socket files of the unix listeners among `bound`.
pub fn socket_paths(bound: &[Bound]) -> Vec<PathBuf> {
    bound
        .iter()
        .filter_map(|b| match b {
            Bound::Unix(_, path) => Some(path.clone()),
            Bound::Tcp(..) => None,
        })
        .collect()
}

/// Removes socket files (on shutdown or failed start-up).
pub fn remove_sockets(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dockerd_syntax() {
        assert_eq!(
            ListenAddr::parse("unix:///tmp/a.sock").unwrap(),
            ListenAddr::Unix("/tmp/a.sock".into())
        );
        assert_eq!(
            ListenAddr::parse("tcp://127.0.0.1:2376").unwrap(),
            ListenAddr::Tcp("127.0.0.1:2376".into())
        );
        assert_eq!(
            ListenAddr::parse("tcp://:2375").unwrap(),
            ListenAddr::Tcp("0.0.0.0:2375".into())
        );
        assert_eq!(
            ListenAddr::parse("tcp://localhost").unwrap(),
            ListenAddr::Tcp("localhost:2376".into())
        );
        assert!(ListenAddr::parse("tcp://h:notaport").is_err());
        assert!(ListenAddr::parse("http://x").is_err());
        assert!(ListenAddr::parse("unix://relative.sock").is_err());
    }

    #[tokio::test]
    async fn stale_socket_is_replaced_but_live_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/d.sock");
        let live = bind_unix(&path).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        assert!(bind_unix(&path).await.is_err());
        drop(live); // the file stays behind, as after a crash
        assert!(path.exists());
        bind_unix(&path).await.unwrap();
    }
}
