//! berthd: the berth daemon. Reads its settings, opens the data root, serves the Docker
//! Engine API on its listeners, and shuts down cleanly on SIGTERM/SIGINT.

mod api;
mod config;
mod engine;
mod events;
mod host;
mod server;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let flags = config::Flags::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berthd: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::run(flags)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
