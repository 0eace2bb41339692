//! `berth top`: the container's processes (`GET /containers/{id}/top`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use serde_json::Value;

use super::container_path;
use crate::cli::TopOpts;
use crate::commands::Ctx;

pub async fn run(ctx: &Ctx, o: &TopOpts) -> Result<ExitCode> {
    let path = Query::new()
        .add_if(!o.ps_args.is_empty(), "ps_args", o.ps_args.join(" "))
        .with_path(&container_path(&o.container, "/top"));
    let v: Value = ctx.client.get_json(&path).await?;
    let mut out = std::io::stdout().lock();
    out.write_all(render(&v).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Titles and rows, aligned like docker's tabwriter.
pub fn render(v: &Value) -> String {
    let strs = |a: &Value| -> Vec<String> {
        a.as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().unwrap_or("").to_string())
            .collect()
    };
    let mut text = strs(&v["Titles"]).join("\t");
    text.push('\n');
    for p in v["Processes"].as_array().into_iter().flatten() {
        text.push_str(&strs(p).join("\t"));
        text.push('\n');
    }
    let mut out = Vec::new();
    {
        let mut tw = berth_format::TabWriter::new(&mut out, 20, 1, 3, b' ');
        let _ = tw.write_all(text.as_bytes());
        let _ = tw.flush();
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_columns() {
        let v = serde_json::json!({"Titles": ["UID", "PID", "CMD"], "Processes": [["root", "1", "sleep 100"], ["root", "12345", "sh"]]});
        assert_eq!(
            super::render(&v),
            "UID                 PID                 CMD\nroot                1                   sleep 100\nroot                12345               sh\n"
        );
    }
}
