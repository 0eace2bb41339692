//! Healthchecks, run by the engine like dockerd's (moby `daemon/health.go`).
//!
//! The container's `Healthcheck` (its own, else its image's `HEALTHCHECK`) is probed by a
//! monitor task per running container: every `Interval` (every `StartInterval` while it is
//! still `starting` inside its `StartPeriod`), the test runs as an exec in the container —
//! through the ordinary exec machinery, so `exec_create`/`exec_start`/`exec_die` events
//! appear as with Docker — with stdout and stderr captured up to 4 KiB, and killed at
//! `Timeout`. Exit 0 is a success, anything else a failure; `Retries` failures in a row
//! make the container `unhealthy`, one success `healthy`. Failures inside the start period
//! don't count until the first success. `State.Health` keeps the last 5 results; a change
//! of status is announced as `health_status: <status>`.
//!
//! The health state is part of the container's stored state, so it survives a berthd
//! restart; `restore_containers` starts the monitors of running containers again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_runtime::config::HealthConfig;
use berth_runtime::{ContainerConfig, ImageRuntimeConfig};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use super::exec::ExecConfig;
use super::shim;
use super::start::now_rfc3339;
use crate::engine::Engine;

/// Docker's defaults (moby `daemon/health.go`).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
/// Results kept in `State.Health.Log`.
const MAX_LOG_ENTRIES: usize = 5;
/// Output kept per result (stdout and stderr together); more is cut and marked `...`.
pub const MAX_OUTPUT_LEN: usize = 4096;

pub const STARTING: &str = "starting";
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";

/// Docker's `Health` object in a container's `State`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: String,
    pub failing_streak: i64,
    #[serde(default)]
    pub log: Vec<HealthResult>,
}

/// One probe's result (Docker's `HealthcheckResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

impl Health {
    pub fn starting() -> Self {
        Self {
            status: STARTING.into(),
            failing_streak: 0,
            log: Vec::new(),
        }
    }

    /// The word in `ps`'s STATUS: "health: starting", "healthy", "unhealthy".
    pub fn ps_word(&self) -> String {
        match self.status.as_str() {
            STARTING => "health: starting".into(),
            "" => UNHEALTHY.into(),
            s => s.into(),
        }
    }

    /// Records a result (moby's `handleProbeResult`); `in_start_period`: the probe
    /// started within the start period. Returns whether the status changed.
    pub fn record(&mut self, result: HealthResult, retries: i64, in_start_period: bool) -> bool {
        let retries = if retries <= 0 {
            DEFAULT_RETRIES
        } else {
            retries
        };
        let old = self.status.clone();
        let success = result.exit_code == 0;
        self.log.push(result);
        if self.log.len() > MAX_LOG_ENTRIES {
            let extra = self.log.len() - MAX_LOG_ENTRIES;
            self.log.drain(..extra);
        }
        if success {
            self.failing_streak = 0;
            self.status = HEALTHY.into();
        } else if !(self.status == STARTING && in_start_period) {
            self.failing_streak += 1;
            if self.failing_streak >= retries {
                self.status = UNHEALTHY.into();
            }
        }
        old != self.status
    }
}

/// A healthcheck with the defaults applied; `None` from [`effective`] when there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The command to exec (`CMD-SHELL` already wrapped in the shell).
    pub cmd: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: i64,
    pub start_period: Duration,
    pub start_interval: Duration,
}

fn nanos_or(n: i64, default: Duration) -> Duration {
    if n > 0 {
        Duration::from_nanos(n as u64)
    } else {
        default
    }
}

/// The container's healthcheck merged over its image's (Docker's create-time merge: no
/// test inherits the image's, zero durations and retries inherit the image's), with the
/// defaults applied. `None`: no healthcheck, or `["NONE"]`.
pub fn effective(config: &ContainerConfig, image: Option<&ImageRuntimeConfig>) -> Option<Probe> {
    let image_hc = image
        .and_then(|i| i.healthcheck.clone())
        .unwrap_or_default();
    let mut hc: HealthConfig = config.healthcheck.clone().unwrap_or_default();
    if hc.test.is_empty() {
        hc.test = image_hc.test.clone();
    }
    let inherit = |v: &mut i64, from: i64| {
        if *v == 0 {
            *v = from
        }
    };
    inherit(&mut hc.interval, image_hc.interval);
    inherit(&mut hc.timeout, image_hc.timeout);
    inherit(&mut hc.retries, image_hc.retries);
    inherit(&mut hc.start_period, image_hc.start_period);
    inherit(&mut hc.start_interval, image_hc.start_interval);
    let (kind, rest) = hc.test.split_first()?;
    let cmd = match kind.as_str() {
        "CMD" => rest.to_vec(),
        "CMD-SHELL" => {
            let mut shell = if config.shell.is_empty() {
                vec!["/bin/sh".to_string(), "-c".to_string()]
            } else {
                config.shell.clone()
            };
            shell.push(rest.join(" "));
            shell
        }
        _ => return None, // "NONE", or a test Docker would have refused
    };
    if cmd.is_empty() {
        return None;
    }
    Some(Probe {
        cmd,
        interval: nanos_or(hc.interval, DEFAULT_INTERVAL),
        timeout: nanos_or(hc.timeout, DEFAULT_TIMEOUT),
        retries: if hc.retries > 0 {
            hc.retries
        } else {
            DEFAULT_RETRIES
        },
        start_period: nanos_or(hc.start_period, Duration::ZERO),
        start_interval: nanos_or(hc.start_interval, DEFAULT_START_INTERVAL),
    })
}

/// Collects a probe's output up to [`MAX_OUTPUT_LEN`] bytes (moby's `limitedBuffer`).
#[derive(Debug, Default)]
pub struct LimitedOutput {
    buf: Vec<u8>,
    truncated: bool,
}

impl LimitedOutput {
    pub fn push(&mut self, data: &[u8]) {
        let keep = MAX_OUTPUT_LEN
            .saturating_sub(self.buf.len())
            .min(data.len());
        self.buf.extend_from_slice(&data[..keep]);
        if keep < data.len() {
            self.truncated = true;
        }
    }

    pub fn text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.buf).into_owned();
        if self.truncated {
            s.push_str("...");
        }
        s
    }
}

/// Splits Docker's multiplexed stream (8-byte headers) into payloads as bytes arrive.
#[derive(Debug, Default)]
struct Demux {
    pending: Vec<u8>,
}

impl Demux {
    fn feed(&mut self, data: &[u8], out: &mut LimitedOutput) {
        self.pending.extend_from_slice(data);
        loop {
            if self.pending.len() < 8 {
                return;
            }
            let len = u32::from_be_bytes([
                self.pending[4],
                self.pending[5],
                self.pending[6],
                self.pending[7],
            ]) as usize;
            if self.pending.len() < 8 + len {
                return;
            }
            out.push(&self.pending[8..8 + len]);
            self.pending.drain(..8 + len);
        }
    }
}

/// Go's `time.Duration.String()` for the timeout message ("1s", "1m30s", "500ms").
pub fn go_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m) = (d.as_secs() / 3600, (d.as_secs() / 60) % 60);
    let s = d.as_secs_f64() - (d.as_secs() / 60 * 60) as f64;
    let secs = format!("{s}").trim_end_matches(".0").to_string();
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// Every descendant of `pid` (from `/proc/*/stat`), children before grandchildren.
fn descendants(pid: i32) -> Vec<i32> {
    if pid <= 1 {
        return Vec::new();
    }
    let mut parent_of = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|x| x.parse::<i32>().ok());
        if let Some(ppid) = ppid {
            parent_of.push((p, ppid));
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for &(child, _) in parent_of.iter().filter(|(_, pp)| *pp == p) {
            if !out.contains(&child) {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

fn parse_time(t: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
}

/// Running health monitors by container ID (the task and the start it belongs to).
#[derive(Default)]
pub struct HealthMonitors {
    inner: Mutex<HashMap<String, tokio::task::AbortHandle>>,
}

impl HealthMonitors {
    fn replace(&self, id: &str, task: Option<tokio::task::AbortHandle>) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let old = match task {
            Some(t) => m.insert(id.to_string(), t),
            None => m.remove(id),
        };
        if let Some(old) = old {
            old.abort();
        }
    }
}

impl Engine {
    /// The container's effective healthcheck, if it has one.
    fn container_probe(&self, c: &berth_store::ContainerRecord) -> Option<Probe> {
        let config: ContainerConfig = serde_json::from_str(&c.config).ok()?;
        let image: Option<ImageRuntimeConfig> = self
            .image_config(&c.image_id)
            .ok()
            .and_then(|v| serde_json::from_value(v["config"].clone()).ok());
        effective(&config, image.as_ref())
    }

    /// The `Health` a container starts with: `starting` (keeping the previous log, like
    /// dockerd) when it has a healthcheck, else none.
    pub(super) fn initial_health(
        &self,
        c: &berth_store::ContainerRecord,
        previous: Option<&Health>,
    ) -> Option<Health> {
        self.container_probe(c)?;
        let mut h = previous.cloned().unwrap_or_else(Health::starting);
        h.status = STARTING.into();
        h.failing_streak = 0;
        Some(h)
    }

    /// Starts (or restarts) the health monitor of a running container; a no-op without a
    /// healthcheck.
    pub(super) fn start_health_monitor(self: &Arc<Self>, id: &str) {
        let Ok(c) = self.resolve_container(id) else {
            return;
        };
        let Some(probe) = self.container_probe(&c) else {
            return;
        };
        let st = self.container_state(&c);
        if !st.running {
            return;
        }
        let engine = self.clone();
        let cid = c.id.clone();
        let task = tokio::spawn(async move {
            engine.health_loop(&cid, &st.started_at, probe).await;
        });
        self.health.replace(&c.id, Some(task.abort_handle()));
    }

    /// Stops a container's health monitor (its container stopped or is being removed).
    pub(super) fn stop_health_monitor(&self, id: &str) {
        self.health.replace(id, None);
    }

    async fn health_loop(self: &Arc<Self>, id: &str, started_at: &str, probe: Probe) {
        let started = parse_time(started_at).unwrap_or_else(time::OffsetDateTime::now_utc);
        let mut shutdown = self.shutdown_signal();
        loop {
            let Some(st) = self.health_state_if_current(id, started_at) else {
                return;
            };
            let since_start: Duration = (time::OffsetDateTime::now_utc() - started)
                .try_into()
                .unwrap_or_default();
            let starting = st.health.as_ref().is_none_or(|h| h.status == STARTING);
            let wait = if since_start < probe.start_period && starting {
                probe.start_interval
            } else {
                probe.interval
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = crate::engine::stopped(&mut shutdown) => return,
            }
            let Some(st) = self.health_state_if_current(id, started_at) else {
                return;
            };
            if st.paused {
                continue;
            }
            let begin = time::OffsetDateTime::now_utc();
            let result = self.run_probe(id, &probe).await;
            let in_start_period = TryInto::<Duration>::try_into(begin - started)
                .map(|d| d < probe.start_period)
                .unwrap_or(false);
            // Still the same run? (It may have stopped while the probe ran.)
            let Some(mut st) = self.health_state_if_current(id, started_at) else {
                return;
            };
            let mut health = st.health.take().unwrap_or_else(Health::starting);
            let changed = health.record(result, probe.retries, in_start_period);
            let status = health.status.clone();
            st.health = Some(health);
            if self.save_state(id, &st).is_err() {
                return;
            }
            if changed {
                if let Ok(c) = self.resolve_container(id) {
                    self.container_event(&format!("health_status: {status}"), &c, &[]);
                }
            }
        }
    }

    /// The container's state while it is still the run started at `started_at`.
    fn health_state_if_current(&self, id: &str, started_at: &str) -> Option<super::state::State> {
        let c = self.db().container(id).ok()??;
        let st = self.container_state(&c);
        (st.running && st.started_at == started_at).then_some(st)
    }

    /// Runs the test once as an exec; a hung test is killed at the timeout.
    async fn run_probe(self: &Arc<Self>, id: &str, probe: &Probe) -> HealthResult {
        let start = now_rfc3339();
        let failed = |output: String| HealthResult {
            start: start.clone(),
            end: now_rfc3339(),
            exit_code: -1,
            output,
        };
        let config = ExecConfig {
            attach_stdout: true,
            attach_stderr: true,
            cmd: probe.cmd.clone(),
            ..Default::default()
        };
        let exec_id = match self.exec_create(id, config) {
            Ok(e) => e,
            Err(e) => return failed(e.message),
        };
        let ticket = match self.exec_start_prepare(&exec_id, false, Some(false)) {
            Ok(t) => t,
            Err(e) => {
                self.execs.forget(&exec_id); // health hook
                return failed(e.message);
            }
        };
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let run = tokio::spawn(self.clone().exec_run(ticket, Some(theirs)));
        let read = async {
            let mut ours = ours;
            let mut out = LimitedOutput::default();
            let mut demux = Demux::default();
            let mut buf = vec![0u8; 8192];
            loop {
                match ours.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => demux.feed(&buf[..n], &mut out),
                }
            }
            out
        };
        let result = match tokio::time::timeout(probe.timeout, async {
            let out = read.await;
            let _ = run.await;
            out
        })
        .await
        {
            Ok(out) => {
                let code = self
                    .exec_inspect(&exec_id)
                    .ok()
                    .and_then(|v| v["ExitCode"].as_i64())
                    .unwrap_or(-1);
                HealthResult {
                    start: start.clone(),
                    end: now_rfc3339(),
                    exit_code: code,
                    output: out.text(),
                }
            }
            Err(_) => {
                let dir = self
                    .container_dir(id)
                    .join("shim")
                    .join("exec")
                    .join(&exec_id);
                // The test's children too (moby kills only the exec's process, which
                // leaves a `sh -c`'s hung child running in the container).
                let pid = self
                    .exec_inspect(&exec_id)
                    .ok()
                    .and_then(|v| v["Pid"].as_i64())
                    .unwrap_or(0);
                for child in descendants(pid as i32) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(child),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = shim::request(&dir, serde_json::json!({"op": "signal", "signal": "KILL"}))
                    .await;
                tracing::debug!(container = %id, "health check timed out; killed");
                failed(format!(
                    "Health check exceeded timeout ({})",
                    go_duration(probe.timeout)
                ))
            }
        };
        self.execs.forget(&exec_id); // health hook
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(code: i64) -> HealthResult {
        HealthResult {
            start: String::new(),
            end: String::new(),
            exit_code: code,
            output: format!("run {code}"),
        }
    }

    #[test]
    fn retries_failures_make_it_unhealthy_and_one_success_healthy() {
        let mut h = Health::starting();
        assert!(!h.record(result(1), 2, false));
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 1));
        assert!(h.record(result(1), 2, false));
        assert_eq!((h.status.as_str(), h.failing_streak), (UNHEALTHY, 2));
        assert!(!h.record(result(2), 2, false), "any non-zero code fails");
        assert_eq!(h.failing_streak, 3);
        assert!(h.record(result(0), 2, false));
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 0));
        assert!(!h.record(result(1), 2, false));
        assert_eq!(h.status, HEALTHY, "one failure of two allowed");
    }

    #[test]
    fn failures_in_the_start_period_do_not_count_until_a_success() {
        let mut h = Health::starting();
        for _ in 0..5 {
            h.record(result(1), 1, true);
        }
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 0));
        h.record(result(0), 1, true);
        assert_eq!(h.status, HEALTHY);
        // Once healthy, a failure counts even inside the start period.
        h.record(result(1), 1, true);
        assert_eq!((h.status.as_str(), h.failing_streak), (UNHEALTHY, 1));
        // Past the start period failures count while starting.
        let mut h = Health::starting();
        h.record(result(1), 1, false);
        assert_eq!(h.status, UNHEALTHY);
    }

    #[test]
    fn the_log_keeps_the_last_five() {
        let mut h = Health::starting();
        for i in 0..8 {
            h.record(result(i), 3, false);
        }
        let codes: Vec<i64> = h.log.iter().map(|r| r.exit_code).collect();
        assert_eq!(codes, vec![3, 4, 5, 6, 7]);
    }

    #[test]
    fn output_is_cut_at_4_kib() {
        let mut o = LimitedOutput::default();
        o.push(b"abc");
        assert_eq!(o.text(), "abc");
        o.push(&[b'x'; 5000]);
        let t = o.text();
        assert_eq!(t.len(), MAX_OUTPUT_LEN + 3);
        assert!(t.starts_with("abcxx") && t.ends_with("x..."));
        let mut d = Demux::default();
        let mut o = LimitedOutput::default();
        let mut frame = vec![1, 0, 0, 0, 0, 0, 0, 3];
        frame.extend_from_slice(b"out");
        frame.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 4]);
        frame.extend_from_slice(b"err\n");
        d.feed(&frame[..5], &mut o);
        d.feed(&frame[5..], &mut o);
        assert_eq!(o.text(), "outerr\n");
    }

    #[test]
    fn healthchecks_merge_over_the_image_with_dockers_defaults() {
        let image = ImageRuntimeConfig {
            healthcheck: Some(HealthConfig {
                test: vec!["CMD-SHELL".into(), "test -f /ok".into()],
                interval: 2_000_000_000,
                retries: 5,
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = effective(&ContainerConfig::default(), Some(&image)).unwrap();
        assert_eq!(p.cmd, vec!["/bin/sh", "-c", "test -f /ok"]);
        assert_eq!(p.interval, Duration::from_secs(2));
        assert_eq!(p.timeout, DEFAULT_TIMEOUT);
        assert_eq!(p.retries, 5);
        assert_eq!(p.start_period, Duration::ZERO);
        assert_eq!(p.start_interval, DEFAULT_START_INTERVAL);

        let mut c = ContainerConfig {
            healthcheck: Some(HealthConfig {
                test: vec!["CMD".into(), "true".into()],
                timeout: 1_000_000_000,
                ..Default::default()
            }),
            ..Default::default()
        };
        let p = effective(&c, Some(&image)).unwrap();
        assert_eq!(p.cmd, vec!["true"]);
        assert_eq!(p.timeout, Duration::from_secs(1));
        assert_eq!(p.interval, Duration::from_secs(2), "inherited");
        c.healthcheck.as_mut().unwrap().test = vec!["NONE".into()];
        assert!(effective(&c, Some(&image)).is_none());
        assert!(effective(&ContainerConfig::default(), None).is_none());
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    }

    #[test]
    fn descendants_are_found_through_proc() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        assert!((0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            !descendants(pid).is_empty()
        }));
        for p in descendants(pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(descendants(1).is_empty(), "pid 1 is never walked");
    }

    #[test]
    fn ps_words_match_docker() {
        let mut h = Health::starting();
        assert_eq!(h.ps_word(), "health: starting");
        h.status = HEALTHY.into();
        assert_eq!(h.ps_word(), "healthy");
    }
}
