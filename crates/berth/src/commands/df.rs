//! `berth system df`: disk usage by images, containers, volumes and build cache.

use std::process::ExitCode;

use anyhow::Result;
use berth_format::human_size;
use serde_json::{json, Value};

use super::{print_formatted, Ctx};
use crate::cli::DfOpts;

const SUMMARY: &str = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const SUMMARY_HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

pub async fn run(ctx: &Ctx, opts: &DfOpts) -> Result<ExitCode> {
    let df: Value = ctx.client.get_json("/system/df").await?;
    let rows = summary(&df);
    if opts.verbose && opts.format.is_none() {
        print_verbose(&df)?;
    } else {
        print_formatted(
            opts.format.as_deref().unwrap_or("table"),
            SUMMARY,
            SUMMARY_HEADERS,
            &rows,
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list(df: &Value, key: &str) -> Vec<Value> {
    df[key].as_array().cloned().unwrap_or_default()
}

/// One row per resource type, computed like the docker CLI's `system df`.
fn summary(df: &Value) -> Vec<Value> {
    let images = list(df, "Images");
    let layers_size = df["LayersSize"].as_i64().unwrap_or(0);
    let active_images = images
        .iter()
        .filter(|i| i["Containers"].as_i64().unwrap_or(0) > 0)
        .count();
    let used: i64 = images
        .iter()
        .filter(|i| i["Containers"].as_i64().unwrap_or(0) > 0)
        .map(|i| i["Size"].as_i64().unwrap_or(0) - i["SharedSize"].as_i64().unwrap_or(0).max(0))
        .sum();
    let volumes = list(df, "Volumes");
    let vsize = |v: &Value| v["UsageData"]["Size"].as_i64().unwrap_or(0).max(0);
    let vrefs = |v: &Value| v["UsageData"]["RefCount"].as_i64().unwrap_or(0);
    let volumes_size: i64 = volumes.iter().map(vsize).sum();
    let volumes_free: i64 = volumes.iter().filter(|v| vrefs(v) == 0).map(vsize).sum();
    let containers = list(df, "Containers");
    let cache = list(df, "BuildCache");
    vec![
        row(
            "Images",
            images.len(),
            active_images,
            layers_size,
            layers_size - used,
        ),
        row(
            "Containers",
            containers.len(),
            containers.iter().filter(|c| running(c)).count(),
            containers.iter().map(size_rw).sum(),
            containers.iter().filter(|c| !running(c)).map(size_rw).sum(),
        ),
        row(
            "Local Volumes",
            volumes.len(),
            volumes.iter().filter(|v| vrefs(v) > 0).count(),
            volumes_size,
            volumes_free,
        ),
        row("Build Cache", cache.len(), 0, 0, 0),
    ]
}

fn running(c: &Value) -> bool {
    matches!(
        c["State"].as_str(),
        Some("running" | "paused" | "restarting")
    )
}

fn size_rw(c: &Value) -> i64 {
    c["SizeRw"].as_i64().unwrap_or(0).max(0)
}

fn row(kind: &str, total: usize, active: usize, size: i64, reclaimable: i64) -> Value {
    let reclaimable = reclaimable.clamp(0, size.max(0));
    let pct = if size > 0 {
        reclaimable * 100 / size
    } else {
        0
    };
    let reclaim = if size > 0 {
        format!("{} ({pct}%)", human_size(reclaimable))
    } else {
        human_size(reclaimable)
    };
    json!({
        "Type": kind,
        "TotalCount": total.to_string(),
        "Active": active.to_string(),
        "Size": human_size(size),
        "Reclaimable": reclaim,
    })
}

fn print_verbose(df: &Value) -> Result<()> {
    println!("Images space usage:\n");
    let images: Vec<Value> = list(df, "Images")
        .iter()
        .flat_map(|i| {
            let tags: Vec<String> = i["RepoTags"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let tags = if tags.is_empty() {
                vec!["<none>:<none>".to_string()]
            } else {
                tags
            };
            let size = i["Size"].as_i64().unwrap_or(0);
            let shared = i["SharedSize"].as_i64().unwrap_or(0).max(0);
            let id = i["Id"]
                .as_str()
                .unwrap_or("")
                .trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect::<String>();
            tags.into_iter()
                .map(|t| {
                    let (repo, tag) = t.rsplit_once(':').unwrap_or((t.as_str(), "<none>"));
                    json!({
                        "Repository": repo, "Tag": tag, "ID": id,
                        "Size": human_size(size), "SharedSize": human_size(shared),
                        "UniqueSize": human_size(size - shared),
                        "Containers": i["Containers"].as_i64().unwrap_or(0).to_string(),
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    print_formatted(
        "table",
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        &[
            ("Repository", "REPOSITORY"),
            ("Tag", "TAG"),
            ("ID", "IMAGE ID"),
            ("Size", "SIZE"),
            ("SharedSize", "SHARED SIZE"),
            ("UniqueSize", "UNIQUE SIZE"),
            ("Containers", "CONTAINERS"),
        ],
        &images,
    )?;
    println!("\nContainers space usage:\n");
    let containers: Vec<Value> = list(df, "Containers")
        .iter()
        .map(|c| {
            let id: String = c["Id"].as_str().unwrap_or("").chars().take(12).collect();
            let name = c["Names"][0].as_str().unwrap_or("").trim_start_matches('/');
            json!({
                "ID": id, "Image": c["Image"], "Command": format!("{:?}", c["Command"].as_str().unwrap_or("")),
                "Size": human_size(size_rw(c)), "Status": c["Status"], "Names": name,
            })
        })
        .collect();
    print_formatted(
        "table",
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Size}}\t{{.Status}}\t{{.Names}}",
        &[
            ("ID", "CONTAINER ID"),
            ("Image", "IMAGE"),
            ("Command", "COMMAND"),
            ("Size", "SIZE"),
            ("Status", "STATUS"),
            ("Names", "NAMES"),
        ],
        &containers,
    )?;
    println!("\nLocal Volumes space usage:\n");
    let volumes: Vec<Value> = list(df, "Volumes")
        .iter()
        .map(|v| {
            json!({
                "Name": v["Name"], "Links": v["UsageData"]["RefCount"].as_i64().unwrap_or(0).to_string(),
                "Size": human_size(v["UsageData"]["Size"].as_i64().unwrap_or(0).max(0)),
            })
        })
        .collect();
    print_formatted(
        "table",
        "table {{.Name}}\t{{.Links}}\t{{.Size}}",
        &[
            ("Name", "VOLUME NAME"),
            ("Links", "LINKS"),
            ("Size", "SIZE"),
        ],
        &volumes,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_unused_images_as_reclaimable() {
        let df = json!({
            "LayersSize": 3000,
            "Images": [{"Id": "sha256:ab", "Size": 2000, "SharedSize": 1000, "Containers": 0},
                       {"Id": "sha256:cd", "Size": 2000, "SharedSize": 1000, "Containers": 0}],
            "Volumes": [{"Name": "v", "UsageData": {"Size": 500, "RefCount": 0}}],
            "Containers": [], "BuildCache": []
        });
        let rows = summary(&df);
        assert_eq!(rows[0]["TotalCount"], "2");
        assert_eq!(rows[0]["Size"], "3kB");
        assert_eq!(rows[0]["Reclaimable"], "3kB (100%)");
        assert_eq!(rows[2]["Size"], "500B");
        assert_eq!(rows[3]["Reclaimable"], "0B");
    }
}
