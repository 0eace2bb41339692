//! `POST /containers/{id}/stop`, `/kill`, `/wait`.

use std::sync::Arc;
use std::time::Duration;

use berth_api::ApiError;
use berth_runtime::ContainerConfig;

use super::shim;
use super::state::State;
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
        self.mark_manually_stopped(&c.id);
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
        self.thaw_after_kill(&c, &sig).await; // pause hook
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

    /// Sends a signal (default SIGKILL). With SIGKILL it returns once the container is
    /// recorded as exited (at most 10 s), as dockerd does, so `docker kill` followed by
    /// another command sees the container stopped.
    pub async fn kill_container(
        self: &Arc<Self>,
        name: &str,
        signal: Option<&str>,
    ) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        if !self.container_state(&c).running {
            return Err(ApiError::conflict(format!(
                "Cannot kill container: {name}: Container {} is not running",
                c.id
            )));
        }
        let sig = signal.filter(|s| !s.is_empty()).unwrap_or("SIGKILL");
        self.mark_manually_stopped(&c.id);
        let state = self.container_dir(&c.id).join("shim");
        shim::request(&state, serde_json::json!({"op": "signal", "signal": sig}))
            .await
            .map_err(|e| {
                ApiError::invalid(format!("Cannot kill container: {name}: {}", e.message))
            })?;
        self.thaw_after_kill(&c, sig).await; // pause hook
        self.container_event("kill", &c, &[("signal", sig.to_string())]);
        if matches!(
            sig.trim_start_matches("SIG").to_ascii_uppercase().as_str(),
            "KILL" | "9"
        ) {
            self.wait_not_running(&c.id, Duration::from_secs(10)).await;
        }
        Ok(())
    }

    /// Waits until the container is not running; false on timeout.
    pub(super) async fn wait_not_running(self: &Arc<Self>, id: &str, timeout: Duration) -> bool {
        match self.wait_container(id, "not-running") {
            Ok(done) => tokio::time::timeout(timeout, done).await.is_ok(),
            Err(_) => true,
        }
    }

    /// `POST /containers/{id}/wait`. Resolves the container now (so a 404 comes before
    /// any header) and returns the wait itself as a future, because dockerd sends the
    /// response headers at once and the body at the exit: the docker CLI asks for
    /// `condition=next-exit` *before* it starts the container and blocks until the headers
    /// arrive.
    ///
    /// Conditions: `not-running` (default; at once for a stopped container), `next-exit`
    /// (the end of the current run, or of the next one when not running), `removed`.
    pub fn wait_container(
        self: &Arc<Self>,
        name: &str,
        condition: &str,
    ) -> Result<impl std::future::Future<Output = Result<i64, ApiError>> + Send + 'static, ApiError>
    {
        let c = self.resolve_container(name)?;
        // Subscribe before looking at the state: no change can slip in between.
        let mut changes = self.watch_containers();
        let first = self.container_state(&c);
        let engine = self.clone();
        let condition = match condition {
            "next-exit" => WaitFor::NextExit,
            "removed" => WaitFor::Removed,
            _ => WaitFor::NotRunning,
        };
        Ok(async move {
            let id = c.id;
            let mut shutdown = engine.shutdown_signal();
            let started_at = first.started_at.clone();
            let mut code = first.exit_code;
            let done = |s: &State| match condition {
                WaitFor::NotRunning => !s.running,
                WaitFor::NextExit => !s.running && (first.running || s.started_at != started_at),
                WaitFor::Removed => false,
            };
            if done(&first) {
                return Ok(first.exit_code);
            }
            loop {
                let change = tokio::select! {
                    r = changes.recv() => r,
                    _ = crate::engine::stopped(&mut shutdown) => {
                        return Err(ApiError::new(berth_api::ErrorKind::Unavailable, "berthd is shutting down"));
                    }
                };
                let state = match change {
                    Ok(ch) if ch.id == id => ch.state,
                    Ok(_) => continue,
                    // Missed some changes: look at the record itself.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        match engine.db().container(&id) {
                            Ok(Some(now)) => Some(engine.container_state(&now)),
                            _ => None,
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
                };
                match state {
                    None => return Ok(code),
                    Some(s) => {
                        code = s.exit_code;
                        if done(&s) {
                            return Ok(code);
                        }
                    }
                }
            }
        })
    }
}

#[derive(Clone, Copy)]
enum WaitFor {
    NotRunning,
    NextExit,
    Removed,
}

impl Engine {
    /// `POST /containers/{id}/resize`: the TTY's new size (the process gets SIGWINCH).
    pub async fn resize_container(
        &self,
        name: &str,
        height: u16,
        width: u16,
    ) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        if !self.container_state(&c).running {
            return Err(ApiError::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        let state = self.container_dir(&c.id).join("shim");
        shim::request(
            &state,
            serde_json::json!({"op": "resize", "height": height, "width": width}),
        )
        .await
        .map(|_| ())
    }
}
