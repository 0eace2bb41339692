//! `compose exec` (a command in a service's running container, through `berth exec`) and
//! `compose run` (a one-off container of a service).

use std::process::ExitCode;

use anyhow::Result;
use berth_client::Query;
use berth_compose::Project;

use super::cli::{ExecOpts, RunOpts, UpOpts};
use super::spec::{self, Instance};
use super::{containers, up};
use crate::commands::container::session::{self, Spec, Waiter};
use crate::commands::container::{container_path, exec as container_exec, run as container_run};
use crate::commands::Ctx;
use crate::context::ContextStore;
use crate::error::StatusError;

pub async fn exec(ctx: &Ctx, p: &Project, o: &ExecOpts) -> Result<ExitCode> {
    let list = containers(ctx, &p.name, std::slice::from_ref(&o.service), false).await?;
    let c = list
        .iter()
        .find(|c| c.number == o.index && c.running())
        .ok_or_else(|| {
            StatusError::new(format!(
                "service {:?} is not running (container #{}); start it with `berth compose up -d {}`",
                o.service, o.index, o.service
            ))
        })?;
    let mut args = vec![c.id.clone()];
    args.extend(o.command.iter().cloned());
    let opts = crate::cli::ExecOpts {
        detach: o.detach,
        detach_keys: None,
        env: o.env.clone(),
        env_file: vec![],
        interactive: !o.detach,
        privileged: o.privileged,
        tty: !o.no_tty && crate::term::stdin_is_tty(),
        user: o.user.clone(),
        workdir: o.workdir.clone(),
        args,
    };
    container_exec::run(ctx, &opts).await
}

pub async fn run(ctx: &Ctx, store: &ContextStore, p: &Project, o: &RunOpts) -> Result<ExitCode> {
    let s = p
        .services
        .get(&o.service)
        .ok_or_else(|| StatusError::new(format!("no such service: {}", o.service)))?;
    let deps: Vec<String> = s.depends_on.keys().cloned().collect();
    if !o.no_deps && !deps.is_empty() {
        let up_opts = UpOpts {
            detach: true,
            services: deps,
            ..UpOpts::default()
        };
        up::run(ctx, store, p, &up_opts).await?;
    } else {
        super::images::ensure(
            ctx,
            store,
            p,
            std::slice::from_ref(&o.service),
            false,
            false,
        )
        .await?;
        super::resources::ensure_networks(ctx, p, std::slice::from_ref(&o.service)).await?;
        super::resources::ensure_volumes(ctx, p, std::slice::from_ref(&o.service)).await?;
    }
    let suffix = format!("{:012x}", rand_u64() & 0xffff_ffff_ffff);
    let mut svc = s.clone();
    for e in &o.env {
        let (k, v) = e.split_once('=').unwrap_or((e, ""));
        svc.environment.insert(k.to_string(), Some(v.to_string()));
    }
    if let Some(ep) = &o.entrypoint {
        svc.entrypoint = Some(berth_compose::shell_split(ep).map_err(StatusError::new)?);
    }
    svc.user = o.user.clone().or(svc.user);
    svc.working_dir = o.workdir.clone().or(svc.working_dir);
    svc.container_name = None;
    svc.restart = None;
    let inst = Instance {
        service: &o.service,
        number: 1,
        oneoff: true,
        name: o
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-{}-run-{suffix}", p.name, o.service)),
    };
    let command = (!o.command.is_empty()).then(|| o.command.clone());
    let mut req =
        spec::create_request(p, &svc, &inst, command, o.service_ports).map_err(StatusError::new)?;
    let tty = !o.no_tty && crate::term::stdin_is_tty() && !o.detach;
    let cfg = &mut req.body.config;
    cfg.tty = tty;
    cfg.attach_stdout = !o.detach;
    cfg.attach_stderr = !o.detach;
    req.body.host_config.auto_remove = o.rm && o.detach;
    let mut project = p.clone();
    project.services.insert(o.service.clone(), svc);
    let id = up::create_and_connect(ctx, &project, &o.service, &req).await?;
    let client = &ctx.client;
    if o.detach {
        client.post(&container_path(&id, "/start")).await?;
        println!("{}", inst.name);
        return Ok(ExitCode::SUCCESS);
    }
    let spec = Spec {
        stdin: false,
        stdout: true,
        stderr: true,
        tty,
        detach_keys: None,
    };
    let waiter = Waiter::start(client, &id, "next-exit").await;
    client.post(&container_path(&id, "/start")).await?;
    session::follow_logs(client, &id, &spec).await?;
    let code = waiter.status(client, &id, true).await?;
    if o.rm {
        let q = Query::new().add("force", "1").add("v", "1");
        let _ = client.delete(&q.with_path(&container_path(&id, ""))).await;
    }
    Ok(container_run::exit_code(code))
}

fn rand_u64() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t.rotate_left(17) ^ ((std::process::id() as u64) << 20)
}
