//! The container's first process: argv, environment and working directory (moby
//! `getEntrypointAndArgs`, `CreateDaemonEnvironment`, `ReplaceOrAppendEnvValues`).

use crate::config::ContainerConfig;
use crate::error::SpecError;

/// Docker's `PATH` when the image and the container set none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Where Docker puts its init (tini) inside the container.
pub const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";

/// Entrypoint followed by Cmd of a merged config.
pub(crate) fn args(config: &ContainerConfig) -> Result<Vec<String>, SpecError> {
    let args: Vec<String> = config
        .entrypoint
        .iter()
        .chain(config.cmd.iter())
        .flatten()
        .cloned()
        .collect();
    if args.is_empty() {
        return Err(SpecError::invalid("No command specified"));
    }
    Ok(args)
}

/// `PATH`, `HOSTNAME` and (with a TTY) `TERM` defaults, overridden or removed by the
/// merged config's `Env` (an entry without `=` unsets the default of that name).
pub(crate) fn env(config: &ContainerConfig, hostname: &str) -> Vec<String> {
    let mut defaults = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if config.tty {
        defaults.push("TERM=xterm".to_string());
    }
    replace_or_append(defaults, &config.env)
}

/// moby's `ReplaceOrAppendEnvValues`: overrides replace defaults of the same name, are
/// appended otherwise; a bare `NAME` removes the default of that name.
pub(crate) fn replace_or_append(mut defaults: Vec<String>, overrides: &[String]) -> Vec<String> {
    let n_defaults = defaults.len();
    let position = |defaults: &[String], key: &str| {
        defaults[..n_defaults]
            .iter()
            .position(|d| d.split_once('=').is_some_and(|(k, _)| k == key))
    };
    let mut removed = vec![false; n_defaults];
    for value in overrides {
        match value.split_once('=') {
            None => {
                if let Some(i) = position(&defaults, value) {
                    removed[i] = true;
                }
            }
            Some((key, _)) => match position(&defaults, key) {
                Some(i) => {
                    defaults[i] = value.clone();
                    removed[i] = false;
                }
                None => defaults.push(value.clone()),
            },
        }
    }
    defaults
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !removed.get(*i).copied().unwrap_or(false))
        .map(|(_, v)| v)
        .collect()
}

/// The working directory: `WorkingDir` cleaned, `/` when empty; relative is an error.
pub(crate) fn cwd(config: &ContainerConfig) -> Result<String, SpecError> {
    let wd = &config.working_dir;
    if wd.is_empty() {
        return Ok("/".to_string());
    }
    if !wd.starts_with('/') {
        return Err(SpecError::invalid(format!(
            "the working directory '{wd}' is invalid, it needs to be an absolute path"
        )));
    }
    Ok(clean_path(wd))
}

/// Go's `path.Clean` for absolute paths: no `.`, `..` or repeated slashes.
pub(crate) fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(env: &[&str], tty: bool) -> ContainerConfig {
        ContainerConfig {
            env: env.iter().map(|s| s.to_string()).collect(),
            tty,
            ..Default::default()
        }
    }

    #[test]
    fn env_defaults() {
        assert_eq!(
            env(&cfg(&[], false), "abc"),
            vec![format!("PATH={DEFAULT_PATH}"), "HOSTNAME=abc".to_string()]
        );
        assert_eq!(env(&cfg(&[], true), "abc")[2], "TERM=xterm");
    }

    #[test]
    fn env_overrides_in_place_and_appends() {
        let e = env(
            &cfg(&["FOO=1", "PATH=/bin", "TERM=dumb", "FOO=2"], true),
            "h",
        );
        assert_eq!(
            e,
            vec!["PATH=/bin", "HOSTNAME=h", "TERM=dumb", "FOO=1", "FOO=2"]
        );
    }

    #[test]
    fn bare_name_unsets_a_default() {
        let e = env(&cfg(&["HOSTNAME", "A=b"], false), "h");
        assert_eq!(e, vec![format!("PATH={DEFAULT_PATH}"), "A=b".to_string()]);
    }

    #[test]
    fn args_are_entrypoint_then_cmd() {
        let c = ContainerConfig {
            entrypoint: Some(vec!["/e".into(), "-x".into()]),
            cmd: Some(vec!["run".into()]),
            ..Default::default()
        };
        assert_eq!(args(&c).unwrap(), vec!["/e", "-x", "run"]);
        let e = args(&ContainerConfig::default()).unwrap_err();
        assert_eq!(e.to_string(), "No command specified");
    }

    #[test]
    fn working_dirs() {
        let wd = |w: &str| {
            cwd(&ContainerConfig {
                working_dir: w.into(),
                ..Default::default()
            })
        };
        assert_eq!(wd("").unwrap(), "/");
        assert_eq!(wd("/app/./x/../y//").unwrap(), "/app/y");
        assert_eq!(
            wd("app").unwrap_err().to_string(),
            "the working directory 'app' is invalid, it needs to be an absolute path"
        );
    }
}
