//! Docker's merge of the image's config into the container's (moby `daemon/commit.go`
//! `merge` plus `mergeAndVerifyConfig`).

use super::{ContainerConfig, ImageRuntimeConfig};
use crate::error::SpecError;

/// The container's config with the image's filled in, as Docker stores it at create.
///
/// The container wins key by key (Env by variable name, Labels by key, ExposedPorts and
/// Volumes are unions). Entrypoint/Cmd: when the container sets no entrypoint, an empty
/// Cmd takes the image's Cmd, and a `null` entrypoint takes the image's; `--entrypoint ""`
/// (`[""]`) resets the entrypoint to empty. Idempotent: merging the result again with the
/// same image changes nothing (the reset entrypoint is kept as `[]`, not `null`, for that).
///
/// Fails with Docker's `No command specified` when neither entrypoint nor cmd remains.
pub fn merge_image_config(
    config: &ContainerConfig,
    image: &ImageRuntimeConfig,
) -> Result<ContainerConfig, SpecError> {
    let mut c = config.clone();
    if c.user.is_empty() {
        c.user = image.user.clone();
    }
    for (port, v) in &image.exposed_ports {
        c.exposed_ports
            .entry(port.clone())
            .or_insert_with(|| v.clone());
    }
    for image_env in &image.env {
        let key = env_key(image_env);
        if !c.env.iter().any(|e| env_key(e) == key) {
            c.env.push(image_env.clone());
        }
    }
    for (k, v) in &image.labels {
        c.labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if c.entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if c.cmd.as_ref().is_none_or(|e| e.is_empty()) {
            c.cmd = image.cmd.clone();
            c.args_escaped = image.args_escaped;
        }
        if c.entrypoint.is_none() {
            c.entrypoint = image.entrypoint.clone();
        }
    }
    if let Some(img_hc) = &image.healthcheck {
        match &mut c.healthcheck {
            None => c.healthcheck = Some(img_hc.clone()),
            Some(hc) => {
                if hc.test.is_empty() {
                    hc.test = img_hc.test.clone();
                }
                for (mine, theirs) in [
                    (&mut hc.interval, img_hc.interval),
                    (&mut hc.timeout, img_hc.timeout),
                    (&mut hc.start_period, img_hc.start_period),
                    (&mut hc.start_interval, img_hc.start_interval),
                    (&mut hc.retries, img_hc.retries),
                ] {
                    if *mine == 0 {
                        *mine = theirs;
                    }
                }
            }
        }
    }
    if c.working_dir.is_empty() {
        c.working_dir = image.working_dir.clone();
    }
    for (k, v) in &image.volumes {
        c.volumes.insert(k.clone(), v.clone());
    }
    if c.stop_signal.is_empty() {
        c.stop_signal = image.stop_signal.clone();
    }

    if c.entrypoint.as_deref() == Some(&[String::new()][..]) {
        c.entrypoint = Some(Vec::new());
    }
    let no_entrypoint = c.entrypoint.as_ref().is_none_or(|e| e.is_empty());
    let no_cmd = c.cmd.as_ref().is_none_or(|e| e.is_empty());
    if no_entrypoint && no_cmd {
        return Err(SpecError::invalid("No command specified"));
    }
    Ok(c)
}

/// The variable name of a `KEY=value` (or bare `KEY`) environment entry.
pub(crate) fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HealthConfig;

    fn v(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| s.to_string()).collect())
    }

    fn image() -> ImageRuntimeConfig {
        ImageRuntimeConfig {
            env: vec!["PATH=/img/bin".into(), "LANG=C".into()],
            entrypoint: v(&["/entry.sh"]),
            cmd: v(&["serve"]),
            working_dir: "/srv".into(),
            user: "app".into(),
            stop_signal: "SIGQUIT".into(),
            ..Default::default()
        }
    }

    #[test]
    fn image_fills_what_the_container_leaves_empty() {
        let c = merge_image_config(&ContainerConfig::default(), &image()).unwrap();
        assert_eq!(c.entrypoint, v(&["/entry.sh"]));
        assert_eq!(c.cmd, v(&["serve"]));
        assert_eq!(c.working_dir, "/srv");
        assert_eq!(c.user, "app");
        assert_eq!(c.stop_signal, "SIGQUIT");
        assert_eq!(c.env, vec!["PATH=/img/bin", "LANG=C"]);
    }

    #[test]
    fn container_env_wins_by_key() {
        let cfg = ContainerConfig {
            env: vec!["LANG=fr".into(), "EXTRA=1".into()],
            ..Default::default()
        };
        let c = merge_image_config(&cfg, &image()).unwrap();
        assert_eq!(c.env, vec!["LANG=fr", "EXTRA=1", "PATH=/img/bin"]);
    }

    #[test]
    fn cmd_keeps_image_entrypoint() {
        let cfg = ContainerConfig {
            cmd: v(&["debug"]),
            ..Default::default()
        };
        let c = merge_image_config(&cfg, &image()).unwrap();
        assert_eq!(c.entrypoint, v(&["/entry.sh"]));
        assert_eq!(c.cmd, v(&["debug"]));
    }

    #[test]
    fn entrypoint_drops_image_cmd() {
        let cfg = ContainerConfig {
            entrypoint: v(&["/bin/sh"]),
            ..Default::default()
        };
        let c = merge_image_config(&cfg, &image()).unwrap();
        assert_eq!(c.entrypoint, v(&["/bin/sh"]));
        assert_eq!(c.cmd, None);
    }

    #[test]
    fn empty_entrypoint_resets_and_stays_reset() {
        let cfg = ContainerConfig {
            entrypoint: v(&[""]),
            cmd: v(&["ls"]),
            ..Default::default()
        };
        let once = merge_image_config(&cfg, &image()).unwrap();
        assert_eq!(once.entrypoint, Some(vec![]));
        assert_eq!(once.cmd, v(&["ls"]));
        let twice = merge_image_config(&once, &image()).unwrap();
        assert_eq!(twice, once);
    }

    #[test]
    fn empty_entrypoint_without_cmd_is_no_command() {
        let cfg = ContainerConfig {
            entrypoint: v(&[""]),
            ..Default::default()
        };
        let err = merge_image_config(&cfg, &image()).unwrap_err();
        assert_eq!(err.to_string(), "No command specified");
        let err = merge_image_config(&ContainerConfig::default(), &ImageRuntimeConfig::default())
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn healthcheck_fields_inherit() {
        let img = ImageRuntimeConfig {
            cmd: v(&["x"]),
            healthcheck: Some(HealthConfig {
                test: vec!["CMD".into(), "true".into()],
                interval: 5,
                retries: 3,
                ..Default::default()
            }),
            ..Default::default()
        };
        let cfg = ContainerConfig {
            healthcheck: Some(HealthConfig {
                interval: 9,
                ..Default::default()
            }),
            ..Default::default()
        };
        let hc = merge_image_config(&cfg, &img).unwrap().healthcheck.unwrap();
        assert_eq!((hc.interval, hc.retries), (9, 3));
        assert_eq!(hc.test, vec!["CMD", "true"]);
    }
}
