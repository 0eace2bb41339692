//! `berth attach`: connect our stdio to a running container's.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::container_path;
use super::session::{self, Ended, Spec, Waiter};
use crate::cli::AttachOpts;
use crate::commands::Ctx;
use crate::error::StatusError;

pub async fn run(ctx: &Ctx, o: &AttachOpts) -> Result<ExitCode> {
    let client = &ctx.client;
    let info: Value = client
        .get_json(&container_path(&o.container, "/json"))
        .await?;
    let st = &info["State"];
    if st["Running"] != true {
        return Err(
            StatusError::new("You cannot attach to a stopped container, start it first").into(),
        );
    }
    if st["Paused"] == true {
        return Err(
            StatusError::new("You cannot attach to a paused container, unpause it first").into(),
        );
    }
    let id = info["Id"].as_str().unwrap_or(&o.container).to_string();
    let cfg = &info["Config"];
    let spec = Spec {
        stdin: !o.no_stdin && cfg["OpenStdin"] == true,
        stdout: true,
        stderr: true,
        tty: cfg["Tty"] == true,
        detach_keys: o.detach_keys.clone(),
    };
    spec.escape_keys()?;
    let terminal = crate::term::stdin_is_tty();
    if spec.tty && spec.stdin && !terminal {
        return Err(StatusError::new("the input device is not a TTY").into());
    }
    let Some(h) = session::attach(client, &id, &spec).await? else {
        return Err(StatusError::new(
            "Error response from daemon: the daemon does not support attach (POST /containers/{id}/attach)",
        )
        .into());
    };
    let waiter = Waiter::start(client, &id, "not-running").await;
    let raw = if spec.tty && spec.stdin {
        Some(crate::term::RawMode::enable()?)
    } else {
        None
    };
    let resizer =
        (spec.tty && terminal).then(|| session::monitor_size(client, container_path(&id, "")));
    let proxy = (o.sig_proxy && !spec.tty).then(|| session::proxy_signals(client, &id));
    let ended = session::pump(h, &spec).await;
    drop(raw);
    for t in [resizer, proxy].into_iter().flatten() {
        t.abort();
    }
    if ended? == Ended::Detached {
        waiter.abort();
        return Ok(ExitCode::SUCCESS);
    }
    let code = waiter.status(client, &id, true).await?;
    Ok(super::run::exit_code(code))
}
