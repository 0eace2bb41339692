//! Which daemon a command talks to, decided once from flags, environment and contexts, in
//! the docker CLI's order: `-H` > `--context` > `BERTH_HOST`/`DOCKER_HOST` >
//! `BERTH_CONTEXT`/`DOCKER_CONTEXT` > `context use` > the default socket.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use berth_client::{Endpoint, TlsOptions};

use crate::cli::GlobalOpts;
use crate::context::{ContextStore, DEFAULT_CONTEXT};

pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// The daemon chosen for this invocation.
pub struct Target {
    pub endpoint: Endpoint,
    pub context: String,
}

/// Reads an environment variable, treating empty as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The client config dir: `--config`, `BERTH_CONFIG`, or `~/.berth`.
pub fn config_dir(global: &GlobalOpts) -> PathBuf {
    global
        .config
        .clone()
        .or_else(|| env("BERTH_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| {
            env("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/root"))
                .join(".berth")
        })
}

/// The context name in effect (for `context show`, `version` and `info`).
pub fn context_name(global: &GlobalOpts, store: &ContextStore) -> Result<String> {
    if global.host.is_some() && global.context.is_some() {
        bail!("conflicting options: either specify --host or --context, not both");
    }
    if global.host.is_some() {
        return Ok(DEFAULT_CONTEXT.into());
    }
    if let Some(c) = &global.context {
        return Ok(c.clone());
    }
    if env("BERTH_HOST").is_some() || env("DOCKER_HOST").is_some() {
        return Ok(DEFAULT_CONTEXT.into());
    }
    if let Some(c) = env("BERTH_CONTEXT").or_else(|| env("DOCKER_CONTEXT")) {
        return Ok(c);
    }
    Ok(store.current()?.unwrap_or_else(|| DEFAULT_CONTEXT.into()))
}

pub fn resolve(global: &GlobalOpts, store: &ContextStore) -> Result<Target> {
    let context = context_name(global, store)?;
    if context != DEFAULT_CONTEXT {
        let meta = store.get(&context)?;
        let Some(ep) = meta.endpoints.get("docker") else {
            bail!("context {context:?} has no docker endpoint; recreate it with --docker host=...");
        };
        let files = store.tls(&context);
        let tls = (files.ca.is_some() || files.cert.is_some() || ep.skip_tls_verify).then(|| {
            TlsOptions {
                verify: !ep.skip_tls_verify,
                ca: files.ca.clone(),
                identity: files.cert.clone().zip(files.key.clone()),
            }
        });
        let endpoint = Endpoint::parse(&ep.host, tls.as_ref())?;
        return Ok(Target { endpoint, context });
    }
    let host = global
        .host
        .clone()
        .or_else(|| env("BERTH_HOST"))
        .or_else(|| env("DOCKER_HOST"))
        .unwrap_or_else(|| DEFAULT_HOST.to_string());
    let tls = tls_from_flags(global, store.config_dir());
    let endpoint = Endpoint::parse(&host, tls.as_ref())?;
    Ok(Target { endpoint, context })
}

/// docker's rules: `--tlsverify` (or `DOCKER_TLS_VERIFY`) verifies the daemon, `--tls` only
/// encrypts; cert files default to `DOCKER_CERT_PATH` or the config dir, and a client
/// certificate is sent when one exists there.
fn tls_from_flags(global: &GlobalOpts, config_dir: &Path) -> Option<TlsOptions> {
    let verify = global.tlsverify || env("DOCKER_TLS_VERIFY").is_some();
    if !(verify || global.tls) {
        return None;
    }
    let dir = env("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| config_dir.to_path_buf());
    let or_default =
        |flag: &Option<PathBuf>, name: &str| flag.clone().unwrap_or_else(|| dir.join(name));
    let ca = or_default(&global.tlscacert, "ca.pem");
    let cert = or_default(&global.tlscert, "cert.pem");
    let key = or_default(&global.tlskey, "key.pem");
    let explicit = global.tlscert.is_some() || global.tlskey.is_some();
    Some(TlsOptions {
        verify,
        ca: (verify || global.tlscacert.is_some()).then_some(ca),
        identity: (explicit || (cert.exists() && key.exists())).then_some((cert, key)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_context_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path().to_path_buf());
        let g = GlobalOpts {
            host: Some("unix:///x.sock".into()),
            context: Some("a".into()),
            ..Default::default()
        };
        assert!(context_name(&g, &store)
            .unwrap_err()
            .to_string()
            .contains("conflicting"));
    }

    #[test]
    fn host_flag_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path().to_path_buf());
        let g = GlobalOpts {
            host: Some("unix:///flag.sock".into()),
            ..Default::default()
        };
        let t = resolve(&g, &store).unwrap();
        assert_eq!(t.endpoint.to_string(), "unix:///flag.sock");
        assert_eq!(t.context, "default");
    }

    #[test]
    fn tls_flags_follow_docker() {
        let dir = tempfile::tempdir().unwrap();
        assert!(tls_from_flags(&GlobalOpts::default(), dir.path()).is_none());
        let g = GlobalOpts {
            tls: true,
            ..Default::default()
        };
        let t = tls_from_flags(&g, dir.path()).unwrap();
        assert!(!t.verify && t.ca.is_none() && t.identity.is_none());
        let g = GlobalOpts {
            tlsverify: true,
            ..Default::default()
        };
        let t = tls_from_flags(&g, dir.path()).unwrap();
        assert!(t.verify);
        assert_eq!(t.ca, Some(dir.path().join("ca.pem")));
    }
}
