//! `berth compose`: multi-container projects from compose files (issue #9). The model and
//! its loading are `berth-compose`; this module turns a project into daemon calls, naming
//! and labelling everything the way Docker Compose does, so both tools manage the same
//! project: containers `<project>-<service>-<n>`, network `<project>_default`, volumes
//! `<project>_<name>`, and the `com.docker.compose.*` labels.
//!
//! One file per command group: `up`, `down`, `ps`, `logs`, `ops` (start/stop/restart/kill/
//! pause/unpause/rm/top/port), `images` (build/pull/push/images), `exec` (exec/run),
//! `config`, `ls`; `spec` builds create requests, `resources` networks and volumes.

pub mod cli;
mod config;
mod exec;
mod images;
mod logs;
mod ls;
mod ops;
mod ps;
mod resources;
mod spec;
mod up;

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use berth_compose::{LoadOptions, Project};
use serde_json::{json, Value};

use crate::commands::Ctx;
use crate::context::ContextStore;
use crate::error::StatusError;
pub use cli::{ComposeArgs, ComposeCommand};
use spec::{LABEL_NUMBER, LABEL_ONEOFF, LABEL_PROJECT, LABEL_SERVICE};

pub async fn run(
    connect: impl Fn() -> Result<Ctx>,
    store: &ContextStore,
    a: &ComposeArgs,
) -> Result<ExitCode> {
    use ComposeCommand as C;
    match &a.command {
        C::Config(o) => config::run(a, o),
        C::Ls(o) => ls::run(&connect()?, o).await,
        C::Up(o) => up::run(&connect()?, store, &load(a, &o.services)?, o).await,
        C::Down(o) => up::down(&connect()?, &project_or_name(a)?, o).await,
        C::Ps(o) => ps::run(&connect()?, &project_or_name(a)?, o).await,
        C::Logs(o) => logs::run(&connect()?, &project_or_name(a)?, o).await,
        C::Build(o) => images::build(&connect()?, &load(a, &o.services)?, &o.services).await,
        C::Pull(o) => images::pull(&connect()?, store, &load(a, &o.services)?, &o.services).await,
        C::Push(o) => images::push(&connect()?, store, &load(a, &o.services)?, &o.services).await,
        C::Images(o) => images::images(&connect()?, &project_or_name(a)?, &o.services).await,
        C::Exec(o) => exec::exec(&connect()?, &project_or_name(a)?, o).await,
        C::Run(o) => {
            exec::run(
                &connect()?,
                store,
                &load(a, std::slice::from_ref(&o.service))?,
                o,
            )
            .await
        }
        C::Start(o) => ops::start(&connect()?, &project_or_name(a)?, &o.services).await,
        C::Stop(o) => ops::stop(&connect()?, &project_or_name(a)?, o, false).await,
        C::Restart(o) => ops::stop(&connect()?, &project_or_name(a)?, o, true).await,
        C::Kill(o) => ops::kill(&connect()?, &project_or_name(a)?, o).await,
        C::Pause(o) => ops::pause(&connect()?, &project_or_name(a)?, &o.services, true).await,
        C::Unpause(o) => ops::pause(&connect()?, &project_or_name(a)?, &o.services, false).await,
        C::Rm(o) => ops::rm(&connect()?, &project_or_name(a)?, o).await,
        C::Top(o) => ops::top(&connect()?, &project_or_name(a)?, &o.services).await,
        C::Port(o) => ops::port(&connect()?, &project_or_name(a)?, o).await,
    }
}

fn load_options(a: &ComposeArgs) -> Result<LoadOptions> {
    Ok(LoadOptions {
        files: a.file.clone(),
        cwd: std::env::current_dir()?,
        project_directory: a.project_directory.clone(),
        project_name: a.project_name.clone(),
        env_files: a.env_file.clone(),
        os_env: std::env::vars().collect(),
        profiles: a.profile.clone(),
    })
}

/// Loads the project (warnings on stderr), with the named services enabled even when their
/// profiles are not.
pub fn load(a: &ComposeArgs, services: &[String]) -> Result<Project> {
    let loaded =
        berth_compose::load(&load_options(a)?).map_err(|e| StatusError::new(e.to_string()))?;
    for w in &loaded.warnings {
        eprintln!("WARN[0000] {w}");
    }
    let mut p = loaded.project;
    p.enable(services);
    for s in services {
        if !p.services.contains_key(s) {
            return Err(StatusError::new(format!("no such service: {s}")).into());
        }
    }
    Ok(p)
}

/// Commands that only act on existing containers work without a compose file when `-p`
/// names the project (as with Compose); otherwise the file gives the name.
fn project_or_name(a: &ComposeArgs) -> Result<Project> {
    match berth_compose::load(&load_options(a)?) {
        Ok(l) => {
            let mut p = l.project;
            let all: Vec<String> = p.disabled.keys().cloned().collect();
            p.enable(&all);
            Ok(p)
        }
        Err(e) => match &a.project_name {
            Some(n) if a.file.is_empty() => Ok(Project {
                name: n.clone(),
                ..Project::default()
            }),
            _ => Err(StatusError::new(e.to_string()).into()),
        },
    }
}

/// A project container, from `GET /containers/json`.
#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub service: String,
    pub number: u64,
    pub oneoff: bool,
    pub state: String,
    pub raw: Value,
}

impl Container {
    fn from_json(v: &Value) -> Self {
        let label = |k: &str| v["Labels"][k].as_str().unwrap_or_default().to_string();
        Container {
            id: v["Id"].as_str().unwrap_or_default().to_string(),
            name: v["Names"][0]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            service: label(LABEL_SERVICE),
            number: label(LABEL_NUMBER).parse().unwrap_or(0),
            oneoff: label(LABEL_ONEOFF) == "True",
            state: v["State"].as_str().unwrap_or_default().to_string(),
            raw: v.clone(),
        }
    }

    pub fn running(&self) -> bool {
        matches!(self.state.as_str(), "running" | "paused" | "restarting")
    }

    pub fn label(&self, k: &str) -> &str {
        self.raw["Labels"][k].as_str().unwrap_or_default()
    }
}

/// The project's containers (all states), one-offs included when `oneoff`; restricted
/// to `services` when not empty. Sorted by service, then number.
pub async fn containers(
    ctx: &Ctx,
    project: &str,
    services: &[String],
    oneoff: bool,
) -> Result<Vec<Container>> {
    let filters = json!({"label": [format!("{LABEL_PROJECT}={project}")]});
    let path = Query::new()
        .add("all", "1")
        .add("filters", filters.to_string())
        .with_path("/containers/json");
    let list: Vec<Value> = ctx.client.get_json(&path).await?;
    let mut out: Vec<Container> = list
        .iter()
        .map(Container::from_json)
        .filter(|c| oneoff || !c.oneoff)
        .filter(|c| services.is_empty() || services.contains(&c.service))
        .collect();
    out.sort_by(|a, b| {
        (a.service.as_str(), a.oneoff, a.number).cmp(&(b.service.as_str(), b.oneoff, b.number))
    });
    Ok(out)
}

/// Errors of several containers: all reported, exit 1 if any.
pub fn report(errors: Vec<String>) -> Result<ExitCode> {
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(StatusError::new(errors.join("\n")).into())
    }
}

/// A status line the way Compose prints progress (` ✔ Container web-1  Started`).
pub fn progress(kind: &str, name: &str, what: &str) {
    eprintln!(" \u{2714} {kind} {name:<30} {what}");
}
