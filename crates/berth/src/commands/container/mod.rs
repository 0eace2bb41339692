//! `berth container …` and its top-level aliases (`run`, `create`, `ps`, `stop`, …): one
//! module per command (stop/kill/restart/pause/unpause share `lifecycle`), the attach
//! machinery in `session`, helpers they share here.

pub mod attach;
pub mod commit;
pub mod cp;
pub mod create;
pub mod diff;
pub mod exec;
pub mod export;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod port;
pub mod prune;
pub mod ps;
pub mod rename;
pub mod rm;
pub mod run;
pub mod session;
pub mod start;
pub mod stats;
pub mod top;
pub mod update;
pub mod wait;

use std::future::Future;
use std::process::ExitCode;

use anyhow::Result;
use berth_client::{encode_path, ClientError};

use super::Ctx;
use crate::cli::ContainerCommand;
use crate::context::ContextStore;
use crate::error::StatusError;

pub async fn run(ctx: &Ctx, store: &ContextStore, cmd: &ContainerCommand) -> Result<ExitCode> {
    match cmd {
        ContainerCommand::Attach(o) => attach::run(ctx, o).await,
        ContainerCommand::Commit(o) => commit::run(ctx, o).await,
        ContainerCommand::Cp(o) => cp::run(ctx, o).await,
        ContainerCommand::Create(o) => create::run(ctx, store, o).await,
        ContainerCommand::Diff(o) => diff::run(ctx, o).await,
        ContainerCommand::Exec(o) => exec::run(ctx, o).await,
        ContainerCommand::Export(o) => export::run(ctx, o).await,
        ContainerCommand::Inspect(o) => inspect::run_containers(ctx, o).await,
        ContainerCommand::Kill(o) => lifecycle::kill(ctx, o).await,
        ContainerCommand::Logs(o) => logs::run(ctx, o).await,
        ContainerCommand::Ls(o) => ps::run(ctx, o).await,
        ContainerCommand::Pause(o) => lifecycle::pause(ctx, o, true).await,
        ContainerCommand::Port(o) => port::run(ctx, o).await,
        ContainerCommand::Prune(o) => prune::run(ctx, o).await,
        ContainerCommand::Rename(o) => rename::run(ctx, o).await,
        ContainerCommand::Restart(o) => lifecycle::restart(ctx, o).await,
        ContainerCommand::Rm(o) => rm::run(ctx, o).await,
        ContainerCommand::Run(o) => run::run(ctx, store, o).await,
        ContainerCommand::Start(o) => start::run(ctx, o).await,
        ContainerCommand::Stats(o) => stats::run(ctx, o).await,
        ContainerCommand::Stop(o) => lifecycle::stop(ctx, o).await,
        ContainerCommand::Top(o) => top::run(ctx, o).await,
        ContainerCommand::Unpause(o) => lifecycle::pause(ctx, o, false).await,
        ContainerCommand::Update(o) => update::run(ctx, o).await,
        ContainerCommand::Wait(o) => wait::run(ctx, o).await,
    }
}

/// `/containers/{name}` + `rest`.
pub fn container_path(name: &str, rest: &str) -> String {
    format!("/containers/{}{rest}", encode_path(name))
}

/// docker's pattern for commands over several containers: act on them concurrently, print the
/// name of each that worked, every error on stderr, and exit 1 when anything failed.
pub async fn for_each<'a, F, Fut>(names: &'a [String], f: F) -> Result<ExitCode>
where
    F: FnMut(&'a str) -> Fut,
    Fut: Future<Output = Result<Option<String>, ClientError>>,
{
    use futures_util::StreamExt;
    // Like docker's parallelOperation: up to 50 at once, results printed in input order.
    let mut results = futures_util::stream::iter(names.iter().map(String::as_str))
        .map(f)
        .buffered(PARALLEL_OPERATIONS);
    let mut errors = Vec::new();
    while let Some(r) = results.next().await {
        match r {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(e @ ClientError::Api { .. }) => errors.push(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(StatusError::new(errors.join("\n")).into())
    }
}

/// How many containers `stop`, `rm`, `kill`... handle at once (docker's limit).
const PARALLEL_OPERATIONS: usize = 50;

/// A bad-usage error the way docker reports one for `run`/`create`/`exec`: exit 125, the
/// message, and where to find help.
pub fn usage_error(command: &str, message: impl std::fmt::Display) -> StatusError {
    StatusError::with_code(
        125,
        format!("berth: {message}\n\nRun 'berth {command} --help' for more information"),
    )
}
