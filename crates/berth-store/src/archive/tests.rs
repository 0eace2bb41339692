//! Container path operations on a fake root (a temp directory standing in for the rootfs),
//! including the symlink breakouts `docker cp` has been vulnerable to.

use std::fs;
use std::os::unix::fs::symlink;

use super::*;

fn names(tar: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect()
}

/// A fake container root: `/etc/secret`, `/data/f`, `/escape -> /`, `/e2 -> ../../../../etc`,
/// `/link -> data/f`, `/dangling -> /nowhere/x`.
fn fake_root() -> (tempfile::TempDir, ContainerRoot) {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/secret"), "container secret").unwrap();
    fs::create_dir_all(r.join("data/sub")).unwrap();
    fs::write(r.join("data/f"), "hello").unwrap();
    symlink("/", r.join("escape")).unwrap();
    symlink("../../../../etc", r.join("e2")).unwrap();
    symlink("data/f", r.join("link")).unwrap();
    symlink("/nowhere/x", r.join("dangling")).unwrap();
    let root = ContainerRoot::open(r).unwrap();
    (dir, root)
}

#[test]
fn paths_split_like_dockerd() {
    let p = |s: &str| {
        let c = CpPath::parse(s).unwrap();
        (
            String::from_utf8(c.dir.as_bytes().to_vec()).unwrap(),
            String::from_utf8(c.base).unwrap(),
            c.name,
        )
    };
    let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(p("/etc/passwd"), t("etc", "passwd", "passwd"));
    assert_eq!(p("etc/passwd"), t("etc", "passwd", "passwd"));
    assert_eq!(p("/etc/"), t("etc", "", "etc"));
    assert_eq!(p("/etc/."), t("etc", ".", "."));
    assert_eq!(p("/etc/./"), t("etc", ".", "."));
    assert_eq!(p("/"), t("", "", "/"));
    assert_eq!(p("."), t("", ".", "."));
    assert_eq!(p("/../../etc//x"), t("etc", "x", "x"));
    assert!(CpPath::parse("a\0b").is_err());
}

#[test]
fn stat_reports_go_modes_and_resolved_link_targets() {
    let (_dir, root) = fake_root();
    let st = root.stat("/data").unwrap();
    assert_eq!(st.name, "data");
    assert_eq!(st.mode & (1 << 31), 1 << 31, "a directory");
    let st = root.stat("/data/f").unwrap();
    assert_eq!((st.size, st.mode & 0o777 != 0, st.mode >> 20), (5, true, 0));
    let st = root.stat("/link").unwrap();
    assert_eq!(st.mode & (1 << 27), 1 << 27, "the symlink itself");
    assert_eq!(st.link_target, "/data/f");
    assert_eq!(root.stat("/escape").unwrap().link_target, "/");
    assert_eq!(root.stat("/e2").unwrap().link_target, "/etc");
    assert_eq!(root.stat("/dangling").unwrap().link_target, "/nowhere/x");
    // A trailing slash follows the last element.
    assert_eq!(root.stat("/e2/").unwrap().mode & (1 << 31), 1 << 31);
    assert!(matches!(root.stat("/nope"), Err(ArchiveError::NotFound)));
    assert!(matches!(
        root.stat("/data/f/x"),
        Err(ArchiveError::NotADirectory)
    ));
}

#[test]
fn symlinks_never_reach_the_host() {
    let (_dir, root) = fake_root();
    // The host has /etc/passwd; the fake container has no /etc/passwd.
    assert!(Path::new("/etc/passwd").exists());
    assert!(matches!(
        root.stat("/escape/etc/passwd"),
        Err(ArchiveError::NotFound)
    ));
    assert!(matches!(
        root.stat("/e2/passwd"),
        Err(ArchiveError::NotFound)
    ));
    let mut out = Vec::new();
    root.archive("/escape/etc/secret", &mut out).unwrap();
    let mut a = tar::Archive::new(&out[..]);
    let mut e = a.entries().unwrap().next().unwrap().unwrap();
    let mut text = String::new();
    e.read_to_string(&mut text).unwrap();
    assert_eq!(text, "container secret");
    assert!(root
        .archive("/e2/../../../etc/passwd", &mut Vec::new())
        .is_err());
}

#[test]
fn tars_are_named_after_the_requested_path() {
    let (_dir, root) = fake_root();
    let tar = |p: &str| {
        let mut out = Vec::new();
        root.archive(p, &mut out).unwrap();
        names(&out)
    };
    assert_eq!(tar("/data"), ["data/", "data/f", "data/sub/"]);
    assert_eq!(tar("/data/."), ["./", "./f", "./sub/"]);
    assert_eq!(tar("/data/f"), ["f"]);
    assert_eq!(tar("/link"), ["link"], "the symlink itself");
    let all = tar("/");
    assert_eq!(all[0], "/");
    assert!(all.contains(&"/data/f".to_string()), "{all:?}");
    let mut out = Vec::new();
    root.export(&mut out).unwrap();
    let exported = names(&out);
    assert!(exported.contains(&"data/f".to_string()), "{exported:?}");
    assert!(exported.contains(&"escape".to_string()));
}

fn tar_of(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_uid(1234);
        h.set_gid(1234);
        if !link.is_empty() {
            h.set_link_name(link).unwrap();
        }
        // Raw name bytes: the tar crate refuses to write `..` itself.
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn extraction_stays_inside_the_container() {
    let (dir, root) = fake_root();
    let r = dir.path();
    use tar::EntryType::{Directory, Regular, Symlink};
    // Into a symlink that climbs: lands in the container's /etc.
    let tar = tar_of(&[("new", Regular, "", b"x")]);
    root.extract("/e2/", &tar[..], ExtractOptions::default())
        .unwrap();
    assert_eq!(fs::read_to_string(r.join("etc/new")).unwrap(), "x");
    // Through an absolute symlink to /: the container's root.
    root.extract("/escape/data", &tar[..], ExtractOptions::default())
        .unwrap();
    assert!(r.join("data/new").exists());
    // A symlink in the tar, then a file through it: still inside.
    fs::create_dir(r.join("tmp")).unwrap();
    let tar = tar_of(&[
        ("out", Symlink, "/", b""),
        ("out/pwned", Regular, "", b"p"),
        ("up", Symlink, "../../../../../../tmp", b""),
        ("up/pwned2", Regular, "", b"p"),
    ]);
    root.extract("/data/sub", &tar[..], ExtractOptions::default())
        .unwrap();
    assert!(r.join("pwned").exists(), "resolved in the container root");
    assert!(r.join("tmp/pwned2").exists());
    assert!(!Path::new("/pwned").exists() && !Path::new("/tmp/pwned2").exists());
    // `..` entries are refused outright.
    let tar = tar_of(&[("../x", Regular, "", b"p")]);
    assert!(root
        .extract("/data", &tar[..], ExtractOptions::default())
        .is_err());
    // The destination must be a directory.
    let tar = tar_of(&[("y", Regular, "", b"p")]);
    assert!(matches!(
        root.extract("/data/f", &tar[..], ExtractOptions::default()),
        Err(ArchiveError::NotADirectory)
    ));
    assert!(matches!(
        root.extract("/nope", &tar[..], ExtractOptions::default()),
        Err(ArchiveError::NotFound)
    ));
    // noOverwriteDirNonDir, and `.` leaves the destination alone.
    let tar = tar_of(&[(".", Directory, "", b""), ("sub", Regular, "", b"p")]);
    let strict = ExtractOptions {
        no_overwrite_dir_non_dir: true,
        chown: None,
    };
    assert!(root.extract("/data", &tar[..], strict).is_err());
    assert!(r.join("data/sub").is_dir());
    root.extract("/data", &tar[..], ExtractOptions::default())
        .unwrap();
    assert!(r.join("data/sub").is_file(), "replaced without the option");
    // Ownership from the tar, or the one asked for; whiteout names are plain names.
    let tar = tar_of(&[
        ("owned", Regular, "", b"o"),
        (".wh.keep", Regular, "", b"w"),
    ]);
    root.extract("/data", &tar[..], ExtractOptions::default())
        .unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(r.join("data/owned")).unwrap().uid(), 1234);
    assert!(r.join("data/.wh.keep").is_file());
    let chown = ExtractOptions {
        no_overwrite_dir_non_dir: false,
        chown: Some((7, 8)),
    };
    root.extract("/data", &tar[..], chown).unwrap();
    let m = fs::metadata(r.join("data/owned")).unwrap();
    assert_eq!((m.uid(), m.gid()), (7, 8));
}

#[test]
fn destinations_with_non_utf8_names() {
    use std::ffi::OsStr;
    let (dir, root) = fake_root();
    let odd = dir.path().join(OsStr::from_bytes(b"d\xff"));
    fs::create_dir(&odd).unwrap();
    symlink(OsStr::from_bytes(b"/d\xff"), dir.path().join("lnk")).unwrap();
    let tar = tar_of(&[("f", tar::EntryType::Regular, "", b"x")]);
    root.extract("/lnk", &tar[..], ExtractOptions::default())
        .unwrap();
    assert!(odd.join("f").is_file());
}
