//! `berth system prune` (docker's: containers, networks, volumes, images, build cache, in
//! that order, with its prompt and summary) and `berth system check` (the dry run of
//! berthd's start-up consistency check, `GET /berth/system/check`).

use std::process::ExitCode;

use anyhow::{bail, Result};
use berth_client::Query;
use serde_json::Value;

use super::image::prune::{confirm, prune_filters, report_text, PruneReport};
use super::Ctx;
use crate::cli::{SystemCheckOpts, SystemPruneOpts};
use crate::filters::Filters;

/// docker's warning for these options.
pub fn warning(all: bool, volumes: bool) -> String {
    let mut s = String::from(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
    );
    if volumes {
        s.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    if all {
        s.push_str("  - all images without at least one container associated to them\n  - all build cache\n");
    } else {
        s.push_str("  - all dangling images\n  - unused build cache\n");
    }
    s.push_str("\nAre you sure you want to continue?");
    s
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `Deleted <what>:`, one line each, and a blank line; nothing when none.
fn section(title: &str, items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut s = format!("{title}:\n");
    for i in items {
        s.push_str(i);
        s.push('\n');
    }
    s.push('\n');
    s
}

pub async fn prune(ctx: &Ctx, o: &SystemPruneOpts) -> Result<ExitCode> {
    let filters = Filters::parse(&o.filter)?;
    if o.volumes && o.filter.iter().any(|f| f.starts_with("until=")) {
        bail!("ERROR: The \"until\" filter is not supported with \"--volumes\"");
    }
    if !o.force {
        let stdin = std::io::stdin();
        if !confirm(
            &mut stdin.lock(),
            &mut std::io::stdout(),
            &warning(o.all, o.volumes),
        )? {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let with = |path: &str, f: &Filters| {
        Query::new()
            .add_if(!f.is_empty(), "filters", f.to_json())
            .with_path(path)
    };
    let mut reclaimed: u64 = 0;
    let mut out = String::new();

    let r: Value = ctx
        .client
        .post_json(&with("/containers/prune", &filters), None)
        .await?;
    reclaimed += r["SpaceReclaimed"].as_u64().unwrap_or(0);
    out.push_str(&section(
        "Deleted Containers",
        &strings(&r["ContainersDeleted"]),
    ));

    let r: Value = ctx
        .client
        .post_json(&with("/networks/prune", &filters), None)
        .await?;
    out.push_str(&section(
        "Deleted Networks",
        &strings(&r["NetworksDeleted"]),
    ));

    if o.volumes {
        let r: Value = ctx
            .client
            .post_json(&with("/volumes/prune", &filters), None)
            .await?;
        reclaimed += r["SpaceReclaimed"].as_u64().unwrap_or(0);
        out.push_str(&section("Deleted Volumes", &strings(&r["VolumesDeleted"])));
    }

    let image_filters = prune_filters(&o.filter, o.all)?;
    let r: PruneReport = ctx
        .client
        .post_json(&with("/images/prune", &image_filters), None)
        .await?;
    reclaimed += r.space_reclaimed;
    let images = report_text(&PruneReport {
        space_reclaimed: 0,
        ..r
    });
    // report_text ends with its own total; keep only the list.
    if let Some(list) = images.split("Total reclaimed space:").next() {
        out.push_str(list);
    }

    let path = Query::new()
        .add_if(o.all, "all", "1")
        .add_if(!filters.is_empty(), "filters", filters.to_json())
        .with_path("/build/prune");
    let r: Value = ctx.client.post_json(&path, None).await?;
    reclaimed += r["SpaceReclaimed"].as_u64().unwrap_or(0);
    out.push_str(&section(
        "Deleted build cache objects",
        &strings(&r["CachesDeleted"]),
    ));

    print!("{out}");
    println!(
        "Total reclaimed space: {}",
        berth_format::human_size(reclaimed as i64)
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn check(ctx: &Ctx, o: &SystemCheckOpts) -> Result<ExitCode> {
    let report: Value = ctx.client.get_json("/berth/system/check").await?;
    if o.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let findings = report["Findings"].as_array().cloned().unwrap_or_default();
    let problems = strings(&report["Problems"]);
    if findings.is_empty() && problems.is_empty() {
        println!("The data root is consistent: nothing to do.");
        return Ok(ExitCode::SUCCESS);
    }
    for f in &findings {
        println!("{}", f["Message"].as_str().unwrap_or(""));
    }
    for p in &problems {
        println!("problem: {p}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_follow_the_options_like_docker() {
        let w = warning(false, false);
        assert!(w.contains("all dangling images") && !w.contains("volumes"));
        let w = warning(true, true);
        assert!(w.contains("all anonymous volumes not used by at least one container"));
        assert!(w.contains("all images without at least one container"));
        assert!(w.ends_with("Are you sure you want to continue?"));
        assert_eq!(section("Deleted Networks", &[]), "");
        assert_eq!(
            section("Deleted Networks", &["n1".into()]),
            "Deleted Networks:\nn1\n\n"
        );
    }
}
