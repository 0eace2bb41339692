//! `berth start`: start containers; with `-a` (one container) attach first and exit with
//! its status, like `run` does.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::ClientError;
use serde_json::Value;

use super::session::{self, Ended, Spec, Waiter};
use super::{container_path, for_each};
use crate::cli::StartOpts;
use crate::commands::Ctx;
use crate::error::StatusError;

pub async fn run(ctx: &Ctx, o: &StartOpts) -> Result<ExitCode> {
    let client = &ctx.client;
    if !(o.attach || o.interactive) {
        return for_each(&o.containers, |name| async move {
            client.post(&container_path(name, "/start")).await?;
            Ok(Some(name.to_string()))
        })
        .await;
    }
    if o.containers.len() > 1 {
        return Err(
            StatusError::new("you cannot start and attach multiple containers at once").into(),
        );
    }
    let name = &o.containers[0];
    let info: Value = client.get_json(&container_path(name, "/json")).await?;
    let id = info["Id"].as_str().unwrap_or(name).to_string();
    let cfg = &info["Config"];
    let spec = Spec {
        stdin: o.interactive && cfg["OpenStdin"] == true,
        stdout: true,
        stderr: true,
        tty: cfg["Tty"] == true,
        detach_keys: o.detach_keys.clone(),
    };
    spec.escape_keys()?;
    let terminal = crate::term::stdin_is_tty();
    let hijacked = session::attach(client, &id, &spec).await?;
    let waiter = Waiter::start(client, &id, "next-exit").await;
    let raw = if spec.tty && spec.stdin && terminal {
        Some(crate::term::RawMode::enable()?)
    } else {
        None
    };
    if let Err(e) = client.post(&container_path(&id, "/start")).await {
        drop(raw);
        waiter.abort();
        return Err(match e {
            ClientError::Api { .. } => StatusError::new(e.to_string()).into(),
            e => e.into(),
        });
    }
    let resizer =
        (spec.tty && terminal).then(|| session::monitor_size(client, container_path(&id, "")));
    let proxy = (!spec.tty).then(|| session::proxy_signals(client, &id));
    let ended = match hijacked {
        Some(h) => session::pump(h, &spec).await,
        None => session::follow_logs(client, &id, &spec).await,
    };
    drop(raw);
    if let Some(r) = resizer {
        r.abort();
    }
    if let Some(p) = proxy {
        p.abort();
    }
    if ended? == Ended::Detached {
        return Ok(ExitCode::SUCCESS);
    }
    let code = waiter.status(client, &id, true).await?;
    Ok(super::run::exit_code(code))
}
