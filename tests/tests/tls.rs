//! TLS on TCP listeners: certificates from `berth tls init`, mutual TLS with the real docker
//! CLI and the berth CLI, and refusal of clients without a certificate.

use std::time::Duration;

use berth_tests::*;

#[test]
fn tls_init_then_tlsverify_with_docker_and_berth() {
    let certs = tempfile::tempdir().unwrap();
    let c = certs.path();
    let out = ok(std::process::Command::new(berth_bin()).args([
        "tls",
        "init",
        "--dir",
        c.to_str().unwrap(),
        "--hostname",
        "berth.test",
    ]));
    assert!(out.contains("ca.pem"), "{out}");
    for f in [
        "ca.pem",
        "ca-key.pem",
        "server-cert.pem",
        "server-key.pem",
        "cert.pem",
        "key.pem",
    ] {
        assert!(c.join(f).exists(), "{f}");
    }
    use std::os::unix::fs::PermissionsExt;
    for key in ["ca-key.pem", "server-key.pem", "key.pem"] {
        let mode = std::fs::metadata(c.join(key)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    // A second init must not clobber the CA.
    let (_, msg) = fails(std::process::Command::new(berth_bin()).args([
        "tls",
        "init",
        "--dir",
        c.to_str().unwrap(),
    ]));
    assert!(msg.contains("--force"), "{msg}");

    let port = free_port();
    let p = |f: &str| c.join(f).display().to_string();
    let d = Daemon::builder()
        .args(["-H", &format!("tcp://127.0.0.1:{port}"), "--tlsverify"])
        .args([
            "--tlscacert",
            &p("ca.pem"),
            "--tlscert",
            &p("server-cert.pem"),
            "--tlskey",
            &p("server-key.pem"),
        ])
        .start();
    let tcp = format!("tcp://127.0.0.1:{port}");

    // The real docker CLI with the client certificate.
    let out = ok(d.docker().env_remove("DOCKER_HOST").args([
        "--tlsverify",
        "--tlscacert",
        &p("ca.pem"),
        "--tlscert",
        &p("cert.pem"),
        "--tlskey",
        &p("key.pem"),
        "-H",
        &tcp,
        "version",
        "--format",
        "{{.Server.Version}}",
    ]));
    assert_eq!(out.trim(), env!("CARGO_PKG_VERSION"));
    // ... and through DOCKER_CERT_PATH/DOCKER_TLS_VERIFY.
    let out = ok(d
        .docker()
        .env("DOCKER_HOST", &tcp)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", c)
        .args(["info", "--format", "{{.OSType}}"]));
    assert_eq!(out.trim(), "linux");

    // Without a client certificate the daemon refuses.
    let nocert = tempfile::tempdir().unwrap();
    std::fs::copy(c.join("ca.pem"), nocert.path().join("ca.pem")).unwrap();
    let (code, out, err) = run_with_timeout(
        d.docker()
            .env("DOCKER_HOST", &tcp)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", nocert.path())
            .args(["version", "--format", "{{.Server.Version}}"]),
        Duration::from_secs(30),
    );
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(!out.contains(env!("CARGO_PKG_VERSION")), "{out}");
    // Plain HTTP to the TLS port gets nowhere either.
    let (code, _, _) = run_with_timeout(
        d.docker()
            .env("DOCKER_HOST", &tcp)
            .args(["version", "--format", "{{.Server.Version}}"]),
        Duration::from_secs(30),
    );
    assert_ne!(code, Some(0));

    // The berth CLI: with certs it works, with --tls alone (no cert) it is refused.
    let out = ok(d.berth().env("BERTH_HOST", &tcp).args([
        "--tlsverify",
        "--tlscacert",
        &p("ca.pem"),
        "--tlscert",
        &p("cert.pem"),
        "--tlskey",
        &p("key.pem"),
        "info",
        "--format",
        "{{.OSType}}",
    ]));
    assert_eq!(out.trim(), "linux");
    let (_, msg) = fails(
        d.berth()
            .env("BERTH_HOST", &tcp)
            .env("BERTH_CONFIG", nocert.path())
            .args(["--tls", "info"]),
    );
    assert!(msg.contains("requires a client certificate"), "{msg}");
    // A certificate from another CA is refused.
    let other = tempfile::tempdir().unwrap();
    ok(std::process::Command::new(berth_bin()).args([
        "tls",
        "init",
        "--dir",
        other.path().to_str().unwrap(),
    ]));
    let o = |f: &str| other.path().join(f).display().to_string();
    let (_, msg) = fails(d.berth().env("BERTH_HOST", &tcp).args([
        "--tlsverify",
        "--tlscacert",
        &p("ca.pem"),
        "--tlscert",
        &o("cert.pem"),
        "--tlskey",
        &o("key.pem"),
        "info",
    ]));
    assert!(msg.contains("rejected the client certificate"), "{msg}");
    // The server name must match: the cert names berth.test, localhost and 127.0.0.1.
    let out = ok(d
        .berth()
        .env("BERTH_HOST", format!("tcp://localhost:{port}"))
        .args([
            "--tlsverify",
            "--tlscacert",
            &p("ca.pem"),
            "--tlscert",
            &p("cert.pem"),
            "--tlskey",
            &p("key.pem"),
            "version",
            "--format",
            "{{.Server.Version}}",
        ]));
    assert_eq!(out.trim(), env!("CARGO_PKG_VERSION"));

    // `berth tls client` signs another client that the daemon accepts.
    let extra = tempfile::tempdir().unwrap();
    let extra_dir = extra.path().join("alice");
    ok(std::process::Command::new(berth_bin()).args([
        "tls",
        "client",
        "--ca-dir",
        c.to_str().unwrap(),
        "--out",
        extra_dir.to_str().unwrap(),
        "--name",
        "alice",
    ]));
    let out = ok(d
        .docker()
        .env("DOCKER_HOST", &tcp)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &extra_dir)
        .args(["version", "--format", "{{.Server.Version}}"]));
    assert_eq!(out.trim(), env!("CARGO_PKG_VERSION"));
}
