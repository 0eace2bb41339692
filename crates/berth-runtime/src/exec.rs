//! The process of `docker exec`: derived from the container's own process (so it keeps
//! the container's environment, seccomp, no-new-privileges, apparmor and rlimits), with the
//! exec's command, environment, user, working directory, TTY and privileges (moby
//! `daemon/exec.go`, `execSetPlatformOpt`).

use std::path::Path;

use oci_spec::runtime::Process;

use crate::caps::{linux_capabilities, CapSet};
use crate::error::SpecError;
use crate::host::HostFacts;
use crate::process::{clean_path, replace_or_append};
use crate::user::resolve_user;

/// What `POST /containers/{id}/exec` asked for.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest<'a> {
    pub cmd: &'a [String],
    pub env: &'a [String],
    /// Empty: the container's user.
    pub user: &'a str,
    /// Empty: the container's working directory.
    pub working_dir: &'a str,
    pub tty: bool,
    pub privileged: bool,
    /// The container's `GroupAdd`, applied when `user` is given.
    pub group_add: &'a [String],
}

/// The exec's process, from the container's process `base` and its root filesystem.
pub fn exec_process(
    base: &Process,
    rootfs: &Path,
    req: &ExecRequest<'_>,
    host: &dyn HostFacts,
) -> Result<Process, SpecError> {
    if req.cmd.is_empty() {
        return Err(SpecError::invalid("No exec command specified"));
    }
    let mut p = base.clone();
    p.set_args(Some(req.cmd.to_vec()));
    let mut env = base.env().clone().unwrap_or_default();
    if req.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".to_string());
    }
    p.set_env(Some(replace_or_append(env, req.env)));
    if !req.working_dir.is_empty() {
        if !req.working_dir.starts_with('/') {
            return Err(SpecError::invalid(format!(
                "the working directory '{}' is invalid, it needs to be an absolute path",
                req.working_dir
            )));
        }
        p.set_cwd(clean_path(req.working_dir).into());
    }
    p.set_terminal(Some(req.tty));
    p.set_console_size(None);
    let mut uid = base.user().uid();
    if !req.user.is_empty() {
        let u = resolve_user(rootfs, req.user, req.group_add)?;
        let mut user = base.user().clone();
        user.set_uid(u.uid);
        user.set_gid(u.gid);
        user.set_additional_gids(Some(u.additional_gids));
        p.set_user(user);
        uid = u.uid;
    }
    let caps = if req.privileged {
        host.bounding_capabilities().intersect(CapSet::ALL_KNOWN)
    } else {
        base.capabilities()
            .as_ref()
            .and_then(|c| c.bounding().as_ref())
            .map(CapSet::from_oci)
            .unwrap_or_default()
    };
    p.set_capabilities(Some(linux_capabilities(caps, uid)));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::FakeHost;

    fn base() -> Process {
        let mut p = Process::default();
        p.set_env(Some(vec!["PATH=/bin".into(), "A=1".into()]));
        p.set_cwd("/srv".into());
        let caps = linux_capabilities(CapSet::docker_default(), 0);
        p.set_capabilities(Some(caps));
        p
    }

    #[test]
    fn keeps_the_containers_env_and_applies_the_execs() {
        let cmd = vec!["sh".to_string()];
        let env = vec!["A=2".to_string(), "B=3".to_string()];
        let req = ExecRequest {
            cmd: &cmd,
            env: &env,
            tty: true,
            ..Default::default()
        };
        let p = exec_process(
            &base(),
            Path::new("/nonexistent"),
            &req,
            &FakeHost::default(),
        )
        .unwrap();
        assert_eq!(p.args().clone().unwrap(), cmd);
        assert_eq!(
            p.env().clone().unwrap(),
            vec!["PATH=/bin", "A=2", "TERM=xterm", "B=3"]
        );
        assert_eq!(p.cwd().to_str(), Some("/srv"));
        assert_eq!(p.terminal(), Some(true));
        let bounding = p
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .clone()
            .unwrap();
        assert_eq!(bounding.len(), 14);
    }

    #[test]
    fn privileged_gets_the_hosts_capabilities_and_workdir_must_be_absolute() {
        let cmd = vec!["id".to_string()];
        let host = FakeHost::default();
        let req = ExecRequest {
            cmd: &cmd,
            privileged: true,
            working_dir: "/tmp/../etc",
            ..Default::default()
        };
        let p = exec_process(&base(), Path::new("/nonexistent"), &req, &host).unwrap();
        let bounding = p
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .clone()
            .unwrap();
        assert!(bounding.len() > 14);
        assert_eq!(p.cwd().to_str(), Some("/etc"));
        let req = ExecRequest {
            cmd: &cmd,
            working_dir: "rel",
            ..Default::default()
        };
        assert!(exec_process(&base(), Path::new("/x"), &req, &host).is_err());
        let req = ExecRequest::default();
        assert_eq!(
            exec_process(&base(), Path::new("/x"), &req, &host)
                .unwrap_err()
                .to_string(),
            "No exec command specified"
        );
    }
}
