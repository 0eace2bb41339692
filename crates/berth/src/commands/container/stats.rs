//! `berth stats`: CPU, memory, network and block I/O per container, computed from
//! `GET /containers/{id}/stats` the way docker computes them. `--no-stream` prints one
//! table; otherwise the table is redrawn every half second.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use berth_client::{ClientError, Query};
use serde_json::{json, Value};

use super::container_path;
use crate::cli::StatsOpts;
use crate::commands::image::truncate_id;
use crate::commands::Ctx;

pub const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

pub const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

/// One sample → the row docker shows.
pub fn row(container: &str, s: &Value, trunc: bool) -> Value {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let cpu = &s["cpu_stats"];
    let pre = &s["precpu_stats"];
    let cpu_delta = f(&cpu["cpu_usage"]["total_usage"]) - f(&pre["cpu_usage"]["total_usage"]);
    let sys_delta = f(&cpu["system_cpu_usage"]) - f(&pre["system_cpu_usage"]);
    let mut online = f(&cpu["online_cpus"]);
    if online == 0.0 {
        online = cpu["cpu_usage"]["percpu_usage"]
            .as_array()
            .map_or(0.0, |a| a.len() as f64);
    }
    let cpu_pct = if sys_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / sys_delta * online * 100.0
    } else {
        0.0
    };
    let mem = &s["memory_stats"];
    let mut usage = f(&mem["usage"]);
    // cgroup v2 counts the page cache's inactive files; v1 names it total_inactive_file.
    let inactive = if mem["stats"]["inactive_file"].is_number() {
        f(&mem["stats"]["inactive_file"])
    } else {
        f(&mem["stats"]["total_inactive_file"])
    };
    if inactive < usage {
        usage -= inactive;
    }
    let limit = f(&mem["limit"]);
    let mem_pct = if limit > 0.0 {
        usage / limit * 100.0
    } else {
        0.0
    };
    let (mut rx, mut tx) = (0.0, 0.0);
    for n in s["networks"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        rx += f(&n["rx_bytes"]);
        tx += f(&n["tx_bytes"]);
    }
    let (mut read, mut write) = (0.0, 0.0);
    for e in s["blkio_stats"]["io_service_bytes_recursive"]
        .as_array()
        .into_iter()
        .flatten()
    {
        match e["op"].as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => read += f(&e["value"]),
            Some("write") => write += f(&e["value"]),
            _ => {}
        }
    }
    let id = s["id"].as_str().unwrap_or(container);
    let name = s["name"].as_str().unwrap_or("").trim_start_matches('/');
    let human = |n: f64| berth_format::human_size_with_precision(n as i64, 3);
    let pair = |a: f64, b: f64| format!("{} / {}", human(a), human(b));
    json!({
        "ID": if trunc { truncate_id(id) } else { id.to_string() },
        "Container": container,
        "Name": if name.is_empty() { "--".to_string() } else { name.to_string() },
        "CPUPerc": format!("{cpu_pct:.2}%"),
        "MemUsage": format!(
            "{} / {}",
            berth_format::bytes_size(usage as i64),
            berth_format::bytes_size(limit as i64)
        ),
        "MemPerc": format!("{mem_pct:.2}%"),
        "NetIO": pair(rx, tx),
        "BlockIO": pair(read, write),
        "PIDs": s["pids_stats"]["current"].as_u64().unwrap_or(0).to_string(),
    })
}

async fn sample(ctx: &Ctx, name: &str) -> Result<Value, ClientError> {
    let path = Query::new()
        .add("stream", "0")
        .with_path(&container_path(name, "/stats"));
    ctx.client.get_json(&path).await
}

/// The containers to show: the named ones, or every running one (all with `-a`).
async fn targets(ctx: &Ctx, o: &StatsOpts) -> Result<Vec<String>> {
    if !o.containers.is_empty() {
        return Ok(o.containers.clone());
    }
    let path = Query::new()
        .add_if(o.all, "all", "1")
        .with_path("/containers/json");
    let list: Vec<Value> = ctx.client.get_json(&path).await?;
    Ok(list
        .iter()
        .filter_map(|c| c["Id"].as_str().map(str::to_string))
        .collect())
}

pub async fn run(ctx: &Ctx, o: &StatsOpts) -> Result<ExitCode> {
    let format = match o.format.as_deref() {
        None | Some("") | Some("table") => DEFAULT_TABLE.to_string(),
        Some(f) => f.to_string(),
    };
    let redraw = !o.no_stream && std::io::stdout().is_terminal();
    loop {
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        for name in targets(ctx, o).await? {
            match sample(ctx, &name).await {
                Ok(s) => rows.push(row(&name, &s, !o.no_trunc)),
                Err(e @ ClientError::Api { .. }) if !o.containers.is_empty() => {
                    errors.push(e.to_string())
                }
                Err(ClientError::Api { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !errors.is_empty() {
            return Err(crate::error::StatusError::new(errors.join("\n")).into());
        }
        let mut buf = Vec::new();
        let spec = berth_format::FormatSpec::parse(&format);
        berth_format::render(&spec, DEFAULT_TABLE, HEADERS, &rows, &mut buf)?;
        let mut out = std::io::stdout().lock();
        if redraw {
            // Clear the screen and go home, like docker.
            out.write_all(b"\x1b[2J\x1b[H")?;
        }
        out.write_all(&buf)?;
        out.flush()?;
        if o.no_stream {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_like_docker() {
        let s = json!({
            "id": "4f1dc2a8b4b2e1f6d5c4b3a2", "name": "/web",
            "cpu_stats": {"cpu_usage": {"total_usage": 300_000_000u64}, "system_cpu_usage": 20_000_000_000u64, "online_cpus": 4},
            "precpu_stats": {"cpu_usage": {"total_usage": 100_000_000u64}, "system_cpu_usage": 10_000_000_000u64},
            "memory_stats": {"usage": 12_582_912u64, "limit": 1_073_741_824u64, "stats": {"inactive_file": 2_097_152u64}},
            "networks": {"eth0": {"rx_bytes": 1500, "tx_bytes": 648}, "eth1": {"rx_bytes": 500, "tx_bytes": 0}},
            "blkio_stats": {"io_service_bytes_recursive": [{"op": "read", "value": 4096}, {"op": "Write", "value": 1_000_000}]},
            "pids_stats": {"current": 3}
        });
        let r = row("web", &s, true);
        assert_eq!(r["ID"], "4f1dc2a8b4b2");
        assert_eq!(r["Name"], "web");
        assert_eq!(r["CPUPerc"], "8.00%");
        assert_eq!(r["MemUsage"], "10MiB / 1GiB");
        assert_eq!(r["MemPerc"], "0.98%");
        assert_eq!(r["NetIO"], "2kB / 648B");
        assert_eq!(r["BlockIO"], "4.1kB / 1MB");
        assert_eq!(r["PIDs"], "3");
        let empty = row("x", &json!({}), true);
        assert_eq!(empty["CPUPerc"], "0.00%");
        assert_eq!(empty["Name"], "--");
    }
}
