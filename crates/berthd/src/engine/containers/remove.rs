//! `DELETE /containers/{id}`: stop (with `force`), unmount, delete its files and record.

use std::sync::Arc;

use berth_api::ApiError;
use berth_store::overlay::unmount_overlay;

use crate::engine::images::store_err;
use crate::engine::Engine;

impl Engine {
    pub async fn remove_container(
        self: &Arc<Self>,
        name: &str,
        force: bool,
    ) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        if self.container_state(&c).running {
            if !force {
                return Err(ApiError::conflict(format!(
                    "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                    c.name
                )));
            }
            self.kill_container(&c.id, Some("SIGKILL")).await.ok();
            self.wait_not_running(&c.id, std::time::Duration::from_secs(30))
                .await;
        }
        self.stop_health_monitor(&c.id); // health hook
        self.release_container_network(&c.id).await; // networking hook
        let hc: berth_runtime::HostConfig =
            serde_json::from_str(&c.host_config).unwrap_or_default();
        crate::engine::check::remove_container_cgroups(&super::stats::cgroup_path(&c.id, &hc));
        let dir = self.container_dir(&c.id);
        unmount_overlay(&dir.join("rootfs")).map_err(|e| {
            ApiError::internal(format!("cannot unmount the container's filesystem: {e}"))
        })?;
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ApiError::internal(format!(
                    "cannot remove {}: {e}",
                    dir.display()
                )))
            }
        }
        if self.db().delete_container(&c.id).map_err(store_err)? {
            self.containers_changed(&c.id, None);
            self.execs.remove_container(&c.id);
            self.container_event("destroy", &c, &[]);
        }
        Ok(())
    }
}
