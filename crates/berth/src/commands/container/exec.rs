//! `berth exec`: create an exec instance, start it (hijacked, like attach), then exit with
//! its `ExitCode` from `GET /exec/{id}/json`.

use std::process::ExitCode;

use anyhow::Result;
use berth_client::ClientError;
use http::Method;
use serde_json::{json, Value};

use super::session::{self, Ended, Spec};
use super::{container_path, usage_error};
use crate::cli::ExecOpts;
use crate::commands::Ctx;
use crate::error::StatusError;
use crate::opts::read_env;

/// The `POST /containers/{id}/exec` body docker sends.
pub fn exec_config(o: &ExecOpts, cmd: &[String]) -> Result<Value, String> {
    let env = read_env(&o.env_file, &o.env)?;
    let attach = !o.detach;
    Ok(json!({
        "User": o.user.clone().unwrap_or_default(),
        "Privileged": o.privileged,
        "Tty": o.tty,
        "AttachStdin": attach && o.interactive,
        "AttachStderr": attach,
        "AttachStdout": attach,
        "Detach": o.detach,
        "DetachKeys": o.detach_keys.clone().unwrap_or_default(),
        "Env": if env.is_empty() { Value::Null } else { json!(env) },
        "WorkingDir": o.workdir.clone().unwrap_or_default(),
        "Cmd": cmd,
    }))
}

pub async fn run(ctx: &Ctx, o: &ExecOpts) -> Result<ExitCode> {
    let (container, cmd) = o.args.split_first().expect("clap requires two arguments");
    let body = exec_config(o, cmd).map_err(|e| usage_error("exec", e))?;
    let terminal = crate::term::stdin_is_tty();
    if o.tty && o.interactive && !o.detach && !terminal {
        return Err(usage_error("exec", "the input device is not a TTY").into());
    }
    let spec = Spec {
        stdin: o.interactive && !o.detach,
        stdout: !o.detach,
        stderr: !o.detach,
        tty: o.tty,
        detach_keys: o.detach_keys.clone(),
    };
    spec.escape_keys()?;
    let client = &ctx.client;
    let created: Value = client
        .post_json(&container_path(container, "/exec"), Some(&body))
        .await
        .map_err(not_found_is_1)?;
    let exec_id = created["Id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the daemon's exec answer has no Id: {created}"))?
        .to_string();
    let start_path = format!("/exec/{exec_id}/start");
    let start_body = json!({"Detach": o.detach, "Tty": o.tty, "ConsoleSize": crate::term::size().filter(|_| o.tty && terminal).map(|(h, w)| [h, w])});
    if o.detach {
        client
            .post_json::<Value>(&start_path, Some(&start_body))
            .await?;
        return Ok(ExitCode::SUCCESS);
    }
    let h = client
        .hijack(Method::POST, &start_path, Some(&start_body))
        .await?;
    let raw = if spec.tty && spec.stdin && terminal {
        Some(crate::term::RawMode::enable()?)
    } else {
        None
    };
    let resizer =
        (spec.tty && terminal).then(|| session::monitor_size(client, format!("/exec/{exec_id}")));
    let ended = session::pump(h, &spec).await;
    drop(raw);
    if let Some(r) = resizer {
        r.abort();
    }
    if ended? == Ended::Detached {
        return Ok(ExitCode::SUCCESS);
    }
    let info: Value = client.get_json(&format!("/exec/{exec_id}/json")).await?;
    let code = info["ExitCode"].as_i64().unwrap_or(0);
    Ok(super::run::exit_code(code))
}

/// A daemon error as docker's exec reports it: exit status 1, the message as it is.
fn not_found_is_1(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Api { .. } => StatusError::new(e.to_string()).into(),
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn opts(args: &[&str]) -> ExecOpts {
        let cli =
            crate::cli::Cli::try_parse_from(["berth", "exec"].iter().chain(args).copied()).unwrap();
        match cli.command {
            crate::cli::Command::Exec(o) => o,
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn builds_the_exec_config() {
        let o = opts(&[
            "-it",
            "-e",
            "A=1",
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "--privileged",
            "web",
            "sh",
            "-c",
            "echo hi",
        ]);
        assert_eq!(o.args, ["web", "sh", "-c", "echo hi"]);
        let v = exec_config(&o, &o.args[1..]).unwrap();
        assert_eq!(
            v,
            json!({"User": "nobody", "Privileged": true, "Tty": true, "AttachStdin": true,
                   "AttachStderr": true, "AttachStdout": true, "Detach": false, "DetachKeys": "",
                   "Env": ["A=1"], "WorkingDir": "/tmp", "Cmd": ["sh", "-c", "echo hi"]})
        );
        let o = opts(&["-d", "-i", "web", "sleep", "1"]);
        let v = exec_config(&o, &o.args[1..]).unwrap();
        assert_eq!(v["AttachStdin"], false);
        assert_eq!(v["AttachStdout"], false);
        assert_eq!(v["Detach"], true);
        assert_eq!(v["Env"], Value::Null);
        assert!(crate::cli::Cli::try_parse_from(["berth", "exec", "web"]).is_err());
    }
}
