//! Reading a small file inside a container's rootfs without escaping it: symlinks are
//! resolved as if the rootfs were `/` (`openat2` with `RESOLVE_IN_ROOT`, what Docker does
//! with `FollowSymlinkInScope`).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{open, openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

/// Image files like `/etc/passwd` are small; refuse to slurp a hostile giant.
const MAX_LEN: u64 = 16 << 20;

/// The content of `path` (relative to `rootfs`), `None` when it does not exist.
/// Anything but a regular file is an error.
pub(crate) fn read_in_root(rootfs: &Path, path: &str) -> io::Result<Option<String>> {
    let root = open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = match openat2(&root, path.trim_start_matches('/'), how) {
        Err(Errno::ENOSYS) => open_without_symlinks(&root, path, flags),
        other => other,
    };
    let fd = match fd {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let file = File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{path} is not a regular file"),
        ));
    }
    let mut content = String::new();
    file.take(MAX_LEN).read_to_string(&mut content)?;
    Ok(Some(content))
}

/// For kernels before 5.6: walk the path one component at a time and refuse any symlink
/// (`ELOOP`) rather than resolve it.
fn open_without_symlinks(root: &OwnedFd, path: &str, flags: OFlag) -> nix::Result<OwnedFd> {
    let parts: Vec<_> = Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p),
            _ => None,
        })
        .collect();
    let (last, dirs) = parts.split_last().ok_or(Errno::EISDIR)?;
    let dir_flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mut dir = root.try_clone().map_err(|_| Errno::EBADF)?;
    for part in dirs {
        dir = openat(&dir, *part, dir_flags, Mode::empty())?;
    }
    openat(&dir, *last, flags | OFlag::O_NOFOLLOW, Mode::empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn reads_and_stays_inside() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "host secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("etc")).unwrap();
        fs::write(
            root.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\n",
        )
        .unwrap();
        assert_eq!(
            read_in_root(root.path(), "/etc/passwd").unwrap().unwrap(),
            "root:x:0:0::/root:/bin/sh\n"
        );
        assert_eq!(read_in_root(root.path(), "/etc/group").unwrap(), None);

        // An absolute symlink resolves inside the rootfs, not on the host.
        let target = outside.path().join("secret");
        symlink(&target, root.path().join("etc/group")).unwrap();
        assert_eq!(read_in_root(root.path(), "/etc/group").unwrap(), None);
        // A relative one cannot climb above the rootfs either.
        let ups = "../".repeat(32);
        symlink(
            format!("{ups}{}", target.display()),
            root.path().join("etc/shadow"),
        )
        .unwrap();
        assert_eq!(read_in_root(root.path(), "/etc/shadow").unwrap(), None);
        // A symlink within the rootfs is followed.
        symlink("/etc/passwd", root.path().join("etc/passwd-link")).unwrap();
        assert!(read_in_root(root.path(), "/etc/passwd-link")
            .unwrap()
            .is_some());

        fs::create_dir(root.path().join("etc/dir")).unwrap();
        assert!(read_in_root(root.path(), "/etc/dir").is_err());
    }

    #[test]
    fn fallback_refuses_symlinks() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("etc")).unwrap();
        fs::write(root.path().join("etc/passwd"), "x").unwrap();
        symlink("/etc/passwd", root.path().join("etc/link")).unwrap();
        let dir = open(
            root.path(),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        let flags = OFlag::O_RDONLY;
        assert!(open_without_symlinks(&dir, "/etc/passwd", flags).is_ok());
        assert_eq!(
            open_without_symlinks(&dir, "/etc/link", flags).unwrap_err(),
            Errno::ELOOP
        );
    }
}
