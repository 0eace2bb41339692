//! `berth image inspect`: the daemon's full description of images.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{encode_path, read_body};

use crate::cli::ImageInspectOpts;
use crate::commands::Ctx;
use crate::error::StatusError;
use crate::inspect::Inspector;

pub async fn run(ctx: &Ctx, opts: &ImageInspectOpts) -> Result<ExitCode> {
    let mut inspector = Inspector::new(opts.format.as_deref())?;
    let mut errors = Vec::new();
    for name in &opts.images {
        let path = format!("/images/{}/json", encode_path(name));
        let raw = match ctx.client.request(http::Method::GET, &path, None).await {
            Ok(resp) => read_body(resp).await,
            Err(e) => Err(e),
        };
        match raw {
            Ok(raw) => {
                if let Err(e) = inspector.add(&raw) {
                    errors.push(e);
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    inspector.finish(&mut std::io::stdout().lock())?;
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(StatusError::new(errors.join("\n")).into())
    }
}
