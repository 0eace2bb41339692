//! Checks across the model once it is merged: every service has something to run, and
//! every name a service uses (dependency, network, volume, secret, config) is defined.

use crate::model::Project;
use crate::Error;

pub fn check(p: &Project) -> Result<(), Error> {
    for (name, s) in &p.services {
        let at = |k: &str| format!("services.{name}.{k}");
        if s.image.is_none() && s.build.is_none() {
            return Err(Error::path(
                format!("services.{name}"),
                "has neither an image nor a build context; give it `image:` or `build:`",
            ));
        }
        for (dep, d) in &s.depends_on {
            if p.services.contains_key(dep) {
                continue;
            }
            if p.disabled.contains_key(dep) {
                if d.required {
                    return Err(Error::path(
                        at("depends_on"),
                        format!("depends on service {dep:?}, which is disabled by its profiles; enable one of its profiles with --profile"),
                    ));
                }
                continue;
            }
            if d.required {
                return Err(Error::path(
                    at("depends_on"),
                    format!("depends on undefined service {dep:?}"),
                ));
            }
        }
        for net in s.networks.keys() {
            if !p.networks.contains_key(net) {
                return Err(Error::path(
                    at("networks"),
                    format!("uses network {net:?}, which is not defined under the top-level `networks:`"),
                ));
            }
        }
        if let Some(other) = s
            .network_mode
            .as_deref()
            .and_then(|m| m.strip_prefix("service:"))
        {
            if !p.services.contains_key(other) {
                return Err(Error::path(
                    at("network_mode"),
                    format!("refers to undefined service {other:?}"),
                ));
            }
        }
        for v in &s.volumes {
            if v.kind != "volume" {
                continue;
            }
            if let Some(src) = v.source.as_deref().filter(|s| !s.is_empty()) {
                if !p.volumes.contains_key(src) {
                    return Err(Error::path(
                        at("volumes"),
                        format!("refers to undefined volume {src:?}; define it under the top-level `volumes:`"),
                    ));
                }
            }
        }
        for (kind, refs, defs) in [
            ("secret", &s.secrets, &p.secrets),
            ("config", &s.configs, &p.configs),
        ] {
            for r in refs {
                if !defs.contains_key(&r.source) {
                    return Err(Error::path(
                        at(&format!("{kind}s")),
                        format!("refers to undefined {kind} {:?}", r.source),
                    ));
                }
            }
        }
    }
    Ok(())
}
