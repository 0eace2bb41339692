//! `GET /containers/{id}/changes` (`docker diff`): what the container changed, read from its
//! overlay upper directory and compared with the image's layers below.
//!
//! - a whiteout (0/0 character device) is a deletion (`D`) when the layers below have the
//!   path; an opaque directory (`trusted.overlay.opaque=y`) deletes every name below it that
//!   the upper does not have again;
//! - anything else in the upper is added (`A`) when the layers below lack it, modified (`C`)
//!   otherwise — except a directory, which overlayfs copies up whenever something inside it
//!   changes: it is `C` only when its mode or owner differ or something inside it changed
//!   (dockerd's "naive" diff rules);
//! - the mount points the runtime creates for `/etc/hosts`, `/etc/hostname`,
//!   `/etc/resolv.conf`, `/dev`, `/proc`, `/sys`… as empty placeholders are not changes:
//!   dockerd keeps them in a separate init layer, berth leaves them out here and in commits.
//!
//! The lower layers are walked as overlayfs merges them (a whiteout or a non-directory hides
//! what is below, an opaque directory hides the layers under it), always through directory
//! fds with `O_NOFOLLOW`: no symlink in the upper or a layer is ever followed. Entries come
//! out in walk order (each directory before its contents, names byte-sorted), as dockerd
//! lists them. Needs overlayfs without `redirect_dir`/`metacopy` (the kernel's defaults, and
//! how berth mounts).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use berth_api::ApiError;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use serde::Serialize;

use crate::engine::Engine;

/// One changed path, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    pub path: String,
    /// 0 modified, 1 added, 2 deleted.
    pub kind: u8,
}

pub const MODIFIED: u8 = 0;
pub const ADDED: u8 = 1;
pub const DELETED: u8 = 2;

/// Mount points the runtime creates in the upper directory when the image lacks them;
/// dockerd's init layer holds the same set.
const PLACEHOLDERS: &[&str] = &[
    "/.dockerenv",
    "/dev",
    "/dev/console",
    "/dev/pts",
    "/dev/shm",
    "/etc",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/mtab",
    "/etc/resolv.conf",
    "/proc",
    "/sys",
];

/// The changes of an upper directory, and the placeholder paths left out of them (relative,
/// for leaving them out of a commit's layer too).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diff {
    pub changes: Vec<Change>,
    pub placeholders: Vec<String>,
}

impl Engine {
    /// `docker diff`.
    pub async fn container_changes(&self, name: &str) -> Result<Vec<Change>, ApiError> {
        let c = self.resolve_container(name)?;
        let (upper, lowers) = self.container_layers(&c)?;
        tokio::task::spawn_blocking(move || compute(&upper, &lowers))
            .await
            .map_err(|e| ApiError::internal(format!("diff task failed: {e}")))?
            .map(|d| d.changes)
            .map_err(|e| ApiError::internal(format!("cannot compute the changes: {e}")))
    }

    /// The container's upper directory and its image's layer directories, topmost first.
    pub(super) fn container_layers(
        &self,
        c: &berth_store::ContainerRecord,
    ) -> Result<(PathBuf, Vec<PathBuf>), ApiError> {
        let image = self.container_image(c)?;
        Ok((
            self.container_dir(&c.id).join("upper"),
            self.images.layer_dirs(&image)?,
        ))
    }
}

/// Computes the changes of `upper` over `lowers` (topmost first). A missing upper (a
/// container never started) has no changes.
pub fn compute(upper: &Path, lowers: &[PathBuf]) -> std::io::Result<Diff> {
    let open = |p: &Path| {
        rustix::fs::open(
            p,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
    };
    let upper = match open(upper) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(Diff::default()),
        Err(e) => return Err(e.into()),
    };
    let mut below = Vec::new();
    for l in lowers {
        let fd = open(l)?;
        let opaque = is_opaque(&fd);
        below.push(fd);
        if opaque {
            break;
        }
    }
    let mut diff = Diff::default();
    walk(&upper, &below, "", &mut diff)?;
    diff.changes.sort_by(|a, b| {
        let key = |c: &Change| c.path.split('/').map(str::to_owned).collect::<Vec<_>>();
        key(a).cmp(&key(b))
    });
    Ok(diff)
}

/// What the layers below show at one name.
enum Below {
    Absent,
    /// A non-directory.
    File,
    /// A directory: its stat (from the topmost layer) and the merged layers' fds of it.
    Dir(Stat, Vec<OwnedFd>),
}

fn walk(upper: &OwnedFd, below: &[OwnedFd], path: &str, diff: &mut Diff) -> std::io::Result<()> {
    for name in dir_names(upper)? {
        let child = format!("{path}/{}", String::from_utf8_lossy(&name));
        let st = rustix::fs::statat(upper, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)?;
        let lower = look_below(below, &name)?;
        let placeholder = PLACEHOLDERS.contains(&child.as_str()) && matches!(lower, Below::Absent);
        if is_whiteout(&st) {
            if !matches!(lower, Below::Absent) {
                push(diff, &child, DELETED);
            }
            continue;
        }
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            let empty_mount_point = match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => st.st_size == 0,
                FileType::Symlink => true,
                _ => false,
            };
            if placeholder && empty_mount_point {
                diff.placeholders.push(child[1..].to_string());
                continue;
            }
            let kind = match lower {
                Below::Absent => ADDED,
                _ => MODIFIED,
            };
            push(diff, &child, kind);
            continue;
        }
        let dir = rustix::fs::openat(
            upper,
            name.as_slice(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let opaque = is_opaque(&dir);
        let mark = diff.changes.len();
        let placeholders_before = diff.placeholders.len();
        let (kind, child_below) = match lower {
            Below::Absent => (Some(ADDED), Vec::new()),
            Below::File => (Some(MODIFIED), Vec::new()),
            Below::Dir(lst, fds) => {
                let differs =
                    (lst.st_mode, lst.st_uid, lst.st_gid) != (st.st_mode, st.st_uid, st.st_gid);
                if opaque {
                    // Everything below is hidden; what the upper lacks was deleted.
                    let mine = dir_names(&dir)?;
                    for gone in merged_names(&fds)? {
                        if !mine.contains(&gone) {
                            push(
                                diff,
                                &format!("{child}/{}", String::from_utf8_lossy(&gone)),
                                DELETED,
                            );
                        }
                    }
                    (differs.then_some(MODIFIED), Vec::new())
                } else {
                    (differs.then_some(MODIFIED), fds)
                }
            }
        };
        walk(&dir, &child_below, &child, diff)?;
        let inner = diff.changes.len() > mark;
        if placeholder && !inner {
            diff.placeholders.truncate(placeholders_before);
            diff.placeholders.push(child[1..].to_string());
            continue;
        }
        if let Some(kind) = kind.or(inner.then_some(MODIFIED)) {
            diff.changes.insert(mark, Change { path: child, kind });
        }
    }
    Ok(())
}

fn push(diff: &mut Diff, path: &str, kind: u8) {
    diff.changes.push(Change {
        path: path.to_string(),
        kind,
    });
}

/// `name` in the merged layers `below` (topmost first).
fn look_below(below: &[OwnedFd], name: &[u8]) -> std::io::Result<Below> {
    let mut found: Option<Stat> = None;
    let mut dirs = Vec::new();
    for layer in below {
        let st = match rustix::fs::statat(layer, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(e.into()),
        };
        let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        if found.is_none() {
            if is_whiteout(&st) {
                return Ok(Below::Absent);
            }
            if !is_dir {
                return Ok(Below::File);
            }
            found = Some(st);
        } else if !is_dir {
            // A whiteout or a non-directory ends the merge of this directory.
            break;
        }
        let fd = rustix::fs::openat(
            layer,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let opaque = is_opaque(&fd);
        dirs.push(fd);
        if opaque {
            break;
        }
    }
    Ok(match found {
        Some(st) => Below::Dir(st, dirs),
        None => Below::Absent,
    })
}

/// The names visible in a merged directory (whiteouts hide names of the layers under them).
fn merged_names(layers: &[OwnedFd]) -> std::io::Result<Vec<Vec<u8>>> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut visible = Vec::new();
    for layer in layers {
        for name in dir_names(layer)? {
            if seen.contains(&name) {
                continue;
            }
            let st = rustix::fs::statat(layer, name.as_slice(), AtFlags::SYMLINK_NOFOLLOW)?;
            if !is_whiteout(&st) {
                visible.push(name.clone());
            }
            seen.push(name);
        }
    }
    visible.sort();
    Ok(visible)
}

/// The entries of a directory, byte-sorted, without `.` and `..`.
fn dir_names(dir: &OwnedFd) -> std::io::Result<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    for item in Dir::read_from(dir)? {
        let item = item?;
        let n = item.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(n.to_vec());
        }
    }
    names.sort();
    Ok(names)
}

fn is_whiteout(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

fn is_opaque(dir: &OwnedFd) -> bool {
    let mut buf = [0u8; 4];
    matches!(
        rustix::fs::fgetxattr(dir, "trusted.overlay.opaque", &mut buf),
        Ok(1) if buf[0] == b'y'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn whiteout(p: &Path) {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            p,
            FileType::CharacterDevice,
            Mode::empty(),
            0,
        )
        .unwrap();
    }

    fn opaque(p: &Path) {
        rustix::fs::setxattr(
            p,
            "trusted.overlay.opaque",
            b"y",
            rustix::fs::XattrFlags::empty(),
        )
        .unwrap();
    }

    fn show(d: &Diff) -> Vec<String> {
        d.changes
            .iter()
            .map(|c| format!("{} {}", ["C", "A", "D"][c.kind as usize], c.path))
            .collect()
    }

    /// Two layers and an upper, as overlayfs would leave them.
    #[test]
    fn adds_changes_and_deletes_over_merged_layers() {
        let t = tempfile::tempdir().unwrap();
        let (base, top, up) = (
            t.path().join("base"),
            t.path().join("top"),
            t.path().join("up"),
        );
        for d in ["etc", "usr/lib", "var/cache/x", "opt/a", "home"] {
            fs::create_dir_all(base.join(d)).unwrap();
        }
        fs::write(base.join("etc/passwd"), "root").unwrap();
        fs::write(base.join("etc/gone-in-top"), "x").unwrap();
        fs::write(base.join("opt/a/f"), "x").unwrap();
        fs::write(base.join("var/cache/x/y"), "x").unwrap();
        fs::create_dir_all(top.join("etc")).unwrap();
        whiteout(&top.join("etc/gone-in-top"));
        fs::write(top.join("etc/group"), "g").unwrap();

        for d in ["etc", "tmp/new", "var/cache", "opt", "home"] {
            fs::create_dir_all(up.join(d)).unwrap();
        }
        fs::write(up.join("etc/passwd"), "root2").unwrap(); // modified
        fs::write(up.join("tmp/new/file"), "n").unwrap(); // added with its dirs
        whiteout(&up.join("etc/group")); // deleted (from the top layer)
        whiteout(&up.join("etc/gone-in-top")); // already gone below: not a change
        opaque(&up.join("var/cache")); // emptied: x deleted
        fs::write(up.join("var/cache/fresh"), "f").unwrap();
        whiteout(&up.join("opt/a")); // a whole directory deleted
                                     // /home copied up but unchanged: not listed.
                                     // Placeholders the runtime made: not changes.
        fs::write(up.join("etc/hosts"), "").unwrap();
        fs::create_dir(up.join("proc")).unwrap();
        let d = compute(&up, &[top.clone(), base.clone()]).unwrap();
        assert_eq!(
            show(&d),
            [
                "C /etc",
                "D /etc/group",
                "C /etc/passwd",
                "C /opt",
                "D /opt/a",
                "A /tmp",
                "A /tmp/new",
                "A /tmp/new/file",
                "C /var",
                "C /var/cache",
                "A /var/cache/fresh",
                "D /var/cache/x",
            ]
        );
        assert_eq!(d.placeholders, ["etc/hosts", "proc"]);
        // A placeholder with content is a real change.
        fs::write(up.join("etc/hosts"), "127.0.0.1 x").unwrap();
        let d = compute(&up, &[top, base]).unwrap();
        assert!(show(&d).contains(&"A /etc/hosts".to_string()));
    }

    #[test]
    fn mode_changes_and_missing_upper() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let (low, up) = (t.path().join("low"), t.path().join("up"));
        fs::create_dir_all(low.join("srv")).unwrap();
        fs::create_dir_all(up.join("srv")).unwrap();
        fs::set_permissions(low.join("srv"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(up.join("srv"), fs::Permissions::from_mode(0o700)).unwrap();
        let d = compute(&up, std::slice::from_ref(&low)).unwrap();
        assert_eq!(show(&d), ["C /srv"]);
        let none = compute(&t.path().join("nope"), &[low]).unwrap();
        assert!(none.changes.is_empty());
    }
}
