//! # berth-compose
//!
//! The Compose Specification's model for `berth compose`: finding and reading
//! `compose.yaml` / `docker-compose.yml` (with override files, several `-f`, `.env` and
//! `--env-file`), interpolating `${VAR}` and its forms, YAML anchors and `<<` merge keys,
//! `include`, `extends`, override merge rules, `profiles`, `x-` extensions, and
//! normalisation into one canonical [`Project`] (long syntaxes, absolute paths, resource
//! names). Unknown keys are warnings, not errors.
//!
//! It is pure: no daemon, no network; the only I/O is reading the compose files, `.env`
//! files and `env_file`s. What to *do* with a project (create containers, networks,
//! volumes) is the CLI's job (`berth compose`).
//!
//! YAML is parsed with `serde_norway` (a maintained fork of `serde_yaml`, which resolves
//! anchors and aliases and applies `<<` merge keys); the tree is then handled as
//! `serde_json::Value` so that merging and interpolation are plain tree walks.

mod dotenv;
mod interpolate;
mod lenient;
mod loader;
mod merge;
mod model;
mod normalize;
mod syntax;
mod validate;

use std::path::Path;

pub use interpolate::{interpolate, Interpolated};
pub use loader::{load, normalize_project_name, parse_yaml, LoadOptions, Loaded, DEFAULT_FILES};
pub use model::*;
pub use syntax::shell_split;

/// A compose file that cannot be used: where (file, key path) and what is wrong.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{}", self.render())]
pub struct Error {
    pub file: Option<String>,
    pub path: String,
    pub message: String,
}

impl Error {
    pub(crate) fn at(file: &Path, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: Some(file.display().to_string()),
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn path(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: None,
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn plain(message: impl Into<String>) -> Self {
        Self {
            file: None,
            path: String::new(),
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        let mut s = String::new();
        if let Some(f) = &self.file {
            s.push_str(f);
            s.push_str(": ");
        }
        if !self.path.is_empty() {
            s.push_str(&self.path);
            s.push_str(": ");
        }
        s.push_str(&self.message);
        s
    }
}

/// The hash Compose puts in `com.docker.compose.config-hash`: a digest of the service's
/// canonical form, leaving out what does not need a new container (the replica count,
/// how the image is built or pulled).
pub fn config_hash(service: &Service) -> String {
    use sha2::{Digest, Sha256};
    let mut s = service.clone();
    s.scale = None;
    s.build = None;
    s.pull_policy = None;
    if let Some(d) = s.deploy.as_mut() {
        d.replicas = None;
    }
    let json = serde_json::to_vec(&s).expect("a service serialises");
    hex::encode(Sha256::digest(json))
}

impl Project {
    /// Re-enables services named on the command line (and what they depend on), as Compose
    /// does for `up SERVICE` with a profile that is not active.
    pub fn enable(&mut self, names: &[String]) {
        let mut todo: Vec<String> = names.to_vec();
        while let Some(n) = todo.pop() {
            if let Some(s) = self.disabled.remove(&n) {
                todo.extend(s.depends_on.keys().cloned());
                self.services.insert(n, s);
            }
        }
    }

    /// The YAML `config` prints.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).expect("a project serialises")
    }

    /// Service names in dependency order (dependencies first); an error names a cycle.
    pub fn start_order(&self) -> Result<Vec<String>, Error> {
        let mut order = Vec::new();
        let mut state = std::collections::BTreeMap::new();
        fn visit(
            p: &Project,
            n: &str,
            state: &mut std::collections::BTreeMap<String, u8>,
            order: &mut Vec<String>,
            chain: &mut Vec<String>,
        ) -> Result<(), Error> {
            match state.get(n) {
                Some(2) => return Ok(()),
                Some(1) => {
                    chain.push(n.to_string());
                    return Err(Error::path(
                        format!("services.{n}.depends_on"),
                        format!("dependency cycle: {}", chain.join(" -> ")),
                    ));
                }
                _ => {}
            }
            let Some(s) = p.services.get(n) else {
                return Ok(());
            };
            state.insert(n.to_string(), 1);
            chain.push(n.to_string());
            for d in s.depends_on.keys() {
                visit(p, d, state, order, chain)?;
            }
            chain.pop();
            state.insert(n.to_string(), 2);
            order.push(n.to_string());
            Ok(())
        }
        for n in self.services.keys() {
            visit(self, n, &mut state, &mut order, &mut Vec::new())?;
        }
        Ok(order)
    }
}

#[cfg(test)]
mod tests;
