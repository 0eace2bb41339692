//! `berth compose` against a real berthd, and Debian's docker-compose 1.29 (when installed)
//! against the same daemon: a web service serving a named volume's file and a client that
//! reaches it by service name; up, ps, logs, exec, scaling, a recreate of only the changed
//! service, and down -v leaving nothing of the project behind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use berth_tests::ContainerCleanup as Cleanup;
use berth_tests::*;
use serde_json::Value;

/// The fixture copied into a temp dir (so `.env` and the project dir are the test's own).
fn project_dir(d: &Daemon, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/compose/webapp");
    let dst = d.dir().join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["compose.yaml", ".env"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    dst
}

fn compose(d: &Daemon, dir: &Path, project: &str) -> Command {
    let mut c = d.berth();
    c.current_dir(dir)
        .env_remove("CLIENT_TAG")
        .args(["compose", "-p", project]);
    c
}

fn containers(d: &Daemon, project: &str) -> Vec<Value> {
    let q = format!(
        "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22com.docker.compose.project%3D{project}%22%5D%7D"
    );
    d.http("GET", &q, None)
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn names(list: &[Value]) -> Vec<String> {
    let mut n: Vec<String> = list
        .iter()
        .map(|c| {
            c["Names"][0]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string()
        })
        .collect();
    n.sort();
    n
}

fn count_named(d: &Daemon, path: &str, key: Option<&str>, needle: &str) -> usize {
    let v = d.http("GET", path, None).json();
    let list = match key {
        Some(k) => v[k].clone(),
        None => v,
    };
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["Name"].as_str().is_some_and(|n| n.starts_with(needle)))
        .count()
}

/// Waits until the client's logs show it fetched the page; returns the logs.
fn wait_for_fetch(d: &Daemon, dir: &Path, project: &str, tag: &str) -> String {
    let mut logs = String::new();
    let found = wait_until(Duration::from_secs(30), || {
        logs = ok(compose(d, dir, project).args(["logs", "--no-color", "client"]));
        logs.contains(&format!("fetched-{tag}"))
    });
    assert!(found, "the client never fetched the page:\n{logs}");
    logs
}

#[test]
fn compose_up_ps_logs_exec_scale_recreate_down() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let project = "berthtest1";
    let dir = project_dir(&d, "webapp");

    // config: interpolation from .env, anchors merged, names derived.
    let cfg = ok(compose(&d, &dir, project).arg("config"));
    assert!(cfg.contains("hello-from-web"), "{cfg}");
    assert!(cfg.contains(&format!("name: {project}_site")), "{cfg}");

    ok(compose(&d, &dir, project).args(["up", "-d"]));
    let list = containers(&d, project);
    assert_eq!(
        names(&list),
        [format!("{project}-client-1"), format!("{project}-web-1")]
    );
    let web = list
        .iter()
        .find(|c| c["Labels"]["com.docker.compose.service"] == "web")
        .unwrap();
    let labels = &web["Labels"];
    assert_eq!(labels["com.docker.compose.project"], project);
    assert_eq!(labels["com.docker.compose.container-number"], "1");
    assert_eq!(labels["com.docker.compose.oneoff"], "False");
    assert_eq!(labels["app.role"], "web");
    assert!(
        labels["com.docker.compose.config-hash"]
            .as_str()
            .unwrap()
            .len()
            == 64
    );
    assert_eq!(
        labels["com.docker.compose.project.working_dir"]
            .as_str()
            .unwrap(),
        dir.to_str().unwrap()
    );
    assert_eq!(
        count_named(&d, "/networks", None, &format!("{project}_default")),
        1
    );
    assert_eq!(
        count_named(&d, "/volumes", Some("Volumes"), &format!("{project}_site")),
        1
    );

    // The client reached web by its service name and got the volume's file.
    let logs = wait_for_fetch(&d, &dir, project, "one");
    assert!(logs.contains("hello-from-web"), "{logs}");
    assert!(logs.contains(&format!("{project}-client-1 | ")), "{logs}");

    let ps = ok(compose(&d, &dir, project).arg("ps"));
    assert!(ps.starts_with("NAME"), "{ps}");
    assert!(
        ps.contains(&format!("{project}-web-1")) && ps.contains(&format!("{project}-client-1")),
        "{ps}"
    );
    let ls = ok(d.berth().args(["compose", "ls"]));
    assert!(ls.contains(project), "{ls}");

    let out = ok(compose(&d, &dir, project).args(["exec", "-T", "web", "cat", "/www/index.html"]));
    assert_eq!(out.trim(), "hello-from-web");
    let out = ok(compose(&d, &dir, project).args([
        "run",
        "--rm",
        "--no-deps",
        "-T",
        "client",
        "echo",
        "one-off",
    ]));
    assert!(out.contains("one-off"), "{out}");
    assert_eq!(
        containers(&d, project).len(),
        2,
        "run --rm left its container"
    );

    // A second up changes nothing.
    let ids = |d: &Daemon| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = containers(d, project)
            .iter()
            .map(|c| {
                (
                    c["Names"][0].as_str().unwrap().to_string(),
                    c["Id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = ids(&d);
    ok(compose(&d, &dir, project).args(["up", "-d"]));
    assert_eq!(ids(&d), before);

    // Scaling web to 2 adds web-2; both answer to the name `web`.
    ok(compose(&d, &dir, project).args(["up", "-d", "--scale", "web=2"]));
    let after = ids(&d);
    assert_eq!(after.len(), 3, "{after:?}");
    assert!(after.iter().any(|(n, _)| n == &format!("/{project}-web-2")));
    // And back to one.
    ok(compose(&d, &dir, project).args(["up", "-d"]));
    assert_eq!(ids(&d), before);

    // Changing the client's environment recreates the client only.
    ok(compose(&d, &dir, project)
        .env("CLIENT_TAG", "two")
        .args(["up", "-d"]));
    let changed = ids(&d);
    assert_eq!(changed[1], before[1], "web was recreated");
    assert_ne!(changed[0].1, before[0].1, "the client was not recreated");
    let logs = {
        let mut logs = String::new();
        wait_until(Duration::from_secs(30), || {
            logs = ok(compose(&d, &dir, project)
                .env("CLIENT_TAG", "two")
                .args(["logs", "client"]));
            logs.contains("fetched-two")
        });
        logs
    };
    assert!(logs.contains("fetched-two"), "{logs}");

    // stop / start.
    ok(compose(&d, &dir, project).args(["stop", "-t", "1"]));
    assert!(containers(&d, project)
        .iter()
        .all(|c| c["State"] != "running"));
    ok(compose(&d, &dir, project).arg("start"));
    assert!(containers(&d, project)
        .iter()
        .all(|c| c["State"] == "running"));

    // down -v: nothing of the project is left, and another daemon object survives.
    ok(d.berth().args(["volume", "create", "unrelated"]));
    ok(compose(&d, &dir, project).args(["down", "-v", "-t", "1"]));
    assert!(containers(&d, project).is_empty());
    assert_eq!(count_named(&d, "/networks", None, project), 0);
    assert_eq!(count_named(&d, "/volumes", Some("Volumes"), project), 0);
    assert_eq!(count_named(&d, "/volumes", Some("Volumes"), "unrelated"), 1);
}

#[test]
fn compose_reports_bad_files_with_file_and_key() {
    let d = Daemon::start();
    let dir = d.dir().join("bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  web:\n    image: busybox\n    ports: ['80/icmp']\n",
    )
    .unwrap();
    let (_, err) = fails(d.berth().current_dir(&dir).args(["compose", "config"]));
    assert!(
        err.contains("compose.yaml") && err.contains("services.web.ports[0]"),
        "{err}"
    );
    let (_, err) = fails(
        d.berth()
            .current_dir(d.dir())
            .args(["compose", "-f", "nope.yml", "ps"]),
    );
    assert!(err.contains("nope.yml"), "{err}");
}

/// Debian's docker-compose 1.29 (Python) against berthd, when it is installed.
#[test]
fn docker_compose_v1_runs_the_project() {
    let Some(bin) = ["/usr/bin/docker-compose"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        // scripts/test installs it; only a developer's machine without it may skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "docker-compose is not installed (scripts/test installs Debian's docker-compose)"
        );
        eprintln!("docker-compose is not installed; skipping");
        return;
    };
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let project = "berthtestv1";
    let dir = project_dir(&d, "webapp-v1");
    let dc = || {
        let mut c = Command::new(bin);
        c.current_dir(&dir)
            .env("DOCKER_HOST", d.host())
            .env("DOCKER_CONFIG", d.dir().join("docker-config"))
            .env_remove("CLIENT_TAG")
            .args(["-p", project]);
        c
    };
    ok(dc().args(["up", "-d"]));
    let list = containers(&d, project);
    assert_eq!(list.len(), 2, "{list:?}");
    let ps = ok(dc().arg("ps"));
    assert!(ps.contains("web") && ps.contains("client"), "{ps}");
    let mut logs = String::new();
    let fetched = wait_until(Duration::from_secs(30), || {
        logs = ok(dc().args(["logs", "--no-color", "client"]));
        logs.contains("hello-from-web")
    });
    assert!(fetched, "{logs}");
    let out = ok(dc().args(["exec", "-T", "web", "cat", "/www/index.html"]));
    assert_eq!(out.trim(), "hello-from-web");
    // berth compose sees the same project.
    let ps = ok(compose(&d, &dir, project).arg("ps"));
    assert!(ps.contains("web"), "{ps}");
    ok(dc().args(["down", "-v", "-t", "1"]));
    assert!(containers(&d, project).is_empty());
    assert_eq!(count_named(&d, "/networks", None, project), 0);
    assert_eq!(count_named(&d, "/volumes", Some("Volumes"), project), 0);
}

/// `up --build --wait` of a service built from a Dockerfile, with a file secret, an
/// override file and a profile; `--remove-orphans`; `down --rmi local` removes the built image.
#[test]
fn compose_build_secrets_overrides_orphans_rmi() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let project = "berthtest2";
    let dir = d.dir().join("built");
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("app/Dockerfile"),
        "FROM busybox:latest\nARG MSG=unset\nRUN echo \"$MSG\" > /msg\nCMD [\"sleep\", \"3600\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("token.txt"), "s3cret\n").unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  app:\n    build:\n      context: ./app\n      args: {MSG: built-by-compose}\n    secrets: [token]\n    stop_grace_period: 1s\n  extra:\n    image: busybox:latest\n    command: sleep 3600\n    stop_grace_period: 1s\n  debug:\n    image: busybox:latest\n    profiles: [dev]\nsecrets:\n  token:\n    file: ./token.txt\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("compose.override.yaml"),
        "services:\n  app:\n    environment: [FROM_OVERRIDE=yes]\n",
    )
    .unwrap();
    let c = || compose(&d, &dir, project);

    ok(c().args(["up", "-d", "--build", "--wait"]));
    let list = containers(&d, project);
    assert_eq!(
        names(&list),
        [format!("{project}-app-1"), format!("{project}-extra-1")]
    );
    let out = ok(c().args([
        "exec",
        "-T",
        "app",
        "sh",
        "-c",
        "cat /msg /run/secrets/token; echo $FROM_OVERRIDE",
    ]));
    assert_eq!(out, "built-by-compose\ns3cret\nyes\n");
    let images = ok(c().arg("images"));
    assert!(images.contains(&format!("{project}-app")), "{images}");

    // `extra` leaves the file: an orphan, removed with --remove-orphans.
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  app:\n    build:\n      context: ./app\n      args: {MSG: built-by-compose}\n    secrets: [token]\n    stop_grace_period: 1s\nsecrets:\n  token:\n    file: ./token.txt\n",
    )
    .unwrap();
    let before: Vec<Value> = containers(&d, project);
    ok(c().args(["up", "-d", "--remove-orphans"]));
    let after = containers(&d, project);
    assert_eq!(names(&after), [format!("{project}-app-1")]);
    let app_id = |l: &[Value]| {
        l.iter()
            .find(|c| c["Labels"]["com.docker.compose.service"] == "app")
            .map(|c| c["Id"].clone())
    };
    assert_eq!(app_id(&before), app_id(&after), "app was recreated");

    ok(c().args(["down", "--rmi", "local", "-t", "1"]));
    assert!(containers(&d, project).is_empty());
    let (code, _) = fails(
        d.berth()
            .args(["image", "inspect", &format!("{project}-app")]),
    );
    assert_ne!(code, 0);
}

/// Attached `up`: prefixed output of every container, returning once they have all exited;
/// `run` gives the one-off's exit status.
#[test]
fn compose_up_attached_streams_prefixed_logs() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let project = "berthtest3";
    let dir = d.dir().join("attached");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("docker-compose.yml"),
        "services:\n  one:\n    image: busybox:latest\n    command: sh -c 'echo first; echo second'\n  two:\n    image: busybox:latest\n    command: echo from-two\n",
    )
    .unwrap();
    let out = ok(compose(&d, &dir, project).arg("up"));
    assert!(out.contains(&format!("{project}-one-1 | first")), "{out}");
    assert!(out.contains(&format!("{project}-one-1 | second")), "{out}");
    assert!(
        out.contains(&format!("{project}-two-1 | from-two")),
        "{out}"
    );
    let (code, _) =
        fails(compose(&d, &dir, project).args(["run", "--rm", "-T", "one", "sh", "-c", "exit 7"]));
    assert_eq!(code, 7);
    ok(compose(&d, &dir, project).arg("down"));
    assert!(containers(&d, project).is_empty());
}
