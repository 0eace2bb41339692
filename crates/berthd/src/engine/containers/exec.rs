//! `docker exec`: exec instances (create, start, inspect, resize).
//!
//! An exec is a second process in a running container. Its OCI process comes from the
//! container's own (`berth_runtime::exec_process`); `berth-shim exec` runs it beside the
//! container's shim, in `<container>/shim/exec/<exec-id>/`, and serves the same attach /
//! resize / wait socket there. Instances live in memory like dockerd's: they are gone
//! after a daemon restart or when their container is removed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use berth_api::ApiError;
use berth_runtime::{exec_process, ExecRequest, HostConfig, LinuxHost, Spec};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::attach::{parse_detach_keys, proxy};
use super::shim::{self, AttachStreams};
use crate::engine::Engine;

/// Most exec instances kept per daemon; finished ones beyond it are dropped oldest first.
const MAX_FINISHED_EXECS: usize = 1024;

/// The body of `POST /containers/{id}/exec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: String,
    pub tty: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub env: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub cmd: Vec<String>,
    pub privileged: bool,
    pub user: String,
    pub working_dir: String,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone)]
struct ExecInstance {
    id: String,
    container_id: String,
    config: ExecConfig,
    started: bool,
    running: bool,
    exit_code: Option<i64>,
    pid: i64,
    /// Order of creation, to drop the oldest finished instances first.
    seq: u64,
}

/// Exec instances by ID.
#[derive(Default)]
pub struct ExecStore {
    inner: Mutex<(HashMap<String, ExecInstance>, u64)>,
}

impl ExecStore {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, ExecInstance>, &mut u64) -> R) -> R {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, seq) = &mut *g;
        f(map, seq)
    }

    fn get(&self, id: &str) -> Option<ExecInstance> {
        self.with(|m, _| m.get(id).cloned())
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut ExecInstance)) {
        self.with(|m, _| {
            if let Some(e) = m.get_mut(id) {
                f(e)
            }
        })
    }

    /// Forgets the instances of a removed container.
    pub fn remove_container(&self, container_id: &str) {
        self.with(|m, _| m.retain(|_, e| e.container_id != container_id));
    }

    /// health hook: forgets one instance (a finished healthcheck probe).
    pub fn forget(&self, exec_id: &str) {
        self.with(|m, _| m.remove(exec_id));
    }

    /// Exec IDs of a container (inspect's `ExecIDs`).
    pub fn ids_of(&self, container_id: &str) -> Vec<String> {
        self.with(|m, _| {
            let mut v: Vec<&ExecInstance> = m
                .values()
                .filter(|e| e.container_id == container_id)
                .collect();
            v.sort_by_key(|e| e.seq);
            v.into_iter().map(|e| e.id.clone()).collect()
        })
    }
}

/// An exec start that passed its checks.
pub struct ExecTicket {
    pub id: String,
    pub tty: bool,
    pub detach: bool,
}

impl Engine {
    /// `POST /containers/{id}/exec`: returns the new exec's ID.
    pub fn exec_create(&self, name: &str, config: ExecConfig) -> Result<String, ApiError> {
        let c = self.resolve_container(name)?;
        let st = self.container_state(&c);
        if !st.running {
            return Err(ApiError::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        if st.paused {
            return Err(ApiError::conflict(format!(
                "Container {} is paused, unpause the container before exec",
                c.id
            )));
        }
        if config.cmd.is_empty() {
            return Err(ApiError::invalid("No exec command specified"));
        }
        if !config.detach_keys.is_empty() {
            parse_detach_keys(&config.detach_keys)?;
        }
        let id = hex::encode(rand::random::<[u8; 32]>());
        let cmd = config.cmd.join(" ");
        self.execs.with(|m, seq| {
            *seq += 1;
            if m.len() >= MAX_FINISHED_EXECS {
                if let Some(oldest) = m
                    .values()
                    .filter(|e| !e.running)
                    .min_by_key(|e| e.seq)
                    .map(|e| e.id.clone())
                {
                    m.remove(&oldest);
                }
            }
            m.insert(
                id.clone(),
                ExecInstance {
                    id: id.clone(),
                    container_id: c.id.clone(),
                    config,
                    started: false,
                    running: false,
                    exit_code: None,
                    pid: 0,
                    seq: *seq,
                },
            );
        });
        self.container_event(
            &format!("exec_create: {cmd}"),
            &c,
            &[("execID", id.clone())],
        );
        Ok(id)
    }

    /// Checks `POST /exec/{id}/start` before the connection is hijacked.
    pub fn exec_start_prepare(
        &self,
        exec_id: &str,
        detach: bool,
        tty: Option<bool>,
    ) -> Result<ExecTicket, ApiError> {
        let no_such = || ApiError::not_found(format!("No such exec instance: {exec_id}"));
        let e = self.execs.get(exec_id).ok_or_else(no_such)?;
        if e.started {
            return Err(ApiError::conflict(format!(
                "Error: Exec command {exec_id} is already running"
            )));
        }
        let c = self.resolve_container(&e.container_id)?;
        if !self.container_state(&c).running {
            return Err(ApiError::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        self.execs.update(exec_id, |e| e.started = true);
        Ok(ExecTicket {
            id: exec_id.to_string(),
            tty: tty.unwrap_or(e.config.tty) || e.config.tty,
            detach,
        })
    }

    fn exec_dir(&self, container_id: &str, exec_id: &str) -> PathBuf {
        self.container_dir(container_id)
            .join("shim")
            .join("exec")
            .join(exec_id)
    }

    /// Starts the exec; with a client, joins it to the process's stdio until it exits or
    /// the client detaches. The exit is recorded either way.
    pub async fn exec_run<C>(self: Arc<Self>, ticket: ExecTicket, client: Option<C>)
    where
        C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Some(e) = self.execs.get(&ticket.id) else {
            return;
        };
        let mut client = client;
        let started = self.exec_spawn(&e, ticket.tty).await;
        let pid = match started {
            Ok(pid) => pid,
            Err((code, message)) => {
                tracing::debug!(exec = %e.id, %message, "exec failed to start");
                self.execs.update(&e.id, |x| {
                    x.exit_code = Some(code);
                    x.running = false;
                });
                if let Some(c) = client.as_mut() {
                    let text = format!("{message}\r\n");
                    let out = if ticket.tty {
                        text.into_bytes()
                    } else {
                        frame(1, text.as_bytes())
                    };
                    let _ = c.write_all(&out).await;
                    let _ = c.shutdown().await;
                }
                return;
            }
        };
        self.execs.update(&e.id, |x| {
            x.running = true;
            x.pid = pid;
        });
        if let Ok(c) = self.resolve_container(&e.container_id) {
            let cmd = e.config.cmd.join(" ");
            self.container_event(
                &format!("exec_start: {cmd}"),
                &c,
                &[("execID", e.id.clone())],
            );
        }
        let dir = self.exec_dir(&e.container_id, &e.id);
        // Waits for the exit and records its code (once).
        let record_exit = || async {
            if self.execs.get(&e.id).is_some_and(|x| x.exit_code.is_some()) {
                return;
            }
            let exit = shim::wait(&dir).await;
            let code = exit.map(|x| x.exit_code).unwrap_or(126);
            self.execs.update(&e.id, |x| {
                x.exit_code = Some(code);
                x.running = false;
            });
        };
        if let (Some(client), false) = (client, ticket.detach) {
            let streams = AttachStreams {
                stdin: e.config.attach_stdin,
                stdout: e.config.attach_stdout,
                stderr: e.config.attach_stderr,
                stdin_once: true,
            };
            match shim::attach(&dir.join("shim.sock"), streams).await {
                Ok(s) => {
                    let keys = if e.config.attach_stdin {
                        parse_detach_keys(&e.config.detach_keys).ok()
                    } else {
                        None
                    };
                    // The exit code is recorded before the client sees the stream end.
                    proxy(client, s, keys, record_exit()).await;
                }
                Err(err) => tracing::debug!(exec = %e.id, error = %err, "exec attach failed"),
            }
        }
        record_exit().await;
        let code = self
            .execs
            .get(&e.id)
            .and_then(|x| x.exit_code)
            .unwrap_or(126);
        if let Ok(c) = self.resolve_container(&e.container_id) {
            self.container_event(
                "exec_die",
                &c,
                &[("execID", e.id.clone()), ("exitCode", code.to_string())],
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Writes the exec's process and starts its shim; `Err((exit code, message))`.
    async fn exec_spawn(&self, e: &ExecInstance, tty: bool) -> Result<i64, (i64, String)> {
        let fail = |m: String| (126, m);
        let c = self
            .resolve_container(&e.container_id)
            .map_err(|x| fail(x.message))?;
        let dir = self.container_dir(&c.id);
        let spec: Spec = serde_json::from_slice(
            &std::fs::read(dir.join("bundle").join(berth_runtime::CONFIG_JSON))
                .map_err(|x| fail(format!("cannot read the container's bundle: {x}")))?,
        )
        .map_err(|x| fail(format!("bad bundle: {x}")))?;
        let base = spec
            .process()
            .clone()
            .ok_or_else(|| fail("the container's bundle has no process".into()))?;
        let host_config: HostConfig = serde_json::from_str(&c.host_config).unwrap_or_default();
        let req = ExecRequest {
            cmd: &e.config.cmd,
            env: &e.config.env,
            user: &e.config.user,
            working_dir: &e.config.working_dir,
            tty,
            privileged: e.config.privileged,
            group_add: &host_config.group_add,
        };
        let process = exec_process(&base, &dir.join("rootfs"), &req, &LinuxHost)
            .map_err(|x| fail(x.to_string()))?;
        let exec_dir = self.exec_dir(&c.id, &e.id);
        let runc = self
            .container_runtime(&host_config)
            .map_err(|x| fail(x.message))?; // runtime hook
        std::fs::create_dir_all(&exec_dir).map_err(|x| fail(x.to_string()))?;
        let process_file = exec_dir.join("process.json");
        std::fs::write(
            &process_file,
            serde_json::to_vec(&process).map_err(|x| fail(x.to_string()))?,
        )
        .map_err(|x| fail(x.to_string()))?;
        shim::exec(
            &c.id,
            &dir.join("shim"),
            &e.id,
            &process_file,
            tty,
            e.config.attach_stdin,
            runc.as_deref(), // runtime hook
        )
        .await
        .map_err(|f| {
            let code = if f.kind == "not_found" { 127 } else { 126 };
            let _ = std::fs::remove_dir_all(&exec_dir);
            (
                code,
                format!(
                    "OCI runtime exec failed: exec failed: unable to start container process: {}: unknown",
                    f.message
                ),
            )
        })
    }

    /// `GET /exec/{id}/json`.
    pub fn exec_inspect(&self, exec_id: &str) -> Result<Value, ApiError> {
        let e = self
            .execs
            .get(exec_id)
            .ok_or_else(|| ApiError::not_found(format!("No such exec instance: {exec_id}")))?;
        let (entrypoint, args) = match e.config.cmd.split_first() {
            Some((first, rest)) => (first.clone(), rest.to_vec()),
            None => (String::new(), Vec::new()),
        };
        Ok(json!({
            "ID": e.id,
            "Running": e.running,
            "ExitCode": e.exit_code,
            "ProcessConfig": {
                "tty": e.config.tty,
                "entrypoint": entrypoint,
                "arguments": args,
                "privileged": e.config.privileged,
                "user": e.config.user,
            },
            "OpenStdin": e.config.attach_stdin,
            "OpenStderr": e.config.attach_stderr,
            "OpenStdout": e.config.attach_stdout,
            "CanRemove": false,
            "ContainerID": e.container_id,
            "DetachKeys": e.config.detach_keys,
            "Pid": e.pid,
        }))
    }

    /// `POST /exec/{id}/resize`.
    pub async fn exec_resize(
        &self,
        exec_id: &str,
        height: u16,
        width: u16,
    ) -> Result<(), ApiError> {
        let e = self
            .execs
            .get(exec_id)
            .ok_or_else(|| ApiError::not_found(format!("No such exec instance: {exec_id}")))?;
        if !e.running {
            return Err(ApiError::conflict(format!("Exec {exec_id} is not running")));
        }
        shim::request(
            &self.exec_dir(&e.container_id, &e.id),
            json!({"op": "resize", "height": height, "width": width}),
        )
        .await
        .map(|_| ())
    }
}

/// One frame of Docker's multiplexed stream.
fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![stream, 0, 0, 0];
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_config_takes_dockers_json() {
        let c: ExecConfig = serde_json::from_str(
            r#"{"AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"DetachKeys":"","Tty":false,"Env":null,"Cmd":["ls","-l"],"Privileged":false,"User":"","WorkingDir":""}"#,
        )
        .unwrap();
        assert_eq!(c.cmd, vec!["ls", "-l"]);
        assert!(c.env.is_empty() && c.attach_stdout && !c.tty);
    }

    #[test]
    fn frames_have_dockers_header() {
        assert_eq!(frame(2, b"hi"), vec![2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }
}
