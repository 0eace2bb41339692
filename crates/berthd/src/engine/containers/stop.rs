//! `POST /containers/{id}/stop`, `/kill`, `/wait`.

use std::sync::Arc;
use std::time::Duration;

use berth_api::ApiError;
use berth_runtime::ContainerConfig;

use super::shim;
use crate::engine::Engine;

impl Engine {
    /// Sends the stop signal, then SIGKILL after `timeout` seconds (default: the
    /// container's StopTimeout, else 10). `Ok(false)` when it was not running (HTTP 304).
    pub async fn stop_container(
        self: &Arc<Self>,
        name: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<bool, ApiError> {
        let c = self.resolve_container(name)?;
        if !self.container_state(&c).running {
            return Ok(false);
        }
        let config: ContainerConfig = serde_json::from_str(&c.config).unwrap_or_default();
        let sig = signal
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| Some(config.stop_signal.clone()).filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "SIGTERM".into());
        let timeout = timeout.or(config.stop_timeout).unwrap_or(10);
        let state = self.container_dir(&c.id).join("shim");
        let _ = shim::request(&state, serde_json::json!({"op": "signal", "signal": sig})).await;
        self.container_event("kill", &c, &[("signal", sig.clone())]);
        if timeout >= 0
            && self
                .wait_not_running(&c.id, Duration::from_secs(timeout as u64))
                .await
        {
            self.container_event("stop", &c, &[]);
            return Ok(true);
        }
        let _ = shim::request(
            &state,
            serde_json::json!({"op": "signal", "signal": "SIGKILL"}),
        )
        .await;
        self.container_event("kill", &c, &[("signal", "SIGKILL".into())]);
        self.wait_not_running(&c.id, Duration::from_secs(30)).await;
        self.container_event("stop", &c, &[]);
        Ok(true)
    }

    pub async fn kill_container(&self, name: &str, signal: Option<&str>) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        if !self.container_state(&c).running {
            return Err(ApiError::conflict(format!(
                "Cannot kill container: {name}: Container {} is not running",
                c.id
            )));
        }
        let sig = signal.filter(|s| !s.is_empty()).unwrap_or("SIGKILL");
        let state = self.container_dir(&c.id).join("shim");
        shim::request(&state, serde_json::json!({"op": "signal", "signal": sig}))
            .await
            .map_err(|e| {
                ApiError::invalid(format!("Cannot kill container: {name}: {}", e.message))
            })?;
        self.container_event("kill", &c, &[("signal", sig.to_string())]);
        Ok(())
    }

    /// Polls the recorded state until the container is not running; false on timeout.
    pub(super) async fn wait_not_running(&self, id: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.db().container(id) {
                Ok(Some(c)) if self.container_state(&c).running => {}
                _ => return true,
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `POST /containers/{id}/wait`: the exit code once the container stops
    /// (`condition=not-running`, the default, answers at once for a stopped container;
    /// `next-exit` waits for the next exit; `removed` until it is gone).
    pub async fn wait_container(&self, name: &str, condition: &str) -> Result<i64, ApiError> {
        let c = self.resolve_container(name)?;
        let st = self.container_state(&c);
        if condition == "next-exit" && !st.running {
            // Wait for it to start first.
            loop {
                match self.db().container(&c.id) {
                    Ok(Some(now)) if !self.container_state(&now).running => {}
                    _ => break,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let mut shutdown = self.shutdown_signal();
        loop {
            let now = match self.db().container(&c.id) {
                Ok(Some(now)) => now,
                _ => return Ok(st.exit_code),
            };
            let s = self.container_state(&now);
            if !s.running && condition != "removed" {
                return Ok(s.exit_code);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = crate::engine::stopped(&mut shutdown) => {
                    return Err(ApiError::new(berth_api::ErrorKind::Unavailable, "berthd is shutting down"));
                }
            }
        }
    }
}
