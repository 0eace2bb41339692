//! `berth rmi` / `berth image rm`: remove images, reporting each untag and deletion.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{encode_path, ClientError, Query};
use serde::Deserialize;

use crate::cli::RmiOpts;
use crate::commands::Ctx;
use crate::error::StatusError;

/// One entry of a removal (`DELETE /images/{name}`) or prune answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteItem {
    pub untagged: Option<String>,
    pub deleted: Option<String>,
}

pub async fn run(ctx: &Ctx, opts: &RmiOpts) -> Result<ExitCode> {
    let mut errors = Vec::new();
    let mut fatal = false;
    for name in &opts.images {
        let path = Query::new()
            .add_if(opts.force, "force", "1")
            .add_if(opts.no_prune, "noprune", "1")
            .with_path(&format!("/images/{}", encode_path(name)));
        match ctx
            .client
            .delete_json::<Option<Vec<DeleteItem>>>(&path)
            .await
        {
            Ok(items) => {
                for line in report_lines(&items.unwrap_or_default()) {
                    println!("{line}");
                }
            }
            Err(e) => {
                fatal |= !matches!(e, ClientError::Api { status: 404, .. });
                errors.push(e.to_string());
            }
        }
    }
    if errors.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let message = errors.join("\n");
    // Like docker: with --force, images that do not exist are not a failure.
    if opts.force && !fatal {
        eprintln!("{message}");
        return Ok(ExitCode::SUCCESS);
    }
    Err(StatusError::new(message).into())
}

/// `Untagged: busybox:latest` / `Deleted: sha256:…`, in the daemon's order.
pub fn report_lines(items: &[DeleteItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| match (&i.deleted, &i.untagged) {
            (Some(d), _) if !d.is_empty() => format!("Deleted: {d}"),
            (_, u) => format!("Untagged: {}", u.as_deref().unwrap_or("")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_untags_and_deletions() {
        let items: Vec<DeleteItem> = serde_json::from_str(
            r#"[{"Untagged":"busybox:latest"},{"Deleted":"sha256:26e1"},{"Deleted":"","Untagged":"x:1"}]"#,
        )
        .unwrap();
        assert_eq!(
            report_lines(&items),
            [
                "Untagged: busybox:latest",
                "Deleted: sha256:26e1",
                "Untagged: x:1"
            ]
        );
    }
}
