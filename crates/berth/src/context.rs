//! Contexts: named daemon endpoints kept under the config dir (default `~/.berth`), in the
//! docker CLI's layout, so one CLI can manage several daemons:
//!
//! - `contexts/meta/<sha256(name)>/meta.json` — name, description, endpoint host;
//! - `contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem` — the endpoint's TLS material;
//! - `config.json` → `currentContext`.

use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The built-in context: environment variables, else the default socket.
pub const DEFAULT_CONTEXT: &str = "default";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContextMeta {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Metadata", default)]
    pub metadata: Metadata,
    #[serde(rename = "Endpoints", default)]
    pub endpoints: BTreeMap<String, EndpointMeta>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Metadata {
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EndpointMeta {
    #[serde(rename = "Host")]
    pub host: String,
    #[serde(rename = "SkipTLSVerify", default)]
    pub skip_tls_verify: bool,
}

/// TLS files stored with a context's endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextTls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ConfigFile {
    #[serde(
        rename = "currentContext",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    current_context: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// The contexts under one config dir.
pub struct ContextStore {
    dir: PathBuf,
}

impl ContextStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn config_dir(&self) -> &Path {
        &self.dir
    }

    fn id(name: &str) -> String {
        hex::encode(Sha256::digest(name.as_bytes()))
    }

    fn meta_dir(&self, name: &str) -> PathBuf {
        self.dir.join("contexts/meta").join(Self::id(name))
    }

    fn tls_dir(&self, name: &str) -> PathBuf {
        self.dir
            .join("contexts/tls")
            .join(Self::id(name))
            .join("docker")
    }

    /// A stored context, or a clear error naming how to list the existing ones.
    pub fn get(&self, name: &str) -> Result<ContextMeta> {
        let path = self.meta_dir(name).join("meta.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow!("context {name:?} does not exist; see `berth context ls`")
            } else {
                anyhow!("cannot read context {name:?} ({}): {e}", path.display())
            }
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("context {name:?} is corrupt ({})", path.display()))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.meta_dir(name).join("meta.json").exists()
    }

    /// The TLS files a context has.
    pub fn tls(&self, name: &str) -> ContextTls {
        let dir = self.tls_dir(name);
        let some = |f: &str| Some(dir.join(f)).filter(|p| p.exists());
        ContextTls {
            ca: some("ca.pem"),
            cert: some("cert.pem"),
            key: some("key.pem"),
        }
    }

    /// All stored contexts, sorted by name.
    pub fn list(&self) -> Result<Vec<ContextMeta>> {
        let dir = self.dir.join("contexts/meta");
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
        };
        for entry in entries {
            let path = entry?.path().join("meta.json");
            if let Ok(text) = std::fs::read_to_string(&path) {
                match serde_json::from_str::<ContextMeta>(&text) {
                    Ok(m) => out.push(m),
                    Err(e) => {
                        eprintln!("warning: skipping corrupt context {}: {e}", path.display())
                    }
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Stores a new context; TLS files are copied in so the context keeps working if the
    /// originals move.
    pub fn create(&self, meta: &ContextMeta, tls: &ContextTls) -> Result<()> {
        validate_name(&meta.name)?;
        if self.exists(&meta.name) {
            bail!(
                "context {:?} already exists; remove it first with `berth context rm {}`",
                meta.name,
                meta.name
            );
        }
        let mdir = self.meta_dir(&meta.name);
        mkdir(&mdir)?;
        let copy = |src: &Option<PathBuf>, name: &str, mode: u32| -> Result<()> {
            if let Some(src) = src {
                let data =
                    std::fs::read(src).with_context(|| format!("cannot read {}", src.display()))?;
                let tdir = self.tls_dir(&meta.name);
                mkdir(&tdir)?;
                write_file(&tdir.join(name), &data, mode)?;
            }
            Ok(())
        };
        let result = copy(&tls.ca, "ca.pem", 0o644)
            .and_then(|_| copy(&tls.cert, "cert.pem", 0o644))
            .and_then(|_| copy(&tls.key, "key.pem", 0o600))
            .and_then(|_| write_file(&mdir.join("meta.json"), &serde_json::to_vec(meta)?, 0o644));
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&mdir);
            let _ = std::fs::remove_dir_all(self.tls_dir(&meta.name).parent().unwrap_or(&mdir));
        }
        result
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        if !self.exists(name) {
            bail!("context {name:?} does not exist; see `berth context ls`");
        }
        std::fs::remove_dir_all(self.meta_dir(name))?;
        if let Some(tls) = self.tls_dir(name).parent() {
            let _ = std::fs::remove_dir_all(tls);
        }
        Ok(())
    }

    /// The context chosen with `context use`, if any.
    pub fn current(&self) -> Result<Option<String>> {
        Ok(self
            .read_config()?
            .current_context
            .filter(|c| !c.is_empty()))
    }

    pub fn set_current(&self, name: Option<&str>) -> Result<()> {
        let mut cfg = self.read_config()?;
        cfg.current_context = name.filter(|n| *n != DEFAULT_CONTEXT).map(str::to_string);
        mkdir(&self.dir)?;
        write_file(
            &self.dir.join("config.json"),
            &serde_json::to_vec_pretty(&cfg)?,
            0o600,
        )
    }

    fn read_config(&self) -> Result<ConfigFile> {
        let path = self.dir.join("config.json");
        match std::fs::read_to_string(&path) {
            Ok(t) if t.trim().is_empty() => Ok(ConfigFile::default()),
            Ok(t) => serde_json::from_str(&t)
                .with_context(|| format!("{} is not valid JSON; fix or remove it", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
    if !ok {
        bail!("context name {name:?} is invalid: names must start with a letter or digit and contain only letters, digits, _ . + -");
    }
    if name == DEFAULT_CONTEXT {
        bail!("\"default\" is a reserved context name");
    }
    Ok(())
}

fn mkdir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes a file atomically (temp file, fsync, rename).
fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, host: &str) -> ContextMeta {
        ContextMeta {
            name: name.into(),
            metadata: Metadata::default(),
            endpoints: BTreeMap::from([(
                "docker".to_string(),
                EndpointMeta {
                    host: host.into(),
                    skip_tls_verify: false,
                },
            )]),
        }
    }

    #[test]
    fn create_list_use_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path().to_path_buf());
        store
            .create(&meta("b", "unix:///b.sock"), &ContextTls::default())
            .unwrap();
        store
            .create(&meta("a", "unix:///a.sock"), &ContextTls::default())
            .unwrap();
        assert!(store
            .create(&meta("a", "unix:///x"), &ContextTls::default())
            .is_err());
        let names: Vec<_> = store.list().unwrap().into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["a", "b"]);
        // docker's layout: meta dir named by the sha256 of the name
        assert!(dir
            .path()
            .join("contexts/meta")
            .join(hex::encode(Sha256::digest(b"a")))
            .join("meta.json")
            .exists());
        assert_eq!(store.current().unwrap(), None);
        store.set_current(Some("a")).unwrap();
        assert_eq!(store.current().unwrap().as_deref(), Some("a"));
        store.set_current(Some("default")).unwrap();
        assert_eq!(store.current().unwrap(), None);
        store.remove("a").unwrap();
        assert!(store
            .get("a")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
    }

    #[test]
    fn tls_files_are_copied_with_private_key_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        std::fs::write(&key, "KEY").unwrap();
        let store = ContextStore::new(dir.path().join("cfg"));
        let tls = ContextTls {
            ca: None,
            cert: None,
            key: Some(key),
        };
        store.create(&meta("t", "tcp://127.0.0.1:1"), &tls).unwrap();
        let got = store.tls("t");
        let k = got.key.unwrap();
        assert_eq!(std::fs::read_to_string(&k).unwrap(), "KEY");
        assert_eq!(
            std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(got.ca.is_none());
    }

    #[test]
    fn rejects_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContextStore::new(dir.path().to_path_buf());
        for bad in ["", "default", "../x", "-a", "a b"] {
            assert!(
                store
                    .create(&meta(bad, "unix:///x"), &ContextTls::default())
                    .is_err(),
                "{bad}"
            );
        }
    }
}
