//! One CLI, several daemons: contexts, -H, BERTH_HOST/DOCKER_HOST, BERTH_CONTEXT.

use berth_tests::*;

#[test]
fn contexts_pick_the_daemon() {
    let a = Daemon::start();
    let b = Daemon::start();
    let cfg = tempfile::tempdir().unwrap();
    let berth = || {
        let mut c = std::process::Command::new(berth_bin());
        c.env("BERTH_CONFIG", cfg.path())
            .env_remove("BERTH_HOST")
            .env_remove("DOCKER_HOST")
            .env_remove("BERTH_CONTEXT")
            .env_remove("DOCKER_CONTEXT");
        c
    };
    ok(berth().args([
        "context",
        "create",
        "a",
        "--description",
        "daemon A",
        "--docker",
        &format!("host={}", a.host()),
    ]));
    ok(berth().args([
        "context",
        "create",
        "b",
        "--docker",
        &format!("host={}", b.host()),
    ]));
    let (_, msg) =
        fails(berth().args(["context", "create", "a", "--docker", "host=unix:///x.sock"]));
    assert!(msg.contains("already exists"), "{msg}");

    let root = |d: &Daemon| d.data_root.canonicalize().unwrap().display().to_string();
    let info_root = |args: &[&str]| {
        ok(berth()
            .args(args)
            .args(["info", "--format", "{{.DockerRootDir}}"]))
        .trim()
        .to_string()
    };
    assert_eq!(info_root(&["--context", "a"]), root(&a));
    assert_eq!(info_root(&["--context", "b"]), root(&b));
    assert_ne!(root(&a), root(&b));
    assert_eq!(info_root(&["-H", &b.host()]), root(&b));

    // `context use` makes it the default; env vars and flags still win.
    ok(berth().args(["context", "use", "b"]));
    assert_eq!(ok(berth().args(["context", "show"])).trim(), "b");
    assert_eq!(info_root(&[]), root(&b));
    let out =
        ok(berth()
            .env("BERTH_CONTEXT", "a")
            .args(["info", "--format", "{{.DockerRootDir}}"]));
    assert_eq!(out.trim(), root(&a));
    let out =
        ok(berth()
            .env("DOCKER_HOST", a.host())
            .args(["info", "--format", "{{.DockerRootDir}}"]));
    assert_eq!(out.trim(), root(&a));
    let (code, msg) = fails(berth().args(["-H", &a.host(), "--context", "b", "info"]));
    assert_eq!(code, 1);
    assert!(msg.contains("conflicting options"), "{msg}");

    let ls = ok(berth().args(["context", "ls"]));
    let lines: Vec<&str> = ls.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("DOCKER ENDPOINT"),
        "{ls}"
    );
    assert!(ls.contains("b *"), "{ls}");
    assert!(ls.contains("daemon A"), "{ls}");
    let names = ok(berth().args(["context", "ls", "--format", "{{.Name}}"]));
    assert_eq!(names.lines().collect::<Vec<_>>(), ["default", "a", "b"]);
    let inspect: serde_json::Value =
        serde_json::from_str(&ok(berth().args(["context", "inspect", "a"]))).unwrap();
    assert_eq!(inspect[0]["Endpoints"]["docker"]["Host"], a.host());

    // The context in use is protected unless forced.
    let (_, msg) = fails(berth().args(["context", "rm", "b"]));
    assert!(msg.contains("in use"), "{msg}");
    ok(berth().args(["context", "rm", "-f", "b"]));
    assert_eq!(ok(berth().args(["context", "show"])).trim(), "default");
    let (_, msg) = fails(berth().args(["--context", "b", "info"]));
    assert!(msg.contains("does not exist"), "{msg}");
}
