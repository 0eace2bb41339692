//! Malicious layers (after moby's pkg/archive breakout tests): each must fail or stay inside
//! `dest`, leaving the victim directory next to it untouched.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use tar::EntryType;

use super::{Sandbox, TarBuf};
use crate::unpack::{UnpackError, UnpackStats};

/// Unpacks the tar `build` makes in a fresh sandbox and checks the victim is untouched.
fn attack(build: impl FnOnce(&Sandbox) -> TarBuf) -> (Sandbox, Result<UnpackStats, UnpackError>) {
    let sb = Sandbox::new();
    let tar = build(&sb).finish();
    let result = sb.unpack(&tar);
    sb.assert_untouched();
    (sb, result)
}

/// A tar that starts with an in-layer copy of the victim's path (`dest/<victim abs path>/file`
/// and `…/sub/`), so symlinks to the victim resolve to something that exists in-root and the
/// attack's writes must visibly land there.
fn mirrored(sb: &Sandbox) -> TarBuf {
    let rel = sb.victim_rel();
    TarBuf::new()
        .dir(&format!("{rel}/sub/"))
        .file(&format!("{rel}/file"), "decoy\n")
}

fn assert_escape(result: Result<UnpackStats, UnpackError>, entry: &str) {
    match result {
        Err(e @ UnpackError::Escape { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("{entry:?}")), "{msg}");
            assert!(msg.contains("refusing to unpack"), "{msg}");
        }
        other => panic!("expected an escape error for {entry:?}, got {other:?}"),
    }
}

#[test]
fn dotdot_path_is_rejected() {
    let (_, r) = attack(|_| TarBuf::new().file("../victim/x", "pwned"));
    assert_escape(r, "../victim/x");
}

#[test]
fn dotdot_inside_path_is_rejected() {
    let (_, r) = attack(|_| TarBuf::new().dir("a/").file("a/../../victim/x", "pwned"));
    assert_escape(r, "a/../../victim/x");
}

#[test]
fn dotdot_in_pax_long_name_is_rejected() {
    let name = format!("../{}/victim/x", "a/..".repeat(30));
    let (_, r) = attack(|_| TarBuf::new().file(&name, "pwned"));
    assert_escape(r, &name);
}

#[test]
fn absolute_path_lands_inside() {
    let (sb, r) = attack(|sb| TarBuf::new().file(&format!("{}/x", sb.victim_abs()), "inside"));
    r.unwrap();
    let landed = sb.dest.join(sb.victim_rel()).join("x");
    assert_eq!(fs::read_to_string(landed).unwrap(), "inside");
}

#[test]
fn absolute_symlink_parent_resolves_inside() {
    let (sb, r) = attack(|sb| {
        mirrored(sb)
            .symlink("link", &sb.victim_abs())
            .file("link/evil", "inside")
    });
    r.unwrap();
    assert!(fs::symlink_metadata(sb.dest.join("link"))
        .unwrap()
        .is_symlink());
    let landed = sb.dest.join(sb.victim_rel()).join("evil");
    assert_eq!(fs::read_to_string(landed).unwrap(), "inside");
}

#[test]
fn relative_symlink_parent_resolves_inside() {
    let (sb, r) = attack(|_| {
        TarBuf::new()
            .dir("victim/")
            .symlink("link", "../victim")
            .file("link/evil", "inside")
    });
    r.unwrap();
    assert_eq!(
        fs::read_to_string(sb.dest.join("victim/evil")).unwrap(),
        "inside"
    );
}

#[test]
fn dotdot_symlink_chains_resolve_inside() {
    let (sb, r) = attack(|sb| {
        let rel = sb.victim_rel();
        TarBuf::new()
            .symlink("link", "../../../../../../../..")
            .file(&format!("link/{rel}/evil"), "one")
            .dir("a/")
            .dir("a/b/")
            .symlink("a/b/up", "../../../../../../..")
            .file(&format!("a/b/up/{rel}/file"), "two")
    });
    r.unwrap();
    let inside = sb.dest.join(sb.victim_rel());
    assert_eq!(fs::read_to_string(inside.join("evil")).unwrap(), "one");
    assert_eq!(fs::read_to_string(inside.join("file")).unwrap(), "two");
}

#[test]
fn root_symlink_cannot_overwrite_outside() {
    let (sb, r) = attack(|sb| {
        TarBuf::new()
            .symlink("root", "/")
            .file(&format!("root/{}/file", sb.victim_rel()), "pwned")
    });
    r.unwrap();
    let landed = sb.dest.join(sb.victim_rel()).join("file");
    assert_eq!(fs::read_to_string(landed).unwrap(), "pwned");
}

#[test]
fn hardlink_dotdot_target_is_rejected() {
    let (_, r) = attack(|_| TarBuf::new().hardlink("stolen", "../victim/file"));
    assert_escape(r, "stolen");
}

#[test]
fn hardlink_absolute_target_stays_inside() {
    let (sb, r) =
        attack(|sb| TarBuf::new().hardlink("stolen", &format!("{}/file", sb.victim_abs())));
    assert!(matches!(r, Err(UnpackError::Io { .. })), "{r:?}");
    assert!(!sb.dest.join("stolen").exists());
}

#[test]
fn hardlink_through_symlink_stays_inside() {
    let (sb, r) = attack(|sb| {
        mirrored(sb)
            .symlink("link", &sb.victim_abs())
            .hardlink("stolen", "link/file")
    });
    r.unwrap();
    assert_eq!(
        fs::read_to_string(sb.dest.join("stolen")).unwrap(),
        "decoy\n"
    );
}

#[test]
fn dangling_escaping_symlinks_fail() {
    let (sb, r) = attack(|sb| {
        TarBuf::new()
            .symlink("link", &sb.victim_abs())
            .hardlink("stolen", "link/file")
    });
    assert!(matches!(r, Err(UnpackError::Io { .. })), "{r:?}");
    assert!(!sb.dest.join("stolen").exists());
    let (_, r) = attack(|sb| {
        TarBuf::new()
            .symlink("link", &sb.victim_abs())
            .file("link/evil", "x")
    });
    assert!(matches!(r, Err(UnpackError::Io { .. })), "{r:?}");
}

#[test]
fn hardlink_created_through_symlink_stays_inside() {
    let (sb, r) = attack(|sb| {
        mirrored(sb)
            .symlink("link", &sb.victim_abs())
            .file("a", "mine")
            .hardlink("link/hl", "a")
    });
    r.unwrap();
    let landed = sb.dest.join(sb.victim_rel()).join("hl");
    assert_eq!(
        fs::metadata(landed).unwrap().ino(),
        fs::metadata(sb.dest.join("a")).unwrap().ino()
    );
}

#[test]
fn hardlink_to_escaping_symlink_then_write_through_it() {
    let (sb, r) = attack(|sb| {
        TarBuf::new()
            .symlink("sym", &format!("{}/file", sb.victim_abs()))
            .hardlink("hl", "sym")
            .file("hl", "pwned")
            .file("sym", "pwned too")
    });
    r.unwrap();
    assert_eq!(fs::read_to_string(sb.dest.join("hl")).unwrap(), "pwned");
    assert_eq!(
        fs::read_to_string(sb.dest.join("sym")).unwrap(),
        "pwned too"
    );
}

#[test]
fn hardlinked_escaping_symlink_as_parent_fails_inside() {
    let (_, r) = attack(|sb| {
        TarBuf::new()
            .symlink("sym", &format!("{}/file", sb.victim_abs()))
            .hardlink("hl", "sym")
            .file("hl/x", "pwned")
    });
    assert!(r.is_err());
}

#[test]
fn symlink_named_like_a_later_parent() {
    let (sb, r) = attack(|sb| {
        mirrored(sb)
            .symlink("d", &sb.victim_abs())
            .dir("d/sub/")
            .file("d/sub/f", "inside")
            .dir("d/")
    });
    r.unwrap();
    let landed = sb.dest.join(sb.victim_rel()).join("sub/f");
    assert_eq!(fs::read_to_string(landed).unwrap(), "inside");
    assert!(fs::symlink_metadata(sb.dest.join("d")).unwrap().is_dir());
}

#[test]
fn chmod_chown_and_utime_never_follow_symlinks() {
    let (sb, r) = attack(|sb| {
        let victim = sb.victim_abs();
        let mut owned = tar::Header::new_ustar();
        owned.set_entry_type(EntryType::Regular);
        owned.set_mode(0o4777);
        owned.set_uid(1234);
        owned.set_gid(1234);
        owned.set_mtime(1);
        TarBuf::new()
            .symlink("flink", &format!("{victim}/file"))
            .raw(owned.clone(), "flink", "", b"mine", &[])
            .symlink("dlink", &victim)
            .entry(EntryType::Directory, "dlink/", "", 0o777, b"")
            .symlink("clink", &format!("{victim}/file"))
            .entry(EntryType::Char, "clink", "", 0o777, b"")
            .symlink("slink", &format!("{victim}/file"))
            .raw(
                {
                    let mut h = owned;
                    h.set_entry_type(EntryType::Symlink);
                    h
                },
                "slink",
                &format!("{victim}/file"),
                b"",
                &[],
            )
    });
    r.unwrap();
    assert_eq!(
        fs::symlink_metadata(sb.dest.join("flink")).unwrap().mode() & 0o7777,
        0o4777
    );
    assert!(fs::symlink_metadata(sb.dest.join("dlink"))
        .unwrap()
        .is_dir());
    assert_eq!(
        fs::symlink_metadata(sb.dest.join("slink")).unwrap().uid(),
        1234
    );
}

#[test]
fn device_through_symlink_parent_stays_inside() {
    let (sb, r) = attack(|sb| {
        mirrored(sb)
            .symlink("link", &sb.victim_abs())
            .entry(EntryType::Fifo, "link/fifo", "", 0o644, b"")
            .entry(EntryType::Block, "link/blk", "", 0o600, b"")
    });
    r.unwrap();
    assert!(sb.dest.join(sb.victim_rel()).join("fifo").exists());
}

#[test]
fn whiteouts_through_symlink_stay_inside() {
    let (sb, r) = attack(|sb| {
        mirrored(sb)
            .symlink("link", &sb.victim_abs())
            .file("link/.wh.file", "")
            .file("link/.wh..wh..opq", "")
            .symlink("sub", &format!("{}/sub", sb.victim_abs()))
            .file("sub/.wh..wh..opq", "")
    });
    r.unwrap();
    let inside = sb.dest.join(sb.victim_rel());
    assert_eq!(
        xattr::get(&inside, "trusted.overlay.opaque")
            .unwrap()
            .unwrap(),
        b"y"
    );
    assert_eq!(fs::symlink_metadata(inside.join("file")).unwrap().rdev(), 0);
}

/// Set for the child process that runs the `/etc` attack in its own mount namespace, to the
/// parent's mount namespace (which the child checks it is not in).
const ETC_SANDBOX_ENV: &str = "BERTH_UNPACK_ETC_SANDBOX";

/// A layer aiming at the host's `/etc/passwd` through symlinks. A regression here would
/// overwrite the real file of whoever runs the tests as root, so the attack runs in a child
/// process in a private mount namespace whose `/etc` is a scratch copy: whatever the code
/// does, the host's `/etc` is out of its reach.
#[test]
fn host_etc_passwd_is_never_written() {
    let inner = format!(
        "{}::etc_passwd_attack_in_private_namespace",
        module_path!().split_once("::").unwrap().1
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([&inner, "--exact", "--ignored", "--test-threads=1"])
        .env(ETC_SANDBOX_ENV, fs::read_link("/proc/self/ns/mnt").unwrap())
        .output()
        .expect("running the attack under unshare(1)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}\n{stderr}");
}

#[test]
#[ignore = "run by host_etc_passwd_is_never_written, in a private mount namespace"]
fn etc_passwd_attack_in_private_namespace() {
    let Some(parent_ns) = std::env::var_os(ETC_SANDBOX_ENV) else {
        return;
    };
    // Never run the attack in the parent's (the host's) mount namespace.
    let own_ns = fs::read_link("/proc/self/ns/mnt").unwrap();
    assert_ne!(
        own_ns.as_os_str(),
        parent_ns,
        "not in a private mount namespace"
    );
    let scratch = tempfile::tempdir().unwrap();
    fs::copy("/etc/passwd", scratch.path().join("passwd")).unwrap();
    rustix::mount::mount_bind(scratch.path(), "/etc").unwrap();

    let before = fs::read("/etc/passwd").unwrap();
    let md_before = fs::symlink_metadata("/etc/passwd").unwrap();
    let (sb, r) = attack(|_| {
        TarBuf::new()
            .dir("etc/")
            .symlink("link", "/etc")
            .file("link/passwd", "root::0:0::/:/bin/sh\n")
            .symlink("up", "../../../../../../etc")
            .file("up/passwd", "again\n")
            .file("/etc/passwd", "absolute\n")
            .hardlink("passwd-link", "/etc/passwd")
    });
    r.unwrap();
    assert_eq!(fs::read("/etc/passwd").unwrap(), before);
    let md_after = fs::symlink_metadata("/etc/passwd").unwrap();
    assert_eq!(
        (
            md_after.ino(),
            md_after.mode(),
            md_after.uid(),
            md_after.nlink(),
            md_after.mtime()
        ),
        (
            md_before.ino(),
            md_before.mode(),
            md_before.uid(),
            md_before.nlink(),
            md_before.mtime()
        )
    );
    assert_eq!(
        fs::read_to_string(sb.dest.join("etc/passwd")).unwrap(),
        "absolute\n"
    );
    assert_eq!(
        fs::metadata(sb.dest.join("passwd-link")).unwrap().ino(),
        fs::metadata(sb.dest.join("etc/passwd")).unwrap().ino()
    );

    // In-root, `etc -> /etc` at the top is a loop.
    let (_, r) = attack(|_| TarBuf::new().symlink("etc", "/etc").file("etc/passwd", "x"));
    assert!(matches!(r, Err(UnpackError::Io { .. })), "{r:?}");
    assert_eq!(fs::read("/etc/passwd").unwrap(), before);
}
