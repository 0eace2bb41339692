//! `berth stop`, `kill`, `restart`, `pause`, `unpause`: one POST per container, the name
//! echoed for each that worked (docker's output), errors collected (exit 1).

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;

use super::{container_path, for_each};
use crate::cli::{ContainersArg, KillOpts, StopOpts};
use crate::commands::Ctx;

/// `?signal=…&t=…` for stop/restart.
fn stop_query(o: &StopOpts) -> Query {
    Query::new()
        .add_opt("signal", o.signal.clone())
        .add_opt("t", o.time.map(|t| t.to_string()))
}

pub async fn stop(ctx: &Ctx, o: &StopOpts) -> Result<ExitCode> {
    let q = stop_query(o);
    for_each(&o.containers, |name| {
        let path = q.with_path(&container_path(name, "/stop"));
        async move {
            ctx.client.post(&path).await?;
            Ok(Some(name.to_string()))
        }
    })
    .await
}

pub async fn restart(ctx: &Ctx, o: &StopOpts) -> Result<ExitCode> {
    let q = stop_query(o);
    for_each(&o.containers, |name| {
        let path = q.with_path(&container_path(name, "/restart"));
        async move {
            ctx.client.post(&path).await?;
            Ok(Some(name.to_string()))
        }
    })
    .await
}

pub async fn kill(ctx: &Ctx, o: &KillOpts) -> Result<ExitCode> {
    let q = Query::new().add_opt("signal", o.signal.clone());
    for_each(&o.containers, |name| {
        let path = q.with_path(&container_path(name, "/kill"));
        async move {
            ctx.client.post(&path).await?;
            Ok(Some(name.to_string()))
        }
    })
    .await
}

pub async fn pause(ctx: &Ctx, o: &ContainersArg, pause: bool) -> Result<ExitCode> {
    let verb = if pause { "/pause" } else { "/unpause" };
    for_each(&o.containers, |name| async move {
        ctx.client.post(&container_path(name, verb)).await?;
        Ok(Some(name.to_string()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_queries() {
        let o = StopOpts {
            signal: Some("SIGINT".into()),
            time: Some(3),
            containers: vec![],
        };
        assert_eq!(
            stop_query(&o).with_path("/containers/x/stop"),
            "/containers/x/stop?signal=SIGINT&t=3"
        );
        let o = StopOpts {
            signal: None,
            time: None,
            containers: vec![],
        };
        assert_eq!(stop_query(&o).with_path("/p"), "/p");
    }
}
