//! Which registries are trusted how: dockerd's `insecure-registries` (CIDRs or `host[:port]`,
//! plus 127.0.0.0/8 and ::1 always), `registry-mirrors` for Docker Hub, and per-registry CA
//! certificates and client certificates in `certs.d/<host[:port]>/` directories.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use crate::RegistryError;

/// The registry domain of Docker Hub references.
pub const DOCKER_HUB_DOMAIN: &str = "docker.io";
/// The host Docker Hub's registry API is served from.
pub const DOCKER_HUB_HOST: &str = "registry-1.docker.io";
/// The key docker clients use for Docker Hub credentials (`config.json`, `/auth`).
pub const DOCKER_HUB_INDEX: &str = "https://index.docker.io/v1/";
/// Where per-registry certificates are looked for, berth's first.
pub const DEFAULT_CERTS_DIRS: [&str; 2] = ["/etc/berth/certs.d", "/etc/docker/certs.d"];
/// Insecure by default, as in dockerd.
const DEFAULT_INSECURE_CIDRS: [&str; 2] = ["127.0.0.0/8", "::1/128"];

/// An IP network (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = s.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| -> (u128, u32) {
            match a {
                IpAddr::V4(v) => (u32::from(v) as u128, 32),
                IpAddr::V6(v) => (u128::from(v), 128),
            }
        };
        let ((net, width), (host, host_width)) = (bits(self.addr), bits(ip));
        if width != host_width {
            return false;
        }
        let shift = width - self.prefix as u32;
        shift >= width || (net >> shift) == (host >> shift)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The registry settings of a daemon.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    cidrs: Vec<Cidr>,
    hosts: Vec<String>,
    mirrors: Vec<String>,
    certs_dirs: Vec<PathBuf>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            cidrs: DEFAULT_INSECURE_CIDRS
                .iter()
                .filter_map(|c| Cidr::parse(c))
                .collect(),
            hosts: Vec::new(),
            mirrors: Vec::new(),
            certs_dirs: DEFAULT_CERTS_DIRS.iter().map(PathBuf::from).collect(),
        }
    }
}

impl RegistryConfig {
    /// Checks and normalises dockerd's `insecure-registries` and `registry-mirrors` values.
    pub fn new(insecure: &[String], mirrors: &[String]) -> Result<Self, RegistryError> {
        let mut cfg = RegistryConfig::default();
        for entry in insecure {
            if entry.contains("://") {
                return Err(RegistryError::Config(format!(
                    "insecure registry {entry} should not contain '://': give host[:port] or a CIDR"
                )));
            }
            match Cidr::parse(entry) {
                Some(c) if !cfg.cidrs.contains(&c) => cfg.cidrs.push(c),
                Some(_) => {}
                None if entry.is_empty() || entry.contains(['/', ' ']) => {
                    return Err(RegistryError::Config(format!(
                        "insecure registry {entry:?} is neither host[:port] nor a CIDR"
                    )))
                }
                None => cfg.hosts.push(entry.to_lowercase()),
            }
        }
        for m in mirrors {
            cfg.mirrors.push(normalize_mirror(m)?);
        }
        Ok(cfg)
    }

    /// Looks for per-registry certificates in these directories instead of the defaults.
    pub fn with_certs_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.certs_dirs = dirs;
        self
    }

    /// Insecure networks, as `/info` shows them (`RegistryConfig.InsecureRegistryCIDRs`).
    pub fn insecure_cidrs(&self) -> Vec<String> {
        self.cidrs.iter().map(ToString::to_string).collect()
    }

    /// Insecure registries given by name (`host[:port]`).
    pub fn insecure_hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Docker Hub mirrors, normalised to `scheme://host[:port]/`.
    pub fn mirrors(&self) -> &[String] {
        &self.mirrors
    }

    /// Whether `host` (`name[:port]`) may be reached over plain HTTP or unverified TLS:
    /// listed by name, or an address in an insecure network (names are resolved, as
    /// dockerd does; a name that does not resolve is secure).
    pub async fn is_insecure(&self, host: &str) -> bool {
        let host = host.to_lowercase();
        if host == DOCKER_HUB_HOST || host == DOCKER_HUB_DOMAIN {
            return false;
        }
        if self.hosts.contains(&host) {
            return true;
        }
        let name = host_without_port(&host);
        if self.hosts.iter().any(|h| h == name) {
            return true;
        }
        let addrs: Vec<IpAddr> = match name.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) if name == "localhost" => vec![IpAddr::from([127, 0, 0, 1])],
            Err(_) => match tokio::net::lookup_host((name, 0)).await {
                Ok(it) => it.map(|a| a.ip()).collect(),
                Err(_) => Vec::new(),
            },
        };
        addrs
            .iter()
            .any(|ip| self.cidrs.iter().any(|c| c.contains(*ip)))
    }

    /// The rustls configuration for `host`: the system's roots plus the CA certificates
    /// in `certs.d/<host>/*.crt`, a client certificate from `*.cert`/`*.key` there, and
    /// no verification at all when `verify` is false (insecure registries).
    pub fn tls_config(&self, host: &str, verify: bool) -> Result<Arc<ClientConfig>, RegistryError> {
        let tls_err = |message: String| RegistryError::Tls {
            host: host.to_string(),
            message,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err(e.to_string()))?;
        let mut roots = RootCertStore::empty();
        for bundle in system_bundles() {
            for cert in read_certs(&bundle).unwrap_or_default() {
                let _ = roots.add(cert);
            }
        }
        let mut identity = None;
        for dir in self.certs_dirs.iter().map(|d| d.join(host)) {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files {
                match f.extension().and_then(|e| e.to_str()) {
                    Some("crt") => {
                        let certs =
                            read_certs(&f).map_err(|e| tls_err(format!("{}: {e}", f.display())))?;
                        for c in certs {
                            roots
                                .add(c)
                                .map_err(|e| tls_err(format!("{}: {e}", f.display())))?;
                        }
                    }
                    Some("cert") if identity.is_none() => {
                        let key = f.with_extension("key");
                        if !key.exists() {
                            return Err(tls_err(format!(
                                "client certificate {} has no key {}: add it or remove the certificate",
                                f.display(),
                                key.display()
                            )));
                        }
                        let chain =
                            read_certs(&f).map_err(|e| tls_err(format!("{}: {e}", f.display())))?;
                        let key_der = read_key(&key)
                            .map_err(|e| tls_err(format!("{}: {e}", key.display())))?;
                        identity = Some((chain, key_der));
                    }
                    _ => {}
                }
            }
        }
        let builder = if verify {
            builder.with_root_certificates(roots)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(berth_tls::accept_any_server_cert())
        };
        let mut config = match identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| tls_err(format!("client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// `host:port` → `host` (IPv6 literals keep their brackets off).
pub(crate) fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

/// dockerd's `ValidateMirror`: http(s) scheme, a host, no path, query or fragment.
fn normalize_mirror(m: &str) -> Result<String, RegistryError> {
    let bad = |why: &str| RegistryError::Config(format!("invalid mirror {m:?}: {why}"));
    let (scheme, rest) = m
        .split_once("://")
        .ok_or_else(|| bad("expected http:// or https:// followed by host[:port]"))?;
    if scheme != "http" && scheme != "https" {
        return Err(bad("unsupported scheme, use http or https"));
    }
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.is_empty() || host.contains(['/', '?', '#']) {
        return Err(bad("path, query, or fragment at end of the URI"));
    }
    Ok(format!("{scheme}://{host}/"))
}

/// The system's CA bundles (`SSL_CERT_FILE`, else Debian's and Red Hat's locations).
fn system_bundles() -> Vec<PathBuf> {
    if let Some(f) = std::env::var_os("SSL_CERT_FILE") {
        return vec![PathBuf::from(f)];
    }
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|p| p.exists())
    .take(1)
    .collect()
}

fn read_certs(path: &Path) -> std::io::Result<Vec<CertificateDer<'static>>> {
    let data = std::fs::read(path)?;
    rustls_pemfile::certs(&mut &data[..]).collect()
}

fn read_key(path: &Path) -> std::io::Result<PrivateKeyDer<'static>> {
    let data = std::fs::read(path)?;
    rustls_pemfile::private_key(&mut &data[..])?
        .ok_or_else(|| std::io::Error::other("no private key in the file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let c = Cidr::parse("127.0.0.0/8").unwrap();
        assert!(c.contains("127.1.2.3".parse().unwrap()));
        assert!(!c.contains("128.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        assert!(Cidr::parse("::1/128")
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("example.com").is_none());
    }

    #[tokio::test]
    async fn insecure_rules() {
        let cfg = RegistryConfig::new(
            &["myreg.test:5000".into(), "10.0.0.0/8".into()],
            &["https://mirror.test".into()],
        )
        .unwrap();
        assert!(cfg.is_insecure("127.0.0.1:5000").await);
        assert!(cfg.is_insecure("localhost:5000").await);
        assert!(cfg.is_insecure("[::1]:5000").await);
        assert!(cfg.is_insecure("myreg.test:5000").await);
        assert!(cfg.is_insecure("10.1.2.3").await);
        assert!(!cfg.is_insecure("docker.io").await);
        assert!(!cfg.is_insecure("192.168.1.1:5000").await);
        assert_eq!(cfg.mirrors(), ["https://mirror.test/"]);
        assert_eq!(
            cfg.insecure_cidrs(),
            ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]
        );
        assert!(RegistryConfig::new(&["http://x".into()], &[]).is_err());
        assert!(RegistryConfig::new(&[], &["https://m.test/path".into()]).is_err());
        assert!(RegistryConfig::new(&[], &["ftp://m.test".into()]).is_err());
    }

    #[test]
    fn certs_dir_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().join("reg.test:5000");
        std::fs::create_dir(&host).unwrap();
        std::fs::write(host.join("ca.crt"), "not a certificate").unwrap();
        let cfg = RegistryConfig::default().with_certs_dirs(vec![dir.path().to_path_buf()]);
        // A .crt without PEM blocks adds nothing; a client cert without its key is an error.
        cfg.tls_config("reg.test:5000", true).unwrap();
        std::fs::write(host.join("client.cert"), "").unwrap();
        let e = cfg.tls_config("reg.test:5000", true).unwrap_err();
        assert!(e.to_string().contains("has no key"), "{e}");
        cfg.tls_config("other:1", false).unwrap();
    }

    /// A registry serving HTTPS with a certificate from its own CA: untrusted until the CA
    /// is in `certs.d/<host:port>/ca.crt` (the insecure loopback default is left out here).
    #[tokio::test]
    async fn certs_d_ca_makes_a_registry_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("tls");
        berth_tls::init(&berth_tls::InitOptions {
            dir: tls.clone(),
            hostnames: vec![],
            days: 2,
            force: false,
        })
        .unwrap();
        let server = berth_tls::server_config(
            &tls.join(berth_tls::SERVER_CERT),
            &tls.join(berth_tls::SERVER_KEY),
            None,
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        tokio::spawn(async move {
            let acceptor = tokio_rustls::TlsAcceptor::from(server);
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(b"{}")),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        let certs_d = dir.path().join("certs.d");
        let secure = RegistryConfig {
            cidrs: Vec::new(),
            ..RegistryConfig::default()
        }
        .with_certs_dirs(vec![certs_d.clone()]);
        let anonymous = crate::Credentials::default();
        let e = crate::Registries::new(secure.clone())
            .login(&host, &anonymous)
            .await
            .unwrap_err();
        assert!(e.is_unreachable(), "{e}");
        assert!(e.to_string().contains("TLS handshake failed"), "{e}");
        std::fs::create_dir_all(certs_d.join(&host)).unwrap();
        std::fs::copy(
            tls.join(berth_tls::CA_CERT),
            certs_d.join(&host).join("ca.crt"),
        )
        .unwrap();
        crate::Registries::new(secure)
            .login(&host, &anonymous)
            .await
            .unwrap();
    }

    #[test]
    fn hosts_without_ports() {
        assert_eq!(host_without_port("a.b:5000"), "a.b");
        assert_eq!(host_without_port("a.b"), "a.b");
        assert_eq!(host_without_port("[::1]:5000"), "::1");
    }
}
