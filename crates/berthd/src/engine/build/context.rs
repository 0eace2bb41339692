//! The build context: the uploaded tar extracted into a scratch directory (removed with the
//! [`Context`]). Everything read from it goes through [`ContainerRoot`]'s in-root
//! resolution, so a symlink in the context resolves inside the context.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_api::ApiError;
use berth_store::archive::ContainerRoot;
use berth_store::unpack::ExtractOptions;

use crate::engine::Engine;

pub(crate) struct Context {
    /// The scratch directory: `context/` (the files) and room for a step's overlay dirs.
    pub scratch: tempfile::TempDir,
    pub root: ContainerRoot,
}

impl Context {
    pub async fn extract(
        engine: &Arc<Engine>,
        body: Box<dyn Read + Send>,
    ) -> Result<Context, ApiError> {
        let tmp = engine.root.path().join("tmp");
        let scratch = tempfile::Builder::new()
            .prefix("build-")
            .tempdir_in(&tmp)
            .map_err(|e| ApiError::internal(format!("cannot create a scratch directory: {e}")))?;
        let dir = scratch.path().join("context");
        std::fs::create_dir(&dir)
            .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
        let root = tokio::task::spawn_blocking(move || {
            let root = ContainerRoot::open(&dir).map_err(|e| ApiError::internal(e.to_string()))?;
            let (_, body) = berth_store::unpack::decompress(body)
                .map_err(|e| ApiError::invalid(format!("cannot read the build context: {e}")))?;
            root.extract("/", body, ExtractOptions::default())
                .map_err(|e| ApiError::invalid(format!("cannot read the build context: {e}")))?;
            Ok::<_, ApiError>(root)
        })
        .await
        .map_err(|e| ApiError::internal(format!("context task failed: {e}")))??;
        Ok(Context { scratch, root })
    }

    /// The context directory itself (walked for wildcards, never followed through links).
    pub fn dir(&self) -> PathBuf {
        self.scratch.path().join("context")
    }

    /// A fresh directory in the scratch space.
    pub fn temp_dir(&self, prefix: &str) -> Result<tempfile::TempDir, ApiError> {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(self.scratch.path())
            .map_err(|e| ApiError::internal(format!("cannot create a scratch directory: {e}")))
    }

    /// A regular file of the context (resolved in the context), or None when missing.
    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, ApiError> {
        read_file(&self.root, path)
    }

    /// The Dockerfile's text: `name` (default `Dockerfile`, then `dockerfile`).
    pub fn dockerfile(&self, name: &str) -> Result<String, ApiError> {
        let candidates: Vec<&str> = if name.is_empty() || name == "Dockerfile" {
            vec!["Dockerfile", "dockerfile"]
        } else {
            vec![name]
        };
        for c in &candidates {
            if let Some(bytes) = self.read_file(c)? {
                return String::from_utf8(bytes)
                    .map_err(|_| ApiError::invalid(format!("the Dockerfile ({c}) is not UTF-8")));
            }
        }
        Err(ApiError::invalid(format!(
            "Cannot locate specified Dockerfile: {}",
            candidates[0]
        )))
    }
}

/// A regular file of `root` as bytes (through a tar of it: in-root resolution, no host path
/// is ever opened); None when it does not exist or is not a regular file.
pub(crate) fn read_file(root: &ContainerRoot, path: &str) -> Result<Option<Vec<u8>>, ApiError> {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let mut tar = Vec::new();
    match root.archive(&path, &mut tar) {
        Ok(()) => {}
        Err(berth_store::archive::ArchiveError::NotFound) => return Ok(None),
        Err(e) => return Err(ApiError::internal(format!("{path}: {e}"))),
    }
    let mut archive = tar::Archive::new(&tar[..]);
    let mut entries = archive
        .entries()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(entry) = entries.next() {
        let mut entry = entry.map_err(|e| ApiError::internal(e.to_string()))?;
        if entry.header().entry_type().is_file() {
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            return Ok(Some(data));
        }
    }
    Ok(None)
}

/// Relative `/`-separated paths of everything under `dir`, sorted, without following links.
pub(crate) fn walk(dir: &Path) -> Vec<String> {
    fn rec(base: &Path, rel: &str, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(base.join(rel)) else {
            return;
        };
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            let p = if rel.is_empty() {
                n
            } else {
                format!("{rel}/{n}")
            };
            let is_dir = std::fs::symlink_metadata(base.join(&p))
                .map(|m| m.is_dir())
                .unwrap_or(false);
            out.push(p.clone());
            if is_dir {
                rec(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    rec(dir, "", &mut out);
    out
}
