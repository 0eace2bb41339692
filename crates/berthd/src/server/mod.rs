//! Start-up, listeners, connections and shutdown.
//!
//! Every listener (unix or TCP, with or without TLS) feeds the same loop: accept, finish
//! the TLS handshake in the connection's own task (a slow client never blocks the accept
//! loop), then serve HTTP/1.1 with upgrades (attach and exec hijack the connection) on the
//! shared API router. SIGTERM/SIGINT stop the accept loops, end long streams, give open
//! requests a grace period, and remove the sockets. SIGHUP reloads the reloadable settings.

pub mod listen;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter};

use crate::config::{parse_log_level, Config, Flags};
use crate::engine::Engine;
use listen::Bound;

/// How long open requests may run on after a shutdown signal.
const GRACE: Duration = Duration::from_secs(5);
/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type LogHandle = reload::Handle<EnvFilter, tracing_subscriber::Registry>;

/// Runs berthd until a shutdown signal.
pub async fn run(flags: Flags) -> Result<()> {
    let config = Config::load(&flags)?;
    let log = init_logging(&config.log_level)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let engine = Engine::open(config.clone(), stop_rx.clone())?;
    engine.check_data_root(true); // check hook: before serving, before the restore
    engine.init_networks().await?; // networking hook
    engine.restore_containers();
    engine.start_policy_containers();

    let tls = match &config.tls {
        Some(t) => Some(TlsAcceptor::from(berth_tls::server_config(
            &t.cert,
            &t.key,
            t.client_ca.as_deref(),
        )?)),
        None => None,
    };
    if config.insecure_tcp && config.tls.is_none() && config.listeners.iter().any(|l| l.is_tcp()) {
        tracing::warn!(
            "!!! LISTENING ON TCP WITHOUT TLS (--insecure-tcp): anyone who can reach the port \
             controls this machine as root. Use --tlsverify with certificates from \
             `berth tls init` instead !!!"
        );
    }
    if let Some(t) = &config.tls {
        if t.client_ca.is_none() {
            tracing::warn!(
                "TLS without client verification (--tls): traffic is encrypted but any client \
                 is accepted; use --tlsverify to require client certificates"
            );
        }
    }

    let bound = listen::bind_all(&config.listeners).await?;
    let sockets = listen::socket_paths(&bound);
    let app = crate::api::router(engine.clone());
    let graceful = Arc::new(GracefulShutdown::new());
    let mut accept_tasks = Vec::new();
    for b in bound {
        let (app, graceful, stop) = (app.clone(), graceful.clone(), stop_rx.clone());
        accept_tasks.push(match b {
            Bound::Unix(l, path) => {
                tracing::info!(addr = %format!("unix://{}", path.display()), "API listen");
                tokio::spawn(accept_loop(l, None, app, graceful, stop))
            }
            Bound::Tcp(l, addr) => {
                let scheme = if tls.is_some() { "https" } else { "tcp" };
                tracing::info!(addr = %format!("{scheme}://{addr}"), "API listen");
                tokio::spawn(accept_loop(l, tls.clone(), app, graceful, stop))
            }
        });
    }
    tracing::info!(
        data_root = %config.data_root.display(),
        version = env!("CARGO_PKG_VERSION"),
        "berthd started"
    );

    wait_for_stop(&flags, &engine, &log).await?;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for t in &accept_tasks {
        t.abort();
    }
    drop(app);
    listen::remove_sockets(&sockets);
    if let Ok(graceful) = Arc::try_unwrap(graceful) {
        if tokio::time::timeout(GRACE, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("open requests did not finish within {GRACE:?}; closing them");
        }
    }
    engine.shutdown_networks().await; // networking hook
    tracing::info!("berthd stopped");
    Ok(())
}

/// A bound socket that hands out connections.
trait Listener: Send + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept(&self) -> impl std::future::Future<Output = std::io::Result<Self::Stream>> + Send;
}

impl Listener for tokio::net::UnixListener {
    type Stream = tokio::net::UnixStream;
    async fn accept(&self) -> std::io::Result<Self::Stream> {
        tokio::net::UnixListener::accept(self).await.map(|(s, _)| s)
    }
}

impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn accept(&self) -> std::io::Result<Self::Stream> {
        let (s, _) = tokio::net::TcpListener::accept(self).await?;
        // API calls are small request/response pairs: don't let Nagle delay them.
        let _ = s.set_nodelay(true);
        Ok(s)
    }
}

/// Accepts connections until the stop signal and serves each in its own task.
async fn accept_loop<L: Listener>(
    listener: L,
    tls: Option<TlsAcceptor>,
    app: axum::Router,
    graceful: Arc<GracefulShutdown>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            r = listener.accept() => r,
            _ = crate::engine::stopped(&mut stop) => return,
        };
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (app, tls, graceful) = (app.clone(), tls.clone(), graceful.clone());
        tokio::spawn(async move {
            match tls {
                None => serve(stream, app, &graceful).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => serve(s, app, &graceful).await,
                        Ok(Err(e)) => tracing::info!(error = %e, "TLS handshake refused"),
                        Err(_) => tracing::info!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn serve<S>(stream: S, app: axum::Router, graceful: &GracefulShutdown)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(e) = graceful.watch(conn.into_owned()).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Waits for SIGTERM/SIGINT; handles SIGHUP (reload) meanwhile.
async fn wait_for_stop(flags: &Flags, engine: &Engine, log: &LogHandle) -> Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = hup.recv() => match Config::load(flags) {
                Ok(new) => {
                    match filter(&new.log_level).and_then(|f| log.reload(f).map_err(Into::into)) {
                        Ok(()) => tracing::info!(log_level = %new.log_level, "configuration reloaded"),
                        Err(e) => tracing::error!(error = %e, "cannot apply the new log level"),
                    }
                    engine.reload(new);
                }
                Err(e) => tracing::error!(error = %format!("{e:#}"), "reload failed; keeping the running configuration"),
            },
        }
    }
}

fn filter(level: &str) -> Result<EnvFilter> {
    let level = parse_log_level(level)?;
    // Keep dependencies quiet below warn unless debugging berth itself.
    Ok(EnvFilter::new(format!(
        "warn,berthd={level},berth_store={level},berth_api={level},berth_tls={level}"
    )))
}

fn init_logging(level: &str) -> Result<LogHandle> {
    let (layer, handle) = reload::Layer::new(filter(level)?);
    tracing_subscriber::registry()
        .with(layer)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init()
        .context("cannot initialise logging")?;
    Ok(handle)
}
