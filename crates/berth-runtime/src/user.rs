//! `--user` and `--group-add` resolved against the image's `/etc/passwd` and `/etc/group`
//! (runc's `libcontainer/user.GetExecUser` and moby's `getUser`).

use std::path::Path;

use crate::error::SpecError;
use crate::rootfs::read_in_root;

const MAX_ID: i64 = i32::MAX as i64;
const RANGE_ERROR: &str = "uids and gids must be in range 0-2147483647";

/// The identity the container's process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    /// The primary gid first, then supplementary groups (from `/etc/group` membership when
    /// no group was given explicitly), then `--group-add`; without duplicates.
    pub additional_gids: Vec<u32>,
}

struct PasswdEntry {
    name: String,
    uid: i64,
    gid: i64,
}

struct GroupEntry {
    name: String,
    gid: i64,
    members: Vec<String>,
}

/// Resolves `spec` (`""`, `name`, `uid`, `name:group`, `uid:gid`, ...) and `group_add` in
/// the rootfs. A missing passwd/group file only matters for names; numbers always work.
pub fn resolve_user(
    rootfs: &Path,
    spec: &str,
    group_add: &[String],
) -> Result<ExecUser, SpecError> {
    let passwd = read_db(rootfs, "/etc/passwd")?.map(|s| parse_passwd(&s));
    let groups = read_db(rootfs, "/etc/group")?.map(|s| parse_group(&s));

    let mut fields = spec.splitn(3, ':');
    let user_arg = fields.next().unwrap_or("");
    let group_arg = fields.next().unwrap_or("");
    let user_num: Option<i64> = user_arg.parse().ok();
    let group_num: Option<i64> = group_arg.parse().ok();

    let (mut uid, mut gid) = (0_i64, 0_i64);
    let mut matched_name: Option<&str> = None;
    let found = passwd
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|u| match (user_arg, user_num) {
            ("", _) => u.uid == 0,
            (_, Some(n)) => u.uid == n,
            (name, None) => u.name == name,
        });
    if let Some(u) = found {
        (uid, gid) = (u.uid, u.gid);
        matched_name = Some(&u.name);
    } else if !user_arg.is_empty() {
        let n = user_num.ok_or_else(|| {
            SpecError::NotFound(format!(
                "unable to find user {user_arg}: no matching entries in passwd file"
            ))
        })?;
        check_range(n)?;
        uid = n;
    }

    let all_groups = groups.as_deref().unwrap_or_default();
    let mut sgids = Vec::new();
    if !group_arg.is_empty() {
        let found = all_groups.iter().find(|g| match group_num {
            Some(n) => g.gid == n,
            None => g.name == group_arg,
        });
        gid = match (found, group_num) {
            (Some(g), _) => g.gid,
            (None, Some(n)) => {
                check_range(n)?;
                n
            }
            (None, None) => {
                return Err(SpecError::NotFound(format!(
                    "unable to find group {group_arg}: no matching entries in group file"
                )))
            }
        };
    } else if let Some(name) = matched_name {
        sgids = all_groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.gid)
            .collect();
    }

    let mut ids = vec![gid];
    ids.extend(sgids);
    for wanted in group_add {
        let by_entry = all_groups
            .iter()
            .find(|g| g.name == *wanted || g.gid.to_string() == *wanted);
        ids.push(match by_entry {
            Some(g) => g.gid,
            None => wanted.parse().map_err(|_| {
                SpecError::NotFound(format!(
                    "Unable to find group {wanted}: no matching entries in group file"
                ))
            })?,
        });
    }
    let mut additional_gids: Vec<u32> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = check_range(id)?;
        if !additional_gids.contains(&id) {
            additional_gids.push(id);
        }
    }
    Ok(ExecUser {
        uid: check_range(uid)?,
        gid: check_range(gid)?,
        additional_gids,
    })
}

fn check_range(id: i64) -> Result<u32, SpecError> {
    if (0..=MAX_ID).contains(&id) {
        Ok(id as u32)
    } else {
        Err(SpecError::invalid(RANGE_ERROR))
    }
}

fn read_db(rootfs: &Path, path: &str) -> Result<Option<String>, SpecError> {
    read_in_root(rootfs, path).map_err(|e| SpecError::io(format!("reading {path} of the image"), e))
}

/// Lines of a colon-separated database, trimmed, without blanks and comments.
fn records(content: &str) -> impl Iterator<Item = Vec<&str>> {
    content
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect())
}

/// `name:password:uid:gid:gecos:home:shell`; lines with a non-numeric id are skipped.
fn parse_passwd(content: &str) -> Vec<PasswdEntry> {
    records(content)
        .filter_map(|f| {
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

/// `name:password:gid:member,member`.
fn parse_group(content: &str) -> Vec<GroupEntry> {
    records(content)
        .filter_map(|f| {
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::fs;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
# a comment
www-data:x:33:33:www-data:/var/www:/bin/false
app:x:1000:1000::/home/app:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
";
    const GROUP: &str = "root:x:0:
daemon:x:1:
wheel:x:10:root
audio:x:29:app,www-data
www-data:x:33:
app:x:1000:
staff:x:50:app
nogroup:x:65534:
";

    fn rootfs(passwd: Option<&str>, group: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        if let Some(p) = passwd {
            fs::write(dir.path().join("etc/passwd"), p).unwrap();
        }
        if let Some(g) = group {
            fs::write(dir.path().join("etc/group"), g).unwrap();
        }
        dir
    }

    fn resolve(spec: &str, add: &[&str]) -> Result<ExecUser, SpecError> {
        let r = rootfs(Some(PASSWD), Some(GROUP));
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        resolve_user(r.path(), spec, &add)
    }

    fn ids(u: &ExecUser) -> (u32, u32, Vec<u32>) {
        (u.uid, u.gid, u.additional_gids.clone())
    }

    #[test]
    fn default_is_root_with_its_groups() {
        assert_eq!(ids(&resolve("", &[]).unwrap()), (0, 0, vec![0, 10]));
        assert_eq!(ids(&resolve("root", &[]).unwrap()), (0, 0, vec![0, 10]));
    }

    #[test]
    fn names_and_numbers() {
        assert_eq!(
            ids(&resolve("app", &[]).unwrap()),
            (1000, 1000, vec![1000, 29, 50])
        );
        assert_eq!(
            ids(&resolve("1000", &[]).unwrap()),
            (1000, 1000, vec![1000, 29, 50])
        );
        assert_eq!(
            ids(&resolve("www-data", &[]).unwrap()),
            (33, 33, vec![33, 29])
        );
        // A uid without an entry is fine, with gid 0 and no supplementary groups.
        assert_eq!(ids(&resolve("4242", &[]).unwrap()), (4242, 0, vec![0]));
    }

    #[test]
    fn explicit_groups_replace_membership() {
        assert_eq!(
            ids(&resolve("app:staff", &[]).unwrap()),
            (1000, 50, vec![50])
        );
        assert_eq!(ids(&resolve("app:29", &[]).unwrap()), (1000, 29, vec![29]));
        assert_eq!(
            ids(&resolve("1000:5555", &[]).unwrap()),
            (1000, 5555, vec![5555])
        );
        assert_eq!(
            ids(&resolve("4242:4242", &[]).unwrap()),
            (4242, 4242, vec![4242])
        );
    }

    #[test]
    fn group_add() {
        let u = resolve("app", &["wheel", "777", "29"]).unwrap();
        assert_eq!(u.additional_gids, vec![1000, 29, 50, 10, 777]);
        let err = resolve("app", &["nosuch"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unable to find group nosuch: no matching entries in group file"
        );
    }

    #[test]
    fn unknown_names_are_dockers_errors() {
        let err = resolve("xyz", &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unable to find user xyz: no matching entries in passwd file"
        );
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = resolve("app:nosuch", &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unable to find group nosuch: no matching entries in group file"
        );
        let err = resolve("-1", &[]).unwrap_err();
        assert_eq!(err.to_string(), RANGE_ERROR);
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn missing_files() {
        let r = rootfs(None, None);
        let u = resolve_user(r.path(), "", &[]).unwrap();
        assert_eq!(ids(&u), (0, 0, vec![0]));
        assert_eq!(
            ids(&resolve_user(r.path(), "1:2", &[]).unwrap()),
            (1, 2, vec![2])
        );
        let err = resolve_user(r.path(), "app", &[]).unwrap_err();
        assert!(err.to_string().starts_with("unable to find user app"));
    }

    #[test]
    fn symlinked_passwd_is_read_inside_the_rootfs() {
        let host_file = tempfile::NamedTempFile::new().unwrap();
        fs::write(host_file.path(), "evil:x:0:0::/:/bin/sh\n").unwrap();
        let r = rootfs(None, Some(GROUP));
        std::os::unix::fs::symlink(host_file.path(), r.path().join("etc/passwd")).unwrap();
        // The link points outside; inside the rootfs that path does not exist.
        assert!(resolve_user(r.path(), "evil", &[]).is_err());
    }
}
