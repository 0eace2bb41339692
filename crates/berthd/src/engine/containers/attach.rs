//! `POST /containers/{id}/attach`: joins a client's hijacked connection to the container's
//! stdio through its shim.
//!
//! The docker CLI attaches *before* it starts the container (`docker run`, `docker start
//! -a`), so an attach to a container that is not running waits for its next start. While
//! such a client waits, the start asks the shim to keep the output it produces before the
//! client is connected (`--replay-buffer`), so nothing printed at once is lost.
//!
//! The detach keys (`ctrl-p,ctrl-q` by default) are recognised here, in the daemon, as
//! dockerd does: the client only sees its connection closed.

use std::sync::Arc;

use berth_api::detach::{DetachMatcher, DEFAULT_DETACH_KEYS};
use berth_api::ApiError;
use berth_runtime::ContainerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::shim::{self, AttachStreams};
use crate::engine::Engine;

#[derive(Debug, Clone)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Send the log so far first (`logs=1`).
    pub logs: bool,
    /// Stay attached to the live streams (`stream=1`).
    pub stream: bool,
    pub detach_keys: Vec<u8>,
}

/// How an attach session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ProxyEnd {
    /// The process's output ended (it exited).
    Exited,
    /// The client typed the detach keys.
    Detached,
    /// The client went away.
    ClientGone,
}

/// Parses Docker's detach-key syntax (`ctrl-p,ctrl-q`); empty means the default.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>, ApiError> {
    if s.is_empty() {
        return Ok(DEFAULT_DETACH_KEYS.to_vec());
    }
    berth_api::detach::parse_detach_keys(s).map_err(ApiError::invalid)
}

/// Joins `client` and the shim's attach stream until the output ends, the client detaches
/// or goes away. The client's end of input is passed on as a half-close (the shim closes
/// the process's stdin then when asked for `stdin_once`). When the output ends,
/// `before_close` runs before the client sees the end of the stream (exec records its exit
/// code there: the docker CLI asks for it as soon as the stream ends).
pub async fn proxy<C, F>(
    client: C,
    shim: tokio::net::UnixStream,
    detach_keys: Option<Vec<u8>>,
    before_close: F,
) -> ProxyEnd
where
    C: AsyncRead + AsyncWrite + Send + 'static,
    F: std::future::Future<Output = ()>,
{
    let (mut client_r, mut client_w) = tokio::io::split(client);
    let (mut shim_r, mut shim_w) = shim.into_split();
    let output = async {
        let r = tokio::io::copy(&mut shim_r, &mut client_w).await;
        before_close.await;
        let _ = client_w.flush().await;
        let _ = client_w.shutdown().await;
        match r {
            Ok(_) => ProxyEnd::Exited,
            Err(_) => ProxyEnd::ClientGone,
        }
    };
    let input = async {
        let mut escape = detach_keys.map(DetachMatcher::new);
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match client_r.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    let _ = shim_w.shutdown().await;
                    // Keep delivering output: the process may still be writing.
                    return std::future::pending::<ProxyEnd>().await;
                }
                Ok(n) => n,
            };
            let (data, detach) = match escape.as_mut() {
                Some(e) => e.feed(&buf[..n]),
                None => (buf[..n].to_vec(), false),
            };
            if !data.is_empty() && shim_w.write_all(&data).await.is_err() {
                return std::future::pending::<ProxyEnd>().await;
            }
            if detach {
                return ProxyEnd::Detached;
            }
        }
    };
    tokio::select! {
        end = output => end,
        end = input => end,
    }
}

impl Engine {
    /// Checks an attach request before the connection is hijacked (404 for an unknown
    /// container) and registers the client as waiting for the container's output.
    pub fn attach_prepare(
        &self,
        name: &str,
        opts: &AttachOptions,
    ) -> Result<AttachTicket, ApiError> {
        let c = self.resolve_container(name)?;
        let config: ContainerConfig = serde_json::from_str(&c.config).unwrap_or_default();
        let st = self.container_state(&c);
        if st.paused {
            return Err(ApiError::conflict(
                "You cannot attach to a paused container, unpause it first",
            ));
        }
        if opts.stream {
            *self
                .attach_waiters
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(c.id.clone())
                .or_default() += 1;
        }
        Ok(AttachTicket {
            id: c.id,
            tty: config.tty,
            stdin_once: config.stdin_once && !config.tty,
            open_stdin: config.open_stdin,
            registered: opts.stream,
        })
    }

    /// Whether an attach client waits for this container's output (start keeps a replay).
    pub(super) fn has_attach_waiters(&self, id: &str) -> bool {
        self.attach_waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .is_some_and(|n| *n > 0)
    }

    fn attach_done_waiting(&self, t: &mut AttachTicket) {
        if t.registered {
            t.registered = false;
            self.attach_cancel(&t.id);
        }
    }

    /// Unregisters one waiting attach client of `id` (its connection was never handed over).
    pub fn attach_cancel(&self, id: &str) {
        let mut w = self
            .attach_waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = w.get_mut(id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                w.remove(id);
            }
        }
    }

    /// Runs an attach session on the hijacked connection.
    pub async fn attach_run<C>(
        self: Arc<Self>,
        mut ticket: AttachTicket,
        opts: AttachOptions,
        mut client: C,
    ) where
        C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if opts.logs {
            let log_opts = super::LogOptions {
                stdout: opts.stdout,
                stderr: opts.stderr,
                ..Default::default()
            };
            if let Ok((_, mut rx)) = self.container_logs(&ticket.id, log_opts) {
                while let Some(chunk) = rx.recv().await {
                    if client.write_all(&chunk).await.is_err() {
                        self.attach_done_waiting(&mut ticket);
                        return;
                    }
                }
            }
        }
        if !opts.stream {
            self.attach_done_waiting(&mut ticket);
            let _ = client.shutdown().await;
            return;
        }
        let streams = AttachStreams {
            stdin: opts.stdin && ticket.open_stdin,
            stdout: opts.stdout,
            stderr: opts.stderr,
            stdin_once: ticket.stdin_once,
        };
        let sock = self
            .container_dir(&ticket.id)
            .join("shim")
            .join("shim.sock");
        let shim_stream = self.attach_when_started(&ticket.id, &sock, streams).await;
        self.attach_done_waiting(&mut ticket);
        let Some(shim_stream) = shim_stream else {
            let _ = client.shutdown().await;
            return;
        };
        if let Ok(Some(c)) = self.db().container(&ticket.id) {
            self.container_event("attach", &c, &[]);
        }
        let keys = opts.stdin.then(|| opts.detach_keys.clone());
        let end = proxy(client, shim_stream, keys, std::future::ready(())).await;
        if end == ProxyEnd::Detached {
            if let Ok(Some(c)) = self.db().container(&ticket.id) {
                self.container_event("detach", &c, &[]);
            }
        }
    }

    /// Connects to the container's shim now if it runs, else at its next start. `None`
    /// when the container went away (removed) or daemon shutdown.
    async fn attach_when_started(
        &self,
        id: &str,
        sock: &std::path::Path,
        streams: AttachStreams,
    ) -> Option<tokio::net::UnixStream> {
        let mut changes = self.watch_containers();
        let mut shutdown = self.shutdown_signal();
        let first = self
            .db()
            .container(id)
            .ok()
            .flatten()
            .map(|c| self.container_state(&c))?;
        let mut started_at = first.started_at.clone();
        let mut try_now = first.running;
        loop {
            if try_now {
                if let Ok(s) = shim::attach(sock, streams).await {
                    return Some(s);
                }
            }
            let change = tokio::select! {
                r = changes.recv() => r,
                _ = crate::engine::stopped(&mut shutdown) => return None,
            };
            match change {
                Ok(ch) if ch.id == id => match ch.state {
                    None => return None,
                    Some(s) => {
                        // A new run (even one already over: its shim keeps the replay).
                        try_now = s.running || s.started_at != started_at;
                        started_at = s.started_at;
                    }
                },
                Ok(_) => try_now = false,
                Err(_) => {
                    let s = self
                        .db()
                        .container(id)
                        .ok()
                        .flatten()
                        .map(|c| self.container_state(&c))?;
                    try_now = s.running || s.started_at != started_at;
                    started_at = s.started_at;
                }
            }
        }
    }
}

/// An attach request that passed its checks.
#[derive(Debug)]
pub struct AttachTicket {
    pub id: String,
    pub tty: bool,
    stdin_once: bool,
    open_stdin: bool,
    registered: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_detach_keys_mean_dockers_default_and_bad_ones_are_a_400() {
        assert_eq!(parse_detach_keys("").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-a").unwrap(), vec![1]);
        let e = parse_detach_keys("ctrl-").unwrap_err();
        assert_eq!(e.kind.status(), 400);
    }
}
