//! `berth search`: `GET /images/search`, as a docker-style table.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::{read_body, ClientError, Query};
use http::Method;
use serde_json::{json, Value};

use super::login::registry_auth;
use super::{print_formatted, Ctx};
use crate::cli::SearchOpts;
use crate::context::ContextStore;
use crate::filters::Filters;

/// docker truncates descriptions to this many characters unless `--no-trunc`.
const DESCRIPTION_WIDTH: usize = 45;

pub async fn run(ctx: &Ctx, store: &ContextStore, o: &SearchOpts) -> Result<ExitCode> {
    let filters = Filters::parse(&o.filter)?;
    let query = Query::new()
        .add("term", &o.term)
        .add_if(o.limit.is_some(), "limit", o.limit.unwrap_or(0).to_string())
        .add_if(!filters.is_empty(), "filters", filters.to_json());
    let domain = match o.term.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    };
    let auth = registry_auth(store, domain)?;
    let v = ctx.client.api_version().await?;
    let path = query.with_path(&format!("/v{v}/images/search"));
    let resp = ctx
        .client
        .send(Method::GET, &path, None, &[("X-Registry-Auth", &auth)])
        .await?;
    let status = resp.status();
    let bytes = read_body(resp).await?;
    if !status.is_success() {
        let message = serde_json::from_slice::<berth_api::ErrorBody>(&bytes)
            .map(|e| e.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).trim().to_string());
        return Err(ClientError::Api {
            status: status.as_u16(),
            message,
        }
        .into());
    }
    let hits: Vec<Value> = serde_json::from_slice(&bytes)?;
    let items: Vec<Value> = hits.iter().map(|h| row(h, o.no_trunc)).collect();
    print_formatted(
        o.format.as_deref().unwrap_or("table"),
        "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}\t{{.IsAutomated}}",
        &[
            ("Name", "NAME"),
            ("Description", "DESCRIPTION"),
            ("StarCount", "STARS"),
            ("IsOfficial", "OFFICIAL"),
            ("IsAutomated", "AUTOMATED"),
        ],
        &items,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// One result as docker's search table shows it (`[OK]` for official/automated).
fn row(h: &Value, no_trunc: bool) -> Value {
    let mut desc = h["description"].as_str().unwrap_or("").replace('\n', " ");
    if !no_trunc && desc.chars().count() > DESCRIPTION_WIDTH {
        desc = desc.chars().take(DESCRIPTION_WIDTH - 1).collect::<String>() + "…";
    }
    let ok = |k: &str| if h[k] == true { "[OK]" } else { "" };
    json!({
        "Name": h["name"],
        "Description": desc,
        "StarCount": h["star_count"].as_u64().unwrap_or(0).to_string(),
        "IsOfficial": ok("is_official"),
        "IsAutomated": ok("is_automated"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_look_like_dockers() {
        let h = json!({"name": "busybox", "description": "x".repeat(60), "star_count": 7,
                       "is_official": true, "is_automated": false});
        let r = row(&h, false);
        assert_eq!(r["Description"].as_str().unwrap().chars().count(), 45);
        assert_eq!(r["IsOfficial"], "[OK]");
        assert_eq!(r["IsAutomated"], "");
        assert_eq!(r["StarCount"], "7");
        assert_eq!(row(&h, true)["Description"].as_str().unwrap().len(), 60);
    }
}
