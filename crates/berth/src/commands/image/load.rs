//! `berth load` / `berth image load`: images from a tar archive (a file or stdin), streamed
//! to the daemon as it is read.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use berth_client::{body_stream, Query};
use http::Method;

use super::{open_error, save};
use crate::cli::LoadOpts;
use crate::commands::Ctx;
use crate::error::StatusError;
use crate::jsonmessage;

pub async fn run(ctx: &Ctx, opts: &LoadOpts) -> Result<ExitCode> {
    let stdout_terminal = std::io::stdout().is_terminal();
    let input: Box<dyn tokio::io::AsyncRead + Send + Unpin> = match &opts.input {
        Some(path) => Box::new(
            tokio::fs::File::open(path)
                .await
                .map_err(|e| open_error(path, &e))?,
        ),
        None => {
            // Reading a terminal would wait for an archive nobody is going to type.
            if std::io::stdin().is_terminal() {
                return Err(
                    StatusError::new("requested load from stdin, but stdin is empty").into(),
                );
            }
            Box::new(tokio::io::stdin())
        }
    };
    // docker asks for the quiet output when nobody watches the progress.
    let quiet = opts.quiet || !stdout_terminal;
    let path = Query::new()
        .add("quiet", if quiet { "1" } else { "0" })
        .with_path("/images/load");
    let resp = ctx
        .client
        .request_reader(Method::POST, &path, input, "application/x-tar")
        .await?;
    let json = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = body_stream(resp);
    if json {
        jsonmessage::display_stream(body, std::io::stdout().lock(), stdout_terminal, |_| {})
            .await?;
    } else {
        save::copy(body, &mut std::io::stdout().lock()).await?;
    }
    Ok(ExitCode::SUCCESS)
}
