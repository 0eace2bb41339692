//! `docker cp`: `HEAD`/`GET`/`PUT /containers/{id}/archive?path=`, for running and stopped
//! containers alike.
//!
//! A running container's files are read and written through its mounted `rootfs`; a stopped
//! (or never started) one gets a *detached* overlay of its layers and upper directory, which
//! no path can reach and which disappears when the operation ends — nothing stays mounted,
//! not even if berthd dies meanwhile. Every path is resolved inside the container
//! (`berth_store::archive`), so symlinks cannot lead to host files.
//!
//! Not yet: the container's bind mounts and volumes (and the `/etc/hosts`, `/etc/hostname`,
//! `/etc/resolv.conf` berth bind-mounts) are not visible here — cp sees the container's own
//! filesystem (the placeholders under those mount points), not what is mounted over it.
//! A `PUT` racing the container's start can write through two overlay mounts of one upper
//! directory at once; dockerd holds a container lock there, berth does not yet.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use berth_api::{ApiError, ErrorKind};
use berth_runtime::HostConfig;
use berth_store::archive::{ArchiveError, ContainerRoot, PathStat};
use berth_store::overlay::OverlayDirs;
use berth_store::unpack::ExtractOptions;
use berth_store::ContainerRecord;

use crate::engine::Engine;

/// Options of `PUT /containers/{id}/archive`.
#[derive(Debug, Clone, Default)]
pub struct ExtractRequest {
    pub path: String,
    pub no_overwrite_dir_non_dir: bool,
    /// Give the files the container user's uid/gid (`docker cp -a`).
    pub copy_uid_gid: bool,
}

impl Engine {
    /// The container's root filesystem: its live mount when it has one, else a detached
    /// overlay mount that ends when the returned handle drops.
    pub(super) fn open_container_root(
        &self,
        c: &ContainerRecord,
    ) -> Result<ContainerRoot, ApiError> {
        let dir = self.container_dir(&c.id);
        let rootfs = dir.join("rootfs");
        if is_mount_point(&rootfs) {
            if let Ok(root) = ContainerRoot::open(&rootfs) {
                if root.is_overlay() {
                    return Ok(root);
                }
            }
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
        let image = self.container_image(c)?;
        ContainerRoot::mount(&OverlayDirs {
            lowers: self.images.layer_dirs(&image)?,
            upper: dir.join("upper"),
            work: dir.join("work"),
        })
        .map_err(|e| ApiError::internal(format!("cannot mount the container's filesystem: {e}")))
    }

    /// `HEAD /containers/{id}/archive`: the stat of a path in the container.
    pub async fn stat_container_path(&self, name: &str, path: &str) -> Result<PathStat, ApiError> {
        let c = self.resolve_container(name)?;
        let root = self.open_container_root(&c)?;
        root.stat(path).map_err(|e| path_err(e, path, name))
    }

    /// `GET /containers/{id}/archive`: the path's stat and a tar of it, streamed.
    pub async fn archive_container_path(
        self: &Arc<Self>,
        name: &str,
        path: &str,
    ) -> Result<(PathStat, tokio::io::DuplexStream), ApiError> {
        let c = self.resolve_container(name)?;
        let root = self.open_container_root(&c)?;
        let stat = root.stat(path).map_err(|e| path_err(e, path, name))?;
        let (writer, reader) = tokio::io::duplex(256 * 1024);
        let bridge = tokio_util::io::SyncIoBridge::new(writer);
        let path = path.to_string();
        tokio::task::spawn_blocking(move || {
            // The detached mount (if any) lives as long as `root`, i.e. this task.
            if let Err(e) = root.archive(&path, bridge) {
                // The client sees the stream end early: the tar is visibly truncated.
                tracing::warn!(error = %e, path, "container archive stopped");
            }
        });
        self.container_event("archive-path", &c, &[]);
        Ok((stat, reader))
    }

    /// `PUT /containers/{id}/archive`: extracts the tar read from `body` into a directory of
    /// the container.
    pub async fn extract_to_container(
        self: &Arc<Self>,
        name: &str,
        req: ExtractRequest,
        body: Box<dyn Read + Send>,
    ) -> Result<(), ApiError> {
        let c = self.resolve_container(name)?;
        let host_config: HostConfig = serde_json::from_str(&c.host_config).unwrap_or_default();
        if host_config.readonly_rootfs {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                "container rootfs is marked read-only",
            ));
        }
        let root = self.open_container_root(&c)?;
        let chown = if req.copy_uid_gid {
            Some(self.container_user_ids(&c, &root)?)
        } else {
            None
        };
        let opts = ExtractOptions {
            no_overwrite_dir_non_dir: req.no_overwrite_dir_non_dir,
            chown,
        };
        let path = req.path.clone();
        let name_owned = name.to_string();
        tokio::task::spawn_blocking(move || {
            // dockerd accepts a compressed tar here too.
            let (_, body) = berth_store::unpack::decompress(body)
                .map_err(|e| ApiError::invalid(format!("cannot read the archive: {e}")))?;
            root.extract(&path, body, opts).map_err(|e| match e {
                ArchiveError::NotADirectory => {
                    ApiError::invalid("extraction point is not a directory")
                }
                e => path_err(e, &path, &name_owned),
            })
        })
        .await
        .map_err(|e| ApiError::internal(format!("extract task failed: {e}")))??;
        self.container_event("extract-to-dir", &c, &[]);
        Ok(())
    }

    /// The uid and gid of the container's configured user, looked up in its own
    /// `/etc/passwd` and `/etc/group` (root when none is configured).
    fn container_user_ids(
        &self,
        c: &ContainerRecord,
        root: &ContainerRoot,
    ) -> Result<(u32, u32), ApiError> {
        let config: berth_runtime::ContainerConfig =
            serde_json::from_str(&c.config).unwrap_or_default();
        let user = berth_runtime::resolve_user(&root.proc_path(), config.user.trim(), &[])
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        Ok((user.uid, user.gid))
    }
}

/// A path error as dockerd words it.
fn path_err(e: ArchiveError, path: &str, container: &str) -> ApiError {
    match e {
        ArchiveError::NotFound => ApiError::not_found(format!(
            "Could not find the file {path} in container {container}"
        )),
        ArchiveError::NotADirectory => ApiError::invalid(format!("{path}: not a directory")),
        ArchiveError::Invalid(m) => ApiError::invalid(format!("{path}: {m}")),
        ArchiveError::Tar(e) => ApiError::invalid(e.to_string()),
        ArchiveError::Io(e) => ApiError::internal(format!("{path}: {e}")),
    }
}

/// Whether `p` is a mount point (a different device than its parent directory).
fn is_mount_point(p: &std::path::Path) -> bool {
    let (Ok(me), Some(Ok(parent))) = (
        std::fs::symlink_metadata(p),
        p.parent().map(std::fs::symlink_metadata),
    ) else {
        return false;
    };
    me.dev() != parent.dev()
}
