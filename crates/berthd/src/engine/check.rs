//! The data root's consistency check, run by berthd at start-up before it serves (and as a
//! dry run for `GET /berth/system/check`, `berth system check`).
//!
//! A crash (SIGKILL, power loss) can leave what a clean stop never does. The database is
//! the source of truth; a container counts as *live* when its shim holds `shim.pid`.
//!
//! - a container directory without a record → unmounted and removed;
//! - a record whose directory is gone → the directory is recreated (the writable layer is
//!   lost; the container can still be started or removed);
//! - a mount under a container's directory whose container is not live → unmounted;
//! - a cgroup `/sys/fs/cgroup[/<controller>]/berth/<id>` of one of this root's containers
//!   that is not live → its processes killed, the cgroup removed (cgroups of IDs this root
//!   does not know are never touched: another daemon may own them);
//! - `shim.sock` / `shim.pid` without a live shim, exec state dirs without a live shim →
//!   removed (`exit.json` stays: the restore reads the real exit code from it);
//! - a pinned network namespace (`netns/<short id>`) of no live container → removed;
//! - orphaned layer directories and blobs: the image store's own check
//!   (`berth_store::check_images`, run when the store opens; included in the dry run).
//!
//! The check is split into a snapshot of what is there ([`Snapshot`], gathered from the
//! disk, `/proc/self/mountinfo` and the cgroup tree), a pure plan ([`plan`], unit-tested
//! here) and the actions that carry it out, each logged on one line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Engine;

/// What is on disk and in the kernel that the check looks at.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub root: PathBuf,
    /// Names of the entries of `<root>/containers`.
    pub container_dirs: BTreeSet<String>,
    /// Container records: ID → whether its shim is alive.
    pub records: BTreeMap<String, bool>,
    /// Mount points under the data root.
    pub mounts: Vec<PathBuf>,
    /// `.../berth/<id>` cgroup directories on the host.
    pub cgroups: Vec<PathBuf>,
    /// Shim state dirs (a container's `shim/` and each `shim/exec/<id>/`) with whether a
    /// shim is alive there, and which of `shim.sock` / `shim.pid` exist.
    pub shim_dirs: Vec<ShimDir>,
    /// Files in `<root>/netns`.
    pub netns: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ShimDir {
    pub container: String,
    pub dir: PathBuf,
    pub exec: bool,
    pub alive: bool,
    pub files: Vec<PathBuf>,
}

/// One repair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "Action", content = "Path")]
pub enum Action {
    Unmount(PathBuf),
    RemoveDir(PathBuf),
    RemoveFile(PathBuf),
    RemoveCgroup(PathBuf),
    RemoveNetns(PathBuf),
    CreateDir(PathBuf),
}

impl Action {
    fn verb(&self, apply: bool) -> &'static str {
        match (self, apply) {
            (Action::Unmount(_), true) => "unmounted",
            (Action::Unmount(_), false) => "would unmount",
            (Action::CreateDir(_), true) => "recreated",
            (Action::CreateDir(_), false) => "would recreate",
            (_, true) => "removed",
            (_, false) => "would remove",
        }
    }
}

/// What was found and what is (or would be) done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    pub what: String,
    pub action: Action,
    /// One line: "<what>: <verb>".
    pub message: String,
}

/// The check's result (the body of `GET /berth/system/check`).
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckReport {
    pub applied: bool,
    pub findings: Vec<Finding>,
    /// Damage the check cannot repair, and actions that failed.
    pub problems: Vec<String>,
}

/// Decides what to repair; mounts are taken down first (deepest first), then the rest.
pub fn plan(s: &Snapshot) -> Vec<(String, Action)> {
    let containers = s.root.join("containers");
    let live = |id: &str| s.records.get(id).copied().unwrap_or(false);
    let mut unmounts = Vec::new();
    let mut rest = Vec::new();

    for m in &s.mounts {
        let Ok(rel) = m.strip_prefix(&containers) else {
            continue;
        };
        let Some(id) = rel.iter().next().and_then(|c| c.to_str()) else {
            continue;
        };
        if !live(id) {
            unmounts.push((
                format!("stale mount {}", m.display()),
                Action::Unmount(m.clone()),
            ));
        }
    }
    // Deepest first, so nested mounts come off before their parents.
    unmounts.sort_by_key(|(_, a)| match a {
        Action::Unmount(p) => std::cmp::Reverse(p.components().count()),
        _ => std::cmp::Reverse(0),
    });

    for name in &s.container_dirs {
        if !s.records.contains_key(name) {
            rest.push((
                format!("orphaned container directory {name}"),
                Action::RemoveDir(containers.join(name)),
            ));
        }
    }
    for id in s.records.keys() {
        if !s.container_dirs.contains(id) {
            rest.push((
                format!("container {id} has no directory (its writable layer is lost)"),
                Action::CreateDir(containers.join(id)),
            ));
        }
    }
    for sd in &s.shim_dirs {
        if sd.alive || !s.records.contains_key(&sd.container) {
            continue; // live, or goes with its orphaned container dir
        }
        if sd.exec {
            rest.push((
                format!("stale exec state {}", sd.dir.display()),
                Action::RemoveDir(sd.dir.clone()),
            ));
        } else {
            for f in &sd.files {
                rest.push((
                    format!("stale shim file {} (no live shim)", f.display()),
                    Action::RemoveFile(f.clone()),
                ));
            }
        }
    }
    for cg in &s.cgroups {
        let Some(id) = cg.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let ours = s.records.contains_key(id) || s.container_dirs.contains(id);
        if ours && !live(id) {
            rest.push((
                format!("stale cgroup {}", cg.display()),
                Action::RemoveCgroup(cg.clone()),
            ));
        }
    }
    for ns in &s.netns {
        let Some(short) = ns.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let used = s
            .records
            .iter()
            .any(|(id, alive)| *alive && id.starts_with(short));
        if !used {
            rest.push((
                format!("stale network namespace {}", ns.display()),
                Action::RemoveNetns(ns.clone()),
            ));
        }
    }
    unmounts.extend(rest);
    unmounts
}

/// `\040`-style escapes of `/proc/self/mountinfo`.
fn unescape_mount_path(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let (b'\\', Some(d)) = (b[i], octal) {
            let v =
                u32::from(d[0] - b'0') * 64 + u32::from(d[1] - b'0') * 8 + u32::from(d[2] - b'0');
            out.push(v as u8);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points at or below `root` (from `/proc/self/mountinfo`).
fn mounts_under(root: &Path) -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mount_path(m)))
        .filter(|m| m.starts_with(root))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `berth/<id>` cgroup dirs: v2 (`/sys/fs/cgroup/berth/<id>`) and v1/hybrid
/// (`/sys/fs/cgroup/<controller>/berth/<id>`).
fn berth_cgroups() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let mut parents = vec![base.join("berth")];
    for e in std::fs::read_dir(base).into_iter().flatten().flatten() {
        parents.push(e.path().join("berth"));
    }
    let mut out = Vec::new();
    for p in parents {
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Removes what is left of a stopped container's cgroup `path` (`/berth/<id>`) in every
/// hierarchy: a shim that died mid-start (berthd killed while it started one) can leave
/// it behind, and nothing else would.
pub(crate) fn remove_container_cgroups(path: &str) {
    let base = Path::new("/sys/fs/cgroup");
    let rel = path.trim_start_matches('/');
    if rel.is_empty() {
        return;
    }
    let mut dirs = vec![base.join(rel)];
    for e in std::fs::read_dir(base).into_iter().flatten().flatten() {
        dirs.push(e.path().join(rel));
    }
    for d in dirs.into_iter().filter(|d| d.is_dir()) {
        match remove_cgroup(&d) {
            Ok(()) => {
                tracing::info!(cgroup = %d.display(), "removed a container's leftover cgroup")
            }
            Err(e) => tracing::warn!(cgroup = %d.display(), "cannot remove a leftover cgroup: {e}"),
        }
    }
}

/// Removes a cgroup directory: kills what is left in it, then removes it (children first).
fn remove_cgroup(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)?.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup(&e.path())?;
        }
    }
    let mut last = Ok(());
    for _ in 0..50 {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        last = std::fs::remove_dir(dir);
        match &last {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    last
}

fn carry_out(action: &Action) -> Result<(), String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    match action {
        Action::Unmount(p) => berth_store::overlay::unmount_overlay(p).map_err(|e| e.to_string()),
        Action::RemoveDir(p) => {
            // Anything still mounted below it comes off first (never delete through a mount).
            for m in mounts_under(p).iter().rev() {
                berth_store::overlay::unmount_overlay(m).map_err(|e| e.to_string())?;
            }
            match std::fs::remove_dir_all(p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(p, e)),
                _ => Ok(()),
            }
        }
        Action::RemoveFile(p) => match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(p, e)),
            _ => Ok(()),
        },
        Action::RemoveCgroup(p) => remove_cgroup(p).map_err(|e| io(p, e)),
        Action::RemoveNetns(p) => berth_net::netns::remove(p).map_err(|e| e.to_string()),
        Action::CreateDir(p) => std::fs::create_dir_all(p).map_err(|e| io(p, e)),
    }
}

impl Engine {
    /// What the check looks at, gathered now.
    fn check_snapshot(&self) -> Snapshot {
        let root = self.root.path().to_path_buf();
        let containers = root.join("containers");
        let mut s = Snapshot {
            container_dirs: names_in(&containers).into_iter().collect(),
            mounts: mounts_under(&root),
            cgroups: berth_cgroups(),
            netns: names_in(&root.join("netns"))
                .into_iter()
                .map(|n| root.join("netns").join(n))
                .collect(),
            root,
            ..Default::default()
        };
        for c in self.db().containers().unwrap_or_default() {
            let alive = self.container_shim_alive(&c.id); // check hook
            s.records.insert(c.id.clone(), alive);
            let shim = self.container_dir(&c.id).join("shim");
            let files = |d: &Path| -> Vec<PathBuf> {
                ["shim.sock", "shim.pid"]
                    .iter()
                    .map(|f| d.join(f))
                    .filter(|p| p.symlink_metadata().is_ok())
                    .collect()
            };
            if shim.exists() {
                s.shim_dirs.push(ShimDir {
                    container: c.id.clone(),
                    dir: shim.clone(),
                    exec: false,
                    alive,
                    files: files(&shim),
                });
            }
            for e in names_in(&shim.join("exec")) {
                let d = shim.join("exec").join(e);
                s.shim_dirs.push(ShimDir {
                    container: c.id.clone(),
                    alive: super::containers::shim_alive(&d),
                    files: files(&d),
                    dir: d,
                    exec: true,
                });
            }
        }
        s
    }

    /// Runs the check; with `apply`, repairs (and logs each repair on one line). Without,
    /// reports what it would do, including the image store's part.
    pub fn check_data_root(&self, apply: bool) -> CheckReport {
        let mut report = CheckReport {
            applied: apply,
            ..Default::default()
        };
        for (what, action) in plan(&self.check_snapshot()) {
            let message = format!("{what}: {}", action.verb(apply));
            if apply {
                match carry_out(&action) {
                    Ok(()) => tracing::info!("start-up check: {message}"),
                    Err(e) => {
                        tracing::error!("start-up check: {what}: failed: {e}");
                        report.problems.push(format!("{what}: {e}"));
                        continue;
                    }
                }
            }
            report.findings.push(Finding {
                what,
                action,
                message,
            });
        }
        if !apply {
            // The image store's part runs when the store opens; the dry run shows it too.
            match berth_store::check_images(
                self.db(),
                &self.images.content,
                &self.images.layers,
                false,
            ) {
                Ok(r) => {
                    for line in r.removed {
                        report.findings.push(Finding {
                            what: line.clone(),
                            action: Action::RemoveFile(PathBuf::new()),
                            message: format!("image store: {line}"),
                        });
                    }
                    report.problems.extend(r.problems);
                }
                Err(e) => report.problems.push(e.to_string()),
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> String {
        format!("{n:02x}{:062x}", 0)
    }

    fn snapshot() -> Snapshot {
        let root = PathBuf::from("/r");
        let c = root.join("containers");
        Snapshot {
            root: root.clone(),
            container_dirs: [id(1), id(2), id(9)].into(),
            records: [(id(1), true), (id(2), false), (id(3), false)].into(),
            mounts: vec![
                c.join(id(1)).join("rootfs"),
                c.join(id(2)).join("rootfs"),
                c.join(id(2)).join("rootfs/data"),
                c.join(id(9)).join("rootfs"),
                root.join("volumes/v/_data"),
            ],
            cgroups: vec![
                PathBuf::from("/sys/fs/cgroup/memory/berth").join(id(1)),
                PathBuf::from("/sys/fs/cgroup/memory/berth").join(id(2)),
                PathBuf::from("/sys/fs/cgroup/memory/berth").join(id(7)),
            ],
            shim_dirs: vec![
                ShimDir {
                    container: id(1),
                    dir: c.join(id(1)).join("shim"),
                    exec: false,
                    alive: true,
                    files: vec![c.join(id(1)).join("shim/shim.pid")],
                },
                ShimDir {
                    container: id(2),
                    dir: c.join(id(2)).join("shim"),
                    exec: false,
                    alive: false,
                    files: vec![c.join(id(2)).join("shim/shim.sock")],
                },
                ShimDir {
                    container: id(1),
                    dir: c.join(id(1)).join("shim/exec/e1"),
                    exec: true,
                    alive: false,
                    files: vec![],
                },
            ],
            netns: vec![
                root.join("netns").join(&id(1)[..12]),
                root.join("netns").join(&id(2)[..12]),
            ],
        }
    }

    #[test]
    fn the_plan_repairs_only_what_is_not_live() {
        let s = snapshot();
        let c = s.root.join("containers");
        let actions: Vec<Action> = plan(&s).into_iter().map(|(_, a)| a).collect();
        // Mounts of dead or unknown containers come off first, nested ones before parents.
        assert_eq!(
            &actions[..3],
            &[
                Action::Unmount(c.join(id(2)).join("rootfs/data")),
                Action::Unmount(c.join(id(2)).join("rootfs")),
                Action::Unmount(c.join(id(9)).join("rootfs")),
            ]
        );
        let want = [
            Action::RemoveDir(c.join(id(9))),
            Action::CreateDir(c.join(id(3))),
            Action::RemoveFile(c.join(id(2)).join("shim/shim.sock")),
            Action::RemoveDir(c.join(id(1)).join("shim/exec/e1")),
            Action::RemoveCgroup(PathBuf::from("/sys/fs/cgroup/memory/berth").join(id(2))),
            Action::RemoveNetns(s.root.join("netns").join(&id(2)[..12])),
        ];
        assert_eq!(&actions[3..], &want);
        // Never: the live container's mount, cgroup, shim files or netns; volumes; a
        // cgroup of an ID this root does not know.
        assert!(!actions.contains(&Action::Unmount(c.join(id(1)).join("rootfs"))));
        assert!(!actions
            .iter()
            .any(|a| matches!(a, Action::RemoveCgroup(p) if p.ends_with(id(7)))));
    }

    #[test]
    fn a_consistent_root_needs_nothing() {
        let s = Snapshot {
            root: PathBuf::from("/r"),
            container_dirs: [id(1)].into(),
            records: [(id(1), true)].into(),
            ..Default::default()
        };
        assert!(plan(&s).is_empty());
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mount_path("/a\\040b/c"), "/a b/c");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
        assert_eq!(unescape_mount_path("/end\\"), "/end\\");
    }

    #[test]
    fn verbs_say_what_happened_or_would() {
        let a = Action::Unmount(PathBuf::from("/x"));
        assert_eq!(a.verb(true), "unmounted");
        assert_eq!(a.verb(false), "would unmount");
        assert_eq!(
            Action::RemoveDir(PathBuf::new()).verb(false),
            "would remove"
        );
    }
}
