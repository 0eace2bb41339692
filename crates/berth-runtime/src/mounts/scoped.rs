//! Resolving a container path inside a root filesystem the way the container would see it:
//! symlinks are followed, but relative to the root, so neither an absolute link nor `..`
//! can lead out of it (filepath-securejoin's algorithm). berthd uses it before touching a
//! container's files from the host (copying an image's content into a new volume); the
//! mounts themselves are resolved the same way by the runtime (libcontainer's `pathrs`).

use std::collections::VecDeque;
use std::io;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one resolution may follow (Linux's `MAXSYMLINKS` is 40).
const MAX_LINKS: usize = 255;

fn push_components(queue: &mut VecDeque<String>, path: &Path, front: bool) {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    if front {
        for p in parts.into_iter().rev() {
            queue.push_front(p);
        }
    } else {
        queue.extend(parts);
    }
}

/// `root` joined with `path` (a container path), with every symlink on the way resolved
/// within `root`. Components that do not exist are kept as written; the result is always
/// `root` or below it.
pub fn scoped_join(root: &Path, path: &str) -> io::Result<PathBuf> {
    let mut pending = VecDeque::new();
    push_components(&mut pending, Path::new(path), false);
    let mut resolved = PathBuf::new();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        let full = root.join(&candidate);
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::other(format!(
                        "too many levels of symbolic links resolving {path} in {}",
                        root.display()
                    )));
                }
                let target = std::fs::read_link(&full)?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                push_components(&mut pending, &target, true);
            }
            Ok(_) => resolved = candidate,
            Err(e) if e.kind() == io::ErrorKind::NotFound => resolved = candidate,
            Err(e) => return Err(e),
        }
    }
    Ok(root.join(resolved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("usr/share")).unwrap();
        symlink("/etc", root.join("etc-link")).unwrap();
        symlink("../../../../..", root.join("usr/up")).unwrap();
        symlink("share", root.join("usr/rel")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        symlink(dir.path(), root.join("host")).unwrap();

        let j = |p: &str| scoped_join(&root, p).unwrap();
        assert_eq!(j("/etc-link/passwd"), root.join("etc/passwd"));
        assert_eq!(j("/usr/up/etc"), root.join("etc"));
        assert_eq!(j("/usr/rel/x"), root.join("usr/share/x"));
        assert_eq!(j("/../../x/./y/"), root.join("x/y"));
        assert_eq!(j("/"), root);
        // An absolute link to a host path lands on that path under the root.
        assert_eq!(
            j("/host/victim"),
            root.join(dir.path().strip_prefix("/").unwrap())
                .join("victim")
        );
        assert!(scoped_join(&root, "/loop/x").is_err());
    }
}
