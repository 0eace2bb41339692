//! Pre-populating a new volume from the image (moby `copyExistingContents`): when the
//! volume is empty, the image's files at the mount path are copied into it with their
//! modes and owners, and the volume's root takes the owner and mode of the image's
//! directory. Symlinks are copied as links, never followed; devices, sockets and FIFOs
//! are skipped.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Copies `src` (a directory in the container's root filesystem, already resolved inside
/// it) into `dst` if `dst` is empty. Returns whether it copied.
pub fn populate(src: &Path, dst: &Path) -> io::Result<bool> {
    let src_meta = match std::fs::symlink_metadata(src) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if std::fs::read_dir(dst)?.next().is_some() {
        return Ok(false);
    }
    copy_dir(src, dst)?;
    copy_owner_and_mode(&src_meta, dst)?;
    Ok(true)
}

fn copy_owner_and_mode(meta: &std::fs::Metadata, dst: &Path) -> io::Result<()> {
    std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))?;
    if !meta.file_type().is_symlink() {
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    Ok(())
}

fn copy_dir(src: &Path, dst: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let meta = std::fs::symlink_metadata(&from)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            std::fs::create_dir(&to)?;
            copy_dir(&from, &to)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if ft.is_file() {
            std::fs::copy(&from, &to)?;
        } else {
            continue;
        }
        copy_owner_and_mode(&meta, &to)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_into_an_empty_volume_only() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let dst = dir.path().join("dst");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::write(src.join("sub/f"), "data").unwrap();
        std::fs::set_permissions(src.join("sub/f"), std::fs::Permissions::from_mode(0o640))
            .unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();

        assert!(populate(&src, &dst).unwrap());
        assert_eq!(std::fs::read_to_string(dst.join("sub/f")).unwrap(), "data");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&dst.join("sub/f")), 0o640);
        assert_eq!(mode(&dst), 0o1777);
        assert_eq!(
            std::fs::read_link(dst.join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
        // Not empty any more: left alone.
        std::fs::write(src.join("new"), "x").unwrap();
        assert!(!populate(&src, &dst).unwrap());
        assert!(!dst.join("new").exists());
        // Nothing at the path in the image: nothing to copy.
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(!populate(&dir.path().join("missing"), &empty).unwrap());
    }
}
