//! `berth container prune`: remove stopped containers.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use serde_json::Value;

use crate::cli::ContainerPruneOpts;
use crate::commands::image::prune::confirm;
use crate::commands::Ctx;
use crate::filters::Filters;

const WARNING: &str =
    "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?";

pub async fn run(ctx: &Ctx, o: &ContainerPruneOpts) -> Result<ExitCode> {
    let filters = Filters::parse(&o.filter)?;
    if !o.force
        && !confirm(
            &mut std::io::stdin().lock(),
            &mut std::io::stdout(),
            WARNING,
        )?
    {
        return Ok(ExitCode::SUCCESS);
    }
    let path = Query::new()
        .add_if(!filters.is_empty(), "filters", filters.to_json())
        .with_path("/containers/prune");
    let report: Value = ctx.client.post_json(&path, None).await?;
    print!("{}", report_text(&report));
    Ok(ExitCode::SUCCESS)
}

pub fn report_text(report: &Value) -> String {
    let mut s = String::new();
    let deleted: Vec<&str> = report["ContainersDeleted"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !deleted.is_empty() {
        s.push_str("Deleted Containers:\n");
        for d in deleted {
            s.push_str(d);
            s.push('\n');
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "Total reclaimed space: {}\n",
        berth_format::human_size(report["SpaceReclaimed"].as_i64().unwrap_or(0))
    ));
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports() {
        let r = serde_json::json!({"ContainersDeleted": ["abc", "def"], "SpaceReclaimed": 2048});
        assert_eq!(
            super::report_text(&r),
            "Deleted Containers:\nabc\ndef\n\nTotal reclaimed space: 2.048kB\n"
        );
        let r = serde_json::json!({"ContainersDeleted": null, "SpaceReclaimed": 0});
        assert_eq!(super::report_text(&r), "Total reclaimed space: 0B\n");
    }
}
