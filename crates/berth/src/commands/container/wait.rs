//! `berth wait`: block until each container stops, print its exit code.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::Value;

use super::{container_path, for_each};
use crate::cli::ContainersArg;
use crate::commands::Ctx;

pub async fn run(ctx: &Ctx, o: &ContainersArg) -> Result<ExitCode> {
    for_each(&o.containers, |name| async move {
        let v: Value = ctx
            .client
            .post_json(&container_path(name, "/wait"), None)
            .await?;
        if let Some(m) = v["Error"]["Message"].as_str().filter(|m| !m.is_empty()) {
            return Err(berth_client::ClientError::Api {
                status: 500,
                message: m.to_string(),
            });
        }
        Ok(Some(v["StatusCode"].as_i64().unwrap_or(0).to_string()))
    })
    .await
}
