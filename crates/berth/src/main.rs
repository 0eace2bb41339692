//! berth: the command-line client. Parses arguments, picks the daemon, runs one command.
//! Exit codes follow docker's: 0 ok, 1 for a failed command, 125 for bad usage.

mod cli;
mod commands;
mod context;
mod error;
mod filters;
mod hosts;
mod inspect;
mod jsonmessage;
mod opts;
mod reference;
mod streams;
mod term;
mod timestamp;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`berth info | head`), like other Unix tools.
    // SAFETY: setting a signal's disposition to the default has no preconditions.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            return if usage {
                ExitCode::from(125)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            let message = commands::describe(&e);
            if !message.is_empty() {
                eprintln!("{message}");
            }
            commands::exit_code(&e)
        }
    }
}
