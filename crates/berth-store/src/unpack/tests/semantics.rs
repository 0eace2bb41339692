//! Tar semantics: replacement, deferred directory mtimes, PAX records, stream accounting and
//! the entries a layer may not contain.

use std::fs;
use std::os::unix::fs::MetadataExt;

use tar::{EntryType, Header};

use super::{sha256, Sandbox, TarBuf, MTIME};
use crate::unpack::UnpackError;

#[test]
fn later_entries_replace_earlier_ones() {
    let sb = Sandbox::new();
    let tar = TarBuf::new()
        .file("x", "1")
        .dir("x/")
        .file("x/y", "2")
        .dir("d/")
        .file("d/f", "3")
        .file("d", "now a file")
        .file("s", "f")
        .symlink("s", "target")
        .symlink("t", "nowhere")
        .file("t", "file")
        .dir("m/")
        .entry(EntryType::Directory, "m/", "", 0o700, b"")
        .file("m/keep", "kept")
        .dir("m/")
        .finish();
    let stats = sb.unpack(&tar).unwrap();
    assert_eq!(stats.entries, 14);
    assert_eq!(fs::read_to_string(sb.dest.join("x/y")).unwrap(), "2");
    assert_eq!(fs::read_to_string(sb.dest.join("d")).unwrap(), "now a file");
    assert_eq!(
        fs::read_link(sb.dest.join("s")).unwrap().to_str(),
        Some("target")
    );
    assert_eq!(fs::read_to_string(sb.dest.join("t")).unwrap(), "file");
    let m = fs::metadata(sb.dest.join("m")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o755);
    assert_eq!(fs::read_to_string(sb.dest.join("m/keep")).unwrap(), "kept");
}

#[test]
fn directory_mtimes_are_set_after_their_contents() {
    let sb = Sandbox::new();
    let tar = TarBuf::new()
        .dir("m/")
        .file("m/f", "x")
        .file("m/sub/g", "implicit parent")
        .dir("gone/")
        .file("gone", "replaced the dir")
        .finish();
    sb.unpack(&tar).unwrap();
    let m = fs::metadata(sb.dest.join("m")).unwrap();
    assert_eq!((m.mtime(), m.mtime_nsec()), (MTIME as i64, 0));
    assert_eq!(
        fs::metadata(sb.dest.join("m/f")).unwrap().mtime(),
        MTIME as i64
    );
    assert!(fs::metadata(sb.dest.join("gone")).unwrap().is_file());
}

#[test]
fn pax_mtime_and_xattrs_apply_but_overlay_xattrs_do_not() {
    let sb = Sandbox::new();
    let mut header = Header::new_ustar();
    header.set_entry_type(EntryType::Regular);
    header.set_mode(0o644);
    let tar = TarBuf::new()
        .raw(
            header,
            "f",
            "",
            b"data",
            &[
                ("mtime", b"1600000000.25"),
                ("SCHILY.xattr.user.x", b"v"),
                ("SCHILY.xattr.trusted.overlay.redirect", b"/elsewhere"),
            ],
        )
        .finish();
    sb.unpack(&tar).unwrap();
    let path = sb.dest.join("f");
    let md = fs::metadata(&path).unwrap();
    assert_eq!((md.mtime(), md.mtime_nsec()), (1_600_000_000, 250_000_000));
    assert_eq!(xattr::get(&path, "user.x").unwrap().unwrap(), b"v");
    assert_eq!(xattr::get(&path, "trusted.overlay.redirect").unwrap(), None);
}

#[test]
fn root_entry_sets_the_layer_root_metadata() {
    let sb = Sandbox::new();
    let tar = TarBuf::new()
        .entry(EntryType::Directory, "./", "", 0o750, b"")
        .file("./a", "x")
        .finish();
    sb.unpack(&tar).unwrap();
    let md = fs::metadata(&sb.dest).unwrap();
    assert_eq!((md.mode() & 0o7777, md.mtime()), (0o750, MTIME as i64));

    let sb = Sandbox::new();
    let r = sb.unpack(&TarBuf::new().file("/", "x").finish());
    assert!(matches!(r, Err(UnpackError::Invalid { .. })), "{r:?}");
}

#[test]
fn unsupported_entries_are_refused_by_name() {
    for (kind, name) in [(b'V', "volume"), (b'7', "contiguous")] {
        let sb = Sandbox::new();
        let tar = TarBuf::new()
            .entry(EntryType::new(kind), name, "", 0o644, b"")
            .finish();
        match sb.unpack(&tar) {
            Err(e @ UnpackError::Unsupported { .. }) => {
                assert!(e.to_string().contains(&format!("{name:?}")), "{e}")
            }
            other => panic!("{other:?}"),
        }
        sb.assert_untouched();
    }
    let sb = Sandbox::new();
    let mut sparse = Header::new_gnu();
    sparse.set_entry_type(EntryType::GNUSparse);
    sparse.set_mode(0o644);
    let r = sb.unpack(&TarBuf::new().raw(sparse, "sparse", "", b"", &[]).finish());
    assert!(r.is_err(), "{r:?}");
}

#[test]
fn bad_whiteouts_and_hardlinks_are_refused() {
    for tar in [
        TarBuf::new().file(".wh.", ""),
        TarBuf::new().file("a/.wh..", ""),
        TarBuf::new().dir("d/").hardlink("l", "d"),
        TarBuf::new().hardlink("l", "."),
    ] {
        let sb = Sandbox::new();
        let r = sb.unpack(&tar.finish());
        assert!(matches!(r, Err(UnpackError::Invalid { .. })), "{r:?}");
    }
    let sb = Sandbox::new();
    let r = sb.unpack(&TarBuf::new().hardlink("l", "missing").finish());
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("\"l\"") && msg.contains("hardlink target"),
        "{msg}"
    );
}

#[test]
fn diff_id_covers_every_byte_up_to_eof() {
    let sb = Sandbox::new();
    let mut tar = TarBuf::new().file("a", "x").finish();
    tar.extend_from_slice(&[0; 9 * 512]);
    tar.extend_from_slice(b"trailing junk");
    let stats = sb.unpack(&tar).unwrap();
    assert_eq!(stats.diff_id, sha256(&tar));
    assert_eq!((stats.entries, stats.size), (1, 1));
}

#[test]
fn truncated_layers_fail() {
    let tar = TarBuf::new()
        .file("a", &"x".repeat(4096))
        .file("b", "y")
        .finish();
    for cut in [512 + 1000, 512 + 4096 + 100] {
        let sb = Sandbox::new();
        let r = sb.unpack(&tar[..cut]);
        assert!(matches!(r, Err(UnpackError::Tar(_))), "cut at {cut}: {r:?}");
    }
}

#[test]
fn pax_global_headers_are_skipped() {
    let sb = Sandbox::new();
    let tar = TarBuf::new()
        .entry(
            EntryType::XGlobalHeader,
            "pax_global_header",
            "",
            0o644,
            b"15 comment=hey\n",
        )
        .file("a", "x")
        .finish();
    let stats = sb.unpack(&tar).unwrap();
    assert_eq!(stats.entries, 1);
    assert!(!sb.dest.join("pax_global_header").exists());
}
