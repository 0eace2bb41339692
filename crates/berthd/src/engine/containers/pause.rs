//! `POST /containers/{id}/pause` and `/unpause`: the cgroup freezer (see
//! `berth_cgroups::Cgroup::freeze`). A paused container stays `Running` with `Paused` set
//! and status `paused`, as in Docker.
//!
//! Killing a paused container: the signal stays pending while its tasks are frozen, so
//! like dockerd `stop`/`kill` thaw it right after sending the signal
//! ([`Engine::thaw_after_kill`]).

use berth_api::ApiError;
use berth_runtime::ContainerConfig;
use berth_store::ContainerRecord;

use super::stats::container_cgroup;
use crate::engine::Engine;

impl Engine {
    pub async fn pause_container(&self, name: &str) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        let mut st = self.container_state(&c);
        if !st.running {
            return Err(ApiError::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        if st.paused {
            return Err(ApiError::conflict(format!(
                "Container {} is already paused",
                c.id
            )));
        }
        let cgroup = container_cgroup(&c);
        tokio::task::spawn_blocking(move || cgroup.freeze())
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| ApiError::internal(format!("Cannot pause container {}: {e}", c.id)))?;
        st.paused = true;
        st.status = "paused".into();
        self.save_state(&c.id, &st)?;
        self.container_event("pause", &c, &[]);
        Ok(())
    }

    pub async fn unpause_container(&self, name: &str) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        if !self.container_state(&c).paused {
            return Err(ApiError::conflict(format!(
                "Container {} is not paused",
                c.id
            )));
        }
        self.thaw(&c)
            .await
            .map_err(|e| ApiError::internal(format!("Cannot unpause container {}: {e}", c.id)))
    }

    /// Thaws the container, records it running again and announces `unpause`.
    async fn thaw(&self, c: &ContainerRecord) -> Result<(), String> {
        let cgroup = container_cgroup(c);
        tokio::task::spawn_blocking(move || cgroup.thaw())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        // Re-read: the container may have exited meanwhile.
        if let Ok(now) = self.resolve_container(&c.id) {
            let mut st = self.container_state(&now);
            if st.paused {
                st.paused = false;
                if st.running {
                    st.status = "running".into();
                }
                self.save_state(&c.id, &st).map_err(|e| e.message)?;
            }
        }
        self.container_event("unpause", c, &[]);
        Ok(())
    }

    /// Called by `stop`/`kill` after sending `signal`: a paused container is thawed so the
    /// signal is delivered, when the signal is meant to end it (dockerd's rule: SIGKILL,
    /// the container's stop signal, or any signal when it has none configured).
    pub(super) async fn thaw_after_kill(&self, c: &ContainerRecord, signal: &str) {
        if !self.container_state(c).paused {
            return;
        }
        let config: ContainerConfig = serde_json::from_str(&c.config).unwrap_or_default();
        let norm = |s: &str| {
            let s = s.trim().to_ascii_uppercase();
            let s = s.strip_prefix("SIG").map(str::to_string).unwrap_or(s);
            match s.as_str() {
                "9" => "KILL".to_string(),
                "15" => "TERM".to_string(),
                _ => s,
            }
        };
        let sig = norm(signal);
        let ends_it =
            config.stop_signal.is_empty() || sig == "KILL" || sig == norm(&config.stop_signal);
        if ends_it {
            if let Err(e) = self.thaw(c).await {
                tracing::warn!(container = %c.id, "cannot unpause the container after a kill: {e}");
            }
        }
    }
}
