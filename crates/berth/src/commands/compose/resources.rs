//! The project's networks and volumes: created when missing (labelled as Compose labels
//! them), checked when external, removed by `down`.

use anyhow::Result;
use berth_client::{encode_path, ClientError, Query};
use berth_compose::Project;
use serde_json::{json, Value};

use super::progress;
use super::spec::{COMPOSE_VERSION, LABEL_NETWORK, LABEL_PROJECT, LABEL_VERSION, LABEL_VOLUME};
use crate::commands::Ctx;
use crate::error::StatusError;

fn is_404(e: &ClientError) -> bool {
    matches!(e, ClientError::Api { status: 404, .. })
}

/// Creates the networks the given services use (those that do not exist yet).
pub async fn ensure_networks(ctx: &Ctx, p: &Project, services: &[String]) -> Result<()> {
    let used: std::collections::BTreeSet<&String> = services
        .iter()
        .filter_map(|s| p.services.get(s))
        .flat_map(|s| s.networks.keys())
        .collect();
    for key in used {
        let n = &p.networks[key];
        let path = format!("/networks/{}", encode_path(&n.name));
        match ctx.client.get_json::<Value>(&path).await {
            Ok(_) => continue,
            Err(e) if is_404(&e) => {}
            Err(e) => return Err(e.into()),
        }
        if n.external {
            return Err(StatusError::new(format!(
                "network {} declared as external, but could not be found (create it with `berth network create {}`)",
                n.name, n.name
            ))
            .into());
        }
        let mut labels = n.labels.clone();
        labels.insert(LABEL_PROJECT.into(), p.name.clone());
        labels.insert(LABEL_NETWORK.into(), key.clone());
        labels.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
        let mut body = json!({
            "Name": n.name,
            "CheckDuplicate": true,
            "Driver": n.driver.clone().unwrap_or_else(|| "bridge".into()),
            "Internal": n.internal,
            "Options": n.driver_opts,
            "Labels": labels,
        });
        if let Some(v6) = n.enable_ipv6 {
            body["EnableIPv6"] = json!(v6);
        }
        if let Some(ipam) = &n.ipam {
            body["IPAM"] = json!({
                "Driver": ipam.get("driver").cloned().unwrap_or(json!("default")),
                "Config": ipam.get("config").cloned().unwrap_or(json!([])).as_array().into_iter().flatten().map(|c| json!({
                    "Subnet": c.get("subnet"),
                    "Gateway": c.get("gateway"),
                    "IPRange": c.get("ip_range"),
                })).collect::<Vec<_>>(),
            });
        }
        ctx.client
            .post_json::<Value>("/networks/create", Some(&body))
            .await?;
        progress("Network", &n.name, "Created");
    }
    Ok(())
}

/// Creates the named volumes the given services use.
pub async fn ensure_volumes(ctx: &Ctx, p: &Project, services: &[String]) -> Result<()> {
    let used: std::collections::BTreeSet<&str> = services
        .iter()
        .filter_map(|s| p.services.get(s))
        .flat_map(|s| s.volumes.iter())
        .filter(|v| v.kind == "volume")
        .filter_map(|v| v.source.as_deref())
        .filter(|s| p.volumes.contains_key(*s))
        .collect();
    for key in used {
        let v = &p.volumes[key];
        let path = format!("/volumes/{}", encode_path(&v.name));
        match ctx.client.get_json::<Value>(&path).await {
            Ok(_) => continue,
            Err(e) if is_404(&e) => {}
            Err(e) => return Err(e.into()),
        }
        if v.external {
            return Err(StatusError::new(format!(
                "external volume {:?} not found (create it with `berth volume create {}`)",
                v.name, v.name
            ))
            .into());
        }
        let mut labels = v.labels.clone();
        labels.insert(LABEL_PROJECT.into(), p.name.clone());
        labels.insert(LABEL_VOLUME.into(), key.to_string());
        labels.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
        let body = json!({
            "Name": v.name,
            "Driver": v.driver.clone().unwrap_or_else(|| "local".into()),
            "DriverOpts": v.driver_opts,
            "Labels": labels,
        });
        ctx.client
            .post_json::<Value>("/volumes/create", Some(&body))
            .await?;
        progress("Volume", &format!("\"{}\"", v.name), "Created");
    }
    Ok(())
}

/// Removes the project's networks: those labelled with the project (so a project without
/// its file can still be taken down) and, by name, those of the file.
pub async fn remove_networks(ctx: &Ctx, p: &Project, errors: &mut Vec<String>) -> Result<()> {
    let filters = json!({"label": [format!("{LABEL_PROJECT}={}", p.name)]});
    let path = Query::new()
        .add("filters", filters.to_string())
        .with_path("/networks");
    let list: Vec<Value> = ctx.client.get_json(&path).await?;
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|n| n["Name"].as_str().map(str::to_string))
        .collect();
    for n in p.networks.values().filter(|n| !n.external) {
        if !names.contains(&n.name) {
            names.push(n.name.clone());
        }
    }
    for name in names {
        match ctx
            .client
            .delete(&format!("/networks/{}", encode_path(&name)))
            .await
        {
            Ok(_) => progress("Network", &name, "Removed"),
            Err(e) if is_404(&e) => {}
            Err(e) => errors.push(format!("network {name}: {e}")),
        }
    }
    Ok(())
}

/// Removes the project's named volumes (labelled, or named in the file; never external).
pub async fn remove_volumes(ctx: &Ctx, p: &Project, errors: &mut Vec<String>) -> Result<()> {
    let filters = json!({"label": [format!("{LABEL_PROJECT}={}", p.name)]});
    let path = Query::new()
        .add("filters", filters.to_string())
        .with_path("/volumes");
    let list: Value = ctx.client.get_json(&path).await?;
    let mut names: Vec<String> = list["Volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["Name"].as_str().map(str::to_string))
        .collect();
    for v in p.volumes.values().filter(|v| !v.external) {
        if !names.contains(&v.name) {
            names.push(v.name.clone());
        }
    }
    for name in names {
        match ctx
            .client
            .delete(&format!("/volumes/{}", encode_path(&name)))
            .await
        {
            Ok(_) => progress("Volume", &name, "Removed"),
            Err(e) if is_404(&e) => {}
            Err(e) => errors.push(format!("volume {name}: {e}")),
        }
    }
    Ok(())
}
