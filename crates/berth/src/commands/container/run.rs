//! `berth run`: create (pulling a missing image), then — for an attached run — attach
//! first, register the wait, start, pump the streams, and exit with the container's
//! status. `-d` starts and prints the full ID.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;

use super::session::{self, Ended, Spec, Waiter};
use super::{container_path, create::create_container, usage_error};
use crate::cli::RunOpts;
use crate::commands::Ctx;
use crate::context::ContextStore;
use crate::error::StatusError;
use crate::opts::{self, RunContext};

pub async fn run(ctx: &Ctx, store: &ContextStore, o: &RunOpts) -> Result<ExitCode> {
    let terminal = crate::term::stdin_is_tty();
    if o.opts.tty && o.opts.interactive && !o.detach && !terminal {
        return Err(usage_error("run", "the input device is not a TTY").into());
    }
    let console_size = (o.opts.tty && terminal).then(crate::term::size).flatten();
    let req = opts::build(
        &o.opts,
        &o.args,
        RunContext {
            detach: o.detach,
            console_size,
        },
    )
    .map_err(|e| usage_error("run", e))?;
    let spec = Spec {
        stdin: req.body.config.attach_stdin,
        stdout: req.body.config.attach_stdout,
        stderr: req.body.config.attach_stderr,
        tty: req.body.config.tty,
        detach_keys: o.detach_keys.clone(),
    };
    // Check the detach keys before anything is created.
    spec.escape_keys()?;
    let id = create_container(ctx, store, &req, &o.opts.pull, o.opts.quiet)
        .await
        .map_err(|e| match e.downcast::<StatusError>() {
            Ok(s) => s,
            Err(e) => StatusError::with_code(
                125,
                format!("berth: {e}\n\nRun 'berth run --help' for more information"),
            ),
        })?;
    let client = &ctx.client;

    if o.detach {
        if let Err(e) = client.post(&container_path(&id, "/start")).await {
            return Err(session::start_error(&e.into(), "run").into());
        }
        println!("{id}");
        return Ok(ExitCode::SUCCESS);
    }

    let attached = spec.stdin || spec.stdout || spec.stderr;
    let hijacked = if attached {
        session::attach(client, &id, &spec).await?
    } else {
        None
    };
    if attached && hijacked.is_none() && spec.stdin {
        let q = Query::new().add("force", "1").add("v", "1");
        let _ = client.delete(&q.with_path(&container_path(&id, ""))).await;
        return Err(StatusError::with_code(
            125,
            "berth: the daemon does not support attaching to containers, so stdin cannot be sent (run with -d, or without -i)",
        )
        .into());
    }
    let condition = if o.opts.rm { "removed" } else { "next-exit" };
    let exit_waiter = Waiter::start(client, &id, "next-exit").await;
    let removed_waiter = if condition == "removed" {
        Some(Waiter::start(client, &id, condition).await)
    } else {
        None
    };

    let raw = if spec.tty && spec.stdin && terminal {
        Some(crate::term::RawMode::enable()?)
    } else {
        None
    };
    if let Err(e) = client.post(&container_path(&id, "/start")).await {
        drop(raw);
        exit_waiter.abort();
        if let Some(w) = &removed_waiter {
            w.abort();
        }
        if o.opts.rm {
            let q = Query::new().add("force", "1").add("v", "1");
            let _ = client.delete(&q.with_path(&container_path(&id, ""))).await;
        }
        return Err(session::start_error(&e.into(), "run").into());
    }
    let resizer =
        (spec.tty && terminal).then(|| session::monitor_size(client, container_path(&id, "")));
    let proxy = (o.sig_proxy && !spec.tty).then(|| session::proxy_signals(client, &id));

    let ended = match hijacked {
        Some(h) => session::pump(h, &spec).await,
        None if attached => session::follow_logs(client, &id, &spec).await,
        None => Ok(Ended::Output),
    };
    drop(raw);
    if let Some(r) = resizer {
        r.abort();
    }
    let ended = ended?;
    if ended == Ended::Detached {
        if let Some(p) = proxy {
            p.abort();
        }
        return Ok(ExitCode::SUCCESS);
    }
    let status = exit_waiter.status(client, &id, !o.opts.rm).await;
    if let Some(w) = removed_waiter {
        let removed = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            w.status(client, &id, false),
        )
        .await;
        if status.is_err() {
            if let Ok(r) = removed {
                return finish(r, proxy);
            }
        }
    }
    finish(status, proxy)
}

fn finish(status: Result<i64>, proxy: Option<tokio::task::JoinHandle<()>>) -> Result<ExitCode> {
    if let Some(p) = proxy {
        p.abort();
    }
    let code = status.map_err(|e| StatusError::with_code(125, format!("berth: {e}")))?;
    Ok(exit_code(code))
}

/// An exit status as our own (0–255; anything else wraps like a shell's `$?`).
pub fn exit_code(code: i64) -> ExitCode {
    ExitCode::from((code & 0xff) as u8)
}
