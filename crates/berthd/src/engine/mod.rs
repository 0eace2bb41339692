//! The engine: berthd's state and the plain async methods the API layer calls. Nothing in
//! here knows about HTTP; each method returns API models or an [`berth_api::ApiError`].

pub mod build; // the builder (issue #8)
pub mod check; // check hook: the start-up consistency check
pub mod containers;
pub mod images;
pub mod networks;
pub mod registry;
mod system;
pub mod volumes;

use std::sync::{Arc, RwLock};

use anyhow::Result;
use berth_store::{DataRoot, Db};
use tokio::sync::watch;

use crate::config::Config;
use crate::events::EventBus;
use crate::host::HostInfo;

/// berthd's shared state, one per process.
pub struct Engine {
    config: RwLock<Config>,
    root: DataRoot,
    db: Db,
    pub images: images::Images,
    /// Registry endpoints, TLS settings and pooled connections (pull, push, login).
    registries: berth_registry::Registries,
    pub events: EventBus,
    host: HostInfo,
    id: String,
    shutdown: watch::Receiver<bool>,
    /// Every change of a container's recorded state (and its removal), for waiters
    /// (`wait`, attach) that must not miss a short run between two looks at the DB.
    container_changes: tokio::sync::broadcast::Sender<containers::StateChange>,
    /// Exec instances by ID (in memory, like dockerd's: they do not survive a restart).
    pub(crate) execs: containers::exec::ExecStore,
    /// Attach clients waiting for a container's next start, by container ID.
    attach_waiters: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    /// Networking state beyond the DB (firewall backend, proxies, DNS servers).
    net: networks::NetState,
    /// health hook: the running healthcheck monitors.
    health: containers::health::HealthMonitors,
}

impl Engine {
    /// Opens (and locks) the data root and the metadata database.
    pub fn open(config: Config, shutdown: watch::Receiver<bool>) -> Result<Arc<Self>> {
        let root = DataRoot::open(&config.data_root)?;
        let db = Db::open(&root.db_path())?;
        let id = db.daemon_id()?;
        let images = images::Images::open(root.path())?;
        images.check(&db)?;
        let registries = berth_registry::Registries::new(config.registry.clone());
        let net = networks::NetState::new(config.net.clone(), root.path());
        Ok(Arc::new(Self {
            net,
            config: RwLock::new(config),
            root,
            db,
            images,
            registries,
            events: EventBus::new(),
            host: HostInfo::gather(),
            id,
            shutdown,
            container_changes: tokio::sync::broadcast::channel(1024).0,
            execs: Default::default(),
            attach_waiters: Default::default(),
            health: Default::default(), // health hook
        }))
    }

    pub fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the reloadable settings (SIGHUP) and announces it like dockerd's
    /// `daemon reload` event.
    pub fn reload(&self, new: Config) {
        let mut attrs = std::collections::HashMap::new();
        attrs.insert("name".to_string(), self.host.hostname.clone());
        attrs.insert("log-level".to_string(), new.log_level.clone());
        attrs.insert("labels".to_string(), format!("{:?}", new.labels));
        {
            let mut cfg = self.config.write().unwrap_or_else(|p| p.into_inner());
            cfg.log_level = new.log_level;
            cfg.labels = new.labels;
        }
        self.events.publish(
            berth_api::models::EventMessageTypeEnum::DAEMON,
            "reload",
            &self.id,
            attrs,
        );
    }

    /// The metadata database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Announces a container's new state (`None`: it was removed).
    pub(crate) fn containers_changed(&self, id: &str, state: Option<containers::state::State>) {
        let _ = self.container_changes.send(containers::StateChange {
            id: id.to_string(),
            state,
        });
    }

    /// A receiver that sees every container state change from now on.
    pub(crate) fn watch_containers(
        &self,
    ) -> tokio::sync::broadcast::Receiver<containers::StateChange> {
        self.container_changes.subscribe()
    }

    /// A receiver that turns true when the daemon is shutting down; long streams end then.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }
}

/// Completes when the shutdown signal turns true (or its sender is gone).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await.is_ok();
}
