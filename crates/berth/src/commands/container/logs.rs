//! `berth logs`: a container's output, demultiplexed (or raw for a TTY container).

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use http::Method;
use serde_json::Value;

use super::container_path;
use super::session::body_reader;
use crate::cli::LogsOpts;
use crate::commands::Ctx;
use crate::error::StatusError;
use crate::streams;
use crate::timestamp;

pub fn logs_path(o: &LogsOpts, id: &str) -> Result<String> {
    let now = time::OffsetDateTime::now_utc();
    let ts = |v: &Option<String>| -> Result<Option<String>> {
        v.as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| timestamp::to_api(s, now))
            .transpose()
    };
    Ok(Query::new()
        .add("stdout", "1")
        .add("stderr", "1")
        .add_opt("since", ts(&o.since)?)
        .add_opt("until", ts(&o.until)?)
        .add_if(o.timestamps, "timestamps", "1")
        .add_if(o.follow, "follow", "1")
        .add("tail", o.tail.clone())
        .add_if(o.details, "details", "1")
        .with_path(&container_path(id, "/logs")))
}

pub async fn run(ctx: &Ctx, o: &LogsOpts) -> Result<ExitCode> {
    let info: Value = ctx
        .client
        .get_json(&container_path(&o.container, "/json"))
        .await
        .map_err(|e| StatusError::new(e.to_string()))?;
    let id = info["Id"].as_str().unwrap_or(&o.container).to_string();
    let tty = info["Config"]["Tty"] == true;
    let path = logs_path(o, &id)?;
    let resp = ctx.client.request(Method::GET, &path, None).await?;
    let mut out = tokio::io::stdout();
    let mut err = tokio::io::stderr();
    streams::copy_output(body_reader(resp), tty, &mut out, &mut err).await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_logs_query() {
        let o = LogsOpts {
            details: true,
            follow: true,
            since: Some("1700000000".into()),
            tail: "5".into(),
            timestamps: true,
            until: None,
            container: "web".into(),
        };
        assert_eq!(
            logs_path(&o, "abc").unwrap(),
            "/containers/abc/logs?stdout=1&stderr=1&since=1700000000&timestamps=1&follow=1&tail=5&details=1"
        );
    }
}
