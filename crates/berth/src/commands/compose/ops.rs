//! The commands that act on existing containers one by one: start, stop, restart, kill,
//! pause, unpause, rm, top, port.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use berth_compose::Project;
use serde_json::Value;

use super::cli::{KillOpts, PortOpts, RmOpts, StopOpts};
use super::{containers, progress, report};
use crate::commands::container::container_path;
use crate::commands::Ctx;
use crate::error::StatusError;

pub async fn start(ctx: &Ctx, p: &Project, services: &[String]) -> Result<ExitCode> {
    let mut list = containers(ctx, &p.name, services, false).await?;
    // Dependencies first.
    let order = p.start_order().unwrap_or_default();
    list.sort_by_key(|c| order.iter().position(|s| *s == c.service));
    let mut errors = Vec::new();
    for c in list.iter().filter(|c| !c.running()) {
        match ctx.client.post(&container_path(&c.id, "/start")).await {
            Ok(_) => progress("Container", &c.name, "Started"),
            Err(e) => errors.push(format!("{}: {e}", c.name)),
        }
    }
    report(errors)
}

pub async fn stop(ctx: &Ctx, p: &Project, o: &StopOpts, restart: bool) -> Result<ExitCode> {
    let mut list = containers(ctx, &p.name, &o.services, false).await?;
    let order = p.start_order().unwrap_or_default();
    list.sort_by_key(|c| std::cmp::Reverse(order.iter().position(|s| *s == c.service)));
    let verb = if restart { "/restart" } else { "/stop" };
    let mut errors = Vec::new();
    for c in list.iter().filter(|c| restart || c.running()) {
        let path = Query::new()
            .add_opt("t", o.timeout.map(|t| t.to_string()))
            .with_path(&container_path(&c.id, verb));
        match ctx.client.post(&path).await {
            Ok(_) => progress(
                "Container",
                &c.name,
                if restart { "Restarted" } else { "Stopped" },
            ),
            Err(e) => errors.push(format!("{}: {e}", c.name)),
        }
    }
    report(errors)
}

pub async fn kill(ctx: &Ctx, p: &Project, o: &KillOpts) -> Result<ExitCode> {
    let list = containers(ctx, &p.name, &o.services, false).await?;
    let mut errors = Vec::new();
    for c in list.iter().filter(|c| c.running()) {
        let path = Query::new()
            .add("signal", o.signal.clone())
            .with_path(&container_path(&c.id, "/kill"));
        match ctx.client.post(&path).await {
            Ok(_) => progress("Container", &c.name, "Killed"),
            Err(e) => errors.push(format!("{}: {e}", c.name)),
        }
    }
    report(errors)
}

pub async fn pause(ctx: &Ctx, p: &Project, services: &[String], pause: bool) -> Result<ExitCode> {
    let list = containers(ctx, &p.name, services, false).await?;
    let mut errors = Vec::new();
    let (verb, done) = if pause {
        ("/pause", "Paused")
    } else {
        ("/unpause", "Unpaused")
    };
    for c in list.iter().filter(|c| c.running()) {
        match ctx.client.post(&container_path(&c.id, verb)).await {
            Ok(_) => progress("Container", &c.name, done),
            Err(e) => errors.push(format!("{}: {e}", c.name)),
        }
    }
    report(errors)
}

pub async fn rm(ctx: &Ctx, p: &Project, o: &RmOpts) -> Result<ExitCode> {
    let list = containers(ctx, &p.name, &o.services, false).await?;
    let mut errors = Vec::new();
    if o.stop {
        for c in list.iter().filter(|c| c.running()) {
            if let Err(e) = ctx.client.post(&container_path(&c.id, "/stop")).await {
                errors.push(format!("{}: {e}", c.name));
            }
        }
    }
    let list = containers(ctx, &p.name, &o.services, false).await?;
    let stopped: Vec<_> = list.iter().filter(|c| !c.running()).collect();
    if stopped.is_empty() {
        eprintln!("No stopped containers");
        return report(errors);
    }
    if !o.force {
        let names: Vec<&str> = stopped.iter().map(|c| c.name.as_str()).collect();
        eprint!("Going to remove {}\nAre you sure? [yN] ", names.join(", "));
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(ExitCode::SUCCESS);
        }
    }
    for c in stopped {
        let q = Query::new().add_if(o.volumes, "v", "1");
        match ctx
            .client
            .delete(&q.with_path(&container_path(&c.id, "")))
            .await
        {
            Ok(_) => progress("Container", &c.name, "Removed"),
            Err(e) => errors.push(format!("{}: {e}", c.name)),
        }
    }
    report(errors)
}

pub async fn top(ctx: &Ctx, p: &Project, services: &[String]) -> Result<ExitCode> {
    let list = containers(ctx, &p.name, services, false).await?;
    for c in list.iter().filter(|c| c.running()) {
        let top: Value = ctx.client.get_json(&container_path(&c.id, "/top")).await?;
        println!("{}", c.name);
        let titles: Vec<String> = top["Titles"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t.as_str().unwrap_or_default().to_string())
            .collect();
        let mut rows: Vec<Vec<String>> = vec![titles];
        for proc_ in top["Processes"].as_array().into_iter().flatten() {
            rows.push(
                proc_
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect(),
            );
        }
        let n = rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0; n];
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.len());
            }
        }
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                .collect();
            println!("{}", line.join("   ").trim_end());
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn port(ctx: &Ctx, p: &Project, o: &PortOpts) -> Result<ExitCode> {
    let list = containers(ctx, &p.name, std::slice::from_ref(&o.service), false).await?;
    let c = list.iter().find(|c| c.number == o.index).ok_or_else(|| {
        StatusError::new(format!(
            "service {:?} has no container #{}",
            o.service, o.index
        ))
    })?;
    let info: Value = ctx.client.get_json(&container_path(&c.id, "/json")).await?;
    let key = format!("{}/{}", o.private_port, o.protocol);
    let b = &info["NetworkSettings"]["Ports"][&key][0];
    match b["HostPort"].as_str() {
        Some(port) => {
            let ip = b["HostIp"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("0.0.0.0");
            println!("{ip}:{port}");
            Ok(ExitCode::SUCCESS)
        }
        None => Err(StatusError::new(format!("no port {key} for container {}", c.name)).into()),
    }
}
