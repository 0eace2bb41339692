//! The plugin client against a fake plugin: a thread answering on a UNIX socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::sync::{Arc, Mutex};

use super::*;

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// Serves `answer(path, body) -> (status, body, chunked)` until the listener is dropped.
fn fake_plugin(
    sock: &Path,
    answer: impl Fn(&str, &Value) -> (u16, String, bool) + Send + 'static,
) -> Seen {
    let listener = UnixListener::bind(sock).unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let mut r = BufReader::new(conn);
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut len = 0;
            let mut accept = String::new();
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if h == "\r\n" || h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap(),
                    "accept" => accept = v.trim().to_string(),
                    _ => {}
                }
            }
            assert_eq!(accept, MEDIA_TYPE);
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap();
            log.lock().unwrap().push((path.clone(), body.clone()));
            let (status, text, chunked) = answer(&path, &body);
            let mut conn = r.into_inner();
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/vnd.docker.plugins.v1+json\r\n"
            );
            let out = if chunked {
                let (a, b) = text.split_at(text.len() / 2);
                format!(
                    "{head}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                    a.len(),
                    b.len()
                )
            } else {
                format!("{head}Content-Length: {}\r\n\r\n{text}", text.len())
            };
            let _ = conn.write_all(out.as_bytes());
        }
    });
    seen
}

fn volume_driver(path: &str, body: &Value) -> (u16, String, bool) {
    let ok = |v: Value| (200, v.to_string(), false);
    match path {
        "/Plugin.Activate" => ok(json!({"Implements": ["VolumeDriver"]})),
        "/VolumeDriver.Create" if body["Name"] == "bad" => ok(json!({"Err": "no bad names"})),
        "/VolumeDriver.Create" | "/VolumeDriver.Remove" | "/VolumeDriver.Unmount" => {
            ok(json!({"Err": ""}))
        }
        "/VolumeDriver.Mount" => (
            200,
            json!({"Mountpoint": format!("/data/{}", body["Name"].as_str().unwrap())}).to_string(),
            true,
        ),
        "/VolumeDriver.Path" => ok(json!({"Mountpoint": "/data/p"})),
        "/VolumeDriver.Get" if body["Name"] == "gone" => {
            (500, json!({"Err": "no such volume"}).to_string(), false)
        }
        "/VolumeDriver.Get" => ok(
            json!({"Volume": {"Name": body["Name"], "Mountpoint": "/data/g",
            "Status": {"k": 1}}}),
        ),
        "/VolumeDriver.List" => {
            ok(json!({"Volumes": [{"Name": "a"}, {"Name": "b", "Mountpoint": "/m"}]}))
        }
        "/VolumeDriver.Capabilities" => ok(json!({"Capabilities": {"Scope": "global"}})),
        _ => (404, "404 page not found\n".into(), false),
    }
}

#[test]
fn speaks_the_volume_driver_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let seen = fake_plugin(&dir.path().join("fake.sock"), volume_driver);
    let dirs = vec![dir.path().to_path_buf()];
    let p = Plugin::open(&dirs, "fake").unwrap();
    let opts = BTreeMap::from([("size".to_string(), "1g".to_string())]);
    p.create("v1", &opts).unwrap();
    assert_eq!(
        p.create("bad", &opts).unwrap_err().to_string(),
        "VolumeDriver.Create: no bad names"
    );
    assert_eq!(p.mount("v1", "cid").unwrap(), "/data/v1");
    p.unmount("v1", "cid").unwrap();
    assert_eq!(p.path("v1").unwrap(), "/data/p");
    let g = p.get("v1").unwrap();
    assert_eq!((g.name.as_str(), g.mountpoint.as_str()), ("v1", "/data/g"));
    assert_eq!(
        p.get("gone").unwrap_err().to_string(),
        "VolumeDriver.Get: no such volume"
    );
    let names: Vec<String> = p.list().unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(p.scope(), "global");
    p.remove("v1").unwrap();

    let seen = seen.lock().unwrap();
    let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/Plugin.Activate",
            "/VolumeDriver.Create",
            "/VolumeDriver.Create",
            "/VolumeDriver.Mount",
            "/VolumeDriver.Unmount",
            "/VolumeDriver.Path",
            "/VolumeDriver.Get",
            "/VolumeDriver.Get",
            "/VolumeDriver.List",
            "/VolumeDriver.Capabilities",
            "/VolumeDriver.Remove",
        ]
    );
    assert_eq!(seen[1].1, json!({"Name": "v1", "Opts": {"size": "1g"}}));
    assert_eq!(seen[3].1, json!({"Name": "v1", "ID": "cid"}));
}

#[test]
fn finds_plugins_by_socket_and_address_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::create_dir_all(a.join("sub")).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let _l1 = UnixListener::bind(a.join("one.sock")).unwrap();
    let _l2 = UnixListener::bind(a.join("sub/sub.sock")).unwrap();
    std::fs::write(b.join("two.spec"), "unix:///run/two.sock\n").unwrap();
    std::fs::write(b.join("three.spec"), "tcp://127.0.0.1:8080").unwrap();
    std::fs::write(
        b.join("four.json"),
        r#"{"Name":"four","Addr":"unix:///x/4.sock"}"#,
    )
    .unwrap();
    std::fs::write(b.join("one.spec"), "unix:///shadowed").unwrap();
    let dirs = vec![a.clone(), b.clone()];
    assert_eq!(locate(&dirs, "one"), Some(Addr::Unix(a.join("one.sock"))));
    assert_eq!(
        locate(&dirs, "sub"),
        Some(Addr::Unix(a.join("sub/sub.sock")))
    );
    assert_eq!(
        locate(&dirs, "two"),
        Some(Addr::Unix("/run/two.sock".into()))
    );
    assert_eq!(
        locate(&dirs, "three"),
        Some(Addr::Tcp("127.0.0.1:8080".into()))
    );
    assert_eq!(locate(&dirs, "four"), Some(Addr::Unix("/x/4.sock".into())));
    assert_eq!(locate(&dirs, "nope"), None);
    assert_eq!(locate(&dirs, "../a/one"), None);
    assert_eq!(discover(&dirs), ["four", "one", "sub", "three", "two"]);
}

#[test]
fn refuses_what_is_not_a_volume_driver() {
    let dir = tempfile::tempdir().unwrap();
    fake_plugin(&dir.path().join("auth.sock"), |path, _| match path {
        "/Plugin.Activate" => (200, json!({"Implements": ["authz"]}).to_string(), false),
        _ => (404, String::new(), false),
    });
    let dirs = vec![dir.path().to_path_buf()];
    let e = Plugin::open(&dirs, "auth").unwrap_err();
    assert!(matches!(e, PluginError::NotVolumeDriver(_)), "{e}");
    let e = Plugin::open(&dirs, "missing").unwrap_err();
    assert_eq!(e.to_string(), "plugin \"missing\" not found");
    // A socket nobody serves.
    let dead = dir.path().join("dead.sock");
    drop(UnixListener::bind(&dead).unwrap());
    let e = Plugin::open(&dirs, "dead").unwrap_err();
    assert!(matches!(e, PluginError::Unreachable { .. }), "{e}");
}
