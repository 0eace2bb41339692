//! `berth events`: stream the daemon's events as they happen.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use berth_client::Query;
use berth_format::{FormatSpec, Template};
use http_body_util::BodyExt;
use serde_json::Value;

use super::Ctx;
use crate::cli::EventsOpts;
use crate::filters::filters_json;
use crate::timestamp;

pub async fn run(ctx: &Ctx, opts: &EventsOpts) -> Result<ExitCode> {
    let now = time::OffsetDateTime::now_utc();
    let mut query = Query::new();
    if let Some(s) = &opts.since {
        query.push("since", timestamp::to_api(s, now)?);
    }
    if let Some(u) = &opts.until {
        query.push("until", timestamp::to_api(u, now)?);
    }
    if !opts.filter.is_empty() {
        query.push("filters", filters_json(&opts.filter)?);
    }
    let template = match opts.format.as_deref().map(FormatSpec::parse) {
        None => None,
        Some(FormatSpec::Json) => Some(Template::parse("{{json .}}")?),
        Some(FormatSpec::Template(t)) => Some(Template::parse(&t)?),
        Some(FormatSpec::Table(_)) => {
            bail!("--format table is not supported for events; use json or a template")
        }
    };
    let path = query.with_path("/events");
    let resp = ctx.client.request(http::Method::GET, &path, None).await?;
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    let mut out = std::io::stdout().lock();
    while let Some(frame) = body.frame().await {
        let frame = frame.context("the event stream broke off")?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.extend_from_slice(&data);
        while let Some(nl) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let event: Value = match serde_json::from_slice(&line) {
                Ok(v) => v,
                Err(_) => continue,
            };
            match &template {
                Some(t) => writeln!(out, "{}", t.execute(&event)?)?,
                None => writeln!(out, "{}", plain(&event))?,
            }
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// docker's line: `TIME TYPE ACTION ID (k=v, ...)`.
fn plain(e: &Value) -> String {
    let ts = crate::jsonmessage::rfc3339_nano_fixed(e["timeNano"].as_i64().unwrap_or(0));
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut line = format!(
        "{ts} {} {} {}",
        s(&e["Type"]),
        s(&e["Action"]),
        s(&e["Actor"]["ID"])
    );
    if let Some(attrs) = e["Actor"]["Attributes"]
        .as_object()
        .filter(|a| !a.is_empty())
    {
        let sorted: BTreeMap<_, _> = attrs.iter().collect();
        let parts: Vec<String> = sorted
            .iter()
            .map(|(k, v)| format!("{k}={}", s(v)))
            .collect();
        line.push_str(&format!(" ({})", parts.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_line_matches_docker() {
        let e = serde_json::json!({
            "Type": "container", "Action": "start",
            "Actor": {"ID": "abc", "Attributes": {"name": "web", "image": "busybox"}},
            "timeNano": 1_000_000_001i64
        });
        assert_eq!(
            plain(&e),
            "1970-01-01T00:00:01.000000001Z container start abc (image=busybox, name=web)"
        );
    }

    #[test]
    fn filters_become_docker_json() {
        let j = filters_json(&[
            "type=container".into(),
            "event=start".into(),
            "event=die".into(),
        ])
        .unwrap();
        assert_eq!(
            j,
            r#"{"event":{"die":true,"start":true},"type":{"container":true}}"#
        );
        assert!(filters_json(&["nokey".into()]).is_err());
    }
}
