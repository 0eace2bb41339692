//! Docker whiteouts ⇄ overlayfs whiteouts, checked against a real overlay mount.

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};
use tar::{EntryType, Header};

use super::{scan, TarBuf};
use crate::unpack::{pack_dir, unpack_layer, PackOptions};

/// Name, type and PAX record keys of every entry.
fn entries(tar: &[u8]) -> Vec<(String, EntryType, Vec<String>)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let kind = e.header().entry_type();
            let keys = e
                .pax_extensions()
                .unwrap()
                .map(|pax| pax.map(|r| r.unwrap().key().unwrap().to_owned()).collect())
                .unwrap_or_default();
            (name, kind, keys)
        })
        .collect()
}

fn names(tar: &[u8]) -> Vec<String> {
    entries(tar).into_iter().map(|(n, _, _)| n).collect()
}

fn unpack_new(tar: &[u8], dir: &Path) {
    fs::create_dir(dir).unwrap();
    unpack_layer(tar, dir).unwrap();
}

fn whiteout_layer() -> Vec<u8> {
    let mut owned = Header::new_ustar();
    owned.set_entry_type(EntryType::Regular);
    owned.set_mode(0o600);
    owned.set_uid(1000);
    owned.set_gid(1001);
    TarBuf::new()
        .dir("a/")
        .raw(owned, "a/.wh.b", "", b"", &[])
        .dir("c/")
        .file("c/.wh..wh..opq", "")
        .file("c/y", "upper y")
        .file("d/.wh..wh..opq", "")
        .dir(".wh..wh.plnk/")
        .file(".wh..wh.plnk/123.456", "aufs hardlink store")
        .file(".wh..wh.aufs", "")
        .finish()
}

#[test]
fn whiteouts_become_overlayfs_whiteouts_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = tmp.path().join("layer");
    unpack_new(&whiteout_layer(), &layer);

    let b = fs::symlink_metadata(layer.join("a/b")).unwrap();
    assert!(b.file_type().is_char_device());
    assert_eq!(
        (b.rdev(), b.mode() & 0o7777, b.uid(), b.gid()),
        (0, 0, 1000, 1001)
    );
    assert!(!layer.join("a/.wh.b").exists());
    for opaque in ["c", "d"] {
        assert_eq!(
            xattr::get(layer.join(opaque), "trusted.overlay.opaque")
                .unwrap()
                .unwrap(),
            b"y"
        );
    }
    assert!(!layer.join("c/.wh..wh..opq").exists());
    assert!(!layer.join(".wh..wh.plnk").exists());
    assert!(!layer.join(".wh..wh.aufs").exists());

    // Packed as a layer: back to Docker whiteouts, no overlay xattrs.
    let mut tar = Vec::new();
    pack_dir(
        &layer,
        &mut tar,
        PackOptions {
            overlay_whiteouts: true,
        },
    )
    .unwrap();
    let listed = entries(&tar);
    assert_eq!(
        names(&tar),
        [
            "a/",
            "a/.wh.b",
            "c/",
            "c/.wh..wh..opq",
            "c/y",
            "d/",
            "d/.wh..wh..opq"
        ]
    );
    assert!(
        listed.iter().all(|(_, _, keys)| keys.is_empty()),
        "{listed:?}"
    );
    assert!(listed.iter().all(|(_, kind, _)| *kind != EntryType::Char));

    // Unpacked again: the same overlayfs tree.
    let again = tmp.path().join("again");
    unpack_new(&tar, &again);
    assert_eq!(scan(&again, None, true), scan(&layer, None, true));

    // Packed raw: the device and the xattr as they are.
    let mut raw = Vec::new();
    pack_dir(&layer, &mut raw, PackOptions::default()).unwrap();
    let listed = entries(&raw);
    assert!(
        listed.contains(&("a/b".into(), EntryType::Char, vec![])),
        "{listed:?}"
    );
    assert!(listed.contains(&(
        "c/".into(),
        EntryType::Directory,
        vec!["SCHILY.xattr.trusted.overlay.opaque".into()]
    )));
}

/// An overlay mount, unmounted on drop (even when the test fails).
struct Overlay(PathBuf);

impl Overlay {
    fn mount(target: &Path, options: &str) -> Overlay {
        fs::create_dir_all(target).unwrap();
        let options = CString::new(options).unwrap();
        rustix::mount::mount(
            "overlay",
            target,
            "overlay",
            MountFlags::empty(),
            options.as_c_str(),
        )
        .unwrap_or_else(|e| panic!("mounting overlay on {}: {e}", target.display()));
        Overlay(target.to_owned())
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, UnmountFlags::DETACH);
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn lower_layer() -> Vec<u8> {
    TarBuf::new()
        .dir("a/")
        .file("a/b", "lower b")
        .file("a/gone", "lower gone")
        .file("a/keep", "lower keep")
        .dir("c/")
        .file("c/x", "lower x")
        .finish()
}

#[test]
fn overlayfs_honours_unpacked_whiteouts() {
    let tmp = tempfile::tempdir().unwrap();
    let (l1, l2) = (tmp.path().join("l1"), tmp.path().join("l2"));
    unpack_new(&lower_layer(), &l1);
    unpack_new(&whiteout_layer(), &l2);
    let merged = tmp.path().join("merged");
    let _mount = Overlay::mount(
        &merged,
        &format!("lowerdir={}:{}", l2.display(), l1.display()),
    );
    assert_eq!(listing(&merged.join("a")), ["gone", "keep"]);
    assert_eq!(listing(&merged.join("c")), ["y"]);
}

#[test]
fn kernel_whiteouts_in_an_upper_dir_pack_as_docker_whiteouts() {
    let tmp = tempfile::tempdir().unwrap();
    let lower = tmp.path().join("lower");
    unpack_new(&lower_layer(), &lower);
    let (upper, work) = (tmp.path().join("upper"), tmp.path().join("work"));
    fs::create_dir(&upper).unwrap();
    fs::create_dir(&work).unwrap();
    let merged = tmp.path().join("merged");
    {
        let _mount = Overlay::mount(
            &merged,
            &format!(
                "lowerdir={},upperdir={},workdir={}",
                lower.display(),
                upper.display(),
                work.display()
            ),
        );
        fs::remove_file(merged.join("a/b")).unwrap();
        fs::remove_file(merged.join("a/gone")).unwrap();
        fs::remove_dir_all(merged.join("c")).unwrap();
        fs::create_dir(merged.join("c")).unwrap();
        fs::write(merged.join("c/new"), "new").unwrap();
    }

    let mut tar = Vec::new();
    pack_dir(
        &upper,
        &mut tar,
        PackOptions {
            overlay_whiteouts: true,
        },
    )
    .unwrap();
    let listed = entries(&tar);
    assert_eq!(
        names(&tar),
        [
            "a/",
            "a/.wh.b",
            "a/.wh.gone",
            "c/",
            "c/.wh..wh..opq",
            "c/new"
        ],
        "{listed:?}"
    );
    // Whiteouts the kernel shares as hardlinks are still whiteouts, not hardlinks.
    assert!(listed.iter().all(|(_, kind, _)| *kind != EntryType::Link));
    assert!(
        listed
            .iter()
            .all(|(_, _, keys)| keys.iter().all(|k| !k.contains("overlay"))),
        "{listed:?}"
    );

    // The packed diff, applied over the lower layer, gives what the container saw.
    let diff = tmp.path().join("diff");
    unpack_new(&tar, &diff);
    let merged2 = tmp.path().join("merged2");
    let _mount = Overlay::mount(
        &merged2,
        &format!("lowerdir={}:{}", diff.display(), lower.display()),
    );
    assert_eq!(listing(&merged2.join("a")), ["keep"]);
    assert_eq!(listing(&merged2.join("c")), ["new"]);
}
