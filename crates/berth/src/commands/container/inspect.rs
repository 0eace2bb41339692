//! `berth container inspect` and the generic `berth inspect` (containers, images,
//! volumes, networks; `--type` to choose).

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{encode_path, ClientError, Query};

use crate::cli::{ContainerInspectOpts, InspectOpts};
use crate::commands::Ctx;
use crate::error::StatusError;
use crate::inspect::Inspector;

/// The kinds `berth inspect` knows, in the order docker tries them.
const KINDS: &[&str] = &["container", "image", "network", "volume"];

fn object_path(kind: &str, name: &str, size: bool) -> String {
    let n = encode_path(name);
    match kind {
        "container" => Query::new()
            .add_if(size, "size", "1")
            .with_path(&format!("/containers/{n}/json")),
        "image" => format!("/images/{n}/json"),
        "network" => format!("/networks/{n}"),
        _ => format!("/volumes/{n}"),
    }
}

pub async fn run_containers(ctx: &Ctx, o: &ContainerInspectOpts) -> Result<ExitCode> {
    inspect(
        ctx,
        o.format.as_deref(),
        &["container"],
        o.size,
        &o.containers,
    )
    .await
}

pub async fn run(ctx: &Ctx, o: &InspectOpts) -> Result<ExitCode> {
    let kinds: Vec<&str> = match o.kind.as_deref() {
        None | Some("") => KINDS.to_vec(),
        Some(k) if KINDS.contains(&k) => vec![k],
        Some(k) => {
            return Err(StatusError::new(format!("\"{k}\" is not a valid value for --type")).into())
        }
    };
    inspect(ctx, o.format.as_deref(), &kinds, o.size, &o.names).await
}

async fn inspect(
    ctx: &Ctx,
    format: Option<&str>,
    kinds: &[&str],
    size: bool,
    names: &[String],
) -> Result<ExitCode> {
    let mut out = Inspector::new(format)?;
    let mut errors = Vec::new();
    'names: for name in names {
        for kind in kinds {
            match ctx.client.get_bytes(&object_path(kind, name, size)).await {
                Ok(raw) => {
                    if let Err(e) = out.add(&raw) {
                        errors.push(e);
                    }
                    continue 'names;
                }
                Err(ClientError::Api { status: 404, .. }) => continue,
                Err(e @ ClientError::Api { .. }) => {
                    errors.push(e.to_string());
                    continue 'names;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let what = if kinds.len() == 1 { kinds[0] } else { "object" };
        errors.push(format!("Error: No such {what}: {name}"));
    }
    out.finish(&mut std::io::stdout().lock())?;
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(StatusError::new(errors.join("\n")).into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths() {
        assert_eq!(
            super::object_path("container", "web", true),
            "/containers/web/json?size=1"
        );
        assert_eq!(
            super::object_path("image", "a/b:1", false),
            "/images/a/b:1/json"
        );
        assert_eq!(super::object_path("volume", "v", false), "/volumes/v");
        assert_eq!(super::object_path("network", "n", false), "/networks/n");
    }
}
