//! `RUN`: the command in a container of the stage's current image (berth's own runtime,
//! like `docker run`), its output streamed into the build output, its upper directory
//! committed as the step's layer. The container goes away afterwards (`rm`, default), and
//! also after a failure unless `rm=0` without `forcerm` asks to keep it.

use berth_api::ApiError;
use berth_dockerfile::{CommandForm, Node, RunArgs};

use super::cache;
use super::commit::{pack_upper, StageState, StepCommit};
use super::dispatch::{at, Builder};
use super::short;
use crate::engine::containers::{CreateBody, LogOptions};

pub(crate) async fn run(
    b: &mut Builder<'_>,
    st: &mut StageState,
    args: &RunArgs,
    node: &Node,
) -> Result<(), ApiError> {
    if !args.mounts.is_empty() {
        return Err(at(
            node,
            "RUN --mount is not supported by berth's builder yet",
        ));
    }
    let cmd: Vec<String> = match &args.command {
        CommandForm::Exec(v) => v.clone(),
        CommandForm::Shell(s) => {
            let mut v = st.shell();
            v.push(s.clone());
            v
        }
    };
    // Build-args the stage declared: in the container's environment and, as
    // `|N A=1 B=2 cmd`, in the history and cache key (like the classic builder).
    let arg_env = st.arg_env();
    let created_by = if arg_env.is_empty() {
        cmd.join(" ")
    } else {
        format!("|{} {} {}", arg_env.len(), arg_env.join(" "), cmd.join(" "))
    };
    let network = args
        .network
        .clone()
        .unwrap_or_else(|| b.opts.network_mode.clone());
    let key = cache::key(
        &st.image_id,
        "RUN",
        &serde_json::to_string(&cmd).unwrap_or_default(),
        &[&created_by],
    );
    if b.cached(st, &key).await? {
        return Ok(());
    }
    if st.image_id.is_empty() {
        return Err(at(
            node,
            format!(
                "The command '{}' cannot run: the image is empty (FROM scratch)",
                cmd.join(" ")
            ),
        ));
    }
    let engine = b.engine.clone();
    let cfg = st.config.config.clone().unwrap_or_default();
    let mut env = st.env();
    env.extend(arg_env.iter().cloned());
    let body: CreateBody = serde_json::from_value(serde_json::json!({
        "Image": st.image_id,
        "Cmd": cmd,
        "Entrypoint": [],
        "Env": env,
        "WorkingDir": st.workdir(),
        "User": cfg.user.clone().unwrap_or_default(),
        "HostConfig": {
            "NetworkMode": if network.is_empty() || network == "default" { "default".to_string() } else { network.clone() },
        },
    }))
    .map_err(|e| ApiError::internal(format!("RUN container config: {e}")))?;
    let id = engine.create_container(None, body)?;
    b.out
        .stream(format!(" ---> Running in {}\n", short(&id)))
        .await;
    let result = run_container(b, &id).await;
    let keep = !b.opts.force_rm && !b.opts.rm;
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            if !keep {
                let _ = engine.remove_container(&id, true).await;
            }
            return Err(e);
        }
    };
    if code != 0 {
        if b.opts.force_rm || b.opts.rm {
            let _ = engine.remove_container(&id, true).await;
        }
        return Err(ApiError::invalid(format!(
            "The command '{}' returned a non-zero code: {code}",
            cmd.join(" ")
        )));
    }
    // Pack what the command changed (minus the runtime's mount-point placeholders).
    let c = engine.resolve_container(&id)?;
    let container_config: Option<serde_json::Value> = serde_json::from_str(&c.config).ok();
    let upper = engine.container_dir(&id).join("upper");
    let lowers = st.lowers(&engine)?;
    let e2 = engine.clone();
    let layer = tokio::task::spawn_blocking(move || {
        let diff = crate::engine::containers::changes::compute(&upper, &lowers)
            .map_err(|e| ApiError::internal(format!("cannot read the step's changes: {e}")))?;
        pack_upper(&e2, &upper, &diff.placeholders)
    })
    .await
    .map_err(|e| ApiError::internal(format!("commit task failed: {e}")))??;
    let committed = engine
        .commit_step(
            st,
            StepCommit {
                created_by,
                layer,
                container_config,
                container: Some(id.clone()),
                cache_key: key,
            },
        )
        .await;
    if !keep {
        b.out
            .stream(format!("Removing intermediate container {}\n", short(&id)))
            .await;
        engine.remove_container(&id, true).await?;
    }
    committed
}

/// Starts the container, streams its output, and returns its exit code.
async fn run_container(b: &Builder<'_>, id: &str) -> Result<i64, ApiError> {
    let engine = b.engine.clone();
    engine.start_container(id).await?;
    let done = engine.wait_container(id, "not-running")?;
    let (_, mut rx) = engine.container_logs(
        id,
        LogOptions {
            stdout: true,
            stderr: true,
            follow: true,
            ..Default::default()
        },
    )?;
    while let Some(chunk) = rx.recv().await {
        // Not a TTY: each chunk is one framed record (8-byte header, then the payload).
        let payload = if chunk.len() >= 8 {
            &chunk[8..]
        } else {
            &chunk[..]
        };
        b.out
            .stream(String::from_utf8_lossy(payload).into_owned())
            .await;
    }
    done.await
}
