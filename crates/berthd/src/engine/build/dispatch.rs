//! Running stages: `FROM`, then each instruction on the stage's state. Metadata
//! instructions change the image config and commit an `empty_layer` step whose history
//! reads like the classic builder's (`/bin/sh -c #(nop)  ENV A=1`).

use std::collections::BTreeSet;
use std::sync::Arc;

use berth_api::ApiError;
use berth_dockerfile::shell::{env_lookup, Expander};
use berth_dockerfile::{CommandForm, Instruction, Node};
use berth_image::{EmptyObject, HealthConfig};

use super::cache;
use super::commit::{StageState, StepCommit};
use super::context::Context;
use super::stages::{stage_index, StagePlan};
use super::{short, BuildOptions, Output};
use crate::engine::Engine;

pub(crate) struct Builder<'a> {
    pub engine: Arc<Engine>,
    pub opts: &'a BuildOptions,
    pub out: &'a Output,
    pub ctx: &'a Context,
    /// `ARG`s before the first `FROM`, with their values.
    pub meta_args: Vec<(String, Option<String>)>,
    /// Build-args some `ARG` consumed.
    pub used_args: BTreeSet<String>,
    /// Each stage's final image, once built.
    pub results: Vec<Option<String>>,
    pub names: Vec<Option<String>>,
    pub step: usize,
    pub total: usize,
    pub escape: char,
}

/// An error tied to a Dockerfile line.
pub(crate) fn at(node: &Node, msg: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("Dockerfile line {}: {msg}", node.line))
}

/// Go's `%q` of a string slice: `["a" "b c"]`.
pub(crate) fn go_list(v: &[String]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(" "))
}

impl Builder<'_> {
    async fn announce(&mut self, node: &Node) {
        self.step += 1;
        self.out
            .stream(format!(
                "Step {}/{} : {}\n",
                self.step, self.total, node.original
            ))
            .await;
    }

    fn meta_env(&self) -> Vec<String> {
        self.meta_args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect()
    }

    /// A build-arg's value if the request set one (and note it as used).
    fn build_arg(&mut self, name: &str) -> Option<Option<String>> {
        let v = self.opts.build_args.get(name).cloned()?;
        self.used_args.insert(name.to_string());
        Some(v)
    }

    /// `ARG` before the first `FROM`.
    pub async fn meta_arg(&mut self, node: &Node) -> Result<(), ApiError> {
        self.announce(node).await;
        let Instruction::Arg(pairs) = Instruction::from_node(node).map_err(invalid)? else {
            return Err(at(node, "not an ARG"));
        };
        for (k, default) in pairs {
            let env = self.meta_env();
            let default = match default {
                Some(d) => Some(expand_word(&env, self.escape, &d, node)?),
                None => None,
            };
            let value = match self.build_arg(&k) {
                Some(Some(v)) => Some(v),
                _ => default,
            };
            self.meta_args.retain(|(n, _)| *n != k);
            self.meta_args.push((k, value));
        }
        Ok(())
    }

    /// Builds one stage; returns its image ID.
    pub async fn run_stage(&mut self, stage: &StagePlan) -> Result<String, ApiError> {
        self.announce(&stage.from).await;
        let Instruction::From(from) = Instruction::from_node(&stage.from).map_err(invalid)? else {
            return Err(at(&stage.from, "not a FROM"));
        };
        let image = expand_word(&self.meta_env(), self.escape, &from.image, &stage.from)?;
        let mut st = if image.eq_ignore_ascii_case("scratch") {
            StageState::scratch()
        } else if let Some(i) = stage_index(&self.names, stage.index, &image)
            .filter(|_| !image.chars().all(|c| c.is_ascii_digit()))
        {
            let id = self.results[i]
                .clone()
                .ok_or_else(|| at(&stage.from, format!("stage {image} was not built")))?;
            StageState::load(&self.engine, &id)?
        } else {
            let rec = self.engine.resolve_image(&image).map_err(|e| {
                ApiError::not_found(format!(
                    "pull access denied for {image}, repository does not exist or may require 'docker login': {}",
                    e.message
                ))
            })?;
            StageState::load(&self.engine, &rec.id)?
        };
        if !st.image_id.is_empty() {
            self.out
                .stream(format!(" ---> {}\n", short(&st.image_id)))
                .await;
        }
        if st.env().is_empty() {
            st.cfg().env = Some(vec![super::commit::DEFAULT_PATH.to_string()]);
        }
        // ONBUILD triggers of the base image run first, then are cleared.
        let triggers = st.cfg().on_build.take().unwrap_or_default();
        if !triggers.is_empty() {
            self.out
                .stream(format!("# Executing {} build trigger(s)\n", triggers.len()))
                .await;
            for t in &triggers {
                let df = berth_dockerfile::parse(t).map_err(invalid)?;
                for node in &df.nodes {
                    self.dispatch(&mut st, node).await?;
                }
            }
        }
        let mut cmd_set = false;
        for node in &stage.nodes {
            self.announce(node).await;
            self.dispatch_with(&mut st, node, &mut cmd_set).await?;
            self.out
                .stream(format!(" ---> {}\n", short(&st.image_id)))
                .await;
        }
        Ok(st.image_id)
    }

    async fn dispatch(&mut self, st: &mut StageState, node: &Node) -> Result<(), ApiError> {
        let mut cmd_set = false;
        self.dispatch_with(st, node, &mut cmd_set).await
    }

    async fn dispatch_with(
        &mut self,
        st: &mut StageState,
        node: &Node,
        cmd_set: &mut bool,
    ) -> Result<(), ApiError> {
        let ins = Instruction::from_node(node).map_err(invalid)?;
        let esc = node.escape;
        let env = st.expansion_env();
        let word = |w: &str| expand_word(&env, esc, w, node);
        match ins {
            Instruction::From(_) => Err(at(node, "FROM inside a stage")),
            Instruction::Run(args) => super::run::run(self, st, &args, node).await,
            Instruction::Copy(args) => super::copy::copy(self, st, &args, node, false).await,
            Instruction::Add(args) => super::copy::copy(self, st, &args, node, true).await,
            Instruction::Workdir(dir) => {
                let dir = word(&dir)?;
                let full = if dir.starts_with('/') {
                    berth_dockerfile::dockerignore::clean(&dir)
                } else {
                    berth_dockerfile::dockerignore::clean(&format!("{}/{dir}", st.workdir()))
                };
                st.cfg().working_dir = Some(full.clone());
                super::copy::workdir(self, st, &full).await
            }
            Instruction::Env(pairs) => {
                let mut text = String::from("ENV");
                let mut set = Vec::new();
                for (k, v) in pairs {
                    let (k, v) = (word(&k)?, word(&v)?);
                    text.push_str(&format!(" {k}={v}"));
                    set.push((k, v));
                }
                let vars = st.cfg().env.get_or_insert_with(Vec::new);
                for (k, v) in set {
                    let entry = format!("{k}={v}");
                    match vars
                        .iter_mut()
                        .find(|e| e.split('=').next() == Some(k.as_str()))
                    {
                        Some(e) => *e = entry,
                        None => vars.push(entry),
                    }
                }
                self.meta(st, &text).await
            }
            Instruction::Label(pairs) => {
                let mut text = String::from("LABEL");
                let mut set = Vec::new();
                for (k, v) in pairs {
                    let (k, v) = (word(&k)?, word(&v)?);
                    text.push_str(&format!(" {k}={v}"));
                    set.push((k, v));
                }
                let labels = st.cfg().labels.get_or_insert_with(Default::default);
                labels.extend(set);
                self.meta(st, &text).await
            }
            Instruction::Arg(pairs) => {
                let mut text = String::from("ARG");
                let mut values = Vec::new();
                for (k, default) in pairs {
                    let default = default.map(|d| word(&d)).transpose()?;
                    text.push_str(&format!(" {k}"));
                    if let Some(d) = &default {
                        text.push_str(&format!("={d}"));
                    }
                    let meta = self
                        .meta_args
                        .iter()
                        .find(|(n, _)| *n == k)
                        .map(|(_, v)| v.clone());
                    let value = match self.build_arg(&k) {
                        Some(Some(v)) => Some(v),
                        _ => default.or(meta.flatten()),
                    };
                    values.push(format!("{k}={}", value.clone().unwrap_or_default()));
                    st.args.retain(|(n, _)| *n != k);
                    st.args.push((k, value));
                }
                self.meta_with(st, &text, &values).await
            }
            Instruction::Expose(ports) => {
                let mut list = Vec::new();
                for p in ports {
                    for w in expand_words(&env, esc, &p, node)? {
                        list.push(normalize_port(&w).map_err(|e| at(node, e))?);
                    }
                }
                let set = st.cfg().exposed_ports.get_or_insert_with(Default::default);
                for p in &list {
                    set.insert(p.clone(), EmptyObject {});
                }
                self.meta(st, &format!("EXPOSE {}", list.join(" "))).await
            }
            Instruction::Volume(vols) => {
                let mut list = Vec::new();
                for v in vols {
                    let v = word(&v)?;
                    if v.trim().is_empty() {
                        return Err(at(node, "VOLUME specified can not be an empty string"));
                    }
                    list.push(v);
                }
                let set = st.cfg().volumes.get_or_insert_with(Default::default);
                for v in &list {
                    set.insert(v.clone(), EmptyObject {});
                }
                self.meta(st, &format!("VOLUME [{}]", list.join(" "))).await
            }
            Instruction::User(u) => {
                let u = word(&u)?;
                st.cfg().user = Some(u.clone());
                self.meta(st, &format!("USER {u}")).await
            }
            Instruction::StopSignal(s) => {
                let s = word(&s)?;
                st.cfg().stop_signal = Some(s.clone());
                self.meta(st, &format!("STOPSIGNAL {s}")).await
            }
            Instruction::Shell(v) => {
                st.cfg().shell = Some(v.clone());
                self.meta(st, &format!("SHELL [{}]", v.join(" "))).await
            }
            Instruction::Cmd(form) => {
                let cmd = command(st, form);
                let text = format!("CMD {}", go_list(&cmd));
                st.cfg().cmd = Some(cmd);
                st.cfg().args_escaped = None;
                *cmd_set = true;
                self.meta(st, &text).await
            }
            Instruction::Entrypoint(form) => {
                let ep = command(st, form);
                let text = format!("ENTRYPOINT {}", go_list(&ep));
                st.cfg().entrypoint = Some(ep);
                st.cfg().args_escaped = None;
                if !*cmd_set {
                    st.cfg().cmd = None;
                }
                self.meta(st, &text).await
            }
            Instruction::Healthcheck(h) => {
                let text = format!("HEALTHCHECK {}", go_list(&h.test));
                let nz = |v: i64| (v != 0).then_some(v);
                st.cfg().healthcheck = Some(HealthConfig {
                    test: Some(h.test),
                    interval: nz(h.interval),
                    timeout: nz(h.timeout),
                    start_period: nz(h.start_period),
                    start_interval: nz(h.start_interval),
                    retries: nz(h.retries),
                    ..Default::default()
                });
                self.meta(st, &text).await
            }
            Instruction::Onbuild(t) => {
                st.cfg()
                    .on_build
                    .get_or_insert_with(Vec::new)
                    .push(t.clone());
                self.meta(st, &format!("ONBUILD {t}")).await
            }
            Instruction::Maintainer(m) => {
                st.config.author = Some(m.clone());
                self.meta(st, &format!("MAINTAINER {m}")).await
            }
        }
    }

    /// Commits a metadata-only step (already applied to `st.config`).
    async fn meta(&mut self, st: &mut StageState, text: &str) -> Result<(), ApiError> {
        self.meta_with(st, text, &[]).await
    }

    async fn meta_with(
        &mut self,
        st: &mut StageState,
        text: &str,
        extra: &[String],
    ) -> Result<(), ApiError> {
        let created_by = format!("{} #(nop)  {text}", st.shell().join(" "));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let key = cache::key(&st.image_id, "nop", &created_by, &extra);
        if self.cached(st, &key).await? {
            return Ok(());
        }
        self.engine
            .commit_step(
                st,
                StepCommit {
                    created_by,
                    layer: None,
                    container_config: None,
                    container: None,
                    cache_key: key,
                },
            )
            .await
    }

    /// On a cache hit, moves the stage to the cached image (keeping its declared ARGs).
    pub async fn cached(&mut self, st: &mut StageState, key: &str) -> Result<bool, ApiError> {
        if self.opts.no_cache {
            return Ok(false);
        }
        let now = crate::engine::images::now_unix();
        let Some(id) = self
            .engine
            .db()
            .build_cache_get(key, now)
            .map_err(crate::engine::images::store_err)?
        else {
            return Ok(false);
        };
        let args = std::mem::take(&mut st.args);
        *st = StageState::load(&self.engine, &id)?;
        st.args = args;
        self.out.stream(" ---> Using cache\n").await;
        Ok(true)
    }
}

fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(e.to_string())
}

/// CMD/ENTRYPOINT: the exec form as is, the shell form through the SHELL.
fn command(st: &StageState, form: CommandForm) -> Vec<String> {
    match form {
        CommandForm::Exec(v) => v,
        CommandForm::Shell(s) => {
            let mut v = st.shell();
            v.push(s);
            v
        }
    }
}

pub(crate) fn expand_word(
    env: &[String],
    escape: char,
    w: &str,
    node: &Node,
) -> Result<String, ApiError> {
    let lookup = env_lookup(env);
    Expander::new(escape, &lookup)
        .word(w)
        .map_err(|e| at(node, format!("failed to process {w:?}: {e}")))
}

fn expand_words(
    env: &[String],
    escape: char,
    w: &str,
    node: &Node,
) -> Result<Vec<String>, ApiError> {
    let lookup = env_lookup(env);
    Expander::new(escape, &lookup)
        .words(w)
        .map_err(|e| at(node, format!("failed to process {w:?}: {e}")))
}

/// `80` → `80/tcp`, `53/UDP` → `53/udp`; checks the number.
fn normalize_port(p: &str) -> Result<String, String> {
    let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let valid = |s: &str| s.parse::<u16>().is_ok();
    let ok = match port.split_once('-') {
        Some((a, b)) => valid(a) && valid(b),
        None => valid(port),
    };
    if !ok {
        return Err(format!("invalid containerPort: {port}"));
    }
    Ok(format!("{port}/{proto}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_lists() {
        assert_eq!(normalize_port("80").unwrap(), "80/tcp");
        assert_eq!(normalize_port("53/UDP").unwrap(), "53/udp");
        assert_eq!(normalize_port("8000-8010").unwrap(), "8000-8010/tcp");
        assert!(normalize_port("http").is_err());
        assert!(normalize_port("80/xyz").is_err());
        assert_eq!(
            go_list(&["/bin/sh".into(), "-c".into(), "echo \"hi\"".into()]),
            r#"["/bin/sh" "-c" "echo \"hi\""]"#
        );
    }
}
