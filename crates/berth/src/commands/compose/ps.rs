//! `compose ps`: the project's containers, Compose v2's columns.

use std::process::ExitCode;

use anyhow::Result;
use berth_compose::Project;
use serde_json::{json, Value};
use unicode_width::UnicodeWidthStr;

use super::cli::PsOpts;
use super::containers;
use crate::commands::Ctx;

/// Prints rows as columns separated by three spaces (the first row is the header).
pub fn print_table<const N: usize>(rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.width());
        }
    }
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < N {
                line.push_str(&" ".repeat(widths[i] - c.width() + 3));
            }
        }
        println!("{}", line.trim_end());
    }
}

/// `0.0.0.0:8080->80/tcp, 443/tcp`, as docker ps shows ports.
pub fn ports(c: &Value) -> String {
    let mut out: Vec<String> = c["Ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let private = p["PrivatePort"].as_u64().unwrap_or(0);
            let proto = p["Type"].as_str().unwrap_or("tcp");
            match p["PublicPort"].as_u64() {
                Some(public) => format!(
                    "{}:{public}->{private}/{proto}",
                    p["IP"].as_str().unwrap_or("0.0.0.0")
                ),
                None => format!("{private}/{proto}"),
            }
        })
        .collect();
    out.dedup();
    out.join(", ")
}

pub async fn run(ctx: &Ctx, p: &Project, o: &PsOpts) -> Result<ExitCode> {
    let list: Vec<_> = containers(ctx, &p.name, &o.service, true)
        .await?
        .into_iter()
        .filter(|c| o.all || c.running() || !c.oneoff)
        .collect();
    if o.quiet {
        for c in &list {
            println!("{}", c.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if o.services {
        let mut names: Vec<&str> = list.iter().map(|c| c.service.as_str()).collect();
        names.dedup();
        for n in names {
            println!("{n}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if o.format.as_deref() == Some("json") {
        for c in &list {
            let line = json!({
                "ID": c.id, "Name": c.name, "Service": c.service, "Project": p.name,
                "Image": c.raw["Image"], "Command": c.raw["Command"], "State": c.state,
                "Status": c.raw["Status"], "Publishers": c.raw["Ports"],
            });
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![[
        "NAME".to_string(),
        "IMAGE".into(),
        "COMMAND".into(),
        "SERVICE".into(),
        "CREATED".into(),
        "STATUS".into(),
        "PORTS".into(),
    ]];
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for c in &list {
        let mut cmd = c.raw["Command"].as_str().unwrap_or_default().to_string();
        if cmd.chars().count() > 20 {
            cmd = cmd.chars().take(19).collect::<String>() + "…";
        }
        let created = c.raw["Created"].as_i64().unwrap_or(now);
        rows.push([
            c.name.clone(),
            c.raw["Image"].as_str().unwrap_or_default().to_string(),
            format!("\"{cmd}\""),
            c.service.clone(),
            ago(now - created),
            c.raw["Status"].as_str().unwrap_or_default().to_string(),
            ports(&c.raw),
        ]);
    }
    print_table(&rows);
    Ok(ExitCode::SUCCESS)
}

fn ago(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{} seconds ago", s.max(1)),
        s if s < 3600 => format!("{} minutes ago", s / 60),
        s if s < 86400 => format!("{} hours ago", s / 3600),
        s => format!("{} days ago", s / 86400),
    }
}
