//! `POST /containers/{id}/start`: mount the root filesystem, write the OCI bundle, start a
//! shim, and watch for the exit.

use std::sync::Arc;

use berth_api::{ApiError, ErrorKind};
use berth_runtime::{
    build_spec, write_bundle, ContainerConfig, HostConfig, ImageRuntimeConfig, LinuxHost,
    NamespacePaths, SpecInput,
};
use berth_store::overlay::{mount_overlay, unmount_overlay, OverlayDirs};
use berth_store::ContainerRecord;

use super::shim;
use super::state::State;
use crate::engine::images::store_err;
use crate::engine::Engine;

/// Output kept for attach clients that connect just after the start.
const REPLAY_BUFFER: u64 = 1 << 20;

pub(super) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Engine {
    pub(crate) fn container_state(&self, c: &ContainerRecord) -> State {
        serde_json::from_str(&c.state).unwrap_or_else(|_| State::created())
    }

    pub(super) fn save_state(&self, id: &str, s: &State) -> Result<(), ApiError> {
        let json = serde_json::to_string(s).map_err(|e| ApiError::internal(e.to_string()))?;
        self.db()
            .set_container_state(id, &json)
            .map_err(store_err)?;
        self.containers_changed(id, Some(s.clone()));
        Ok(())
    }

    /// Starts a container; `Ok(false)` when it already runs (HTTP 304).
    pub async fn start_container(self: &Arc<Self>, name: &str) -> Result<bool, ApiError> {
        self.start_container_as(name, false).await
    }

    /// Starts a container, explicitly (`by_policy` false: the restart count and back-off
    /// start over) or as a restart policy's restart.
    pub(super) async fn start_container_as(
        self: &Arc<Self>,
        name: &str,
        by_policy: bool,
    ) -> Result<bool, ApiError> {
        let c = self.resolve_container(name)?;
        let mut st = self.container_state(&c);
        if st.paused {
            return Err(ApiError::conflict(
                "cannot start a paused container, try unpause instead",
            ));
        }
        if st.running {
            return Ok(false);
        }
        // A policy restart the user overtook (stop, kill, start, rm) is dropped.
        if by_policy && (st.manually_stopped || !st.restarting) {
            return Ok(false);
        }
        let previous = st.clone();
        let config: ContainerConfig =
            serde_json::from_str(&c.config).map_err(|e| ApiError::internal(e.to_string()))?;
        let host_config: HostConfig =
            serde_json::from_str(&c.host_config).map_err(|e| ApiError::internal(e.to_string()))?;
        let image_cfg: ImageRuntimeConfig =
            serde_json::from_value(self.image_config(&c.image_id)?["config"].clone())
                .unwrap_or_default();
        let dir = self.container_dir(&c.id);
        let rootfs = dir.join("rootfs");
        for d in [&dir, &rootfs] {
            std::fs::create_dir_all(d)
                .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", d.display())))?;
        }
        let image = self.container_image(&c)?;
        let lowers = self.images.layer_dirs(&image)?;
        let _ = unmount_overlay(&rootfs);
        mount_overlay(
            &OverlayDirs {
                lowers,
                upper: dir.join("upper"),
                work: dir.join("work"),
            },
            &rootfs,
        )
        .map_err(|e| ApiError::internal(format!("cannot mount the container's filesystem: {e}")))?;

        let result = self
            .start_mounted(&c, &config, &host_config, &image_cfg)
            .await;
        match result {
            Ok(pid) => {
                st = State::created();
                // A `stop` that came while this policy restart was starting saw no running
                // container; honour it now.
                let stopped_meanwhile = by_policy
                    && self
                        .db()
                        .container(&c.id)
                        .ok()
                        .flatten()
                        .is_some_and(|now| self.container_state(&now).manually_stopped);
                if by_policy {
                    st.restart_count = previous.restart_count + 1;
                    st.restart_delay_ms = previous.restart_delay_ms;
                }
                st.status = "running".into();
                st.running = true;
                st.pid = pid;
                st.started_at = now_rfc3339();
                st.health = self.initial_health(&c, previous.health.as_ref()); // health hook
                self.save_state(&c.id, &st)?;
                self.container_event("start", &c, &[]);
                self.watch_exit(c.id.clone());
                self.start_health_monitor(&c.id); // health hook
                if stopped_meanwhile {
                    let engine = self.clone();
                    let id = c.id.clone();
                    tokio::spawn(async move {
                        let _ = engine.stop_container(&id, Some(0), None).await;
                    });
                }
                Ok(true)
            }
            Err(e) => {
                self.unmount_volumes(&c.id); // volumes hook
                self.release_container_network(&c.id).await; // networking hook
                let _ = unmount_overlay(&rootfs);
                st.error = e.message.clone();
                st.exit_code = match e.kind.as_str() {
                    "not_found" => 127,
                    "permission" => 126,
                    _ => 128,
                };
                st.restarting = false;
                st.status = if st.status == "created" {
                    "created".into()
                } else {
                    "exited".into()
                };
                self.save_state(&c.id, &st)?;
                // dockerd removes an `--rm` container whose start failed; `docker run --rm`
                // waits for that removal before it exits.
                if host_config.auto_remove {
                    let _ = self.remove_container(&c.id, true).await;
                }
                Err(ApiError::new(ErrorKind::InvalidArgument, format!(
                    "failed to create task for container: failed to create shim task: OCI runtime create failed: {}: unknown",
                    e.message
                )))
            }
        }
    }

    async fn start_mounted(
        &self,
        c: &ContainerRecord,
        config: &ContainerConfig,
        host_config: &HostConfig,
        image_cfg: &ImageRuntimeConfig,
    ) -> Result<i64, shim::StartFailure> {
        let fail = |m: String| shim::StartFailure {
            message: m,
            kind: "other".into(),
        };
        let dir = self.container_dir(&c.id);
        let facts = LinuxHost;
        let hostname = berth_runtime::container_hostname(&c.id, config, host_config, &facts);
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text)
                .map(|_| p)
                .map_err(|e| fail(format!("cannot write {name}: {e}")))
        };
        // networking hook: namespace, interfaces, ports, /etc/hosts and resolv.conf.
        let net = self
            .prepare_container_network(c, config, host_config)
            .await
            .map_err(|e| fail(e.message))?;
        let hosts = write("hosts", &net.hosts)?;
        let hostname_file = write("hostname", &format!("{hostname}\n"))?;
        let resolv = write("resolv.conf", &net.resolv_conf)?;
        let cgroup_path = super::stats::cgroup_path(&c.id, host_config);
        let spec = build_spec(&SpecInput {
            container_id: &c.id,
            config,
            host_config,
            image: image_cfg,
            rootfs: dir.join("rootfs"),
            hosts_file: Some(hosts),
            hostname_file: Some(hostname_file),
            resolv_conf: Some(resolv),
            shm_path: None,
            namespace_paths: NamespacePaths {
                network: net.netns.clone(), // networking hook
                ..NamespacePaths::default()
            },
            extra_mounts: self
                .mount_volumes(c, host_config, &dir.join("rootfs")) // volumes hook
                .map_err(fail)?,
            cgroup_path,
            host_facts: &facts,
            init_binary: self.config().init_path,
        })
        .map_err(|e| fail(e.to_string()))?;
        let bundle = dir.join("bundle");
        std::fs::create_dir_all(&bundle).map_err(|e| fail(e.to_string()))?;
        write_bundle(&bundle, &spec).map_err(|e| fail(e.to_string()))?;
        let state = dir.join("shim");
        std::fs::create_dir_all(&state).map_err(|e| fail(e.to_string()))?;
        let log_path = self.log_path(&c.id);
        let opts = &host_config.log_config.config;
        let log = shim::LogSettings {
            path: &log_path,
            max_size: opts.get("max-size").map(String::as_str),
            max_file: opts.get("max-file").map(String::as_str),
        };
        let logging = host_config.log_config.r#type != "none";
        // runtime hook
        let runc = self
            .container_runtime(host_config)
            .map_err(|e| fail(e.message))?;
        shim::start(
            &c.id,
            &bundle,
            &state,
            logging.then_some(&log),
            config.tty,
            config.open_stdin,
            // An attach client waiting for this start gets what is printed before it is
            // connected.
            if self.has_attach_waiters(&c.id) {
                REPLAY_BUFFER
            } else {
                0
            },
            runc.as_deref(), // runtime hook
        )
        .await
    }

    pub(super) fn log_path(&self, id: &str) -> std::path::PathBuf {
        self.container_dir(id).join(format!("{id}-json.log"))
    }

    /// Waits in the background for the container's exit, then records it.
    pub(super) fn watch_exit(self: &Arc<Self>, id: String) {
        let engine = self.clone();
        tokio::spawn(async move {
            let state_dir = engine.container_dir(&id).join("shim");
            let exit = shim::wait(&state_dir).await;
            engine.record_exit(&id, exit).await;
        });
    }

    /// Marks a container exited (unknown exit: 255), unmounts it, announces `die`, and
    /// removes it when it was started with `--rm`.
    pub(super) async fn record_exit(self: &Arc<Self>, id: &str, exit: Option<shim::Exit>) {
        let Ok(c) = self.resolve_container(id) else {
            return;
        };
        self.stop_health_monitor(&c.id); // health hook
        let mut st = self.container_state(&c);
        st.status = "exited".into();
        st.running = false;
        st.paused = false;
        st.pid = 0;
        match exit {
            Some(e) => {
                st.exit_code = e.exit_code;
                st.oom_killed = e.oom_killed;
                st.finished_at = if e.finished_at.is_empty() {
                    now_rfc3339()
                } else {
                    e.finished_at
                };
            }
            None => {
                st.exit_code = 255;
                st.finished_at = now_rfc3339();
            }
        }
        self.release_container_network(&c.id).await; // networking hook
        let _ = self.save_state(&c.id, &st);
        let _ = unmount_overlay(&self.container_dir(&c.id).join("rootfs"));
        self.unmount_volumes(&c.id); // volumes hook
        if st.oom_killed {
            self.container_event("oom", &c, &[]);
        }
        self.container_event("die", &c, &[("exitCode", st.exit_code.to_string())]);
        if self.schedule_policy_restart(&c, st) {
            return;
        }
        let auto_remove = serde_json::from_str::<HostConfig>(&c.host_config)
            .map(|h| h.auto_remove)
            .unwrap_or(false);
        if auto_remove {
            // volumes hook: `--rm` also removes the container's anonymous volumes.
            let _ = self.remove_container_and_volumes(&c.id, true, true).await;
        }
    }

    /// At start-up: every container recorded as running is either still running (its shim
    /// holds its lock: watch it again) or has exited meanwhile (record its real exit).
    pub fn restore_containers(self: &Arc<Self>) {
        let Ok(all) = self.db().containers() else {
            return;
        };
        for c in all {
            if !self.container_state(&c).running {
                continue;
            }
            let state_dir = self.container_dir(&c.id).join("shim");
            if shim::alive(&state_dir) {
                tracing::info!(container = %c.id, "container still running: reconnected to its shim");
                self.watch_exit(c.id.clone());
                self.start_health_monitor(&c.id); // health hook
            } else {
                let engine = self.clone();
                tokio::spawn(async move {
                    let exit = shim::read_exit(&state_dir);
                    tracing::info!(container = %c.id, "container exited while berthd was down");
                    engine.record_exit(&c.id, exit).await;
                });
            }
        }
    }
}
