//! `compose ls`: the projects that have containers, from their labels.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use serde_json::{json, Value};

use super::cli::LsOpts;
use super::spec::{LABEL_FILES, LABEL_PROJECT};
use crate::commands::Ctx;

pub async fn run(ctx: &Ctx, o: &LsOpts) -> Result<ExitCode> {
    let filters = json!({"label": [LABEL_PROJECT]});
    let path = Query::new()
        .add("all", "1")
        .add("filters", filters.to_string())
        .with_path("/containers/json");
    let list: Vec<Value> = ctx.client.get_json(&path).await?;
    // project → (states, config files)
    let mut projects: BTreeMap<String, (BTreeMap<String, usize>, String)> = BTreeMap::new();
    for c in &list {
        let Some(name) = c["Labels"][LABEL_PROJECT].as_str() else {
            continue;
        };
        let e = projects.entry(name.to_string()).or_default();
        *e.0.entry(c["State"].as_str().unwrap_or("unknown").to_string())
            .or_default() += 1;
        if e.1.is_empty() {
            e.1 = c["Labels"][LABEL_FILES]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
    }
    projects.retain(|_, (states, _)| o.all || states.contains_key("running"));
    if o.quiet {
        for n in projects.keys() {
            println!("{n}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let status = |states: &BTreeMap<String, usize>| {
        states
            .iter()
            .map(|(s, n)| format!("{s}({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if o.format == "json" {
        let items: Vec<Value> = projects
            .iter()
            .map(|(n, (st, files))| json!({"Name": n, "Status": status(st), "ConfigFiles": files}))
            .collect();
        println!("{}", Value::Array(items));
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![["NAME".to_string(), "STATUS".into(), "CONFIG FILES".into()]];
    for (n, (st, files)) in &projects {
        rows.push([n.clone(), status(st), files.clone()]);
    }
    super::ps::print_table(&rows);
    Ok(ExitCode::SUCCESS)
}
