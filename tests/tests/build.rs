//! The builder through the real docker CLI's classic builder (`DOCKER_BUILDKIT=0 docker
//! build`) and `berth build`: steps, the step cache, multi-stage, failures, history.

use std::path::{Path, PathBuf};

use berth_tests::*;

use berth_tests::ContainerCleanup as Cleanup;

/// A build context directory with these files.
fn context(d: &Daemon, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = d.dir().join(name);
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

fn docker_build(d: &Daemon, dir: &Path, extra: &[&str]) -> std::process::Command {
    let mut c = d.docker();
    c.env("DOCKER_BUILDKIT", "0")
        .arg("build")
        .args(extra)
        .arg(dir);
    c
}

fn containers_left(d: &Daemon) -> usize {
    d.http("GET", "/containers/json?all=1", None)
        .json()
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0)
}

/// No overlay of the daemon's left mounted.
fn mounts_left(d: &Daemon) -> Vec<String> {
    let root = d.dir().display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&root))
        .map(str::to_string)
        .collect()
}

const DOCKERFILE: &str = r#"# syntax=docker/dockerfile:1
FROM busybox
ARG GREETING=hello
ENV APP=/app \
    WHO=world
WORKDIR $APP
COPY greeting.txt data/
RUN echo "$GREETING from RUN" > run.txt && \
    cat data/greeting.txt >> run.txt
COPY <<EOF heredoc.txt
made by $WHO
EOF
LABEL org.example.who="$WHO"
EXPOSE 8080
CMD ["sh", "-c", "cat /app/run.txt /app/heredoc.txt; echo cwd=$(pwd)"]
"#;

#[test]
fn docker_build_runs_caches_and_rebuilds_from_the_changed_copy() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let dir = context(
        &d,
        "ctx",
        &[("Dockerfile", DOCKERFILE), ("greeting.txt", "file one\n")],
    );
    let out = ok(&mut docker_build(
        &d,
        &dir,
        &["-t", "app:1", "--build-arg", "GREETING=hi"],
    ));
    assert!(out.contains("Step 1/10 : FROM busybox"), "{out}");
    assert!(out.contains(" ---> Running in "), "{out}");
    assert!(out.contains("Successfully built "), "{out}");
    assert!(out.contains("Successfully tagged app:1"), "{out}");
    assert_eq!(containers_left(&d), 0, "intermediate containers removed");
    // Intermediate images only show with -a.
    let images = ok(d
        .docker()
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}"]));
    let mut images: Vec<&str> = images.lines().collect();
    images.sort();
    assert_eq!(images, ["app:1", "busybox:latest"]);
    let all = ok(d.docker().args(["images", "-a", "-q"]));
    assert!(all.lines().count() > 2, "{all}");

    let run = ok(d.docker().args(["run", "--rm", "app:1"]));
    assert_eq!(
        run, "hi from RUN\nfile one\nmade by world\ncwd=/app\n",
        "the image runs"
    );
    let inspect = ok(d.docker().args([
        "image",
        "inspect",
        "-f",
        "{{.Config.WorkingDir}} {{index .Config.Labels \"org.example.who\"}} {{.Config.ExposedPorts}}",
        "app:1",
    ]));
    assert_eq!(inspect.trim(), "/app world map[8080/tcp:{}]");

    // History shows the steps like the classic builder.
    let history = ok(d.docker().args([
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "app:1",
    ]));
    assert!(
        history.contains("/bin/sh -c #(nop)  CMD [\"sh\" \"-c\""),
        "{history}"
    );
    assert!(
        history.contains("/bin/sh -c #(nop)  ENV APP=/app WHO=world"),
        "{history}"
    );
    assert!(
        history.contains("|1 GREETING=hi /bin/sh -c echo"),
        "{history}"
    );
    assert!(
        history.contains("/bin/sh -c #(nop) COPY file:"),
        "{history}"
    );
    assert!(
        history.contains("/bin/sh -c #(nop) WORKDIR /app"),
        "{history}"
    );

    // No change: every step from the cache, same image.
    let again = ok(&mut docker_build(
        &d,
        &dir,
        &["-t", "app:2", "--build-arg", "GREETING=hi"],
    ));
    assert_eq!(again.matches(" ---> Using cache").count(), 9, "{again}");
    let id = |r: &str| ok(d.docker().args(["image", "inspect", "-f", "{{.Id}}", r]));
    assert_eq!(id("app:1"), id("app:2"));

    // A changed file: the steps before its COPY are cached, the rest run again.
    std::fs::write(dir.join("greeting.txt"), "file two\n").unwrap();
    let third = ok(&mut docker_build(
        &d,
        &dir,
        &["-t", "app:3", "--build-arg", "GREETING=hi"],
    ));
    assert_eq!(third.matches(" ---> Using cache").count(), 3, "{third}");
    assert!(third.contains(" ---> Running in "), "{third}");
    let run = ok(d.docker().args(["run", "--rm", "app:3"]));
    assert!(run.contains("file two"), "{run}");

    // --no-cache runs everything.
    let fresh = ok(&mut docker_build(
        &d,
        &dir,
        &["--no-cache", "--build-arg", "GREETING=hi"],
    ));
    assert!(!fresh.contains("Using cache"), "{fresh}");
    assert!(mounts_left(&d).is_empty(), "{:?}", mounts_left(&d));
}

#[test]
fn multi_stage_with_copy_from_and_target() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let dir = context(
        &d,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox AS build\nRUN mkdir /out && echo built > /out/artifact\n\
             FROM busybox AS unused\nRUN echo this stage is skipped\n\
             FROM busybox\nCOPY --from=build /out/artifact /artifact\nCMD [\"cat\", \"/artifact\"]\n",
        )],
    );
    let out = ok(&mut docker_build(&d, &dir, &["-t", "multi"]));
    assert!(!out.contains("this stage is skipped"), "{out}");
    assert_eq!(ok(d.docker().args(["run", "--rm", "multi"])), "built\n");
    // --target stops at a stage.
    let out = ok(&mut docker_build(
        &d,
        &dir,
        &["-t", "first", "--target", "build"],
    ));
    assert!(out.contains("Successfully tagged first:latest"), "{out}");
    let (_, err) = fails(&mut docker_build(&d, &dir, &["--target", "nope"]));
    assert!(err.contains("failed to reach build target nope"), "{err}");
}

#[test]
fn a_failing_run_stops_the_build_and_leaves_nothing_behind() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let dir = context(
        &d,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo before\nRUN false\nRUN echo never\n",
        )],
    );
    let (code, out) = fails(&mut docker_build(&d, &dir, &[]));
    assert_eq!(code, 1);
    assert!(
        out.contains("The command '/bin/sh -c false' returned a non-zero code: 1"),
        "{out}"
    );
    assert!(!out.contains("never"), "{out}");
    assert_eq!(containers_left(&d), 0);
    assert!(mounts_left(&d).is_empty(), "{:?}", mounts_left(&d));

    // A missing COPY source and a syntax error.
    let dir = context(
        &d,
        "ctx2",
        &[("Dockerfile", "FROM busybox\nCOPY missing.txt /\n")],
    );
    let (_, out) = fails(&mut docker_build(&d, &dir, &[]));
    assert!(out.contains("missing.txt: file does not exist"), "{out}");
    let dir = context(&d, "ctx3", &[("Dockerfile", "FROM busybox\nBOGUS x\n")]);
    let (_, out) = fails(&mut docker_build(&d, &dir, &[]));
    assert!(
        out.contains("line 2, column 1: unknown instruction: BOGUS"),
        "{out}"
    );
}

#[test]
fn berth_build_with_dockerignore_and_quiet() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let dir = context(
        &d,
        "ctx",
        &[
            (
                "build.Dockerfile",
                "FROM busybox\nCOPY . /ctx/\nCMD [\"ls\", \"-R\", \"/ctx\"]\n",
            ),
            (".dockerignore", "*.log\nsecret\n!keep.log\n"),
            ("a.txt", "a"),
            ("debug.log", "x"),
            ("keep.log", "k"),
            ("secret/key", "s"),
        ],
    );
    let out = ok(d.berth().args([
        "build",
        "-t",
        "ign",
        "-f",
        dir.join("build.Dockerfile").to_str().unwrap(),
        "--progress",
        "plain",
        dir.to_str().unwrap(),
    ]));
    assert!(out.contains("Successfully tagged ign:latest"), "{out}");
    let ls = ok(d.docker().args(["run", "--rm", "ign"]));
    assert!(ls.contains("a.txt") && ls.contains("keep.log"), "{ls}");
    assert!(!ls.contains("debug.log") && !ls.contains("secret"), "{ls}");
    let q = ok(d.berth().args([
        "build",
        "-q",
        dir.to_str().unwrap(),
        "-f",
        dir.join("build.Dockerfile").to_str().unwrap(),
    ]));
    assert!(q.trim().starts_with("sha256:"), "{q}");

    // The cache can be pruned; tagged images stay.
    let r = d.http("POST", "/build/prune", None);
    assert_eq!(r.status, 200, "{}", r.text());
    ok(d.docker().args(["image", "inspect", "ign"]));
}

#[test]
fn every_metadata_instruction_onbuild_add_tar_and_chown() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    // A tar for ADD to unpack.
    let dir = d.dir().join("ctx");
    std::fs::create_dir_all(&dir).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(6);
    b.append_data(&mut h, "inner/packed.txt", &b"packed"[..])
        .unwrap();
    std::fs::write(dir.join("files.tar"), b.into_inner().unwrap()).unwrap();
    std::fs::write(dir.join("owned.txt"), "mine").unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox AS base\n\
         ONBUILD RUN echo triggered > /onbuild.txt\n\
         FROM base\n\
         SHELL [\"/bin/sh\", \"-ec\"]\n\
         ADD files.tar /unpacked/\n\
         COPY --chown=1000:1000 --chmod=0600 owned.txt /owned.txt\n\
         RUN stat -c '%u:%g %a' /owned.txt > /owner.txt\n\
         USER 1000\n\
         VOLUME /data\n\
         STOPSIGNAL SIGINT\n\
         HEALTHCHECK --interval=5s CMD true\n\
         ENTRYPOINT [\"cat\"]\n\
         CMD [\"/unpacked/inner/packed.txt\", \"/onbuild.txt\", \"/owner.txt\"]\n",
    )
    .unwrap();
    ok(&mut docker_build(
        &d,
        &dir,
        &["-t", "meta", "--label", "via=flag"],
    ));
    let run = ok(d.docker().args(["run", "--rm", "meta"]));
    assert_eq!(run, "packedtriggered\n1000:1000 600\n");
    let f = ok(d.docker().args([
        "image",
        "inspect",
        "-f",
        "{{.Config.User}} {{.Config.Volumes}} {{.Config.StopSignal}} {{.Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Shell}} {{index .Config.Labels \"via\"}} {{.Config.OnBuild}}",
        "meta",
    ]));
    assert_eq!(
        f.trim(),
        "1000 map[/data:{}] SIGINT [CMD-SHELL true] 5s [/bin/sh -ec] flag []"
    );
}
