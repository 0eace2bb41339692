//! `GET /containers/{id}/export` (`docker export`): the container's whole root filesystem,
//! flattened (image layers and its own changes merged), as one tar streamed as it is written.
//! Like `docker cp`, it reads a running container through its mount and a stopped one through
//! a detached overlay mount (see `archive`); bind mounts and volumes are not included, as in
//! dockerd.

use std::sync::Arc;

use berth_api::ApiError;

use crate::engine::Engine;

impl Engine {
    pub async fn export_container(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<tokio::io::DuplexStream, ApiError> {
        let c = self.resolve_container(name)?;
        let root = self.open_container_root(&c)?;
        let (writer, reader) = tokio::io::duplex(256 * 1024);
        let bridge = tokio_util::io::SyncIoBridge::new(writer);
        let id = c.id.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = root.export(bridge) {
                // The client sees the stream end early: the tar is visibly truncated.
                tracing::warn!(error = %e, container = %id, "container export stopped");
            }
        });
        self.container_event("export", &c, &[]);
        Ok(reader)
    }
}
