//! The cgroup verbs with the real docker CLI: `stats`, `top`, `pause`/`unpause`, `update`
//! (and `stop`/`kill` of a paused container). Needs root and a cgroup v1, hybrid or v2
//! host; the container cgroups are berth's own (`/berth/<id>`).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_tests::*;

const MIB: u64 = 1 << 20;

use berth_tests::ContainerCleanup as Cleanup;

fn v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// A file of the container's cgroup: `v1` names the controller and file on v1 hosts, `v2`
/// the file in the unified directory.
fn cgroup_file(id: &str, v1: (&str, &str), v2_name: &str) -> PathBuf {
    if v2() {
        PathBuf::from(format!("/sys/fs/cgroup/berth/{id}/{v2_name}"))
    } else {
        PathBuf::from(format!("/sys/fs/cgroup/{}/berth/{id}/{}", v1.0, v1.1))
    }
}

fn read_trim(p: &PathBuf) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

fn inspect(d: &Daemon, name: &str) -> serde_json::Value {
    let r = d.http("GET", &format!("/containers/{name}/json"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// The first `n` documents of a streaming stats response.
fn stats_stream(d: &Daemon, name: &str, n: usize) -> Vec<serde_json::Value> {
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /v1.41/containers/{name}/stats?stream=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = String::from_utf8_lossy(&raw);
        let docs: Vec<serde_json::Value> = text
            .lines()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if docs.len() >= n {
            return docs;
        }
        assert!(Instant::now() < deadline, "no {n} stats documents: {text}");
        let k = s.read(&mut buf).expect("read stats stream");
        assert!(k > 0, "stats stream ended early: {text}");
        raw.extend_from_slice(&buf[..k]);
    }
}

#[test]
fn stats_top_and_update_with_the_docker_cli() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let id = ok(d
        .docker()
        .args(["run", "-d", "--name", "ops1", "-m", "32m", "busybox"])
        .args(["sleep", "300"]))
    .trim()
    .to_string();

    // docker stats --no-stream: the memory limit is -m, at least one pid.
    let line = ok(d.docker().args([
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.NetIO}}|{{.PIDs}}",
        "ops1",
    ]));
    let f: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(f[0], "ops1", "{line}");
    assert!(f[1].ends_with('%'), "{line}");
    assert!(f[2].ends_with("/ 32MiB"), "MEM USAGE / LIMIT: {line}");
    assert!(!f[2].starts_with("0B"), "some memory is used: {line}");
    // On the default bridge: eth0's counters (lo is left out).
    assert!(
        f[3].ends_with('B') && f[3].contains("B / "),
        "NET I/O: {line}"
    );
    assert!(f[4].parse::<u64>().unwrap() >= 1, "{line}");

    // The raw document: dockerd's shape, precpu from a sample a second earlier.
    let t0 = Instant::now();
    let r = d.http("GET", "/containers/ops1/stats?stream=0", None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "waits for 2 samples"
    );
    let s = r.json();
    assert_eq!(s["name"], "/ops1");
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["memory_stats"]["limit"], 32 * MIB);
    assert!(s["memory_stats"]["usage"].as_u64().unwrap() > 0, "{s}");
    assert!(s["memory_stats"]["stats"].is_object(), "{s}");
    assert!(s["pids_stats"]["current"].as_u64().unwrap() >= 1, "{s}");
    assert!(
        s["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0,
        "{s}"
    );
    assert!(s["cpu_stats"]["online_cpus"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["cpu_stats"]["throttling_data"].is_object(), "{s}");
    let pre = s["precpu_stats"]["system_cpu_usage"].as_u64().unwrap();
    assert!(pre > 0 && pre < s["cpu_stats"]["system_cpu_usage"].as_u64().unwrap());
    assert_ne!(s["preread"], "0001-01-01T00:00:00Z");
    assert_eq!(s["num_procs"], 0);
    assert!(s["blkio_stats"].is_object() && s["storage_stats"].is_object());
    assert!(s["networks"]["eth0"]["rx_bytes"].is_u64(), "{s}");
    assert!(s["networks"].get("lo").is_none(), "{s}");

    let one = d
        .http("GET", "/containers/ops1/stats?stream=0&one-shot=1", None)
        .json();
    assert_eq!(
        one["preread"], "0001-01-01T00:00:00Z",
        "one-shot: no precpu"
    );
    let r = d.http("GET", "/containers/ops1/stats?stream=1&one-shot=1", None);
    assert_eq!(r.status, 400, "{}", r.text());

    // Streaming: one document a second, each with the previous one as precpu.
    let docs = stats_stream(&d, "ops1", 2);
    assert_eq!(docs[0]["preread"], "0001-01-01T00:00:00Z");
    assert_eq!(docs[1]["preread"], docs[0]["read"]);
    assert_eq!(docs[1]["precpu_stats"], docs[0]["cpu_stats"]);

    // docker top: the container's processes only, with ps's own columns.
    let top = ok(d.docker().args(["top", "ops1"]));
    assert!(top.starts_with("UID"), "{top}");
    assert!(top.contains("sleep 300"), "{top}");
    assert_eq!(top.lines().count(), 2, "header + sleep: {top}");
    let top = d.http("GET", "/containers/ops1/top?ps_args=-o%20pid,comm", None);
    assert_eq!(top.status, 200, "{}", top.text());
    let top = top.json();
    assert_eq!(top["Titles"], serde_json::json!(["PID", "COMMAND"]));
    assert_eq!(top["Processes"][0][1], "sleep");
    let (_, err) = fails(d.docker().args(["top", "ops1", "-o", "user=PID"]));
    assert!(
        err.contains("specifying \"user=PID\" is not allowed"),
        "{err}"
    );
    let (_, err) = fails(d.docker().args(["top", "ops1", "--no-such-option"]));
    assert!(err.contains("ps: "), "{err}");

    // docker update: cgroup files and inspect follow.
    ok(d.docker()
        .args(["update", "--memory", "64m", "--pids-limit", "20", "ops1"]));
    let mem = cgroup_file(&id, ("memory", "memory.limit_in_bytes"), "memory.max");
    assert_eq!(read_trim(&mem), (64 * MIB).to_string());
    let pids = cgroup_file(&id, ("pids", "pids.max"), "pids.max");
    assert_eq!(read_trim(&pids), "20");
    let hc = &inspect(&d, "ops1")["HostConfig"];
    assert_eq!(hc["Memory"], 64 * MIB);
    assert_eq!(hc["MemorySwap"], 64 * MIB, "the swap limit stays: {hc}");
    assert_eq!(hc["PidsLimit"], 20);
    let line = ok(d
        .docker()
        .args(["stats", "--no-stream", "--format", "{{.MemUsage}}", "ops1"]));
    assert!(line.trim().ends_with("/ 64MiB"), "{line}");

    ok(d.docker().args(["update", "--cpus", "0.5", "ops1"]));
    let quota = if v2() {
        read_trim(&cgroup_file(&id, ("", ""), "cpu.max"))
    } else {
        read_trim(&cgroup_file(&id, ("cpu", "cpu.cfs_quota_us"), ""))
    };
    assert!(quota.starts_with("50000"), "{quota}");
    assert_eq!(inspect(&d, "ops1")["HostConfig"]["NanoCpus"], 500_000_000);

    // The new pids limit holds: forks beyond it fail.
    let (code, out, err) = run_with_timeout(
        d.docker().args([
            "exec",
            "ops1",
            "sh",
            "-c",
            "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo started",
        ]),
        Duration::from_secs(60),
    );
    assert!(
        err.contains("can't fork"),
        "forks beyond pids.max must fail: {code:?} {out} {err}"
    );
    let current = cgroup_file(&id, ("pids", "pids.current"), "pids.current");
    assert!(read_trim(&current).parse::<u64>().unwrap() <= 20);

    // dockerd's errors.
    let (_, err) = fails(d.docker().args(["update", "--memory", "1m", "ops1"]));
    assert!(err.contains("Minimum memory limit allowed is 6MB"), "{err}");
    let (_, err) = fails(d.docker().args(["update", "--memory", "512m", "ops1"]));
    assert!(
        err.contains("Memory limit should be smaller than already set memoryswap limit"),
        "{err}"
    );
    let r = d.http(
        "POST",
        "/containers/ops1/update",
        Some(("application/json", br#"{"CpuQuota": 20000}"#)),
    );
    assert_eq!(r.status, 409, "NanoCpus is set: {}", r.text());
    ok(d.docker().args([
        "update",
        "--memory",
        "512m",
        "--memory-swap",
        "1g",
        "--restart",
        "on-failure:3",
        "ops1",
    ]));
    let hc = &inspect(&d, "ops1")["HostConfig"];
    assert_eq!(hc["Memory"], 512 * MIB);
    assert_eq!(hc["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(hc["RestartPolicy"]["MaximumRetryCount"], 3);

    // Stopped: stats are dockerd's zero document, top is a conflict, update only stores.
    ok(d.docker().args(["kill", "ops1"]));
    assert!(wait_until(Duration::from_secs(10), || {
        inspect(&d, "ops1")["State"]["Running"] == false
    }));
    let s = d
        .http("GET", "/containers/ops1/stats?stream=0", None)
        .json();
    assert_eq!(s["read"], "0001-01-01T00:00:00Z");
    assert_eq!(s["name"], "/ops1");
    assert_eq!(s["memory_stats"], serde_json::json!({}));
    let r = d.http("GET", "/containers/ops1/top", None);
    assert_eq!(r.status, 409, "{}", r.text());
    assert_eq!(
        r.json()["message"],
        format!("Container {id} is not running")
    );
    ok(d.docker().args(["update", "--pids-limit", "30", "ops1"]));
    assert_eq!(inspect(&d, "ops1")["HostConfig"]["PidsLimit"], 30);

    let events = ok(d.docker().args([
        "events",
        "--since",
        "0",
        "--until",
        "0s",
        "--filter",
        "container=ops1",
        "--format",
        "{{.Action}}",
    ]));
    assert!(
        events.contains("top\n") && events.contains("update\n"),
        "{events}"
    );
}

#[test]
fn pause_freezes_and_unpause_resumes() {
    let d = daemon_with_busybox();
    let _cleanup = Cleanup(&d);
    let id = ok(d.docker().args([
        "run",
        "-d",
        "--name",
        "ops2",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; done",
    ]))
    .trim()
    .to_string();
    let merged = inspect(&d, "ops2")["GraphDriver"]["Data"]["MergedDir"]
        .as_str()
        .unwrap()
        .to_string();
    let count = move || -> u64 {
        // The file is replaced by a rename: a read sees a whole number (retry while the
        // loop has not written it yet).
        for _ in 0..50 {
            if let Ok(n) = std::fs::read_to_string(format!("{merged}/count"))
                .unwrap_or_default()
                .trim()
                .parse()
            {
                return n;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("no counter in the container");
    };
    assert!(wait_until(Duration::from_secs(10), || count() > 10));

    ok(d.docker().args(["pause", "ops2"]));
    let state = &inspect(&d, "ops2")["State"];
    assert_eq!(state["Status"], "paused");
    assert_eq!(state["Paused"], true);
    assert_eq!(state["Running"], true);
    if !v2() {
        let f = cgroup_file(&id, ("freezer", "freezer.state"), "");
        assert_eq!(read_trim(&f), "FROZEN");
    } else {
        let f = cgroup_file(&id, ("", ""), "cgroup.freeze");
        assert_eq!(read_trim(&f), "1");
    }
    let frozen = count();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(count(), frozen, "a frozen loop makes no progress");
    let ps = ok(d
        .docker()
        .args(["ps", "--format", "{{.Names}} {{.Status}}"]));
    assert!(ps.contains("ops2 Up") && ps.contains("(Paused)"), "{ps}");
    let ps = ok(d
        .docker()
        .args(["ps", "--filter", "status=paused", "--format", "{{.Names}}"]));
    assert_eq!(ps.trim(), "ops2");
    let (_, err) = fails(d.docker().args(["pause", "ops2"]));
    assert!(
        err.contains(&format!("Container {id} is already paused")),
        "{err}"
    );
    let (_, err) = fails(d.docker().args(["exec", "ops2", "true"]));
    assert!(err.contains("is paused"), "{err}");
    // top and stats still work on a paused container.
    assert!(ok(d.docker().args(["top", "ops2"])).contains("while true"));
    let s = d
        .http("GET", "/containers/ops2/stats?stream=0&one-shot=1", None)
        .json();
    assert!(s["pids_stats"]["current"].as_u64().unwrap() >= 1, "{s}");

    ok(d.docker().args(["unpause", "ops2"]));
    assert!(
        wait_until(Duration::from_secs(5), || count() > frozen),
        "the loop runs again"
    );
    let state = &inspect(&d, "ops2")["State"];
    assert_eq!(state["Status"], "running");
    assert_eq!(state["Paused"], false);
    let (_, err) = fails(d.docker().args(["unpause", "ops2"]));
    assert!(
        err.contains(&format!("Container {id} is not paused")),
        "{err}"
    );

    // stop of a paused container: the signal is delivered once it is thawed.
    ok(d.docker().args(["pause", "ops2"]));
    let t0 = Instant::now();
    ok(d.docker().args(["stop", "-t", "1", "ops2"]));
    assert!(t0.elapsed() < Duration::from_secs(15));
    let state = &inspect(&d, "ops2")["State"];
    assert_eq!(state["Status"], "exited", "{state}");
    assert_eq!(state["Paused"], false);
    let (_, err) = fails(d.docker().args(["pause", "ops2"]));
    assert!(
        err.contains(&format!("Container {id} is not running")),
        "{err}"
    );

    // kill of a paused container.
    ok(d.docker()
        .args(["run", "-d", "--name", "ops3", "busybox", "sleep", "300"]));
    ok(d.docker().args(["pause", "ops3"]));
    ok(d.docker().args(["kill", "ops3"]));
    assert!(
        wait_until(Duration::from_secs(10), || inspect(&d, "ops3")["State"]
            ["Status"]
            == "exited"),
        "{}",
        inspect(&d, "ops3")["State"]
    );
    assert_eq!(inspect(&d, "ops3")["State"]["ExitCode"], 137);

    // rm -f of a paused container.
    ok(d.docker()
        .args(["run", "-d", "--name", "ops4", "busybox", "sleep", "300"]));
    ok(d.docker().args(["pause", "ops4"]));
    ok(d.docker().args(["rm", "-f", "ops4"]));

    let events = ok(d.docker().args([
        "events",
        "--since",
        "0",
        "--until",
        "0s",
        "--filter",
        "container=ops2",
        "--format",
        "{{.Action}}",
    ]));
    let actions: Vec<&str> = events.lines().collect();
    assert!(
        actions.windows(2).any(|w| w == ["pause", "unpause"]),
        "{events}"
    );
}
