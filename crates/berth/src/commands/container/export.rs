//! `berth export`: the container's filesystem as a tar stream, to a file or stdout.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use berth_client::body_stream;
use futures_util::StreamExt;
use http::Method;
use tokio::io::AsyncWriteExt;

use super::container_path;
use crate::cli::ExportOpts;
use crate::commands::Ctx;
use crate::error::StatusError;

pub async fn run(ctx: &Ctx, o: &ExportOpts) -> Result<ExitCode> {
    if o.output.is_none() && std::io::stdout().is_terminal() {
        return Err(StatusError::new(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        )
        .into());
    }
    let resp = ctx
        .client
        .request(Method::GET, &container_path(&o.container, "/export"), None)
        .await?;
    let mut body = body_stream(resp);
    match &o.output {
        Some(path) => {
            let tmp = path.with_extension("berth-partial");
            let mut f = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| crate::commands::image::open_error(&tmp, &e))?;
            while let Some(chunk) = body.next().await {
                f.write_all(&chunk?).await?;
            }
            f.sync_all().await?;
            tokio::fs::rename(&tmp, path).await?;
        }
        None => {
            let mut out = tokio::io::stdout();
            while let Some(chunk) = body.next().await {
                out.write_all(&chunk?).await?;
            }
            out.flush().await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
