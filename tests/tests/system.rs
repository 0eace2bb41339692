//! System-wide commands: `system df` against `du`, `docker system prune -a --volumes -f`
//! emptying a used engine, `berth system prune`, and the start-up consistency check
//! (berthd killed with SIGKILL, garbage planted, restarted on the same data root).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use berth_tests::ContainerCleanup as Cleanup;
use berth_tests::*;

/// `du -sb`-like: bytes of the regular files under `dir`, each hard link counted once.
fn du(dir: &Path, skip: &[&str]) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if skip.iter().any(|s| e.file_name() == *s) && d == dir {
                continue;
            }
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() && seen.insert((m.dev(), m.ino())) {
                total += m.len();
            }
        }
    }
    total
}

/// Every file (not directory) left under `dir`, relative.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The sum `system df` reports: layers, containers' writable layers, volumes.
fn df_total(d: &Daemon) -> i64 {
    let df = d.http("GET", "/system/df", None).json();
    let mut total = df["LayersSize"].as_i64().unwrap();
    for c in df["Containers"].as_array().unwrap() {
        total += c["SizeRw"].as_i64().unwrap_or(0);
    }
    for v in df["Volumes"].as_array().unwrap() {
        total += v["UsageData"]["Size"].as_i64().unwrap_or(0).max(0);
    }
    total
}

/// An engine in use: a built image with a big layer, a stopped container that wrote
/// data, a running one, named and anonymous volumes with data, a user network.
fn use_engine(d: &Daemon, tag: &str) {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM busybox\nRUN head -c 12000000 /dev/urandom > /big\nRUN echo step > /step\n",
    )
    .unwrap();
    ok(d.docker().args([
        "build",
        "-q",
        "-t",
        &format!("{tag}img"),
        ctx.path().to_str().unwrap(),
    ]));
    ok(d.docker().args(["network", "create", &format!("{tag}net")]));
    ok(d.docker().args([
        "run",
        "--name",
        &format!("{tag}writer"),
        "-v",
        &format!("{tag}vol:/data"),
        "-v",
        "/anon",
        &format!("{tag}img"),
        "sh",
        "-c",
        "head -c 6000000 /dev/urandom > /written; head -c 5000000 /dev/urandom > /data/v; head -c 3000000 /dev/urandom > /anon/a",
    ]));
    ok(d.docker().args([
        "run",
        "-d",
        "--name",
        &format!("{tag}runner"),
        "--network",
        &format!("{tag}net"),
        "busybox",
        "sleep",
        "300",
    ]));
}

#[test]
fn system_df_matches_du_and_system_prune_empties_the_engine() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    use_engine(&d, "sp");
    let root = d.data_root.clone();

    // df counts what the data root holds (the DB and berth's own files aside).
    let df = df_total(&d) as f64;
    let disk = du(&root, &["berth.db", "berth.db-wal", "berth.db-shm"]) as f64;
    assert!(
        (df - disk).abs() / disk < 0.05,
        "system df says {df} bytes, du {disk}"
    );
    let text = ok(d.docker().args(["system", "df"]));
    assert!(
        text.contains("Images") && text.contains("Local Volumes"),
        "{text}"
    );
    let verbose = ok(d.docker().args(["system", "df", "-v"]));
    assert!(
        verbose.contains("spwriter") && verbose.contains("spvol"),
        "{verbose}"
    );

    // Everything not in use goes; the running container keeps busybox and its network.
    let out = ok(d
        .docker()
        .args(["system", "prune", "-a", "--volumes", "-f"]));
    assert!(out.contains("Deleted Containers:"), "{out}");
    assert!(out.contains("Deleted Volumes:"), "{out}");
    // Since API 1.42 (docker 23+) a prune leaves named volumes (dockerd too); older
    // clients' prunes removed every unused one, which berth keeps for them.
    ok(d.docker().args(["volume", "inspect", "spvol"]));
    let old = d.http("POST", "/v1.41/volumes/prune", None).json();
    assert_eq!(old["VolumesDeleted"], serde_json::json!(["spvol"]), "{old}");
    assert!(
        old["SpaceReclaimed"].as_i64().unwrap() >= 5_000_000,
        "{old}"
    );
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert!(!out.contains("Total reclaimed space: 0B"), "{out}");
    let images = ok(d
        .docker()
        .args(["images", "-a", "--format", "{{.Repository}}"]));
    assert_eq!(images.trim(), "busybox");

    // With the last container gone, a second prune leaves nothing but berth's own files.
    ok(d.docker().args(["rm", "-f", "sprunner"]));
    let out = ok(d
        .docker()
        .args(["system", "prune", "-a", "--volumes", "-f"]));
    assert!(out.contains("Deleted Networks:\nspnet"), "{out}");
    assert_eq!(ok(d.docker().args(["images", "-aq"])).trim(), "");
    let left: Vec<PathBuf> = files_under(&root)
        .into_iter()
        .filter(|p| {
            let s = p.to_string_lossy();
            !s.starts_with("berth.") // DB, its WAL, the lock
                && !s.starts_with("network/")
                && !s.starts_with("netns/")
        })
        .collect();
    assert!(left.is_empty(), "left in the data root: {left:?}");
    assert!(du(&root, &["berth.db", "berth.db-wal", "berth.db-shm"]) < 64 * 1024);
    assert_eq!(df_total(&d), 0);
}

#[test]
fn berth_system_prune_prints_dockers_summary() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    use_engine(&d, "bp");
    ok(d.docker().args(["rm", "-f", "bprunner"]));
    ok(d.docker().args([
        "run", "--name", "bpkeep", "--label", "keep=1", "busybox", "true",
    ]));
    let v = ok(d.berth().args(["system", "df", "-v"]));
    assert!(
        v.contains("Containers space usage") && v.contains("bpwriter"),
        "{v}"
    );
    let summary = ok(d.berth().args(["system", "df"]));
    let containers = summary
        .lines()
        .find(|l| l.starts_with("Containers"))
        .unwrap();
    assert!(!containers.contains(" 0B"), "{summary}");
    let out = ok(d
        .berth()
        .args(["system", "prune", "-f", "--filter", "label!=keep"]));
    assert!(out.contains("Deleted Containers:"), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    // Labelled containers stay, volumes without --volumes too; tagged images without -a.
    ok(d.docker().args(["inspect", "bpkeep"]));
    ok(d.docker().args(["volume", "inspect", "bpvol"]));
    ok(d.docker().args(["image", "inspect", "bpimg"]));
    let out = ok(d.berth().args(["system", "prune", "-a", "--volumes", "-f"]));
    assert!(out.contains("Deleted Volumes:"), "{out}");
    assert!(out.contains("Deleted Images:"), "{out}");
    // Like docker 23+: anonymous volumes only; the named one stays.
    ok(d.docker().args(["volume", "inspect", "bpvol"]));
    assert_eq!(ok(d.docker().args(["volume", "ls", "-q"])).trim(), "bpvol");
    assert_eq!(ok(d.docker().args(["images", "-aq"])).trim(), "");
}

/// Plants the garbage a crash leaves, kills berthd, restarts it: all found and cleaned.
#[test]
fn the_start_up_check_cleans_what_a_crash_left() {
    let mut d = daemon_with_busybox();
    let cleanup = Cleanup(&d);
    ok(d.docker()
        .args(["run", "-d", "--name", "ckrun", "busybox", "sleep", "300"]));
    ok(d.docker()
        .args(["run", "--name", "ckstopped", "busybox", "true"]));
    let stopped = ok(d.docker().args(["inspect", "-f", "{{.Id}}", "ckstopped"]))
        .trim()
        .to_string();
    let root = d.data_root.clone();
    let containers = root.join("containers");

    // An orphaned container dir (no record), with a mounted rootfs.
    let orphan = format!("{:064x}", 0xdead_beefu64);
    let orphan_dir = containers.join(&orphan);
    std::fs::create_dir_all(orphan_dir.join("rootfs")).unwrap();
    std::fs::create_dir_all(orphan_dir.join("upper")).unwrap();
    std::fs::write(orphan_dir.join("upper/f"), "x").unwrap();
    mount_tmpfs(&orphan_dir.join("rootfs"));
    // A stale mount of a stopped container's rootfs.
    let stale_rootfs = containers.join(&stopped).join("rootfs");
    std::fs::create_dir_all(&stale_rootfs).unwrap();
    mount_tmpfs(&stale_rootfs);
    // A stale cgroup of the stopped container, and a stale shim pid file.
    let cgroup = stale_cgroup_dir(&stopped);
    std::fs::create_dir_all(&cgroup).unwrap();
    let shim_dir = containers.join(&stopped).join("shim");
    std::fs::create_dir_all(&shim_dir).unwrap();
    std::fs::write(shim_dir.join("shim.pid"), "999999\n").unwrap();
    std::fs::write(shim_dir.join("shim.sock"), "").unwrap();
    // An orphaned layer dir and blob.
    let layer = root.join("layers").join(format!("{:064x}", 0x1a7e4u64));
    std::fs::create_dir_all(&layer).unwrap();
    std::fs::write(layer.join("file"), "layer").unwrap();
    let blob = root
        .join("blobs/sha256")
        .join(format!("{:064x}", 0xb10bu64));
    std::fs::write(&blob, "blob").unwrap();

    // The dry run says what it would do and changes nothing.
    let dry = ok(d.berth().args(["system", "check"]));
    assert!(dry.contains(&orphan), "{dry}");
    assert!(dry.contains("would"), "{dry}");
    assert!(orphan_dir.exists() && mounts_under(&orphan_dir) == 1);

    std::mem::forget(cleanup);
    d.signal(nix::sys::signal::Signal::SIGKILL);
    d.wait_exit(Duration::from_secs(10));
    let d2 = Daemon::builder()
        .arg("--data-root")
        .arg(root.display().to_string())
        .start();
    let _cleanup = Cleanup(&d2);
    let log = d2.log_text();
    assert!(!orphan_dir.exists(), "{log}");
    assert_eq!(mounts_under(&orphan_dir), 0);
    assert_eq!(mounts_under(&stale_rootfs), 0, "{log}");
    assert!(!cgroup.exists(), "{log}");
    assert!(!shim_dir.join("shim.pid").exists() && !shim_dir.join("shim.sock").exists());
    assert!(!layer.exists() && !blob.exists(), "{log}");
    for what in [
        format!("orphaned container directory {orphan}"),
        format!("stale mount {}", stale_rootfs.display()),
        format!("stale cgroup {}", cgroup.display()),
        "orphaned layer directory".to_string(),
        "orphaned blob".to_string(),
    ] {
        assert!(log.contains(&what), "no log line for {what}:\n{log}");
    }
    // What is in use survived.
    assert_eq!(
        ok(d2
            .docker()
            .args(["inspect", "-f", "{{.State.Status}}", "ckrun"]))
        .trim(),
        "running"
    );
    assert_eq!(
        ok(d2.docker().args(["exec", "ckrun", "echo", "hi"])),
        "hi\n"
    );
    ok(d2.docker().args(["start", "-a", "ckstopped"]));
    let again = ok(d2.berth().args(["system", "check"]));
    assert!(again.contains("nothing to do"), "{again}");
}

fn mount_tmpfs(at: &Path) {
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "berth-test", at.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Where berth puts a container's cgroup on this host (v2: one tree; v1: per controller,
/// the memory one is enough for the test).
fn stale_cgroup_dir(id: &str) -> PathBuf {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").exists() {
        base.join("berth").join(id)
    } else {
        base.join("memory/berth").join(id)
    }
}

/// Kill berthd with SIGKILL at varying points while it builds, runs and loads images, a few
/// times over on one data root: after each restart the start-up check has left a store that
/// a dry-run check finds consistent, and the engine still builds and runs.
#[test]
fn sigkill_during_builds_runs_and_loads_leaves_a_consistent_store() {
    let first = daemon_with_busybox();
    let root = first.data_root.display().to_string();
    let ctx = first.dir().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("blob"), vec![7u8; 4 << 20]).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nCOPY blob /blob\nRUN sleep 0.3 && cp /blob /blob2\nRUN echo done > /done\n",
    )
    .unwrap();
    let archive = first.dir().join("bb.tar");
    ok(first
        .berth()
        .args(["save", "-o", archive.to_str().unwrap(), "busybox"]));
    let mut daemons = vec![first];
    // Kill points spread over the work: early, mid-build, late.
    for (round, delay_ms) in [150u64, 600, 1100].into_iter().enumerate() {
        let d = daemons.last().unwrap();
        let tag = format!("crash{round}:1");
        let mut build = d
            .docker()
            .env("DOCKER_BUILDKIT", "0")
            .args([
                "build",
                "--no-cache",
                "-q",
                "-t",
                &tag,
                ctx.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut run = d
            .docker()
            .args(["run", "-d", "busybox", "sh", "-c", "echo x > /x; sleep 30"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut load = d
            .berth()
            .args(["load", "-i", archive.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        d.signal(nix::sys::signal::Signal::SIGKILL);
        for c in [&mut build, &mut run, &mut load] {
            let _ = c.wait();
        }
        let mut old = daemons.pop().unwrap();
        old.wait_exit(Duration::from_secs(10));
        let d2 = Daemon::builder().arg("--data-root").arg(&root).start();
        // The start-up check ran before serving: a dry run now finds nothing to do.
        let out = ok(d2.berth().args(["system", "check"]));
        assert_eq!(
            out.trim(),
            "The data root is consistent: nothing to do.",
            "round {round}: {}",
            d2.log_text()
        );
        // And the engine works on that store.
        assert_eq!(
            ok(d2
                .docker()
                .args(["run", "--rm", "busybox", "echo", "alive"])),
            "alive\n"
        );
        daemons.push(old);
        daemons.push(d2);
    }
    let last = daemons.last().unwrap();
    let _cleanup = Cleanup(last);
    ok(last.docker().env("DOCKER_BUILDKIT", "0").args([
        "build",
        "-q",
        "-t",
        "after:1",
        ctx.to_str().unwrap(),
    ]));
    assert_eq!(
        ok(last
            .docker()
            .args(["run", "--rm", "after:1", "cat", "/done"])),
        "done\n"
    );
}
