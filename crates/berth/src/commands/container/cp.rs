//! `berth cp`: copy between a container and the local filesystem as tar archives over
//! `/containers/{id}/archive` (`GET` to read, `PUT` to write, `HEAD` to stat; the stat
//! travels base64-encoded JSON in `X-Docker-Container-Path-Stat`). `-` stands for a tar
//! stream on stdin/stdout.

use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use base64::Engine as _;
use berth_client::{read_body, ClientError, Query};
use bytes::Bytes;
use http::Method;
use serde::Deserialize;

use super::container_path;
use crate::cli::CpOpts;
use crate::commands::Ctx;
use crate::error::StatusError;

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(String),
    Container { name: String, path: String },
}

/// docker's `splitCpArg`: a path that is absolute or starts with `.` is local; otherwise
/// `CONTAINER:PATH` when there is a colon.
pub fn split_cp_arg(arg: &str) -> Location {
    if arg.starts_with('/') || arg.starts_with('.') {
        return Location::Local(arg.to_string());
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.is_empty() => Location::Container {
            name: c.to_string(),
            path: p.to_string(),
        },
        _ => Location::Local(arg.to_string()),
    }
}

/// `X-Docker-Container-Path-Stat`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PathStat {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub mode: u32,
}

impl PathStat {
    /// Go's `os.ModeDir` bit.
    pub fn is_dir(&self) -> bool {
        self.mode & (1 << 31) != 0
    }

    pub fn decode(header: &str) -> Option<PathStat> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(header.trim())
            .ok()?;
        serde_json::from_slice(&raw).ok()
    }
}

fn archive_path(name: &str, path: &str) -> String {
    Query::new()
        .add("path", path)
        .with_path(&container_path(name, "/archive"))
}

pub async fn run(ctx: &Ctx, o: &CpOpts) -> Result<ExitCode> {
    match (split_cp_arg(&o.src), split_cp_arg(&o.dst)) {
        (Location::Container { name, path }, Location::Local(dst)) => {
            copy_from(ctx, &name, &path, &dst, o.quiet).await
        }
        (Location::Local(src), Location::Container { name, path }) => {
            copy_to(ctx, &src, &name, &path, o.quiet, o.follow_link).await
        }
        (Location::Container { .. }, Location::Container { .. }) => {
            Err(StatusError::new("copying between containers is not supported").into())
        }
        (Location::Local(_), Location::Local(_)) => {
            Err(StatusError::new("must specify at least one container source").into())
        }
    }
}

fn api_err(e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Api { .. } => StatusError::new(e.to_string()).into(),
        e => e.into(),
    }
}

/// Container → local: extract the archive at `dst` (into it when it is a directory,
/// as `dst` itself when it does not exist), or write the tar to stdout for `-`.
async fn copy_from(ctx: &Ctx, name: &str, path: &str, dst: &str, quiet: bool) -> Result<ExitCode> {
    let resp = ctx
        .client
        .request(Method::GET, &archive_path(name, path), None)
        .await
        .map_err(api_err)?;
    let stat = resp
        .headers()
        .get("X-Docker-Container-Path-Stat")
        .and_then(|v| v.to_str().ok())
        .and_then(PathStat::decode)
        .unwrap_or_default();
    let data = read_body(resp).await?;
    if dst == "-" {
        use tokio::io::AsyncWriteExt;
        let mut out = tokio::io::stdout();
        out.write_all(&data).await?;
        out.flush().await?;
        return Ok(ExitCode::SUCCESS);
    }
    let dst_path = PathBuf::from(dst);
    let root_name = if stat.name.is_empty() {
        Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        stat.name.clone()
    };
    let (dir, rename) = if dst_path.is_dir() {
        (dst_path.clone(), None)
    } else {
        if dst.ends_with('/') {
            return Err(
                StatusError::new(format!("destination directory \"{dst}\" must exist")).into(),
            );
        }
        let parent = dst_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        if !parent.is_dir() {
            return Err(StatusError::new(format!(
                "destination directory \"{}\" must exist",
                parent.display()
            ))
            .into());
        }
        let new = dst_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        (parent, new)
    };
    let size = data.len();
    tokio::task::spawn_blocking(move || extract(&data, &dir, &root_name, rename.as_deref()))
        .await??;
    if !quiet {
        eprintln!(
            "Successfully copied {} to {dst}",
            berth_format::human_size_with_precision(size as i64, 3)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Unpacks `tar` under `dir`, the top entry `root` renamed to `rename` when given.
/// Entries that would land outside `dir` are refused.
pub fn extract(tar_bytes: &[u8], dir: &Path, root: &str, rename: Option<&str>) -> Result<()> {
    let mut archive = tar::Archive::new(tar_bytes);
    archive.set_preserve_permissions(true);
    archive.set_overwrite(true);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let mut parts: Vec<std::ffi::OsString> = Vec::new();
        for c in path.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_os_string()),
                Component::CurDir => {}
                _ => anyhow::bail!(
                    "refusing to extract {}: it leaves the destination",
                    path.display()
                ),
            }
        }
        if parts.is_empty() {
            continue;
        }
        if let Some(new) = rename {
            if parts[0] == *root {
                parts[0] = new.into();
            }
        }
        let target = parts.iter().fold(dir.to_path_buf(), |p, c| p.join(c));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        entry
            .unpack(&target)
            .with_context(|| format!("extracting {}", target.display()))?;
    }
    Ok(())
}

/// Local → container: tar `src` (named after the destination when that does not exist
/// yet) and `PUT` it into the right directory. `-` sends a tar from stdin as it is.
async fn copy_to(
    ctx: &Ctx,
    src: &str,
    name: &str,
    path: &str,
    quiet: bool,
    follow: bool,
) -> Result<ExitCode> {
    let client = &ctx.client;
    // Stat the destination.
    let stat = match client
        .request(Method::HEAD, &archive_path(name, path), None)
        .await
    {
        Ok(resp) => resp
            .headers()
            .get("X-Docker-Container-Path-Stat")
            .and_then(|v| v.to_str().ok())
            .and_then(PathStat::decode),
        Err(ClientError::Api {
            status: 404,
            message,
        }) if !message.contains("container") => None,
        Err(ClientError::Api { status: 404, .. }) => None,
        Err(e) => return Err(api_err(e)),
    };
    let (body, dest_dir) = if src == "-" {
        let mut data = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut data).await?;
        if !stat.as_ref().is_some_and(PathStat::is_dir) {
            return Err(StatusError::new(format!(
                "destination \"{name}:{path}\" must be a directory"
            ))
            .into());
        }
        (data, path.to_string())
    } else {
        let src_path = PathBuf::from(src);
        let meta = if follow {
            std::fs::metadata(&src_path)
        } else {
            std::fs::symlink_metadata(&src_path)
        }
        .map_err(|e| {
            StatusError::new(format!(
                "lstat {}: {}",
                src_path.display(),
                crate::commands::image::go_errno_text(&e)
            ))
        })?;
        let base = src_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".".into());
        let (entry_name, dest_dir) = match &stat {
            Some(s) if s.is_dir() => (base, path.to_string()),
            Some(_) if meta.is_dir() => {
                return Err(StatusError::new(format!(
                    "cannot copy directory to a file: \"{name}:{path}\""
                ))
                .into())
            }
            _ => {
                if path.ends_with('/') {
                    return Err(StatusError::new(format!(
                        "destination directory \"{name}:{path}\" must exist"
                    ))
                    .into());
                }
                let p = Path::new(path);
                let parent = p
                    .parent()
                    .map(|p| p.display().to_string())
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "/".into());
                let new = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or(base);
                (new, parent)
            }
        };
        let src_owned = src_path.clone();
        let data = tokio::task::spawn_blocking(move || build_tar(&src_owned, &entry_name, follow))
            .await??;
        (data, dest_dir)
    };
    let size = body.len();
    let put = Query::new()
        .add("path", dest_dir)
        .add("noOverwriteDirNonDir", "true")
        .with_path(&container_path(name, "/archive"));
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(body)) });
    client
        .request_body(Method::PUT, &put, stream, "application/x-tar")
        .await
        .map_err(api_err)?;
    if !quiet {
        eprintln!(
            "Successfully copied {} to {name}:{path}",
            berth_format::human_size_with_precision(size as i64, 3)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A tar of `src` whose top entry is called `name`.
pub fn build_tar(src: &Path, name: &str, follow: bool) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(follow);
    let meta = if follow {
        std::fs::metadata(src)?
    } else {
        std::fs::symlink_metadata(src)?
    };
    if meta.is_dir() {
        b.append_dir_all(name, src)?;
    } else {
        b.append_path_with_name(src, name)?;
    }
    Ok(b.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_arguments_like_docker() {
        assert_eq!(
            split_cp_arg("web:/etc/hosts"),
            Location::Container {
                name: "web".into(),
                path: "/etc/hosts".into()
            }
        );
        assert_eq!(split_cp_arg("/tmp/a:b"), Location::Local("/tmp/a:b".into()));
        assert_eq!(split_cp_arg("./x:y"), Location::Local("./x:y".into()));
        assert_eq!(split_cp_arg("file"), Location::Local("file".into()));
        assert_eq!(split_cp_arg("-"), Location::Local("-".into()));
    }

    #[test]
    fn decodes_the_stat_header() {
        let json = r#"{"name":"etc","size":4096,"mode":2147484141,"mtime":"2024-01-01T00:00:00Z","linkTarget":""}"#;
        let h = base64::engine::general_purpose::STANDARD.encode(json);
        let s = PathStat::decode(&h).unwrap();
        assert_eq!(s.name, "etc");
        assert!(s.is_dir());
        assert!(PathStat::decode("!!").is_none());
    }

    #[test]
    fn tars_round_trip_with_renames_and_refuse_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/f.txt"), "hello").unwrap();
        let t = build_tar(&src, "renamed", false).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        extract(&t, &out, "renamed", Some("final")).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("final/sub/f.txt")).unwrap(),
            "hello"
        );
        extract(&t, &out, "renamed", None).unwrap();
        assert!(out.join("renamed/sub/f.txt").exists());

        // A hand-made archive with "../evil" must not write outside.
        let mut raw = Vec::new();
        {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            let name = b"../evil";
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            h.set_cksum();
            let mut b = tar::Builder::new(&mut raw);
            b.append(&h, &b"x"[..]).unwrap();
            b.finish().unwrap();
        }
        assert!(extract(&raw, &out, "x", None).is_err());
        assert!(!dir.path().join("evil").exists());
    }
}
