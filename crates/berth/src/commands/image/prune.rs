//! `berth image prune`: remove unused images (dangling ones unless `--all`).

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use serde::Deserialize;

use super::rm::DeleteItem;
use crate::cli::ImagePruneOpts;
use crate::commands::Ctx;
use crate::filters::Filters;

const DANGLING_WARNING: &str =
    "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
const ALL_WARNING: &str = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PruneReport {
    pub images_deleted: Option<Vec<DeleteItem>>,
    pub space_reclaimed: u64,
}

pub async fn run(ctx: &Ctx, opts: &ImagePruneOpts) -> Result<ExitCode> {
    let filters = prune_filters(&opts.filter, opts.all)?;
    if !opts.force {
        let warning = if opts.all {
            ALL_WARNING
        } else {
            DANGLING_WARNING
        };
        let stdin = std::io::stdin();
        if !confirm(&mut stdin.lock(), &mut std::io::stdout(), warning)? {
            // docker exits 0, silently, when the prompt is declined.
            return Ok(ExitCode::SUCCESS);
        }
    }
    let path = Query::new()
        .add("filters", filters.to_json())
        .with_path("/images/prune");
    let report: PruneReport = ctx.client.post_json(&path, None).await?;
    print!("{}", report_text(&report));
    Ok(ExitCode::SUCCESS)
}

/// The user's filters plus `dangling=true` (or `false` with `--all`).
pub fn prune_filters(flags: &[String], all: bool) -> Result<Filters> {
    let mut f = Filters::parse(flags)?;
    f.add("dangling", if all { "false" } else { "true" });
    Ok(f)
}

/// docker's `PromptForConfirmation`: `MESSAGE [y/N] `, yes only for `y`/`Y`.
pub fn confirm(input: &mut dyn BufRead, out: &mut dyn Write, message: &str) -> Result<bool> {
    write!(out, "{message} [y/N] ")?;
    out.flush()?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    Ok(line.trim().eq_ignore_ascii_case("y"))
}

/// `Deleted Images:` and a line per entry (then a blank line), and the space reclaimed.
pub fn report_text(report: &PruneReport) -> String {
    let mut s = String::new();
    let items = report.images_deleted.as_deref().unwrap_or_default();
    if !items.is_empty() {
        s.push_str("Deleted Images:\n");
        for i in items {
            match (&i.untagged, &i.deleted) {
                (Some(u), _) if !u.is_empty() => s.push_str(&format!("untagged: {u}\n")),
                (_, d) => s.push_str(&format!("deleted: {}\n", d.as_deref().unwrap_or(""))),
            }
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "Total reclaimed space: {}\n",
        berth_format::human_size(report.space_reclaimed as i64)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_dangling_filter() {
        assert_eq!(
            prune_filters(&[], false).unwrap().to_json(),
            r#"{"dangling":{"true":true}}"#
        );
        assert_eq!(
            prune_filters(&["until=24h".into(), "label=a=b".into()], true)
                .unwrap()
                .to_json(),
            r#"{"dangling":{"false":true},"label":{"a=b":true},"until":{"24h":true}}"#
        );
    }

    #[test]
    fn prompts() {
        for (answer, yes) in [
            ("y\n", true),
            (" Y \n", true),
            ("n\n", false),
            ("", false),
            ("yes\n", false),
        ] {
            let mut out = Vec::new();
            assert_eq!(
                confirm(&mut answer.as_bytes(), &mut out, DANGLING_WARNING).unwrap(),
                yes
            );
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] "
            );
        }
    }

    #[test]
    fn reports_like_docker() {
        let r: PruneReport = serde_json::from_str(
            r#"{"ImagesDeleted":[{"Untagged":"a:1"},{"Deleted":"sha256:ac8e"}],"SpaceReclaimed":1234567}"#,
        )
        .unwrap();
        assert_eq!(
            report_text(&r),
            "Deleted Images:\nuntagged: a:1\ndeleted: sha256:ac8e\n\nTotal reclaimed space: 1.235MB\n"
        );
        let r: PruneReport =
            serde_json::from_str(r#"{"ImagesDeleted":null,"SpaceReclaimed":0}"#).unwrap();
        assert_eq!(report_text(&r), "Total reclaimed space: 0B\n");
    }
}
