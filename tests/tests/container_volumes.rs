//! Volumes, bind mounts and tmpfs in containers, through the real docker CLI (create +
//! start + wait + logs) and raw HTTP; volume plugins with the test plugin
//! `tests/plugins/volume_plugin.py`; and the symlink escape a hostile image could try.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use berth_tests::images::busybox_rootfs;
use berth_tests::*;

use berth_tests::ContainerCleanup as Cleanup;

/// The test plugin, killed by its PID when dropped.
struct PluginProcess {
    child: Child,
    log: PathBuf,
    data: PathBuf,
}

impl PluginProcess {
    fn start(dir: &Path, name: &str) -> PluginProcess {
        let plugins = dir.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        let sock = plugins.join(format!("{name}.sock"));
        let data = dir.join("plugin-data");
        let log = dir.join("plugin.log");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/volume_plugin.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(&sock)
            .arg(&data)
            .arg(&log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the test plugin (python3)");
        let p = PluginProcess { child, log, data };
        assert!(
            wait_until(Duration::from_secs(10), || sock.exists()),
            "the test plugin did not create {}",
            sock.display()
        );
        p
    }

    /// Every call so far: (method, request).
    fn calls(&self) -> Vec<(String, serde_json::Value)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["call"].as_str().unwrap().to_string(), v["req"].clone())
            })
            .collect()
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Imports busybox (plus `extra` files, dirs and symlinks) as `tag`, with `changes`.
fn import(d: &Daemon, tag: &str, extra: &[(&str, Option<&str>, Option<&str>)], changes: &[&str]) {
    let base = busybox_rootfs(d.dir());
    let out = d
        .dir()
        .join(format!("{}.tar", tag.replace([':', '/'], "_")));
    let mut b = tar::Builder::new(std::fs::File::create(&out).unwrap());
    let mut a = tar::Archive::new(std::fs::File::open(&base).unwrap());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        b.append(&h, &mut e).unwrap();
    }
    // (path, file content, symlink target); neither: a directory.
    for (path, content, link) in extra {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        match (content, link) {
            (Some(c), _) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(c.len() as u64);
                b.append_data(&mut h, path, c.as_bytes()).unwrap();
            }
            (None, Some(target)) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
            (None, None) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, path, &[][..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap().flush().unwrap();
    let mut cmd = d.docker();
    cmd.arg("import");
    for c in changes {
        cmd.args(["--change", c]);
    }
    ok(cmd.args([out.to_str().unwrap(), tag]));
}

/// `docker create ARGS`, then start, wait and logs; returns (container ID, output).
fn run(d: &Daemon, args: &[&str]) -> (String, String) {
    let id = ok(d.docker().arg("create").args(args)).trim().to_string();
    ok(d.docker().args(["start", &id]));
    ok(d.docker().args(["wait", &id]));
    let (code, out, err) =
        run_with_timeout(d.docker().args(["logs", &id]), Duration::from_secs(30));
    assert_eq!(code, Some(0), "{err}");
    (id, format!("{out}{err}"))
}

fn inspect(d: &Daemon, id: &str) -> serde_json::Value {
    let r = d.http("GET", &format!("/containers/{id}/json"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// No mount under the daemon's temp dir (or `extra`) is left in this mount namespace.
fn assert_no_mounts_under(paths: &[&Path]) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for p in paths {
        let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        assert!(
            !info.contains(&p.display().to_string()),
            "mounts left under {}:\n{info}",
            p.display()
        );
    }
}

#[test]
fn volumes_binds_and_tmpfs_through_the_docker_cli() {
    let d = Daemon::builder().arg("-D").start();
    let cleanup = Cleanup(&d);
    import(
        &d,
        "seeded:latest",
        &[
            ("seed", None, None),
            ("seed/hello.txt", Some("from image\n"), None),
        ],
        &["VOLUME /seed"],
    );
    ok(d.docker().args([
        "import",
        busybox_rootfs(d.dir()).to_str().unwrap(),
        "busybox:latest",
    ]));

    // A named volume is filled from the image, and what one container writes the next reads.
    let (w1, out) = run(
        &d,
        &[
            "-v",
            "data:/seed",
            "seeded",
            "sh",
            "-c",
            "cat /seed/hello.txt; echo written > /seed/new.txt",
        ],
    );
    assert_eq!(out, "from image\n");
    let vol: serde_json::Value =
        serde_json::from_str(&ok(d.docker().args(["volume", "inspect", "data"]))).unwrap();
    let mountpoint = vol[0]["Mountpoint"].as_str().unwrap().to_string();
    let mounts = &inspect(&d, &w1)["Mounts"];
    assert_eq!(
        mounts,
        &serde_json::json!([{"Type": "volume", "Name": "data", "Source": mountpoint,
            "Destination": "/seed", "Driver": "local", "Mode": "z", "RW": true,
            "Propagation": ""}]),
        "the named volume replaces the image's anonymous one"
    );
    let (r1, out) = run(
        &d,
        &[
            "-v",
            "data:/data:ro",
            "busybox",
            "cat",
            "/data/new.txt",
            "/data/hello.txt",
        ],
    );
    assert_eq!(out, "written\nfrom image\n");
    assert_eq!(inspect(&d, &r1)["Mounts"][0]["RW"], false);

    // In use: not removable, not dangling.
    let (_, msg) = fails(d.docker().args(["volume", "rm", "data"]));
    assert!(msg.contains("volume is in use"), "{msg}");
    let r = d.http("DELETE", "/volumes/data", None);
    assert_eq!(r.status, 409);
    let mut users = [w1.clone(), r1.clone()];
    users.sort();
    assert_eq!(
        r.json()["message"],
        format!(
            "remove data: volume is in use - [{}, {}]",
            users[0], users[1]
        )
    );
    ok(d.docker().args(["volume", "create", "spare"]));
    let dangling = ok(d
        .docker()
        .args(["volume", "ls", "-q", "-f", "dangling=true"]));
    assert!(
        dangling.contains("spare") && !dangling.contains("data"),
        "{dangling}"
    );
    let used = ok(d
        .docker()
        .args(["volume", "ls", "-q", "-f", "dangling=false"]));
    assert_eq!(used.trim(), "data");

    // Bind mounts: read-only enforced; a missing `-v` host path is created, a missing
    // `--mount` source is an error.
    let host = d.dir().join("hostdir");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "host file\n").unwrap();
    let created = d.dir().join("made/by/start");
    let (b1, out) = run(
        &d,
        &[
            "-v",
            &format!("{}:/h:ro", host.display()),
            "-v",
            &format!("{}:/n", created.display()),
            "busybox",
            "sh",
            "-c",
            "cat /h/f; touch /h/x || echo refused; echo ok > /n/w",
        ],
    );
    assert!(out.starts_with("host file\n"), "{out}");
    assert!(
        out.contains("Read-only file system") && out.contains("refused"),
        "{out}"
    );
    assert!(!host.join("x").exists());
    assert_eq!(std::fs::read_to_string(created.join("w")).unwrap(), "ok\n");
    let m = &inspect(&d, &b1)["Mounts"][0];
    assert_eq!(
        (
            m["Type"].as_str(),
            m["Mode"].as_str(),
            m["RW"].as_bool(),
            m["Propagation"].as_str()
        ),
        (Some("bind"), Some("ro"), Some(false), Some("rprivate"))
    );
    let missing = d.dir().join("nope");
    let (_, msg) = fails(d.docker().args([
        "create",
        "--mount",
        &format!("type=bind,source={},target=/x", missing.display()),
        "busybox",
        "true",
    ]));
    assert!(
        msg.contains(&format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            missing.display()
        )),
        "{msg}"
    );
    let (_, msg) = fails(
        d.docker()
            .args(["create", "-v", "a1:/x", "-v", "a2:/x", "busybox", "true"]),
    );
    assert!(msg.contains("Duplicate mount point: /x"), "{msg}");

    // tmpfs of the asked size, from --tmpfs and --mount.
    let (t1, out) = run(
        &d,
        &[
            "--tmpfs",
            "/t:size=1m",
            "--mount",
            "type=tmpfs,target=/t2,tmpfs-size=2097152,tmpfs-mode=1770",
            "busybox",
            "sh",
            "-c",
            "grep -E ' /t2? ' /proc/mounts; stat -c %a /t2",
        ],
    );
    assert!(
        out.contains("tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k"),
        "{out}"
    );
    assert!(
        out.contains("tmpfs /t2 tmpfs") && out.contains("size=2048k"),
        "{out}"
    );
    assert!(out.ends_with("1770\n"), "{out}");
    let m = &inspect(&d, &t1)["Mounts"];
    assert_eq!(
        m.as_array().unwrap().len(),
        1,
        "only --mount tmpfs is listed: {m}"
    );
    assert_eq!(m[0]["Type"], "tmpfs");

    // The image's VOLUME and `-v /path` make anonymous volumes; `rm -v` removes them.
    let (a1, out) = run(
        &d,
        &[
            "-v",
            "/scratch",
            "seeded",
            "sh",
            "-c",
            "ls /seed; echo s > /scratch/s",
        ],
    );
    assert_eq!(out, "hello.txt\n");
    let mounts = inspect(&d, &a1)["Mounts"].clone();
    let names: Vec<String> = mounts
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["Type"], "volume");
            assert_eq!(m["Driver"], "local");
            m["Name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(names.len(), 2, "{mounts}");
    for n in &names {
        assert_eq!(n.len(), 64);
        assert!(n.chars().all(|c| c.is_ascii_hexdigit()));
        let v: serde_json::Value =
            serde_json::from_str(&ok(d.docker().args(["volume", "inspect", n]))).unwrap();
        assert_eq!(
            v[0]["Labels"],
            serde_json::json!({}),
            "Docker 20.10: no labels"
        );
    }
    ok(d.docker().args(["rm", "-v", &a1]));
    let ls = ok(d.docker().args(["volume", "ls", "-q"]));
    for n in &names {
        assert!(!ls.contains(n.as_str()), "{ls}");
    }

    // --volumes-from: the same volumes, read-only on request.
    let (_, out) = run(
        &d,
        &[
            "--volumes-from",
            &format!("{w1}:ro"),
            "busybox",
            "sh",
            "-c",
            "cat /seed/new.txt; touch /seed/y || echo refused",
        ],
    );
    assert!(
        out.starts_with("written\n") && out.contains("refused"),
        "{out}"
    );

    // With every container gone the volume may go.
    drop(cleanup);
    ok(d.docker().args(["volume", "rm", "data", "spare"]));
    assert!(!Path::new(&mountpoint).exists());
    assert_no_mounts_under(&[d.dir()]);
}

#[test]
fn a_symlinked_mount_target_stays_inside_the_container() {
    let d = Daemon::builder().arg("-D").start();
    let _cleanup = Cleanup(&d);
    // A host directory the image points at with absolute symlinks.
    let victim = d.dir().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::create_dir_all(victim.join("sub")).unwrap();
    std::fs::write(victim.join("secret"), "host secret\n").unwrap();
    std::fs::write(victim.join("sub/secret2"), "host secret\n").unwrap();
    let victim_s = victim.display().to_string();
    import(
        &d,
        "hostile:latest",
        &[
            ("escape", None, Some(&victim_s)),
            ("up", None, Some("../../../..")),
        ],
        &[],
    );
    let bind_src = d.dir().join("bindsrc");
    std::fs::create_dir_all(&bind_src).unwrap();
    let (id, out) = run(
        &d,
        &[
            "-v",
            "esc:/escape/sub",
            "--mount",
            &format!(
                "type=bind,source={},target=/up/{}/b",
                bind_src.display(),
                victim_s.trim_start_matches('/')
            ),
            "--tmpfs",
            "/escape/t",
            "hostile",
            "sh",
            "-c",
            "ls -A /escape/sub; echo inside > /escape/sub/w; echo b > /escape/b/f",
        ],
    );
    // Every target resolved inside the container: the volume at its own copy of the host
    // path (empty: nothing of the host was copied into it), the bind (reached through
    // `..` links) and the tmpfs inside that; nothing landed in the host directory.
    assert!(!out.contains("secret"), "{out}");
    assert_eq!(std::fs::read_to_string(bind_src.join("f")).unwrap(), "b\n");
    let mut left: Vec<String> = std::fs::read_dir(&victim)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["secret", "sub"], "the host directory was written to");
    assert_eq!(
        std::fs::read_dir(victim.join("sub")).unwrap().count(),
        1,
        "the host directory was written to"
    );
    let vol: serde_json::Value =
        serde_json::from_str(&ok(d.docker().args(["volume", "inspect", "esc"]))).unwrap();
    let mp = PathBuf::from(vol[0]["Mountpoint"].as_str().unwrap());
    assert!(
        !mp.join("secret2").exists(),
        "host files were copied into the volume"
    );
    assert_eq!(std::fs::read_to_string(mp.join("w")).unwrap(), "inside\n");
    assert_eq!(inspect(&d, &id)["State"]["ExitCode"], 0);
    assert_no_mounts_under(&[&victim]);
}

#[test]
fn volume_plugin_round_trip() {
    let pdir = tempfile::Builder::new()
        .prefix("berth-plugin-")
        .tempdir()
        .unwrap();
    let plugin = PluginProcess::start(pdir.path(), "testplugin");
    let d = Daemon::builder()
        .arg("-D")
        .arg("--plugins-dir")
        .arg(pdir.path().join("plugins").display().to_string())
        .start();
    let cleanup = Cleanup(&d);
    ok(d.docker().args([
        "import",
        busybox_rootfs(d.dir()).to_str().unwrap(),
        "busybox:latest",
    ]));

    assert_eq!(
        ok(d.docker()
            .args(["volume", "create", "-d", "testplugin", "pv"]))
        .trim(),
        "pv"
    );
    assert!(plugin.data.join("pv").is_dir());
    // A volume the plugin holds that berth never created is listed too.
    std::fs::create_dir_all(plugin.data.join("outside")).unwrap();
    let ls = ok(d
        .docker()
        .args(["volume", "ls", "--format", "{{.Driver}} {{.Name}}"]));
    assert!(
        ls.contains("testplugin pv") && ls.contains("testplugin outside"),
        "{ls}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(d.docker().args(["volume", "inspect", "pv"]))).unwrap();
    assert_eq!(v[0]["Driver"], "testplugin");
    assert_eq!(
        v[0]["Mountpoint"],
        plugin.data.join("pv").display().to_string()
    );

    // A container writes through it; Mount and Unmount carry the container's ID.
    let (id, out) = run(
        &d,
        &[
            "-v",
            "pv:/p",
            "busybox",
            "sh",
            "-c",
            "echo hi > /p/f; echo done",
        ],
    );
    assert_eq!(out, "done\n");
    assert_eq!(
        std::fs::read_to_string(plugin.data.join("pv/f")).unwrap(),
        "hi\n"
    );
    assert!(
        wait_until(Duration::from_secs(10), || plugin.calls().iter().any(
            |(c, r)| c == "/VolumeDriver.Unmount" && r["ID"] == id.as_str()
        )),
        "{:?}",
        plugin.calls()
    );
    let calls = plugin.calls();
    let mount = calls
        .iter()
        .find(|(c, _)| c == "/VolumeDriver.Mount")
        .expect("Mount called");
    assert_eq!(mount.1, serde_json::json!({"Name": "pv", "ID": id}));
    // Docker's volume mount/unmount events name the container.
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let events = d
        .http(
            "GET",
            &format!("/events?since=0&until={until}&filters=%7B%22type%22%3A%5B%22volume%22%5D%7D"),
            None,
        )
        .text();
    for action in ["mount", "unmount"] {
        assert!(
            events.lines().any(|l| {
                let e: serde_json::Value = serde_json::from_str(l).unwrap();
                e["Action"] == action
                    && e["Actor"]["ID"] == "pv"
                    && e["Actor"]["Attributes"]["container"] == id.as_str()
            }),
            "no {action} event: {events}"
        );
    }
    let m = &inspect(&d, &id)["Mounts"][0];
    assert_eq!(m["Driver"], "testplugin");
    assert_eq!(m["Source"], plugin.data.join("pv").display().to_string());

    // --volume-driver makes a new named volume with the plugin.
    let (_, out) = run(
        &d,
        &[
            "-v",
            "pv2:/q",
            "--volume-driver",
            "testplugin",
            "busybox",
            "sh",
            "-c",
            "echo two > /q/g; cat /q/g",
        ],
    );
    assert_eq!(out, "two\n");
    assert_eq!(
        std::fs::read_to_string(plugin.data.join("pv2/g")).unwrap(),
        "two\n"
    );

    // In use → 409; once the containers are gone the plugin removes it.
    let r = d.http("DELETE", "/volumes/pv", None);
    assert_eq!(r.status, 409, "{}", r.text());
    drop(cleanup);
    ok(d.docker().args(["volume", "rm", "pv", "pv2", "outside"]));
    assert!(!plugin.data.join("pv").exists() && !plugin.data.join("outside").exists());
    let (_, msg) = fails(d.docker().args(["volume", "create", "-d", "nosuch", "x1"]));
    assert!(
        msg.contains("error looking up volume plugin nosuch: plugin \"nosuch\" not found"),
        "{msg}"
    );
    assert_no_mounts_under(&[d.dir(), pdir.path()]);
}

#[test]
fn local_driver_options_and_data_across_a_restart() {
    let mut d = Daemon::builder().arg("-D").start();
    let cleanup = Cleanup(&d);
    ok(d.docker().args([
        "import",
        busybox_rootfs(d.dir()).to_str().unwrap(),
        "busybox:latest",
    ]));

    // `-o type=tmpfs`: a filesystem mounted on the volume while a container uses it.
    let (_, msg) = fails(
        d.docker()
            .args(["volume", "create", "-o", "type=tmpfs", "bad1"]),
    );
    assert!(msg.contains("missing required option: \"device\""), "{msg}");
    ok(d.docker().args([
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=1m,uid=1000",
        "tv",
    ]));
    let (_, out) = run(
        &d,
        &[
            "-v",
            "tv:/t",
            "busybox",
            "sh",
            "-c",
            "grep ' /t ' /proc/mounts; stat -c %u /t",
        ],
    );
    assert!(
        out.contains("tmpfs /t tmpfs") && out.contains("size=1024k"),
        "{out}"
    );
    assert!(out.ends_with("1000\n"), "{out}");
    let data = d.data_root.canonicalize().unwrap().join("volumes/tv/_data");
    assert!(
        wait_until(Duration::from_secs(10), || !std::fs::read_to_string(
            "/proc/self/mountinfo"
        )
        .unwrap()
        .contains(&data.display().to_string())),
        "the tmpfs stays mounted after the container exited"
    );

    // A volume and the container using it survive a restart of berthd.
    let (keeper, out) = run(
        &d,
        &[
            "-v",
            "persist:/p",
            "busybox",
            "sh",
            "-c",
            "echo kept > /p/f; echo ok",
        ],
    );
    assert_eq!(out, "ok\n");
    // Keep the containers for the second daemon (it cleans up; they have exited).
    std::mem::forget(cleanup);
    d.stop();
    let d2 = Daemon::builder()
        .arg("--data-root")
        .arg(d.data_root.display().to_string())
        .start();
    let _cleanup = Cleanup(&d2);
    let r = d2.http("DELETE", "/volumes/persist", None);
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains(&keeper), "{}", r.text());
    let (_, out) = run(&d2, &["-v", "persist:/p", "busybox", "cat", "/p/f"]);
    assert_eq!(out, "kept\n");
    drop(_cleanup);
    ok(d2.docker().args(["volume", "rm", "persist", "tv"]));
    assert_no_mounts_under(&[d.dir(), d2.dir()]);
}
