//! `berth create`: build the create request from the flags, create the container (pulling
//! the image first when it is missing, as docker does), print its ID.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{body_stream, ClientError, Query};
use serde_json::Value;

use super::usage_error;
use crate::cli::CreateOpts;
use crate::commands::login::{post_with_auth, registry_auth};
use crate::commands::Ctx;
use crate::context::ContextStore;
use crate::error::StatusError;
use crate::jsonmessage;
use crate::opts::{self, CreateRequest, RunContext};
use crate::reference::Reference;

pub async fn run(ctx: &Ctx, store: &ContextStore, o: &CreateOpts) -> Result<ExitCode> {
    let console_size = (o.opts.tty && crate::term::stdin_is_tty())
        .then(crate::term::size)
        .flatten();
    let req = opts::build(
        &o.opts,
        &o.args,
        RunContext {
            detach: false,
            console_size,
        },
    )
    .map_err(|e| usage_error("create", e))?;
    let id = create_container(ctx, store, &req, &o.opts.pull, o.opts.quiet).await?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}

/// Creates the container and returns its ID. `pull` is docker's `--pull`: `always` pulls
/// first, `missing` pulls when the daemon answers "No such image", `never` does not.
/// Pull progress goes to stderr (stdout is for the ID, or the container's output).
pub async fn create_container(
    ctx: &Ctx,
    store: &ContextStore,
    req: &CreateRequest,
    pull: &str,
    quiet: bool,
) -> Result<String> {
    let image = req.body.config.image.clone();
    if pull == "always" {
        pull_image(ctx, store, &image, req.platform.as_deref(), quiet).await?;
    }
    let path = Query::new()
        .add_opt("name", req.name.clone())
        .add_opt("platform", req.platform.clone())
        .with_path("/containers/create");
    let body = serde_json::to_value(&req.body)?;
    let answer: Result<Value, ClientError> = ctx.client.post_json(&path, Some(&body)).await;
    let answer = match answer {
        Err(ClientError::Api {
            status: 404,
            message,
        }) if pull == "missing" && message.contains("No such image") => {
            let shown = Reference::parse(&image)
                .map(|r| r.with_default_tag().familiar_string())
                .unwrap_or_else(|_| image.clone());
            eprintln!("Unable to find image '{shown}' locally");
            pull_image(ctx, store, &image, req.platform.as_deref(), quiet).await?;
            ctx.client.post_json(&path, Some(&body)).await?
        }
        other => other?,
    };
    for w in answer["Warnings"].as_array().into_iter().flatten() {
        if let Some(w) = w.as_str().filter(|w| !w.is_empty()) {
            eprintln!("WARNING: {w}");
        }
    }
    answer["Id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("the daemon's create answer has no Id: {answer}"))
}

/// `POST /images/create` for `image` (default tag `latest`), progress on stderr.
async fn pull_image(
    ctx: &Ctx,
    store: &ContextStore,
    image: &str,
    platform: Option<&str>,
    quiet: bool,
) -> Result<()> {
    let r = Reference::parse(image)
        .map_err(|e| StatusError::new(e.to_string()))?
        .with_default_tag();
    let path = Query::new()
        .add("fromImage", r.familiar_name())
        .add_opt("tag", r.digest().or(r.tag()).map(str::to_string))
        .add_opt("platform", platform.map(str::to_lowercase))
        .with_path("/images/create");
    let auth = registry_auth(store, r.domain())?;
    let resp = post_with_auth(ctx, &path, Some(&auth), None).await?;
    let body = body_stream(resp);
    if quiet {
        jsonmessage::display_stream(body, std::io::sink(), false, |_| {}).await
    } else {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        jsonmessage::display_stream(body, std::io::stderr().lock(), terminal, |_| {}).await
    }
}
