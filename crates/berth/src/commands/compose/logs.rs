//! `compose logs` (and attached `up`): every container's output, line by line, prefixed
//! with the container's name in a colour of its own.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use berth_client::{body_stream, Query};
use berth_compose::Project;
use futures_util::StreamExt;
use http::Method;

use super::cli::LogsOpts;
use super::{containers, Container};
use crate::commands::container::container_path;
use crate::commands::Ctx;
use crate::streams::Demuxer;

const COLOURS: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

pub async fn run(ctx: &Ctx, p: &Project, o: &LogsOpts) -> Result<ExitCode> {
    let list = containers(ctx, &p.name, &o.services, false).await?;
    follow_all_with(
        ctx,
        &list,
        o.follow,
        &o.tail,
        o.timestamps,
        !o.no_log_prefix,
        !o.no_color,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Follows (or dumps) the logs of `list` concurrently, prefixed.
pub async fn follow_all(
    ctx: &Ctx,
    list: &[Container],
    follow: bool,
    tail: &str,
    timestamps: bool,
) -> Result<()> {
    follow_all_with(ctx, list, follow, tail, timestamps, true, true).await
}

async fn follow_all_with(
    ctx: &Ctx,
    list: &[Container],
    follow: bool,
    tail: &str,
    timestamps: bool,
    prefix: bool,
    colour: bool,
) -> Result<()> {
    let colour = colour && std::io::stdout().is_terminal();
    let width = list.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let out = Arc::new(Mutex::new(()));
    let mut tasks = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let pfx = if !prefix {
            String::new()
        } else if colour {
            format!(
                "\x1b[{}m{:<width$} | \x1b[0m",
                COLOURS[i % COLOURS.len()],
                c.name
            )
        } else {
            format!("{:<width$} | ", c.name)
        };
        let path = Query::new()
            .add("stdout", "1")
            .add("stderr", "1")
            .add_if(follow, "follow", "1")
            .add_if(timestamps, "timestamps", "1")
            .add("tail", tail)
            .with_path(&container_path(&c.id, "/logs"));
        let client = ctx.client.clone();
        let out = out.clone();
        tasks.push(tokio::spawn(async move {
            let resp = client.request(Method::GET, &path, None).await?;
            let mut body = body_stream(resp);
            let mut demux = Demuxer::new();
            let mut pending = Vec::new();
            let emit = |line: &[u8]| {
                let _g = out.lock().unwrap_or_else(|e| e.into_inner());
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(pfx.as_bytes());
                let _ = o.write_all(line);
                let _ = o.write_all(b"\n");
                let _ = o.flush();
            };
            while let Some(chunk) = body.next().await {
                let Ok(chunk) = chunk else { break };
                let payloads: Vec<Vec<u8>> = match demux.feed(&chunk) {
                    Ok(frames) => frames.into_iter().map(|(_, p)| p).collect(),
                    // Not multiplexed (a TTY container): take the bytes as they are.
                    Err(_) => vec![chunk.to_vec()],
                };
                for p in payloads {
                    pending.extend_from_slice(&p);
                    while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=pos).collect();
                        emit(&line[..line.len() - 1]);
                    }
                }
            }
            if !pending.is_empty() {
                emit(&pending);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}
