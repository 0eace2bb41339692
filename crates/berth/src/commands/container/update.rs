//! `berth update`: change resources or the restart policy of containers.

use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Map, Value};

use super::{container_path, for_each};
use crate::cli::UpdateOpts;
use crate::commands::Ctx;
use crate::error::StatusError;

/// The `POST /containers/{id}/update` body: only what was given.
pub fn update_body(o: &UpdateOpts) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    put("BlkioWeight", o.blkio_weight.map(Value::from));
    put("CpuPeriod", o.cpu_period.map(Value::from));
    put("CpuQuota", o.cpu_quota.map(Value::from));
    put("CpuRealtimePeriod", o.cpu_rt_period.map(Value::from));
    put("CpuRealtimeRuntime", o.cpu_rt_runtime.map(Value::from));
    put("CpuShares", o.cpu_shares.map(Value::from));
    put("NanoCpus", o.cpus.map(Value::from));
    put("CpusetCpus", o.cpuset_cpus.clone().map(Value::from));
    put("CpusetMems", o.cpuset_mems.clone().map(Value::from));
    put("Memory", o.memory.map(Value::from));
    put("MemoryReservation", o.memory_reservation.map(Value::from));
    put("MemorySwap", o.memory_swap.map(Value::from));
    put("PidsLimit", o.pids_limit.map(Value::from));
    put(
        "RestartPolicy",
        o.restart
            .as_ref()
            .map(|r| serde_json::to_value(r).unwrap_or(Value::Null)),
    );
    m
}

pub async fn run(ctx: &Ctx, o: &UpdateOpts) -> Result<ExitCode> {
    let body = update_body(o);
    if body.is_empty() {
        return Err(StatusError::with_code(
            125,
            "berth: you must provide one or more flags when using this command\n\nRun 'berth update --help' for more information",
        )
        .into());
    }
    let body = Value::Object(body);
    let body = &body;
    for_each(&o.containers, |name| async move {
        let v: Value = ctx
            .client
            .post_json(&container_path(name, "/update"), Some(body))
            .await?;
        for w in v["Warnings"].as_array().into_iter().flatten() {
            if let Some(w) = w.as_str() {
                eprintln!("WARNING: {w}");
            }
        }
        Ok(Some(name.to_string()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn only_given_fields_are_sent() {
        let cli = crate::cli::Cli::try_parse_from([
            "berth",
            "update",
            "-m",
            "256m",
            "--cpus",
            "0.5",
            "--restart",
            "on-failure:2",
            "web",
        ])
        .unwrap();
        let crate::cli::Command::Update(o) = cli.command else {
            panic!()
        };
        assert_eq!(
            Value::Object(update_body(&o)),
            serde_json::json!({"Memory": 268435456, "NanoCpus": 500000000,
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}})
        );
    }
}
