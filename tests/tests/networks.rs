//! Networking through the real docker CLI and the raw API: the default bridge, user
//! networks with embedded DNS, isolation, `none`/`host`, published ports through the
//! userland proxy, connect/disconnect, macvlan — and that nothing of berth's (veth,
//! bridge, netns, nft table) is left afterwards.
//!
//! Every daemon gets its own bridge, subnet and nft table from the harness; traffic goes
//! only to loopback and to addresses inside namespaces the test made.

use std::process::Command;
use std::time::Duration;

use berth_tests::images::busybox_rootfs;
use berth_tests::*;
use serde_json::{json, Value};

/// Removes the daemon's containers and networks even when the test failed; after the
/// daemon stops, removes whatever is left of its bridge, nft table and cgroups.
struct Cleanup<'a> {
    d: &'a Daemon,
    links: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let list = self.d.http("GET", "/containers/json?all=1", None);
        if let Ok(v) = serde_json::from_slice::<Value>(&list.body) {
            for c in v.as_array().into_iter().flatten() {
                let id = c["Id"].as_str().unwrap_or_default();
                let _ = self
                    .d
                    .http("DELETE", &format!("/containers/{id}?force=1"), None);
            }
        }
        let _ = self.d.http("POST", "/networks/prune", None);
        for l in &self.links {
            let _ = Command::new("ip").args(["link", "del", l]).output();
        }
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for ctrl in rd.flatten() {
                let _ = std::fs::remove_dir(ctrl.path().join("berth"));
            }
        }
    }
}

/// Parses the harness-given `--bridge` and `--firewall-table` out of berthd's command line.
fn daemon_arg(d: &Daemon, flag: &str) -> String {
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", d.pid())).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let i = args.iter().position(|a| a == flag).expect(flag);
    args[i + 1].clone()
}

fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

fn nft_table_exists(table: &str) -> bool {
    Command::new("nft")
        .args(["list", "table", "ip", table])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn setup() -> Daemon {
    let d = Daemon::builder().arg("-D").start();
    let rootfs = busybox_rootfs(d.dir());
    ok(d.docker()
        .args(["import", rootfs.to_str().unwrap(), "busybox:latest"]));
    d
}

fn inspect(d: &Daemon, id: &str) -> Value {
    d.http("GET", &format!("/containers/{id}/json"), None)
        .json()
}

/// Runs `cmd` in a new busybox container (created with `extra` merged into the body) and
/// returns (exit code, stdout+stderr).
fn run(d: &Daemon, name: &str, cmd: &str, extra: Value) -> (i64, String) {
    let mut body = json!({"Image": "busybox", "Cmd": ["sh", "-c", cmd]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let id = d.create_container(name, body);
    d.start_container(&id);
    let w = d.http("POST", &format!("/containers/{id}/wait"), None);
    let code = w.json()["StatusCode"].as_i64().unwrap_or(-1);
    let logs = d.http(
        "GET",
        &format!("/containers/{id}/logs?stdout=1&stderr=1"),
        None,
    );
    (code, demux(&logs.body))
}

fn demux(mut b: &[u8]) -> String {
    let mut out = Vec::new();
    while b.len() >= 8 {
        let n = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize;
        out.extend_from_slice(&b[8..(8 + n).min(b.len())]);
        b = &b[(8 + n).min(b.len())..];
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn network_api_through_the_docker_cli() {
    let d = Daemon::start();
    let _c = Cleanup {
        d: &d,
        links: vec![],
    };
    let ls = ok(d.docker().args([
        "network",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}}",
    ]));
    for want in ["bridge bridge local", "host host local", "none null local"] {
        assert!(ls.lines().any(|l| l == want), "{ls}");
    }
    let id = ok(d.docker().args([
        "network",
        "create",
        "--subnet",
        "172.31.250.0/24",
        "--gateway",
        "172.31.250.254",
        "--ip-range",
        "172.31.250.128/25",
        "--label",
        "team=a",
        "-o",
        "com.docker.network.driver.mtu=1400",
        "front",
    ]))
    .trim()
    .to_string();
    assert_eq!(id.len(), 64);
    let v: Value =
        serde_json::from_str(&ok(d.docker().args(["network", "inspect", "front"]))).unwrap();
    let n = &v[0];
    assert_eq!(n["Id"], id.as_str());
    assert_eq!(n["Driver"], "bridge");
    assert_eq!(n["Scope"], "local");
    assert_eq!(n["IPAM"]["Config"][0]["Subnet"], "172.31.250.0/24");
    assert_eq!(n["IPAM"]["Config"][0]["Gateway"], "172.31.250.254");
    assert_eq!(n["IPAM"]["Config"][0]["IPRange"], "172.31.250.128/25");
    assert_eq!(n["Labels"]["team"], "a");
    assert_eq!(n["Options"]["com.docker.network.driver.mtu"], "1400");
    let bridge = format!("br-{}", &id[..12]);
    assert!(link_exists(&bridge), "bridge {bridge} made");

    let (_, out) = fails(d.docker().args(["network", "create", "front"]));
    assert!(
        out.contains("network with name front already exists"),
        "{out}"
    );
    let (_, out) =
        fails(
            d.docker()
                .args(["network", "create", "--subnet", "172.31.250.0/25", "clash"]),
        );
    assert!(
        out.contains("Pool overlaps with other one on this address space"),
        "{out}"
    );
    let (_, out) = fails(d.docker().args(["network", "rm", "bridge"]));
    assert!(
        out.contains("bridge is a pre-defined network and cannot be removed"),
        "{out}"
    );
    let r = d.http("DELETE", "/networks/none", None);
    assert_eq!(r.status, 403);
    let r = d.http("GET", "/networks/nope", None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "network nope not found");
    // By ID prefix, and list filters.
    let r = d.http("GET", &format!("/networks/{}", &id[..10]), None);
    assert_eq!(r.json()["Name"], "front");
    let ls = ok(d
        .docker()
        .args(["network", "ls", "--filter", "label=team=a", "-q"]));
    assert_eq!(ls.trim(), &id[..12]);
    let ls = ok(d.docker().args([
        "network",
        "ls",
        "--filter",
        "type=custom",
        "--format",
        "{{.Name}}",
    ]));
    assert_eq!(ls.trim(), "front");

    ok(d.docker().args(["network", "create", "spare"]));
    let out = ok(d.docker().args(["network", "prune", "-f"]));
    assert!(out.contains("front") && out.contains("spare"), "{out}");
    assert!(!link_exists(&bridge), "bridge removed with its network");
    let ls = ok(d.docker().args(["network", "ls", "--format", "{{.Name}}"]));
    assert_eq!(ls.lines().count(), 3, "{ls}");
}

#[test]
fn default_bridge_user_networks_dns_and_isolation() {
    let d = setup();
    let _c = Cleanup {
        d: &d,
        links: vec![],
    };
    let default_bridge = daemon_arg(&d, "--bridge");
    let table = daemon_arg(&d, "--firewall-table");
    assert!(link_exists(&default_bridge));
    assert!(nft_table_exists(&table), "berth's table {table}");

    // Default bridge: eth0 with an address, a default route, the bridge's gateway.
    let (code, out) = run(
        &d,
        "plain",
        "ip -4 addr show eth0; ip route; cat /etc/resolv.conf /etc/hosts",
        json!({}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("inet 172.18."), "{out}");
    assert!(out.contains("default via 172.18."), "{out}");

    // A user network: containers reach each other by name, alias and short ID via
    // 127.0.0.11.
    ok(d.docker()
        .args(["network", "create", "--subnet", "172.31.251.0/24", "app"]));
    ok(d.docker()
        .args(["network", "create", "--subnet", "172.31.252.0/24", "other"]));
    let web = d.create_container("web",
        json!({
            "Image": "busybox",
            "Cmd": ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && httpd -f -p 80 -h /www"],
            "HostConfig": {"NetworkMode": "app"},
            "NetworkingConfig": {"EndpointsConfig": {"app": {"Aliases": ["frontend"], "IPAMConfig": {"IPv4Address": "172.31.251.10"}}}},
        }),
    );
    d.start_container(&web);
    let i = inspect(&d, &web);
    let ep = &i["NetworkSettings"]["Networks"]["app"];
    assert_eq!(ep["IPAddress"], "172.31.251.10", "{i:#}");
    assert_eq!(ep["Gateway"], "172.31.251.1");
    assert_eq!(ep["MacAddress"], "02:42:ac:1f:fb:0a");
    assert_eq!(
        i["NetworkSettings"]["IPAddress"], "",
        "top level is the default bridge's"
    );
    let aliases: Vec<String> = serde_json::from_value(ep["Aliases"].clone()).unwrap();
    assert!(aliases.contains(&web[..12].to_string()) && aliases.contains(&"frontend".to_string()));
    let net = ok(d.docker().args([
        "network",
        "inspect",
        "app",
        "--format",
        "{{json .Containers}}",
    ]));
    assert!(net.contains("172.31.251.10/24"), "{net}");

    let (code, out) = run(
        &d,
        "client",
        &format!(
            "cat /etc/resolv.conf; nslookup web 127.0.0.11; wget -q -O - http://web/; wget -q -O - http://frontend/; wget -q -O - http://{}/",
            &web[..12]
        ),
        json!({"HostConfig": {"NetworkMode": "app"}}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nameserver 127.0.0.11"), "{out}");
    assert!(out.contains("172.31.251.10"), "{out}");
    assert_eq!(out.matches("hello-from-web").count(), 3, "{out}");

    // Another network cannot reach it, by name or by address.
    let (code, out) = run(
        &d,
        "outsider",
        "nslookup web 127.0.0.11 >/dev/null 2>&1 && echo resolved; timeout 3 wget -q -O - http://172.31.251.10/ || echo unreachable",
        json!({"HostConfig": {"NetworkMode": "other"}}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains("resolved") && out.contains("unreachable"),
        "{out}"
    );
    // Neither can the default bridge.
    let (_, out) = run(
        &d,
        "outsider2",
        "timeout 3 wget -q -O - http://172.31.251.10/ || echo unreachable",
        json!({}),
    );
    assert!(out.contains("unreachable"), "{out}");

    // `network connect` gives the running web an interface on `other`.
    let (_, out) = fails(d.docker().args(["network", "rm", "app"]));
    assert!(out.contains("has active endpoints"), "{out}");
    ok(d.docker().args([
        "network",
        "connect",
        "--ip",
        "172.31.252.50",
        "other",
        "web",
    ]));
    let i = inspect(&d, &web);
    assert_eq!(
        i["NetworkSettings"]["Networks"]["other"]["IPAddress"],
        "172.31.252.50"
    );
    let (code, out) = run(
        &d,
        "outsider3",
        "timeout 3 wget -q -O - http://web/",
        json!({"HostConfig": {"NetworkMode": "other"}}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hello-from-web"));
    ok(d.docker().args(["network", "disconnect", "other", "web"]));
    let i = inspect(&d, &web);
    assert!(i["NetworkSettings"]["Networks"]["other"].is_null());

    // Stop: the veth goes, the address is free again.
    ok(d.docker().args(["stop", "-t", "1", "web"]));
    let i = inspect(&d, &web);
    assert_eq!(i["NetworkSettings"]["Networks"]["app"]["IPAddress"], "");
    let app_id = ok(d
        .docker()
        .args(["network", "inspect", "app", "--format", "{{.Id}}"]));
    let app_bridge = format!("br-{}", &app_id.trim()[..12]);
    let ports = std::fs::read_dir(format!("/sys/class/net/{app_bridge}/brif"))
        .map(|r| r.count())
        .unwrap_or(0);
    assert_eq!(ports, 0, "no veth left on {app_bridge}");
    ok(d.docker().args([
        "rm",
        "-f",
        "web",
        "client",
        "outsider",
        "outsider2",
        "outsider3",
        "plain",
    ]));
    ok(d.docker().args(["network", "rm", "app", "other"]));
    assert!(!link_exists(&app_bridge));
}

#[test]
fn none_host_and_container_modes() {
    let d = setup();
    let _c = Cleanup {
        d: &d,
        links: vec![],
    };
    let (code, out) = run(
        &d,
        "nn",
        "ls /sys/class/net; ip -4 addr",
        json!({"HostConfig": {"NetworkMode": "none"}}),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().next(), Some("lo"), "{out}");
    assert!(!out.contains("eth0"), "{out}");
    assert!(out.contains("inet 127.0.0.1/8"), "lo is up: {out}");
    let v = inspect(&d, "nn");
    assert!(
        v["NetworkSettings"]["Networks"]["none"].is_object(),
        "{v:#}"
    );

    let bridge = daemon_arg(&d, "--bridge");
    let (code, out) = run(
        &d,
        "hh",
        "ip -o link",
        json!({"HostConfig": {"NetworkMode": "host"}}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&bridge), "host's links are visible: {out}");

    let web = d.create_container("srv", json!({"Image": "busybox", "Cmd": ["sleep", "300"]}));
    d.start_container(&web);
    let ip = inspect(&d, &web)["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ip.starts_with("172.18."), "{ip}");
    let (code, out) = run(
        &d,
        "side",
        "ip -4 addr show eth0",
        json!({"HostConfig": {"NetworkMode": "container:srv"}}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("inet {ip}/")),
        "shares srv's namespace: {out}"
    );
    // Two containers on the default bridge reach each other by address.
    let (code, out) = run(&d, "pinger", &format!("ping -c1 -W2 {ip}"), json!({}));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn published_ports_reach_the_container_from_the_host() {
    let d = setup();
    let _c = Cleanup {
        d: &d,
        links: vec![],
    };
    let hp = free_port();
    let id = d.create_container("pub",
        json!({
            "Image": "busybox",
            "Cmd": ["sh", "-c", "mkdir -p /www && echo published-hi > /www/index.html && httpd -f -p 80 -h /www"],
            "ExposedPorts": {"80/tcp": {}, "8443/tcp": {}},
            "HostConfig": {
                "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": hp.to_string()}]},
                "PublishAllPorts": true,
            },
        }),
    );
    d.start_container(&id);
    let url = format!("http://127.0.0.1:{hp}/");
    let mut body = String::new();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let (code, out, _) = run_with_timeout(
                Command::new("curl").args(["-s", "-m", "2", &url]),
                Duration::from_secs(5),
            );
            body = out;
            code == Some(0)
        }),
        "curl {url} failed"
    );
    assert_eq!(body, "published-hi\n");
    let v = inspect(&d, &id);
    let ports = &v["NetworkSettings"]["Ports"];
    assert_eq!(ports["80/tcp"][0]["HostIp"], "127.0.0.1", "{ports}");
    assert_eq!(ports["80/tcp"][0]["HostPort"], hp.to_string());
    // -P: 8443 got an ephemeral port, which `docker port` reports.
    let eph = ports["8443/tcp"][0]["HostPort"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(eph.parse::<u16>().unwrap() > 0);
    let out = ok(d.docker().args(["port", "pub"]));
    assert!(out.contains(&format!("80/tcp -> 127.0.0.1:{hp}")), "{out}");
    assert!(out.contains(&format!("8443/tcp -> 0.0.0.0:{eph}")), "{out}");
    let ps = ok(d.docker().args(["ps", "--format", "{{.Ports}}"]));
    assert!(ps.contains(&format!("127.0.0.1:{hp}->80/tcp")), "{ps}");
    // The DNAT rule is in berth's table.
    let table = daemon_arg(&d, "--firewall-table");
    let rules = String::from_utf8(
        Command::new("nft")
            .args(["list", "table", "ip", &table])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        rules.contains(&format!("tcp dport {hp} dnat to")),
        "{rules}"
    );

    // The port is taken: a second container asking for it fails clearly.
    let id2 = d.create_container("pub2",
        json!({"Image": "busybox", "Cmd": ["sleep", "1"], "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": hp.to_string()}]}}}),
    );
    let r = d.http("POST", &format!("/containers/{id2}/start"), None);
    assert!(r.status >= 400, "{}", r.text());
    assert!(
        r.text().contains("port is already allocated"),
        "{}",
        r.text()
    );

    ok(d.docker().args(["rm", "-f", "pub"]));
    let rules = String::from_utf8(
        Command::new("nft")
            .args(["list", "table", "ip", &table])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        !rules.contains(&format!("tcp dport {hp} dnat to")),
        "{rules}"
    );
    let (code, _, _) = run_with_timeout(
        Command::new("curl").args(["-s", "-m", "2", &url]),
        Duration::from_secs(5),
    );
    assert_ne!(code, Some(0), "the proxy is gone with the container");
}

#[test]
fn macvlan_on_a_dummy_parent() {
    let d = setup();
    let parent = format!("bd{}", &d.pid().to_string());
    let _c = Cleanup {
        d: &d,
        links: vec![parent.clone()],
    };
    // A veth end as the parent (the dummy module may be missing); its peer goes with it.
    ok(Command::new("ip").args([
        "link",
        "add",
        &parent,
        "type",
        "veth",
        "peer",
        "name",
        &format!("{parent}p"),
    ]));
    ok(Command::new("ip").args(["link", "set", &parent, "up"]));
    ok(d.docker().args([
        "network",
        "create",
        "-d",
        "macvlan",
        "--subnet",
        "172.31.253.0/24",
        "-o",
        &format!("parent={parent}"),
        "mv",
    ]));
    let (code, out) = run(
        &d,
        "mm1",
        "ip link show eth0; ip -4 addr show eth0",
        json!({"HostConfig": {"NetworkMode": "mv"}}),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("link/ether 02:42:ac:1f:fd:02"), "{out}");
    assert!(out.contains("inet 172.31.253.2/24"), "{out}");
    ok(d.docker().args(["rm", "mm1"]));
    ok(d.docker().args(["network", "rm", "mv"]));
}

#[test]
fn nothing_is_left_after_shutdown() {
    let mut d = setup();
    let bridge = daemon_arg(&d, "--bridge");
    let table = daemon_arg(&d, "--firewall-table");
    {
        let _c = Cleanup {
            d: &d,
            links: vec![],
        };
        ok(d.docker()
            .args(["network", "create", "--subnet", "172.31.254.0/24", "left"]));
        let (code, out) = run(
            &d,
            "xx",
            "true",
            json!({"HostConfig": {"NetworkMode": "left"}}),
        );
        assert_eq!(code, 0, "{out}");
    }
    let left = ok(d.docker().args(["network", "ls", "--format", "{{.Name}}"]));
    assert!(!left.contains("left"), "{left}");
    assert!(link_exists(&bridge));
    d.stop();
    assert!(!link_exists(&bridge), "default bridge removed at shutdown");
    assert!(!nft_table_exists(&table), "nft table removed at shutdown");
    let netns = d.data_root.join("netns");
    let files = std::fs::read_dir(&netns).map(|r| r.count()).unwrap_or(0);
    assert_eq!(files, 0, "no pinned namespace left");
}
