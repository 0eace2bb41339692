//! pack_dir → unpack_layer preserves every kind of object and its metadata, and is
//! deterministic.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Gid, Mode, Timespec, Timestamps, Uid, CWD};
use tar::EntryType;

use super::{scan, sha256};
use crate::unpack::{pack_dir, unpack_layer, PackOptions};

/// `security.capability` v2 granting cap_net_bind_service (+ep).
const CAP_NET_BIND_SERVICE: [u8; 20] = [
    0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
];

fn file(path: &Path, data: &str, mode: u32) {
    fs::write(path, data).unwrap();
    chmod(path, mode);
}

fn dir(path: &Path, mode: u32) {
    fs::create_dir_all(path).unwrap();
    chmod(path, mode);
}

fn chmod(path: &Path, mode: u32) {
    rustix::fs::chmod(path, Mode::from_raw_mode(mode)).unwrap();
}

fn lchown(path: &Path, uid: u32, gid: u32) {
    rustix::fs::chownat(
        CWD,
        path,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

fn mknod(path: &Path, file_type: FileType, mode: u32, major: u32, minor: u32) {
    let dev = rustix::fs::makedev(major, minor);
    rustix::fs::mknodat(CWD, path, file_type, Mode::from_raw_mode(mode), dev).unwrap();
    chmod(path, mode);
}

/// A tree with one of everything a layer can hold.
fn build_tree(root: &Path) {
    dir(root, 0o755);
    file(&root.join("file"), "hello\n", 0o644);
    file(&root.join("empty"), "", 0o600);
    dir(&root.join("private"), 0o700);
    file(&root.join("private/inner"), "secret", 0o400);
    file(&root.join("setuid"), "#!/bin/true\n", 0o4755);
    dir(&root.join("setgid-dir"), 0o2775);
    dir(&root.join("sticky"), 0o1777);
    dir(&root.join("empty-dir"), 0o755);
    // Absolute, and dangling on the host: following it by mistake fails instead of touching
    // a host file.
    symlink("/nonexistent/berth-unpack-test", root.join("abs-link")).unwrap();
    symlink("private/inner", root.join("rel-link")).unwrap();
    file(&root.join("hard1"), "linked", 0o644);
    dir(&root.join("sub"), 0o755);
    fs::hard_link(root.join("hard1"), root.join("sub/hard2")).unwrap();
    mknod(&root.join("fifo"), FileType::Fifo, 0o644, 0, 0);
    mknod(&root.join("null"), FileType::CharacterDevice, 0o666, 1, 3);
    mknod(&root.join("loop0"), FileType::BlockDevice, 0o660, 7, 0);
    file(&root.join("owned"), "o", 0o640);
    lchown(&root.join("owned"), 1234, 5678);
    symlink("owned", root.join("owned-link")).unwrap();
    lchown(&root.join("owned-link"), 1234, 5678);
    file(&root.join("caps"), "binary", 0o755);
    xattr::set(root.join("caps"), "user.foo", b"bar").unwrap();
    xattr::set(
        root.join("caps"),
        "security.capability",
        &CAP_NET_BIND_SERVICE,
    )
    .unwrap();
    dir(&root.join("xdir"), 0o755);
    xattr::set(root.join("xdir"), "user.dir", b"d").unwrap();
    dir(&root.join("long"), 0o755);
    file(&root.join("long").join("n".repeat(150)), "long name", 0o644);
    symlink("t".repeat(150), root.join("long/target-link")).unwrap();
    dir(&root.join("a/b/c"), 0o755);
    file(&root.join("a/b/c/deep"), "deep", 0o644);
    // Distinct mtimes last, so nothing changes them afterwards.
    let paths: Vec<String> = scan(root, None, false).into_keys().collect();
    for (i, rel) in paths.iter().enumerate() {
        let t = Timespec {
            tv_sec: 1_500_000_000 + i as i64 * 1000,
            tv_nsec: 0,
        };
        let times = Timestamps {
            last_access: t,
            last_modification: t,
        };
        rustix::fs::utimensat(CWD, root.join(rel), &times, AtFlags::SYMLINK_NOFOLLOW).unwrap();
    }
}

fn entries(tar: &[u8]) -> Vec<(String, EntryType)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                e.header().entry_type(),
            )
        })
        .collect()
}

#[test]
fn pack_then_unpack_preserves_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    build_tree(&src);

    let mut tar = Vec::new();
    let packed = pack_dir(&src, &mut tar, PackOptions::default()).unwrap();
    assert_eq!(packed.diff_id, sha256(&tar));
    assert_eq!(packed.size, tar.len() as u64);

    let long_name = format!("long/{}", "n".repeat(150));
    let want_order = [
        ("a/", EntryType::Directory),
        ("a/b/", EntryType::Directory),
        ("a/b/c/", EntryType::Directory),
        ("a/b/c/deep", EntryType::Regular),
        ("abs-link", EntryType::Symlink),
        ("caps", EntryType::Regular),
        ("empty", EntryType::Regular),
        ("empty-dir/", EntryType::Directory),
        ("fifo", EntryType::Fifo),
        ("file", EntryType::Regular),
        ("hard1", EntryType::Regular),
        ("long/", EntryType::Directory),
        (&long_name, EntryType::Regular),
        ("long/target-link", EntryType::Symlink),
        ("loop0", EntryType::Block),
        ("null", EntryType::Char),
        ("owned", EntryType::Regular),
        ("owned-link", EntryType::Symlink),
        ("private/", EntryType::Directory),
        ("private/inner", EntryType::Regular),
        ("rel-link", EntryType::Symlink),
        ("setgid-dir/", EntryType::Directory),
        ("setuid", EntryType::Regular),
        ("sticky/", EntryType::Directory),
        ("sub/", EntryType::Directory),
        ("sub/hard2", EntryType::Link),
        ("xdir/", EntryType::Directory),
    ];
    let want_order: Vec<(String, EntryType)> = want_order
        .iter()
        .map(|(n, t)| (n.to_string(), *t))
        .collect();
    assert_eq!(entries(&tar), want_order);

    let dest = tmp.path().join("dest");
    fs::create_dir(&dest).unwrap();
    let unpacked = unpack_layer(&tar[..], &dest).unwrap();
    assert_eq!(unpacked.diff_id, packed.diff_id);
    assert_eq!(unpacked.entries, want_order.len() as u64);

    let mut want = scan(&src, None, true);
    let mut got = scan(&dest, None, true);
    want.remove(".");
    got.remove(".");
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (path, node) in &want {
        assert_eq!(&got[path], node, "{path}");
    }
    let mut groups = BTreeSet::new();
    let file_bytes: u64 = want
        .iter()
        .filter(|(p, n)| {
            n.kind == "file" && groups.insert(n.link_group.clone().unwrap_or((*p).clone()))
        })
        .map(|(_, n)| n.data.len() as u64)
        .sum();
    assert_eq!(unpacked.size, file_bytes);

    // The same tree packs to the same bytes.
    let mut again = Vec::new();
    let repacked = pack_dir(&dest, &mut again, PackOptions::default()).unwrap();
    assert_eq!(repacked, packed);
    assert!(again == tar, "repacking the unpacked tree changed the tar");

    // Unpacking the same tar again gives the same diff ID.
    let dest2 = tmp.path().join("dest2");
    fs::create_dir(&dest2).unwrap();
    assert_eq!(
        unpack_layer(&tar[..], &dest2).unwrap().diff_id,
        packed.diff_id
    );
}

#[test]
fn pack_never_follows_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir(&src).unwrap();
    symlink("/etc", src.join("etc")).unwrap();
    symlink("/", src.join("root")).unwrap();
    let mut tar = Vec::new();
    pack_dir(&src, &mut tar, PackOptions::default()).unwrap();
    assert_eq!(
        entries(&tar),
        vec![
            ("etc".to_owned(), EntryType::Symlink),
            ("root".to_owned(), EntryType::Symlink)
        ]
    );
}
