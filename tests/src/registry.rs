//! A real registry for the tests: Debian's `docker-registry` (distribution 2.8) on a free
//! 127.0.0.1 port, with its config and storage in a temp directory, optionally behind
//! htpasswd (bcrypt) Basic auth and TLS (certificates from `berth tls init`). Dropping the [`Registry`] kills it by pid and removes the
//! directory; its log is printed when a test panics.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::free_port;

/// Where Debian installs the registry.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub struct Registry {
    pub port: u16,
    /// `user:password` when started with auth.
    pub credentials: Option<(String, String)>,
    /// Serving HTTPS (with a certificate from its own CA, `ca_cert`).
    pub tls: bool,
    child: Child,
    dir: tempfile::TempDir,
}

impl Registry {
    /// A plain HTTP registry without auth.
    pub fn start() -> Registry {
        Self::launch(None, false)
    }

    /// A plain HTTP registry requiring `user`/`password` (htpasswd, bcrypt).
    pub fn with_auth(user: &str, password: &str) -> Registry {
        Self::launch(Some((user.to_string(), password.to_string())), false)
    }

    /// An HTTPS registry requiring `user`/`password`.
    pub fn with_tls_auth(user: &str, password: &str) -> Registry {
        Self::launch(Some((user.to_string(), password.to_string())), true)
    }

    fn launch(credentials: Option<(String, String)>, tls: bool) -> Registry {
        assert!(
            std::path::Path::new(REGISTRY_BIN).exists(),
            "{REGISTRY_BIN} is missing: apt-get install docker-registry (scripts/test does)"
        );
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()
            .expect("tempdir");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: berth-tests\n",
            dir.path().join("data").display()
        );
        if tls {
            let certs = dir.path().join("tls");
            let status = Command::new(crate::berth_bin())
                .args(["tls", "init", "--days", "2", "--dir"])
                .arg(&certs)
                .stdout(Stdio::null())
                .status()
                .expect("run berth tls init");
            assert!(status.success(), "berth tls init failed");
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                certs.join("server-cert.pem").display(),
                certs.join("server-key.pem").display()
            ));
        }
        if let Some((user, password)) = &credentials {
            let hash = bcrypt::hash_with_result(password, 4)
                .expect("bcrypt")
                .format_for_version(bcrypt::Version::TwoY);
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test-realm\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let mut r = Registry {
            port,
            credentials,
            tls,
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = r.child.try_wait().unwrap() {
                panic!("docker-registry exited ({status}):\n{}", r.log_text());
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen within 20s:\n{}",
                r.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }

    /// `127.0.0.1:PORT`, the registry part of image names.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// GET `path` on a plain HTTP registry (with the credentials, if it has some);
    /// returns (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        assert!(!self.tls, "Registry::get speaks plain HTTP only");
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to registry");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.host()
        );
        if let Some((u, p)) = &self.credentials {
            let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            req.push_str(&format!("Authorization: Basic {b}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// The tags the registry lists for `repo`.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let (status, body) = self.get(&format!("/v2/{repo}/tags/list"));
        assert_eq!(status, 200, "tags/list of {repo}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut tags: Vec<String> = v["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        tags
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- docker-registry log ----\n{}", self.log_text());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
