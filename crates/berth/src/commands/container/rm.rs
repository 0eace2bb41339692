//! `berth rm`: remove containers (`-f` kills running ones, `-v` removes their anonymous
//! volumes).

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;

use super::{container_path, for_each};
use crate::cli::RmOpts;
use crate::commands::Ctx;

pub async fn run(ctx: &Ctx, o: &RmOpts) -> Result<ExitCode> {
    let q = Query::new()
        .add_if(o.force, "force", "1")
        .add_if(o.volumes, "v", "1")
        .add_if(o.link, "link", "1");
    for_each(&o.containers, |name| {
        let path = q.with_path(&container_path(name.trim_matches('/'), ""));
        async move {
            ctx.client.delete(&path).await?;
            Ok(Some(name.to_string()))
        }
    })
    .await
}
