//! `berth rename`.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{ClientError, Query};

use super::container_path;
use crate::cli::RenameOpts;
use crate::commands::Ctx;
use crate::error::StatusError;

pub async fn run(ctx: &Ctx, o: &RenameOpts) -> Result<ExitCode> {
    let new = o.new_name.trim().trim_start_matches('/');
    if o.container.trim().is_empty() || new.is_empty() {
        return Err(StatusError::new("Error: Neither old nor new names may be empty").into());
    }
    let path = Query::new()
        .add("name", new)
        .with_path(&container_path(&o.container, "/rename"));
    match ctx.client.post(&path).await {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e @ ClientError::Api { .. }) => Err(StatusError::new(e.to_string()).into()),
        Err(e) => Err(e.into()),
    }
}
