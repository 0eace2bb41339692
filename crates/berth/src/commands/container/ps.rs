//! `berth ps` / `berth container ls`: list containers with docker's columns and formats.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use serde_json::{json, Value};

use crate::cli::PsOpts;
use crate::commands::image::{created_since, ellipsis, truncate_id};
use crate::commands::{print_formatted, Ctx};
use crate::filters::Filters;
use crate::timestamp;

pub const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

pub const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

/// The list query: `-n`/`-l` imply `all`, like docker.
pub fn list_path(o: &PsOpts, size: bool) -> Result<String> {
    let filters = Filters::parse(&o.filter)?;
    let limit = if o.latest { 1 } else { o.last };
    Ok(Query::new()
        .add_if(o.all || limit > 0, "all", "1")
        .add_if(limit > 0, "limit", limit.to_string())
        .add_if(size, "size", "1")
        .add_if(!filters.is_empty(), "filters", filters.to_json())
        .with_path("/containers/json"))
}

/// The `--format` to use: docker's `NewContainerFormat` (`-q` → IDs, `-s` adds SIZE).
pub fn ps_format(o: &PsOpts) -> String {
    let f = o.format.as_deref().unwrap_or("");
    match f {
        "" | "table" if o.quiet => "{{.ID}}".to_string(),
        "" | "table" if o.size => format!("{DEFAULT_TABLE}\t{{{{.Size}}}}"),
        "" | "table" => DEFAULT_TABLE.to_string(),
        f => f.to_string(),
    }
}

pub async fn run(ctx: &Ctx, o: &PsOpts) -> Result<ExitCode> {
    let format = ps_format(o);
    let size = o.size || format.contains(".Size");
    let list: Vec<Value> = ctx.client.get_json(&list_path(o, size)?).await?;
    let items: Vec<Value> = list.iter().map(|c| item(c, !o.no_trunc)).collect();
    print_formatted(&format, DEFAULT_TABLE, HEADERS, &items)?;
    Ok(ExitCode::SUCCESS)
}

/// docker's `DisplayablePorts`: `0.0.0.0:8080->80/tcp, 443/tcp`, consecutive ports of the
/// same kind grouped into ranges.
pub fn displayable_ports(ports: &Value) -> String {
    let mut list: Vec<(String, u16, u16, String)> = ports
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["IP"].as_str().unwrap_or("").to_string(),
                p["PublicPort"].as_u64().unwrap_or(0) as u16,
                p["PrivatePort"].as_u64().unwrap_or(0) as u16,
                p["Type"].as_str().unwrap_or("tcp").to_string(),
            )
        })
        .collect();
    list.sort_by(|a, b| (&a.3, a.2, &a.0, a.1).cmp(&(&b.3, b.2, &b.0, b.1)));
    list.dedup();
    // Group runs where both sides advance by one.
    let mut groups: Vec<(String, u16, u16, u16, String)> = Vec::new();
    for (ip, public, private, kind) in list {
        if let Some(last) = groups.last_mut() {
            let (lip, lpub, lpriv_start, lpriv_end, lkind) = last;
            let span = *lpriv_end - *lpriv_start;
            let next_public = if *lpub == 0 { 0 } else { *lpub + span + 1 };
            if *lip == ip && *lkind == kind && private == *lpriv_end + 1 && public == next_public {
                *lpriv_end = private;
                continue;
            }
        }
        groups.push((ip, public, private, private, kind));
    }
    let range = |a: u16, b: u16| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    };
    groups
        .iter()
        .map(|(ip, public, start, end, kind)| {
            if ip.is_empty() {
                format!("{}/{kind}", range(*start, *end))
            } else {
                let ip = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.clone()
                };
                let pub_end = public + (end - start);
                format!(
                    "{ip}:{}->{}/{kind}",
                    range(*public, pub_end),
                    range(*start, *end)
                )
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row as templates see it: docker's `ContainerContext` fields.
pub fn item(c: &Value, trunc: bool) -> Value {
    let id = c["Id"].as_str().unwrap_or("");
    let mut image = c["Image"].as_str().unwrap_or("").to_string();
    if trunc && image.starts_with("sha256:") {
        image = truncate_id(&image);
    }
    let mut command = c["Command"].as_str().unwrap_or("").to_string();
    if trunc {
        command = ellipsis(&command, 20);
    }
    let names: Vec<String> = c["Names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|n| n.trim_start_matches('/'))
        .filter(|n| !n.contains('/'))
        .map(str::to_string)
        .collect();
    let names = if trunc {
        names.first().cloned().unwrap_or_default()
    } else {
        names.join(",")
    };
    let mut labels: Vec<String> = c["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    let created = c["Created"].as_i64().unwrap_or(0);
    let size = match (c["SizeRw"].as_i64(), c["SizeRootFs"].as_i64()) {
        (Some(rw), Some(root)) if root > 0 => format!(
            "{} (virtual {})",
            berth_format::human_size_with_precision(rw, 3),
            berth_format::human_size_with_precision(root, 3)
        ),
        (Some(rw), _) => berth_format::human_size_with_precision(rw, 3),
        _ => String::new(),
    };
    let mounts: Vec<String> = c["Mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let name = m["Name"].as_str().filter(|n| !n.is_empty());
            let name = name.or(m["Source"].as_str()).unwrap_or("");
            if trunc {
                ellipsis(name, 15)
            } else {
                name.to_string()
            }
        })
        .collect();
    let local_volumes = c["Mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["Driver"] == "local")
        .count();
    let mut networks: Vec<String> = c["NetworkSettings"]["Networks"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();
    json!({
        "ID": if trunc { truncate_id(id) } else { id.to_string() },
        "Image": image,
        "Command": format!("{command:?}"),
        "CreatedAt": timestamp::go_time_string(created),
        "RunningFor": created_since(created),
        "Ports": displayable_ports(&c["Ports"]),
        "State": c["State"],
        "Status": c["Status"],
        "Size": size,
        "Names": names,
        "Labels": labels.join(","),
        "Mounts": mounts.join(","),
        "Networks": networks.join(","),
        "LocalVolumes": local_volumes.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> PsOpts {
        PsOpts {
            last: -1,
            ..PsOpts::default()
        }
    }

    #[test]
    fn queries_and_formats() {
        assert_eq!(list_path(&opts(), false).unwrap(), "/containers/json");
        let o = PsOpts {
            latest: true,
            filter: vec!["status=exited".into()],
            ..opts()
        };
        assert_eq!(
            list_path(&o, true).unwrap(),
            "/containers/json?all=1&limit=1&size=1&filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D"
        );
        let o = PsOpts { last: 3, ..opts() };
        assert_eq!(
            list_path(&o, false).unwrap(),
            "/containers/json?all=1&limit=3"
        );
        assert_eq!(ps_format(&opts()), DEFAULT_TABLE);
        assert_eq!(
            ps_format(&PsOpts {
                quiet: true,
                ..opts()
            }),
            "{{.ID}}"
        );
        assert!(ps_format(&PsOpts {
            size: true,
            ..opts()
        })
        .ends_with("\t{{.Size}}"));
        let f = PsOpts {
            format: Some("{{.Names}}".into()),
            quiet: true,
            ..opts()
        };
        assert_eq!(ps_format(&f), "{{.Names}}");
    }

    #[test]
    fn rows_look_like_dockers() {
        let c = json!({
            "Id": "4f1dc2a8b4b2e1f6d5c4b3a291807f6e5d4c3b2a190807f6e5d4c3b2a1908070",
            "Names": ["/web", "/other/link"], "Image": "busybox",
            "Command": "sh -c 'echo hello; sleep 1000'", "Created": 0,
            "Ports": [
                {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                {"IP": "0.0.0.0", "PrivatePort": 81, "PublicPort": 8081, "Type": "tcp"},
                {"PrivatePort": 443, "Type": "tcp"},
                {"IP": "::", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"}
            ],
            "Labels": {"b": "2", "a": "1"}, "State": "running", "Status": "Up 2 minutes",
            "SizeRw": 1000, "SizeRootFs": 5000000,
            "NetworkSettings": {"Networks": {"bridge": {}}}, "Mounts": []
        });
        let i = item(&c, true);
        assert_eq!(i["ID"], "4f1dc2a8b4b2");
        assert_eq!(i["Command"], "\"sh -c 'echo hello; …\"");
        assert_eq!(i["Names"], "web");
        assert_eq!(i["Labels"], "a=1,b=2");
        assert_eq!(i["Size"], "1kB (virtual 5MB)");
        assert_eq!(i["Networks"], "bridge");
        assert_eq!(
            i["Ports"],
            "0.0.0.0:8080-8081->80-81/tcp, 443/tcp, [::]:5353->53/udp"
        );
        let full = item(&c, false);
        assert_eq!(full["Command"], "\"sh -c 'echo hello; sleep 1000'\"");
        assert_eq!(full["ID"].as_str().unwrap().len(), 64);
        let mut out = Vec::new();
        berth_format::render(
            &berth_format::FormatSpec::parse("table"),
            DEFAULT_TABLE,
            HEADERS,
            &[i],
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let header = text.lines().next().unwrap();
        assert!(
            header.starts_with("CONTAINER ID   IMAGE     COMMAND                  CREATED"),
            "{header}"
        );
        assert!(
            header.ends_with("PORTS") || header.contains("NAMES"),
            "{header}"
        );
    }
}
