//! The volume API on the local driver, through the real docker CLI and raw HTTP; also the
//! JSON-body rules every JSON endpoint shares (malformed, wrong type, oversized).

use berth_tests::*;

#[test]
fn docker_cli_volume_lifecycle() {
    let d = Daemon::start();
    assert_eq!(
        ok(d.docker().args(["volume", "create", "data"])).trim(),
        "data"
    );
    ok(d.docker()
        .args(["volume", "create", "--label", "team=core", "labelled"]));
    let anon = ok(d.docker().args(["volume", "create"])).trim().to_string();
    assert_eq!(anon.len(), 64, "{anon}");
    let ls = ok(d
        .docker()
        .args(["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]));
    for name in ["data", "labelled", anon.as_str()] {
        assert!(ls.contains(&format!("{name} local")), "{ls}");
    }
    let only = ok(d
        .docker()
        .args(["volume", "ls", "-q", "--filter", "label=team=core"]));
    assert_eq!(only.trim(), "labelled");
    let v: serde_json::Value =
        serde_json::from_str(&ok(d.docker().args(["volume", "inspect", "data"]))).unwrap();
    let mp = v[0]["Mountpoint"].as_str().unwrap().to_string();
    assert!(
        mp.ends_with("/volumes/data/_data") && std::path::Path::new(&mp).is_dir(),
        "{mp}"
    );
    assert_eq!(v[0]["Scope"], "local");
    std::fs::write(format!("{mp}/f"), vec![0u8; 4096]).unwrap();
    // Creating an existing name returns it unchanged.
    ok(d.docker().args(["volume", "create", "data"]));
    assert!(std::path::Path::new(&format!("{mp}/f")).exists());

    let (_, msg) = fails(d.docker().args(["volume", "create", "bad/name"]));
    assert!(msg.contains("includes invalid characters"), "{msg}");
    let (_, msg) = fails(
        d.docker()
            .args(["volume", "create", "-d", "nosuchdriver", "x1"]),
    );
    assert!(msg.contains("not found"), "{msg}");
    let (_, msg) = fails(d.docker().args(["volume", "inspect", "nope"]));
    assert!(msg.to_lowercase().contains("no such volume"), "{msg}");

    ok(d.docker().args(["volume", "rm", "data"]));
    assert!(!std::path::Path::new(&mp).exists());
    let (_, msg) = fails(d.docker().args(["volume", "rm", "data"]));
    assert!(msg.to_lowercase().contains("no such volume"), "{msg}");
    ok(d.docker().args(["volume", "rm", "-f", "data"]));
    let out = ok(d.docker().args(["volume", "prune", "-a", "-f"]));
    assert!(out.contains("labelled") && out.contains(&anon), "{out}");
    assert_eq!(ok(d.docker().args(["volume", "ls", "-q"])).trim(), "");
}

#[test]
fn json_bodies_are_checked() {
    let d = Daemon::start();
    let r = d.http(
        "POST",
        "/v1.41/volumes/create",
        Some(("application/json", b"{\"Name\": ")),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON"),
        "{}",
        r.text()
    );
    let r = d.http(
        "POST",
        "/v1.41/volumes/create",
        Some(("text/plain", b"{\"Name\": \"x1\"}")),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("Content-Type"),
        "{}",
        r.text()
    );
    let r = d.http(
        "POST",
        "/v1.41/volumes/create",
        Some(("application/json", b"[1,2]")),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let huge = vec![b' '; 5 << 20];
    let r = d.http(
        "POST",
        "/v1.41/volumes/create",
        Some(("application/json", &huge)),
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.json()["message"].as_str().is_some());
    // None of that created anything, and the daemon still serves.
    let list = d.http("GET", "/volumes", None).json();
    assert_eq!(list["Volumes"].as_array().unwrap().len(), 0);
    let r = d.http(
        "POST",
        "/volumes/create",
        Some((
            "application/json",
            b"{\"Name\": \"ok1\", \"Labels\": {\"a\": \"b\"}}",
        )),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["Labels"]["a"], "b");
}

#[test]
fn berth_cli_volume_commands() {
    let d = Daemon::start();
    assert_eq!(
        ok(d.berth()
            .args(["volume", "create", "--label", "k=v", "one"]))
        .trim(),
        "one"
    );
    let anon = ok(d.berth().args(["volume", "create"])).trim().to_string();
    let ls = ok(d.berth().args(["volume", "ls"]));
    let header = ls.lines().next().unwrap();
    assert!(
        header.starts_with("DRIVER") && header.contains("VOLUME NAME"),
        "{ls}"
    );
    assert!(ls.contains("local     one") || ls.contains("one"), "{ls}");
    assert_eq!(
        ok(d.berth()
            .args(["volume", "ls", "-q", "--filter", "label=k=v"]))
        .trim(),
        "one"
    );
    let v: serde_json::Value =
        serde_json::from_str(&ok(d.berth().args(["volume", "inspect", "one"]))).unwrap();
    assert_eq!(v[0]["Labels"]["k"], "v");
    assert_eq!(
        ok(d.berth()
            .args(["volume", "inspect", "-f", "{{.Driver}}", "one"]))
        .trim(),
        "local"
    );
    let (code, msg) = fails(d.berth().args(["volume", "rm", "one", "ghost"]));
    assert_eq!(code, 1);
    assert!(
        msg.contains("one") && msg.contains("no such volume"),
        "{msg}"
    );
    let out = ok(d.berth().args(["volume", "prune", "-a", "-f"]));
    assert!(
        out.contains(&anon) && out.contains("Total reclaimed space"),
        "{out}"
    );
    assert_eq!(ok(d.berth().args(["volume", "ls", "-q"])).trim(), "");
}
