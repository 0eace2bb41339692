//! The builder: `POST /build` (the classic `docker build`), a Dockerfile turned into an image
//! step by step, each step's result an image of its own and the key to the next step's cache.
//!
//! - `context`: the uploaded tar (plain or compressed) extracted into scratch space, read
//!   only through in-root path resolution (a symlink in the context cannot reach host files).
//! - `stages`: which stages the target needs (unused ones are skipped), meta `ARG`s, the
//!   order they run in.
//! - `dispatch`: one method per instruction kind on a stage's state; metadata instructions
//!   only change the image config and add an `empty_layer` history entry (`#(nop)` like the
//!   classic builder), `WORKDIR` creates its directory.
//! - `run`: `RUN` in a real container of berth's runtime, its output streamed, its upper
//!   directory committed as the step's layer.
//! - `copy`: `COPY`/`ADD` from the context, another stage or an image: sources resolved and
//!   hashed (path, mode, owner, content — not mtime), written as a tar into an overlay of the
//!   stage's image, whose upper directory becomes the layer.
//! - `commit`: writes a step's image (config, optional layer) and its cache entry.
//! - `cache`: step cache keys (parent image, the expanded instruction, build-arg values, for
//!   COPY/ADD the sources' content hash) and lookups in the DB's `build_cache` table.
//!
//! Output follows the classic builder's stream (`Step 2/5 : RUN ...`, ` ---> Using cache`,
//! ` ---> 1a2b3c4d5e6f`, `Successfully built`, `Successfully tagged`), so the real docker CLI
//! prints it unchanged. See docs/builder.md.

mod cache;
mod commit;
mod context;
mod copy;
mod dispatch;
mod prune;
mod run;
mod stages;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::Arc;

use berth_api::images::JsonMessage;
use berth_api::ApiError;
use berth_image::Reference;
use tokio::sync::mpsc;

use super::Engine;

/// The build request's settings (`POST /build` query parameters).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `t`: names to tag the result with.
    pub tags: Vec<String>,
    /// Path of the Dockerfile inside the context (default `Dockerfile`).
    pub dockerfile: String,
    /// `buildargs`: a `None` value means "declared but not set".
    pub build_args: BTreeMap<String, Option<String>>,
    pub labels: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    /// Always look for a newer base image (nothing to pull from locally: accepted).
    pub pull: bool,
    /// Remove intermediate containers after a successful step (default true).
    pub rm: bool,
    /// Remove intermediate containers even after a failed step.
    pub force_rm: bool,
    /// Only print the image ID.
    pub quiet: bool,
    /// `networkmode` for RUN containers.
    pub network_mode: String,
    pub platform: Option<String>,
    /// Images whose build cache may be used (every local image's cache is used anyway).
    pub cache_from: Vec<String>,
}

/// Where the build's JSON messages go; quiet builds keep step output to themselves.
pub(crate) struct Output {
    tx: mpsc::Sender<JsonMessage>,
    quiet: bool,
}

impl Output {
    /// A line of step output (`{"stream": ...}`).
    async fn stream(&self, text: impl Into<String>) {
        if !self.quiet {
            let _ = self.tx.send(JsonMessage::stream(text)).await;
        }
    }

    async fn always(&self, msg: JsonMessage) {
        let _ = self.tx.send(msg).await;
    }
}

/// Docker's short image ID: 12 hex digits.
pub(crate) fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// The build-args any Dockerfile may use without declaring them (and that stay out of the
/// image's history).
const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

impl Engine {
    /// Runs a build, sending its output to `tx`; returns the image ID. A failure is
    /// returned (not sent): the caller turns it into the stream's error message.
    pub async fn build(
        self: &Arc<Self>,
        body: Box<dyn Read + Send>,
        opts: BuildOptions,
        tx: mpsc::Sender<JsonMessage>,
    ) -> Result<String, ApiError> {
        let out = Output {
            tx,
            quiet: opts.quiet,
        };
        let mut tags = Vec::new();
        for t in &opts.tags {
            let r = Reference::parse(t)
                .map_err(|e| ApiError::invalid(format!("invalid reference format: {t}: {e}")))?;
            if r.digest().is_some() {
                return Err(ApiError::invalid(format!(
                    "invalid reference format: {t}: a tag cannot have a digest"
                )));
            }
            tags.push(r.with_default_tag());
        }
        if let Some(p) = &opts.platform {
            let arch = crate::host::go_arch(std::env::consts::ARCH);
            let mut parts = p.split('/');
            let (os, want) = (parts.next().unwrap_or(""), parts.next());
            if os != "linux" || want.is_some_and(|a| a != arch) {
                return Err(ApiError::invalid(format!(
                    "platform {p} is not supported: this daemon builds linux/{arch}"
                )));
            }
        }
        if opts.pull {
            // Base images are only looked up locally; `pull` has nothing to refresh.
            tracing::debug!("build with pull=1: base images are used as stored");
        }
        for c in &opts.cache_from {
            // Every local image's steps are in the cache already; just say when one is
            // missing, like dockerd's warning.
            if self.resolve_image(c).is_err() {
                out.stream(format!("[Warning] cache-from image {c} not found\n"))
                    .await;
            }
        }
        let ctx = context::Context::extract(self, body).await?;
        let text = ctx.dockerfile(&opts.dockerfile)?;
        let df = berth_dockerfile::parse(&text).map_err(|e| ApiError::invalid(e.to_string()))?;
        let plan = stages::Plan::new(&df, &opts)?;

        let mut b = dispatch::Builder {
            engine: self.clone(),
            opts: &opts,
            out: &out,
            ctx: &ctx,
            meta_args: Vec::new(),
            used_args: BTreeSet::new(),
            results: vec![None; plan.stages.len()],
            names: plan.stages.iter().map(|s| s.name.clone()).collect(),
            step: 0,
            total: plan.total_steps,
            escape: df.directives.escape,
        };
        for node in &plan.meta_args {
            b.meta_arg(node).await?;
        }
        let mut last = None;
        for (i, stage) in plan.stages.iter().enumerate() {
            if !plan.needed[i] {
                continue;
            }
            let id = b.run_stage(stage).await?;
            b.results[i] = Some(id.clone());
            last = Some(id);
            if Some(i) == plan.target {
                break;
            }
        }
        let id = last.filter(|id| !id.is_empty()).ok_or_else(|| {
            ApiError::invalid("No image was generated. Is your Dockerfile empty?")
        })?;

        let unused: Vec<&String> = opts
            .build_args
            .keys()
            .filter(|k| !b.used_args.contains(*k) && !PROXY_ARGS.contains(&k.as_str()))
            .collect();
        if !unused.is_empty() {
            let names: Vec<&str> = unused.iter().map(|s| s.as_str()).collect();
            out.stream(format!(
                "[Warning] One or more build-args [{}] were not consumed\n",
                names.join(" ")
            ))
            .await;
        }
        out.always(JsonMessage {
            aux: Some(serde_json::json!({ "ID": id })),
            ..Default::default()
        })
        .await;
        if opts.quiet {
            out.always(JsonMessage::stream(format!("{id}\n"))).await;
        }
        out.stream(format!("Successfully built {}\n", short(&id)))
            .await;
        for r in tags {
            self.tag_image(&id, &r.to_string(), None).await?;
            out.stream(format!("Successfully tagged {}\n", r.familiar_string()))
                .await;
        }
        Ok(id)
    }
}
