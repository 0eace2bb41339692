//! Images of a project: `build` (through `berth build`'s context upload), `pull`, `push`,
//! `images`, what `up` builds or pulls before creating containers, and `down --rmi`.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{encode_path, ClientError};
use berth_compose::Project;
use serde_json::Value;

use super::{containers, Container};
use crate::cli::{BuildOpts, PullOpts, PushOpts};
use crate::commands::Ctx;
use crate::context::ContextStore;
use crate::error::StatusError;

fn services<'a>(p: &'a Project, named: &'a [String]) -> Vec<&'a String> {
    p.services
        .keys()
        .filter(|s| named.is_empty() || named.contains(s))
        .collect()
}

async fn exists(ctx: &Ctx, image: &str) -> Result<bool> {
    match ctx
        .client
        .get_json::<Value>(&format!("/images/{}/json", encode_path(image)))
        .await
    {
        Ok(_) => Ok(true),
        Err(ClientError::Api { status: 404, .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Builds one service's image.
async fn build_one(ctx: &Ctx, p: &Project, name: &str) -> Result<()> {
    let s = &p.services[name];
    let Some(b) = &s.build else { return Ok(()) };
    eprintln!("[+] Building {name}");
    let dockerfile = b.dockerfile.as_ref().map(|d| {
        let path = std::path::Path::new(d);
        if path.is_absolute() {
            d.clone()
        } else {
            std::path::Path::new(&b.context)
                .join(path)
                .display()
                .to_string()
        }
    });
    let mut tag = vec![s.image_name(&p.name, name)];
    tag.extend(b.tags.iter().cloned());
    let opts = BuildOpts {
        tag,
        file: dockerfile,
        build_arg: b
            .args
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect(),
        label: b.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        target: b.target.clone(),
        quiet: false,
        no_cache: b.no_cache.unwrap_or(false),
        pull: b.pull.unwrap_or(false),
        rm: true,
        force_rm: false,
        network: b.network.clone(),
        platform: s.platform.clone(),
        progress: "plain".into(),
        context: b.context.clone(),
    };
    crate::commands::build::run(ctx, &opts).await?;
    Ok(())
}

pub async fn build(ctx: &Ctx, p: &Project, named: &[String]) -> Result<ExitCode> {
    for s in services(p, named) {
        build_one(ctx, p, s).await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn pull_one(ctx: &Ctx, store: &ContextStore, image: &str) -> Result<()> {
    let opts = PullOpts {
        all_tags: false,
        quiet: true,
        platform: None,
        name: image.to_string(),
    };
    crate::commands::image::pull::run(ctx, store, &opts).await?;
    Ok(())
}

pub async fn pull(
    ctx: &Ctx,
    store: &ContextStore,
    p: &Project,
    named: &[String],
) -> Result<ExitCode> {
    for name in services(p, named) {
        let s = &p.services[name];
        let Some(image) = &s.image else { continue };
        if s.build.is_some() && !exists(ctx, image).await.unwrap_or(false) {
            // Compose skips images it can build and cannot find.
            continue;
        }
        eprintln!(" \u{2714} {name} Pulling");
        pull_one(ctx, store, image).await?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn push(
    ctx: &Ctx,
    store: &ContextStore,
    p: &Project,
    named: &[String],
) -> Result<ExitCode> {
    for name in services(p, named) {
        let s = &p.services[name];
        if s.build.is_none() {
            continue;
        }
        let Some(image) = &s.image else {
            continue;
        };
        let opts = PushOpts {
            all_tags: false,
            quiet: false,
            name: image.clone(),
        };
        crate::commands::image::push::run(ctx, store, &opts).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Before `up` creates containers: build the services that must be built (`--build`, or a
/// missing image), pull missing images (or per `pull_policy`).
pub async fn ensure(
    ctx: &Ctx,
    store: &ContextStore,
    p: &Project,
    order: &[String],
    force_build: bool,
    no_build: bool,
) -> Result<()> {
    for name in order {
        let s = &p.services[name];
        let image = s.image_name(&p.name, name);
        let policy = s.pull_policy.as_deref().unwrap_or("missing");
        if s.build.is_some() && !no_build {
            if force_build || policy == "build" || !exists(ctx, &image).await? {
                build_one(ctx, p, name).await?;
            }
            continue;
        }
        match policy {
            "always" => pull_one(ctx, store, &image).await?,
            "never" => {}
            _ => {
                if !exists(ctx, &image).await? {
                    if s.build.is_some() {
                        return Err(StatusError::new(format!(
                            "service {name:?}: image {image} not found and --no-build was given"
                        ))
                        .into());
                    }
                    eprintln!(" \u{2714} {name} Pulling");
                    pull_one(ctx, store, &image).await?;
                }
            }
        }
    }
    Ok(())
}

/// `compose images`: the images of the project's containers.
pub async fn images(ctx: &Ctx, p: &Project, named: &[String]) -> Result<ExitCode> {
    let list = containers(ctx, &p.name, named, false).await?;
    let mut rows = vec![[
        "CONTAINER".to_string(),
        "REPOSITORY".into(),
        "TAG".into(),
        "IMAGE ID".into(),
        "SIZE".into(),
    ]];
    for c in &list {
        let image = c.raw["Image"].as_str().unwrap_or_default().to_string();
        let info: Value = ctx
            .client
            .get_json(&format!("/images/{}/json", encode_path(&image)))
            .await
            .unwrap_or(Value::Null);
        let (repo, tag) = match image.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
            _ => (image.clone(), "latest".to_string()),
        };
        let id = info["Id"].as_str().unwrap_or_default();
        let id = id.trim_start_matches("sha256:").chars().take(12).collect();
        let size = info["Size"].as_f64().unwrap_or(0.0);
        rows.push([
            c.name.clone(),
            repo,
            tag,
            id,
            format!("{:.1}MB", size / 1e6),
        ]);
    }
    super::ps::print_table(&rows);
    Ok(ExitCode::SUCCESS)
}

/// `down --rmi local|all`: `local` removes only images without a custom tag (those built
/// for a service without `image:`), `all` every image the services use.
pub async fn remove_images(
    ctx: &Ctx,
    p: &Project,
    containers: &[Container],
    kind: &str,
    errors: &mut Vec<String>,
) {
    let mut names: Vec<String> = Vec::new();
    for (name, s) in &p.services {
        if kind == "all" || s.image.is_none() {
            names.push(s.image_name(&p.name, name));
        }
    }
    if p.services.is_empty() {
        for c in containers {
            if let Some(i) = c.raw["Image"].as_str() {
                names.push(i.to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    for n in names {
        match ctx
            .client
            .delete(&format!("/images/{}", encode_path(&n)))
            .await
        {
            Ok(_) => super::progress("Image", &n, "Removed"),
            Err(ClientError::Api { status: 404, .. }) => {}
            Err(e) => errors.push(format!("image {n}: {e}")),
        }
    }
}
