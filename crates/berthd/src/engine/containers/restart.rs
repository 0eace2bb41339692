//! Restart policies (`no`, `always`, `unless-stopped`, `on-failure[:N]`) with Docker's
//! back-off, and `POST /containers/{id}/restart`.
//!
//! Back-off as in moby's restartmanager: the first restart waits 100 ms, each further one
//! twice as long up to one minute; a run that lasted at least 10 s starts the delay over.
//! A container the user stopped (`stop`, `kill`) is not restarted by its policy; an
//! explicit start clears that and the restart count.

use std::sync::Arc;
use std::time::Duration;

use berth_api::ApiError;
use berth_runtime::config::RestartPolicy;
use berth_runtime::HostConfig;
use berth_store::ContainerRecord;

use super::state::State;
use crate::engine::Engine;

const FIRST_DELAY_MS: u64 = 100;
const MAX_DELAY_MS: u64 = 60_000;
/// A run at least this long resets the back-off.
const RESET_AFTER: Duration = Duration::from_secs(10);

/// Whether the policy restarts a container that has just exited with `st`.
pub fn should_restart(policy: &RestartPolicy, st: &State) -> bool {
    if st.manually_stopped {
        return false;
    }
    match policy.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            st.exit_code != 0
                && (policy.maximum_retry_count <= 0
                    || st.restart_count < policy.maximum_retry_count)
        }
        _ => false,
    }
}

/// The next back-off delay after a run of `ran` that followed a delay of `previous_ms`.
pub fn next_delay_ms(previous_ms: u64, ran: Option<Duration>) -> u64 {
    if previous_ms == 0 || ran.is_some_and(|r| r >= RESET_AFTER) {
        FIRST_DELAY_MS
    } else {
        (previous_ms * 2).min(MAX_DELAY_MS)
    }
}

fn parse_time(t: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
}

impl Engine {
    /// After an exit was recorded: when the policy says so, marks the container
    /// `restarting` and starts it again after the back-off. True when a restart is due.
    pub(super) fn schedule_policy_restart(
        self: &Arc<Self>,
        c: &ContainerRecord,
        mut st: State,
    ) -> bool {
        let hc: HostConfig = serde_json::from_str(&c.host_config).unwrap_or_default();
        if !should_restart(&hc.restart_policy, &st) || *self.shutdown_signal().borrow() {
            return false;
        }
        let ran = match (parse_time(&st.started_at), parse_time(&st.finished_at)) {
            (Some(a), Some(b)) => (b - a).try_into().ok(),
            _ => None,
        };
        let delay = next_delay_ms(st.restart_delay_ms, ran);
        st.restart_delay_ms = delay;
        st.restarting = true;
        st.status = "restarting".into();
        if self.save_state(&c.id, &st).is_err() {
            return false;
        }
        let engine = self.clone();
        let id = c.id.clone();
        tokio::spawn(async move {
            let mut shutdown = engine.shutdown_signal();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
                _ = crate::engine::stopped(&mut shutdown) => return,
            }
            // Still due? (Not removed, stopped or started by hand meanwhile.)
            let Ok(Some(now)) = engine.db().container(&id) else {
                return;
            };
            let now_st = engine.container_state(&now);
            if !now_st.restarting || now_st.manually_stopped {
                return;
            }
            if let Err(e) = engine.start_container_as(&id, true).await {
                tracing::warn!(container = %id, error = %e.message, "restart policy: start failed");
                // Count the attempt, and try again later like dockerd.
                if let Ok(Some(now)) = engine.db().container(&id) {
                    let mut s = engine.container_state(&now);
                    s.restart_count += 1;
                    let _ = engine.save_state(&id, &s);
                    engine.schedule_policy_restart(&now, s);
                }
            }
        });
        true
    }

    /// Marks a container stopped by the user (no policy restart, no pending one).
    pub(super) fn mark_manually_stopped(&self, id: &str) {
        if let Ok(Some(c)) = self.db().container(id) {
            let mut st = self.container_state(&c);
            if !st.manually_stopped || st.restarting {
                st.manually_stopped = true;
                if st.restarting {
                    st.restarting = false;
                    st.status = "exited".into();
                }
                let _ = self.save_state(id, &st);
            }
        }
    }

    /// `POST /containers/{id}/restart`: stop (with the timeout), then start.
    pub async fn restart_container(
        self: &Arc<Self>,
        name: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        self.stop_container(&c.id, timeout, signal).await?;
        self.start_container(&c.id).await.map_err(|e| {
            ApiError::new(
                e.kind,
                format!("Cannot restart container {name}: {}", e.message),
            )
        })?;
        if let Ok(Some(c)) = self.db().container(&c.id) {
            self.container_event("restart", &c, &[]);
        }
        Ok(())
    }

    /// At start-up: containers whose policy wants them running (`always`, and
    /// `unless-stopped` unless the user stopped them) and which are not, are started.
    pub fn start_policy_containers(self: &Arc<Self>) {
        let Ok(all) = self.db().containers() else {
            return;
        };
        for c in all {
            let st = self.container_state(&c);
            if st.running || st.manually_stopped || st.status == "created" {
                continue;
            }
            let hc: HostConfig = serde_json::from_str(&c.host_config).unwrap_or_default();
            if !matches!(hc.restart_policy.name.as_str(), "always" | "unless-stopped") {
                continue;
            }
            let mut due = st.clone();
            due.restarting = true;
            due.status = "restarting".into();
            if self.save_state(&c.id, &due).is_err() {
                continue;
            }
            let engine = self.clone();
            tokio::spawn(async move {
                if let Err(e) = engine.start_container_as(&c.id, true).await {
                    tracing::warn!(container = %c.id, error = %e.message, "restart policy: start at boot failed");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, max: i64) -> RestartPolicy {
        RestartPolicy {
            name: name.into(),
            maximum_retry_count: max,
        }
    }

    #[test]
    fn policies_decide_like_docker() {
        let mut st = State::created();
        st.exit_code = 0;
        assert!(!should_restart(&policy("no", 0), &st));
        assert!(!should_restart(&policy("", 0), &st));
        assert!(should_restart(&policy("always", 0), &st));
        assert!(should_restart(&policy("unless-stopped", 0), &st));
        assert!(!should_restart(&policy("on-failure", 0), &st));
        st.exit_code = 1;
        assert!(should_restart(&policy("on-failure", 0), &st));
        st.restart_count = 2;
        assert!(should_restart(&policy("on-failure", 3), &st));
        st.restart_count = 3;
        assert!(!should_restart(&policy("on-failure", 3), &st));
        st.manually_stopped = true;
        assert!(!should_restart(&policy("always", 0), &st));
    }

    #[test]
    fn back_off_doubles_to_a_minute_and_resets_after_a_long_run() {
        assert_eq!(next_delay_ms(0, None), 100);
        assert_eq!(next_delay_ms(100, Some(Duration::from_secs(1))), 200);
        assert_eq!(next_delay_ms(40_000, Some(Duration::from_secs(1))), 60_000);
        assert_eq!(next_delay_ms(60_000, None), 60_000);
        assert_eq!(next_delay_ms(6_400, Some(Duration::from_secs(10))), 100);
    }
}
