//! `berth volume`: create, ls, inspect, rm, prune.

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_client::{encode_path, ClientError, Query};
use serde_json::{json, Value};

use super::image::prune::confirm;
use super::{print_formatted, Ctx};
use crate::cli::{VolumeCommand, VolumeCreateOpts, VolumeLsOpts, VolumePruneOpts};
use crate::error::StatusError;
use crate::filters::Filters;
use crate::inspect::Inspector;

pub async fn run(ctx: &Ctx, cmd: &VolumeCommand) -> Result<ExitCode> {
    match cmd {
        VolumeCommand::Create(o) => create(ctx, o).await,
        VolumeCommand::Ls(o) => ls(ctx, o).await,
        VolumeCommand::Inspect { format, names } => inspect(ctx, format.as_deref(), names).await,
        VolumeCommand::Rm { force, names } => rm(ctx, *force, names).await,
        VolumeCommand::Prune(o) => prune(ctx, o).await,
    }
}

/// `k=v` flags → a JSON object.
fn pairs(flags: &[String], what: &str) -> Result<serde_json::Map<String, Value>> {
    let mut map = serde_json::Map::new();
    for f in flags {
        let Some((k, v)) = f.split_once('=') else {
            bail!("invalid {what} {f:?}: expected key=value");
        };
        map.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(map)
}

async fn create(ctx: &Ctx, o: &VolumeCreateOpts) -> Result<ExitCode> {
    let body = json!({
        "Name": o.name.clone().unwrap_or_default(),
        "Driver": o.driver,
        "Labels": pairs(&o.labels, "label")?,
        "DriverOpts": pairs(&o.opts, "option")?,
    });
    let v: Value = ctx.client.post_json("/volumes/create", Some(&body)).await?;
    println!("{}", v["Name"].as_str().unwrap_or(""));
    Ok(ExitCode::SUCCESS)
}

async fn ls(ctx: &Ctx, o: &VolumeLsOpts) -> Result<ExitCode> {
    let filters = Filters::parse(&o.filter)?;
    let path = Query::new()
        .add_if(!filters.is_empty(), "filters", filters.to_json())
        .with_path("/volumes");
    let list: Value = ctx.client.get_json(&path).await?;
    let items: Vec<Value> = list["Volumes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let labels = v["Labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            json!({
                "Name": v["Name"], "Driver": v["Driver"], "Mountpoint": v["Mountpoint"],
                "Scope": v["Scope"], "Labels": labels, "Links": "N/A", "Size": "N/A",
            })
        })
        .collect();
    if o.quiet {
        for i in &items {
            println!("{}", i["Name"].as_str().unwrap_or(""));
        }
        return Ok(ExitCode::SUCCESS);
    }
    print_formatted(
        o.format.as_deref().unwrap_or("table"),
        "table {{.Driver}}\t{{.Name}}",
        &[
            ("Driver", "DRIVER"),
            ("Name", "VOLUME NAME"),
            ("Mountpoint", "MOUNTPOINT"),
            ("Scope", "SCOPE"),
            ("Labels", "LABELS"),
            ("Links", "LINKS"),
            ("Size", "SIZE"),
        ],
        &items,
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn inspect(ctx: &Ctx, format: Option<&str>, names: &[String]) -> Result<ExitCode> {
    let mut out = Inspector::new(format)?;
    let mut errors = Vec::new();
    for name in names {
        match ctx
            .client
            .get_bytes(&format!("/volumes/{}", encode_path(name)))
            .await
        {
            Ok(raw) => {
                if let Err(e) = out.add(&raw) {
                    errors.push(e);
                }
            }
            Err(ClientError::Api { message, .. }) => {
                errors.push(format!("Error response from daemon: {message}"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    out.finish(&mut std::io::stdout().lock())?;
    if !errors.is_empty() {
        return Err(StatusError::new(errors.join("\n")).into());
    }
    Ok(ExitCode::SUCCESS)
}

async fn rm(ctx: &Ctx, force: bool, names: &[String]) -> Result<ExitCode> {
    let mut errors = Vec::new();
    for name in names {
        let path = Query::new()
            .add_if(force, "force", "1")
            .with_path(&format!("/volumes/{}", encode_path(name)));
        match ctx.client.delete(&path).await {
            Ok(_) => println!("{name}"),
            Err(ClientError::Api { message, .. }) => {
                errors.push(format!("Error response from daemon: {message}"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !errors.is_empty() {
        return Err(StatusError::new(errors.join("\n")).into());
    }
    Ok(ExitCode::SUCCESS)
}

async fn prune(ctx: &Ctx, o: &VolumePruneOpts) -> Result<ExitCode> {
    let mut filters = Filters::parse(&o.filter)?;
    if o.all {
        filters.add("all", "true");
    }
    if !o.force {
        let warning = if o.all {
            "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"
        } else {
            "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
        };
        if !confirm(
            &mut std::io::stdin().lock(),
            &mut std::io::stdout(),
            warning,
        )? {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let path = Query::new()
        .add_if(!filters.is_empty(), "filters", filters.to_json())
        .with_path("/volumes/prune");
    let report: Value = ctx.client.post_json(&path, None).await?;
    let deleted: Vec<&str> = report["VolumesDeleted"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !deleted.is_empty() {
        println!("Deleted Volumes:");
        for d in deleted {
            println!("{d}");
        }
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        berth_format::human_size(report["SpaceReclaimed"].as_i64().unwrap_or(0))
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_flags() {
        let m = pairs(&["a=b".into(), "c=d=e".into()], "label").unwrap();
        assert_eq!(m["a"], "b");
        assert_eq!(m["c"], "d=e");
        assert!(pairs(&["nokey".into()], "label").is_err());
    }
}
