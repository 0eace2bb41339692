//! `compose up` (converge the project: networks, volumes, then each service in dependency
//! order — containers whose config hash changed are recreated, missing replicas created,
//! surplus ones removed — waiting for `depends_on` conditions) and `compose down`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use berth_client::{ClientError, Query};
use berth_compose::{config_hash, Project};
use serde_json::Value;

use super::cli::{DownOpts, UpOpts};
use super::spec::{self, Instance, LABEL_HASH};
use super::{containers, images, logs, progress, report, resources, Container};
use crate::commands::container::container_path;
use crate::commands::Ctx;
use crate::context::ContextStore;
use crate::error::StatusError;

pub async fn run(ctx: &Ctx, store: &ContextStore, p: &Project, o: &UpOpts) -> Result<ExitCode> {
    let order = p
        .start_order()
        .map_err(|e| StatusError::new(e.to_string()))?;
    let selected = selection(p, &o.services, o.no_deps);
    let order: Vec<String> = order.into_iter().filter(|s| selected.contains(s)).collect();
    let mut scale: BTreeMap<String, u64> = BTreeMap::new();
    for s in &o.scale {
        let (name, n) = s
            .split_once('=')
            .and_then(|(a, b)| Some((a.to_string(), b.parse().ok()?)))
            .ok_or_else(|| {
                StatusError::new(format!("invalid --scale {s:?}: expected SERVICE=NUM"))
            })?;
        if !p.services.contains_key(&name) {
            return Err(StatusError::new(format!("--scale: no such service: {name}")).into());
        }
        scale.insert(name, n);
    }

    // Images first: build what must be built, pull what is missing.
    images::ensure(ctx, store, p, &order, o.build, o.no_build).await?;
    resources::ensure_networks(ctx, p, &order).await?;
    resources::ensure_volumes(ctx, p, &order).await?;

    let existing = containers(ctx, &p.name, &[], false).await?;
    let orphans: Vec<&Container> = existing
        .iter()
        .filter(|c| !p.services.contains_key(&c.service) && !p.disabled.contains_key(&c.service))
        .collect();
    if o.remove_orphans {
        for c in &orphans {
            remove(ctx, c, o.timeout).await?;
            progress("Container", &c.name, "Removed");
        }
    } else if !orphans.is_empty() {
        let names: Vec<&str> = orphans.iter().map(|c| c.name.as_str()).collect();
        eprintln!(
            "WARN[0000] Found orphan containers ({}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names.join(", ")
        );
    }

    for name in &order {
        let s = &p.services[name];
        for (dep, d) in &s.depends_on {
            if selected.contains(dep) || !o.no_deps {
                wait_condition(ctx, p, dep, &d.condition, d.required).await?;
            }
        }
        let want = scale.get(name).copied().unwrap_or_else(|| s.replicas());
        let hash = config_hash(s);
        let mine: Vec<&Container> = existing.iter().filter(|c| &c.service == name).collect();
        for c in mine.iter().filter(|c| c.number > want || c.number == 0) {
            remove(ctx, c, o.timeout).await?;
            progress("Container", &c.name, "Removed");
        }
        for n in 1..=want {
            let current = mine.iter().find(|c| c.number == n);
            let id = match current {
                Some(c) if !o.force_recreate && (o.no_recreate || c.label(LABEL_HASH) == hash) => {
                    if !c.running() && !o.no_start {
                        ctx.client.post(&container_path(&c.id, "/start")).await?;
                        progress("Container", &c.name, "Started");
                    } else {
                        progress("Container", &c.name, "Running");
                    }
                    continue;
                }
                Some(c) => {
                    remove(ctx, c, o.timeout).await?;
                    progress("Container", &c.name, "Recreated");
                    create(ctx, p, name, n).await?
                }
                None => {
                    let id = create(ctx, p, name, n).await?;
                    progress("Container", &spec::container_name(p, name, s, n), "Created");
                    id
                }
            };
            if !o.no_start {
                ctx.client.post(&container_path(&id, "/start")).await?;
                progress("Container", &spec::container_name(p, name, s, n), "Started");
            }
        }
    }

    if o.wait {
        wait_project(ctx, p, &order, o.wait_timeout).await?;
        return Ok(ExitCode::SUCCESS);
    }
    if o.detach || o.no_start {
        return Ok(ExitCode::SUCCESS);
    }
    // Attached: follow every container's logs until they all stop; Ctrl-C stops them.
    let list = containers(ctx, &p.name, &order, false).await?;
    let follow = logs::follow_all(ctx, &list, true, "all", false);
    tokio::select! {
        r = follow => r?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
            for c in list.iter().rev() {
                let _ = stop_container(ctx, &c.id, o.timeout).await;
                progress("Container", &c.name, "Stopped");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The services `up SERVICE…` touches: those named (all when none), plus what they depend
/// on unless `--no-deps`.
pub fn selection(p: &Project, named: &[String], no_deps: bool) -> Vec<String> {
    if named.is_empty() {
        return p.services.keys().cloned().collect();
    }
    let mut out: Vec<String> = Vec::new();
    let mut todo: Vec<String> = named.to_vec();
    while let Some(n) = todo.pop() {
        if out.contains(&n) {
            continue;
        }
        if !no_deps {
            if let Some(s) = p.services.get(&n) {
                todo.extend(s.depends_on.keys().cloned());
            }
        }
        out.push(n);
    }
    out
}

/// Creates replica `n` of `service` (and connects its extra networks).
pub async fn create(ctx: &Ctx, p: &Project, service: &str, n: u64) -> Result<String> {
    let s = &p.services[service];
    let inst = Instance {
        service,
        number: n,
        oneoff: false,
        name: spec::container_name(p, service, s, n),
    };
    let req = spec::create_request(p, s, &inst, None, true).map_err(StatusError::new)?;
    create_and_connect(ctx, p, service, &req).await
}

pub async fn create_and_connect(
    ctx: &Ctx,
    p: &Project,
    service: &str,
    req: &crate::opts::CreateRequest,
) -> Result<String> {
    let path = Query::new()
        .add_opt("name", req.name.clone())
        .with_path("/containers/create");
    let body = serde_json::to_value(&req.body)?;
    let answer: Value = ctx.client.post_json(&path, Some(&body)).await?;
    let id = answer["Id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the daemon's create answer has no Id: {answer}"))?
        .to_string();
    let s = &p.services[service];
    if s.network_mode.is_none() {
        for key in spec::ordered_networks(s).iter().skip(1) {
            let ep = spec::endpoint(s, service, key);
            let body = serde_json::json!({"Container": id, "EndpointConfig": ep});
            ctx.client
                .post_json::<Value>(
                    &format!(
                        "/networks/{}/connect",
                        berth_client::encode_path(&p.networks[key].name)
                    ),
                    Some(&body),
                )
                .await?;
        }
    }
    Ok(id)
}

async fn stop_container(ctx: &Ctx, id: &str, timeout: Option<i64>) -> Result<(), ClientError> {
    let path = Query::new()
        .add_opt("t", timeout.map(|t| t.to_string()))
        .with_path(&container_path(id, "/stop"));
    ctx.client.post(&path).await.map(|_| ())
}

/// Stops and removes a container (anonymous volumes kept, as Compose does on recreate).
async fn remove(ctx: &Ctx, c: &Container, timeout: Option<i64>) -> Result<()> {
    if c.running() {
        stop_container(ctx, &c.id, timeout).await?;
    }
    let q = Query::new().add("force", "1");
    ctx.client
        .delete(&q.with_path(&container_path(&c.id, "")))
        .await?;
    Ok(())
}

/// Waits until `dep`'s containers meet `condition`.
async fn wait_condition(
    ctx: &Ctx,
    p: &Project,
    dep: &str,
    condition: &str,
    required: bool,
) -> Result<()> {
    if condition == "service_started" {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let list = containers(ctx, &p.name, &[dep.to_string()], false).await?;
        if list.is_empty() {
            if required {
                return Err(StatusError::new(format!("dependency {dep} has no container")).into());
            }
            return Ok(());
        }
        let mut done = true;
        for c in &list {
            let info: Value = ctx.client.get_json(&container_path(&c.id, "/json")).await?;
            let st = &info["State"];
            match condition {
                "service_healthy" => match st["Health"]["Status"].as_str() {
                    Some("healthy") => {}
                    Some("unhealthy") => {
                        return Err(StatusError::new(format!(
                            "dependency failed to start: container {} is unhealthy",
                            c.name
                        ))
                        .into())
                    }
                    None if st["Running"] == true => {
                        return Err(StatusError::new(format!(
                            "dependency {dep} reports no health status, so `condition: service_healthy` cannot be met: give it a healthcheck (and use a daemon that runs healthchecks)"
                        ))
                        .into())
                    }
                    _ => done = false,
                },
                _ => {
                    // service_completed_successfully
                    if st["Running"] == true || st["Status"] == "created" {
                        done = false;
                    } else if st["ExitCode"].as_i64().unwrap_or(0) != 0 {
                        return Err(StatusError::new(format!(
                            "service {dep:?} didn't complete successfully: exit {}",
                            st["ExitCode"]
                        ))
                        .into());
                    }
                }
            }
        }
        if done {
            progress(
                "Container",
                dep,
                if condition == "service_healthy" {
                    "Healthy"
                } else {
                    "Exited"
                },
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(
                StatusError::new(format!("timed out waiting for {dep} ({condition})")).into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `up --wait`: every container running, and healthy when it has a healthcheck.
async fn wait_project(
    ctx: &Ctx,
    p: &Project,
    services: &[String],
    timeout: Option<u64>,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(timeout.unwrap_or(300));
    loop {
        let list = containers(ctx, &p.name, services, false).await?;
        let mut pending = Vec::new();
        for c in &list {
            let info: Value = ctx.client.get_json(&container_path(&c.id, "/json")).await?;
            let st = &info["State"];
            let health = st["Health"]["Status"].as_str();
            if st["Running"] != true {
                return Err(StatusError::new(format!(
                    "container {} exited ({})",
                    c.name, st["ExitCode"]
                ))
                .into());
            }
            match health {
                Some("unhealthy") => {
                    return Err(
                        StatusError::new(format!("container {} is unhealthy", c.name)).into(),
                    )
                }
                Some("healthy") | None => {}
                _ => pending.push(c.name.clone()),
            }
        }
        if pending.is_empty() {
            for c in &list {
                progress("Container", &c.name, "Healthy");
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(StatusError::new(format!(
                "timed out waiting for {} to be healthy",
                pending.join(", ")
            ))
            .into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `compose down`: containers (reverse dependency order), networks, with `-v` volumes,
/// with `--rmi` images. Keeps going past errors and reports them all.
pub async fn down(ctx: &Ctx, p: &Project, o: &DownOpts) -> Result<ExitCode> {
    let all = containers(ctx, &p.name, &[], true).await?;
    let order = p.start_order().unwrap_or_default();
    let rank = |c: &Container| {
        order
            .iter()
            .position(|s| *s == c.service)
            .unwrap_or(usize::MAX)
    };
    let mut list: Vec<&Container> = all
        .iter()
        .filter(|c| {
            o.remove_orphans
                || c.oneoff
                || p.services.contains_key(&c.service)
                || p.disabled.contains_key(&c.service)
                || p.services.is_empty()
        })
        .collect();
    list.sort_by_key(|c| std::cmp::Reverse(rank(c)));
    let mut errors = Vec::new();
    for c in &list {
        if c.running() {
            if let Err(e) = stop_container(ctx, &c.id, o.timeout).await {
                errors.push(format!("{}: {e}", c.name));
                continue;
            }
            progress("Container", &c.name, "Stopped");
        }
        let q = Query::new().add("force", "1").add_if(o.volumes, "v", "1");
        match ctx
            .client
            .delete(&q.with_path(&container_path(&c.id, "")))
            .await
        {
            Ok(_) => progress("Container", &c.name, "Removed"),
            Err(e) => errors.push(format!("{}: {e}", c.name)),
        }
    }
    resources::remove_networks(ctx, p, &mut errors).await?;
    if o.volumes {
        resources::remove_volumes(ctx, p, &mut errors).await?;
    }
    if let Some(kind) = &o.rmi {
        images::remove_images(ctx, p, &all, kind, &mut errors).await;
    }
    report(errors)
}
