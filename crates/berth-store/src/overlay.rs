//! Container root filesystems: an overlayfs of image layers (read-only lowers, top first)
//! under a per-container writable upper directory.
//!
//! Mounting uses the new mount API (`fsopen`/`fsconfig`/`fsmount`/`move_mount`) and adds
//! each lower with `lowerdir+` (Linux ≥ 6.8), so the number of layers is not limited by
//! the page-sized option string of `mount(2)`; older kernels get the classic `mount(2)`
//! with `lowerdir=a:b:c`, which fits about 40 layers of berth's path length.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::OFlags;
use rustix::mount::{
    fsconfig_create, fsconfig_set_string, fsmount, fsopen, move_mount, unmount, FsMountFlags,
    FsOpenFlags, MountAttrFlags, MountFlags, MoveMountFlags, UnmountFlags,
};

use crate::StoreError;

/// The directories of one overlay mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayDirs {
    /// Read-only layers, topmost first. At least one.
    pub lowers: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
}

/// Mounts `dirs` on `target` (which must exist). `upper` and `work` are created if missing.
pub fn mount_overlay(dirs: &OverlayDirs, target: &Path) -> Result<(), StoreError> {
    if dirs.lowers.is_empty() {
        return Err(StoreError::io(
            target,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "an overlay needs at least one lower layer",
            ),
        ));
    }
    for d in [&dirs.upper, &dirs.work] {
        std::fs::create_dir_all(d).map_err(|e| StoreError::io(d, e))?;
    }
    match mount_new_api(dirs, target) {
        Ok(()) => Ok(()),
        // ENOSYS: no new mount API; EINVAL: overlay without `lowerdir+` (Linux < 6.8).
        Err(e) if e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::INVAL => {
            mount_classic(dirs, target)
        }
        Err(e) => Err(StoreError::io(target, e.into())),
    }
}

/// Mounts `dirs` as a *detached* overlay: attached nowhere in any mount namespace, reachable
/// only through the returned directory fd (the overlay's root). The kernel frees the mount
/// when the last fd into it closes, so nothing is ever left mounted — not even when berthd
/// dies. `upper` and `work` are created if missing. Used to read and write a stopped
/// container's files (`docker cp`, `export`) without touching its `rootfs` mount point.
pub fn mount_detached(dirs: &OverlayDirs) -> Result<OwnedFd, StoreError> {
    let dir = dirs.upper.parent().unwrap_or(&dirs.upper);
    if dirs.lowers.is_empty() {
        return Err(StoreError::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "an overlay needs at least one lower layer",
            ),
        ));
    }
    for d in [&dirs.upper, &dirs.work] {
        std::fs::create_dir_all(d).map_err(|e| StoreError::io(d, e))?;
    }
    let mnt = match fs_mount(dirs, true) {
        Err(rustix::io::Errno::INVAL) => fs_mount(dirs, false),
        other => other,
    }
    .map_err(|e| StoreError::io(dir, e.into()))?;
    rustix::fs::openat(
        &mnt,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| StoreError::io(dir, e.into()))
}

/// An overlay superblock mounted (detached) with the new mount API; lowers one by one with
/// `lowerdir+` (Linux ≥ 6.8) or all in one `lowerdir` option.
fn fs_mount(dirs: &OverlayDirs, lowerdir_plus: bool) -> rustix::io::Result<OwnedFd> {
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    if lowerdir_plus {
        for lower in &dirs.lowers {
            fsconfig_set_string(fs.as_fd(), "lowerdir+", lower)?;
        }
    } else {
        let joined = dirs
            .lowers
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        fsconfig_set_string(fs.as_fd(), "lowerdir", joined)?;
    }
    fsconfig_set_string(fs.as_fd(), "upperdir", &dirs.upper)?;
    fsconfig_set_string(fs.as_fd(), "workdir", &dirs.work)?;
    // Layers are shared between images: no inode index, as dockerd's overlay2 does.
    let _ = fsconfig_set_string(fs.as_fd(), "index", "off");
    fsconfig_create(fs.as_fd())?;
    fsmount(
        fs.as_fd(),
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::empty(),
    )
}

fn mount_new_api(dirs: &OverlayDirs, target: &Path) -> rustix::io::Result<()> {
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    for lower in &dirs.lowers {
        fsconfig_set_string(fs.as_fd(), "lowerdir+", lower)?;
    }
    fsconfig_set_string(fs.as_fd(), "upperdir", &dirs.upper)?;
    fsconfig_set_string(fs.as_fd(), "workdir", &dirs.work)?;
    // Layers are shared between images: no inode index, as dockerd's overlay2 does.
    let _ = fsconfig_set_string(fs.as_fd(), "index", "off");
    fsconfig_create(fs.as_fd())?;
    let mnt = fsmount(
        fs.as_fd(),
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::empty(),
    )?;
    move_mount(
        mnt.as_fd(),
        "",
        rustix::fs::CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
}

fn mount_classic(dirs: &OverlayDirs, target: &Path) -> Result<(), StoreError> {
    let lowers: Vec<String> = dirs
        .lowers
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let data = format!(
        "lowerdir={},upperdir={},workdir={},index=off",
        lowers.join(":"),
        dirs.upper.display(),
        dirs.work.display()
    );
    if data.len() >= 4096 {
        return Err(StoreError::io(
            target,
            std::io::Error::other(format!(
                "{} layers are too many for this kernel's overlay mount options (Linux 6.8+ has no such limit)",
                dirs.lowers.len()
            )),
        ));
    }
    let data = std::ffi::CString::new(data)
        .map_err(|e| StoreError::io(target, std::io::Error::other(e)))?;
    rustix::mount::mount(
        "overlay",
        target,
        "overlay",
        MountFlags::empty(),
        Some(data.as_c_str()),
    )
    .map_err(|e| StoreError::io(target, e.into()))
}

/// Unmounts `target`; not mounted is not an error.
pub fn unmount_overlay(target: &Path) -> Result<(), StoreError> {
    match unmount(target, UnmountFlags::empty()) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        // Busy (a process still has it open): detach now, the kernel frees it when released.
        Err(rustix::io::Errno::BUSY) => {
            unmount(target, UnmountFlags::DETACH).map_err(|e| StoreError::io(target, e.into()))
        }
        Err(e) => Err(StoreError::io(target, e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    /// Unmounts on drop, so a failing assertion never leaves a mount behind.
    struct Mounted(PathBuf);
    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = unmount_overlay(&self.0);
        }
    }

    #[test]
    fn layers_stack_whiteouts_hide_and_writes_go_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let (base, top) = (p.join("base"), p.join("top"));
        std::fs::create_dir_all(base.join("etc")).unwrap();
        std::fs::write(base.join("etc/keep"), "base").unwrap();
        std::fs::write(base.join("etc/gone"), "base").unwrap();
        std::fs::create_dir_all(top.join("etc")).unwrap();
        std::fs::write(top.join("etc/keep"), "top").unwrap();
        // An overlay whiteout: char device 0/0.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            top.join("etc/gone"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o600),
            rustix::fs::makedev(0, 0),
        )
        .unwrap();
        let dirs = OverlayDirs {
            lowers: vec![top.clone(), base.clone()],
            upper: p.join("upper"),
            work: p.join("work"),
        };
        let target = p.join("rootfs");
        std::fs::create_dir(&target).unwrap();
        mount_overlay(&dirs, &target).unwrap();
        let guard = Mounted(target.clone());
        assert_eq!(
            std::fs::read_to_string(target.join("etc/keep")).unwrap(),
            "top"
        );
        assert!(!target.join("etc/gone").exists());
        std::fs::write(target.join("etc/new"), "written").unwrap();
        assert_eq!(
            std::fs::read_to_string(p.join("upper/etc/new")).unwrap(),
            "written"
        );
        assert!(!base.join("etc/new").exists() && !top.join("etc/new").exists());
        std::fs::remove_file(target.join("etc/keep")).unwrap();
        assert!(std::fs::symlink_metadata(p.join("upper/etc/keep"))
            .unwrap()
            .file_type()
            .is_char_device());
        assert_eq!(
            std::fs::read_to_string(top.join("etc/keep")).unwrap(),
            "top"
        );
        drop(guard);
        assert!(!target.join("etc").exists(), "unmounted");
        unmount_overlay(&target).unwrap();
    }

    #[test]
    fn detached_mount_leaves_nothing_mounted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("low/etc")).unwrap();
        std::fs::write(p.join("low/etc/f"), "low").unwrap();
        let dirs = OverlayDirs {
            lowers: vec![p.join("low")],
            upper: p.join("upper"),
            work: p.join("work"),
        };
        let root = mount_detached(&dirs).unwrap();
        let f = rustix::fs::openat(
            &root,
            "etc/new",
            OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC,
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .unwrap();
        drop(f);
        assert!(p.join("upper/etc/new").exists(), "writes go to the upper");
        let st = rustix::fs::statat(&root, "etc/f", rustix::fs::AtFlags::empty()).unwrap();
        assert_eq!(st.st_size, 3);
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mountinfo.contains(p.to_str().unwrap()), "{mountinfo}");
        drop(root);
    }

    #[test]
    fn many_layers_mount() {
        // More layers than the classic option string can hold at this path length.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let mut lowers = Vec::new();
        for i in 0..60 {
            let l = p.join(format!("layer-{i:02}-{}", "x".repeat(60)));
            std::fs::create_dir(&l).unwrap();
            std::fs::write(l.join(format!("f{i}")), i.to_string()).unwrap();
            lowers.push(l);
        }
        let dirs = OverlayDirs {
            lowers,
            upper: p.join("u"),
            work: p.join("w"),
        };
        let target = p.join("rootfs");
        std::fs::create_dir(&target).unwrap();
        match mount_overlay(&dirs, &target) {
            Ok(()) => {
                let _guard = Mounted(target.clone());
                assert_eq!(std::fs::read_to_string(target.join("f0")).unwrap(), "0");
                assert_eq!(std::fs::read_to_string(target.join("f59")).unwrap(), "59");
            }
            // Kernels before 6.8 refuse clearly instead of mounting a truncated stack.
            Err(e) => assert!(e.to_string().contains("too many"), "{e}"),
        }
    }
}
