//! One module per command; `run` dispatches. Commands print to stdout and return an exit
//! code; errors bubble up to `main`, which prints them once.

pub(crate) mod build; // issue #8
pub(crate) mod compose; // issue #9
pub(crate) mod container;
mod context;
mod df;
mod events;
pub mod image;
mod info;
pub mod login;
mod search;
mod system; // check hook: system prune, system check
mod tls;
mod version;
mod volume;

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{Client, ClientError};

use crate::cli::{Cli, Command, SystemCommand};
use crate::context::ContextStore;
use crate::error::StatusError;
use crate::hosts;

/// Everything a daemon-facing command needs.
pub struct Ctx {
    pub client: Client,
    pub context: String,
    pub debug: bool,
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let store = ContextStore::new(hosts::config_dir(&cli.global));
    let connect = || -> Result<Ctx> {
        let target = hosts::resolve(&cli.global, &store)?;
        Ok(Ctx {
            client: Client::new(target.endpoint),
            context: target.context,
            debug: cli.global.debug,
        })
    };
    match &cli.command {
        Command::Version(f) => version::run(&connect()?, f.format.as_deref()).await,
        Command::Info(f) | Command::System(SystemCommand::Info(f)) => {
            info::run(&connect()?, f.format.as_deref()).await
        }
        Command::Events(o) | Command::System(SystemCommand::Events(o)) => {
            events::run(&connect()?, o).await
        }
        Command::System(SystemCommand::Df(o)) => df::run(&connect()?, o).await,
        Command::System(SystemCommand::Prune(o)) => system::prune(&connect()?, o).await, // check hook
        Command::System(SystemCommand::Check(o)) => system::check(&connect()?, o).await, // check hook
        Command::Context(c) => context::run(&cli.global, &store, c),
        Command::Tls(t) => tls::run(t),
        Command::Volume(c) => volume::run(&connect()?, c).await,
        Command::Image(c) => image::run(&connect()?, &store, c).await,
        Command::Images(o) => image::ls::run(&connect()?, o).await,
        Command::History(o) => image::history::run(&connect()?, o).await,
        Command::Tag(o) => image::tag::run(&connect()?, o).await,
        Command::Rmi(o) => image::rm::run(&connect()?, o).await,
        Command::Save(o) => image::save::run(&connect()?, o).await,
        Command::Load(o) => image::load::run(&connect()?, o).await,
        Command::Import(o) => image::import::run(&connect()?, o).await,
        Command::Pull(o) => image::pull::run(&connect()?, &store, o).await,
        Command::Push(o) => image::push::run(&connect()?, &store, o).await,
        Command::Login(o) => login::login(&connect()?, &store, o).await,
        Command::Search(o) => search::run(&connect()?, &store, o).await,
        Command::Logout(o) => login::logout(&store, o),
        Command::Container(c) => container::run(&connect()?, &store, c).await,
        Command::Inspect(o) => container::inspect::run(&connect()?, o).await,
        // Top-level aliases of `berth container …`.
        Command::Run(o) => container::run::run(&connect()?, &store, o).await,
        Command::Create(o) => container::create::run(&connect()?, &store, o).await,
        Command::Start(o) => container::start::run(&connect()?, o).await,
        Command::Stop(o) => container::lifecycle::stop(&connect()?, o).await,
        Command::Kill(o) => container::lifecycle::kill(&connect()?, o).await,
        Command::Restart(o) => container::lifecycle::restart(&connect()?, o).await,
        Command::Rm(o) => container::rm::run(&connect()?, o).await,
        Command::Ps(o) => container::ps::run(&connect()?, o).await,
        Command::Logs(o) => container::logs::run(&connect()?, o).await,
        Command::Wait(o) => container::wait::run(&connect()?, o).await,
        Command::Attach(o) => container::attach::run(&connect()?, o).await,
        Command::Exec(o) => container::exec::run(&connect()?, o).await,
        Command::Top(o) => container::top::run(&connect()?, o).await,
        Command::Stats(o) => container::stats::run(&connect()?, o).await,
        Command::Pause(o) => container::lifecycle::pause(&connect()?, o, true).await,
        Command::Unpause(o) => container::lifecycle::pause(&connect()?, o, false).await,
        Command::Rename(o) => container::rename::run(&connect()?, o).await,
        Command::Update(o) => container::update::run(&connect()?, o).await,
        Command::Cp(o) => container::cp::run(&connect()?, o).await,
        Command::Diff(o) => container::diff::run(&connect()?, o).await,
        Command::Commit(o) => container::commit::run(&connect()?, o).await,
        Command::Export(o) => container::export::run(&connect()?, o).await,
        Command::Port(o) => container::port::run(&connect()?, o).await,
        Command::Build(o) => build::run(&connect()?, o).await,
        Command::Compose(a) => compose::run(connect, &store, a).await,
    }
}

/// What is printed for a failed command (possibly several lines, or nothing).
pub fn describe(e: &anyhow::Error) -> String {
    if let Some(s) = e.downcast_ref::<StatusError>() {
        return s.message.clone();
    }
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::Api { .. }) | Some(ClientError::Connect { .. }) => e.to_string(),
        _ => format!("berth: {e:#}"),
    }
}

/// The exit status for a failed command: a [`StatusError`]'s own, else 1.
pub fn exit_code(e: &anyhow::Error) -> ExitCode {
    match e.downcast_ref::<StatusError>() {
        Some(s) => ExitCode::from(s.code),
        None => ExitCode::FAILURE,
    }
}

/// Renders items with a `--format` value, docker-style.
pub fn print_formatted(
    format: &str,
    default_table: &str,
    headers: &[(&str, &str)],
    items: &[serde_json::Value],
) -> Result<()> {
    let spec = berth_format::FormatSpec::parse(format);
    let mut out = std::io::stdout().lock();
    berth_format::render(&spec, default_table, headers, items, &mut out)?;
    Ok(())
}
