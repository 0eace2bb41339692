//! rustls configurations for berthd's TCP listeners and for clients.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};

use crate::pem::{load_certs, load_key, load_roots};
use crate::{provider, TlsError};

/// The only application protocol berth speaks over TLS.
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// Builds the server configuration of a TLS listener from a certificate
/// chain and its key (PEM files).
///
/// With `client_ca`, every client must present a certificate chaining to
/// one of the CAs in that file (Docker's `--tlsverify`); without it, clients
/// are not asked for a certificate (Docker's `--tls`). ALPN offers
/// `http/1.1`.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = load_certs(cert, "certificate")?;
    let key_der = load_key(key, "key")?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Config {
            side: "server",
            source,
        })?;
    let builder = match client_ca {
        Some(ca) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(load_roots(ca)?, provider())
                .build()
                .map_err(|source| TlsError::ClientVerifier {
                    path: ca.to_path_buf(),
                    source,
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config =
        builder
            .with_single_cert(chain, key_der)
            .map_err(|source| TlsError::Identity {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                source,
            })?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}

/// A verifier that accepts any server certificate but still checks the handshake
/// signatures with the ring provider's algorithms — Go's `InsecureSkipVerify`, for
/// docker's `--tls` without `--tlsverify` and for insecure registries.
pub fn accept_any_server_cert() -> Arc<dyn rustls::client::danger::ServerCertVerifier> {
    Arc::new(AcceptAnyServerCert {
        algorithms: provider().signature_verification_algorithms,
    })
}

/// Builds a client configuration.
///
/// With `verify_server`, the server's certificate must chain to a CA in `ca`
/// and match the name connected to (Docker's `--tlsverify`); `ca` is then
/// required. Without it, any server certificate is accepted, though the
/// handshake signatures are still checked (Docker's `--tls`), and `ca` is
/// ignored. `identity` is the client certificate chain and its key (PEM;
/// PKCS#8, SEC1 or PKCS#1 keys). ALPN offers `http/1.1`.
pub fn client_config(
    ca: Option<&Path>,
    identity: Option<(&Path, &Path)>,
    verify_server: bool,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Config {
            side: "client",
            source,
        })?;
    let builder = if verify_server {
        let ca = ca.ok_or(TlsError::MissingCa)?;
        builder.with_root_certificates(load_roots(ca)?)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(accept_any_server_cert())
    };
    let mut config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                load_certs(cert, "client certificate")?,
                load_key(key, "client key")?,
            )
            .map_err(|source| TlsError::Identity {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                source,
            })?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}

/// Accepts any server certificate, but still verifies that the server holds
/// its key: handshake signatures are checked with the provider's algorithms.
#[derive(Debug)]
struct AcceptAnyServerCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::path::PathBuf;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    use super::*;
    use crate::{init, issue_client, InitOptions};

    /// A CA, server and client generated by `init` into a temporary directory.
    struct Pki {
        dir: tempfile::TempDir,
    }

    impl Pki {
        fn new(hostnames: &[&str]) -> Self {
            let dir = tempfile::tempdir().unwrap();
            init(&InitOptions {
                dir: dir.path().to_path_buf(),
                hostnames: hostnames.iter().map(|s| s.to_string()).collect(),
                days: 30,
                force: false,
            })
            .unwrap();
            Self { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn server(&self, verify_clients: bool) -> Arc<ServerConfig> {
            let ca = self.path("ca.pem");
            server_config(
                &self.path("server-cert.pem"),
                &self.path("server-key.pem"),
                verify_clients.then_some(ca.as_path()),
            )
            .unwrap()
        }

        /// A verifying client, with the generated client identity if asked.
        fn client(&self, with_identity: bool) -> Arc<ClientConfig> {
            let (cert, key) = (self.path("cert.pem"), self.path("key.pem"));
            client_config(
                Some(&self.path("ca.pem")),
                with_identity.then_some((cert.as_path(), key.as_path())),
                true,
            )
            .unwrap()
        }
    }

    fn fixture(name: &str) -> PathBuf {
        // Test-only keys and long-lived self-signed certificates for
        // "localhost" made with openssl, to cover SEC1 and PKCS#1 keys.
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/testdata")
            .join(name)
    }

    fn dns(name: &str) -> ServerName<'static> {
        ServerName::try_from(name.to_string()).unwrap()
    }

    /// Runs a handshake over an in-memory pipe, then sends two bytes from the
    /// server to the client. Returns the server's outcome (the negotiated
    /// ALPN protocol) and the client's.
    async fn handshake(
        server: Arc<ServerConfig>,
        client: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> (io::Result<Option<Vec<u8>>>, io::Result<()>) {
        let (server_io, client_io) = tokio::io::duplex(64 * 1024);
        let serve = async move {
            let mut stream = TlsAcceptor::from(server).accept(server_io).await?;
            stream.write_all(b"ok").await?;
            stream.shutdown().await?;
            Ok(stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec))
        };
        let connect = async move {
            let mut stream = TlsConnector::from(client).connect(name, client_io).await?;
            let mut buf = [0u8; 2];
            stream.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"ok");
            Ok(())
        };
        tokio::join!(serve, connect)
    }

    #[tokio::test]
    async fn mutual_tls_handshake_by_name_and_ip() {
        let pki = Pki::new(&["berth.test", "192.0.2.7"]);
        let names = [
            dns("localhost"),
            dns("berth.test"),
            ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into()),
            ServerName::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST).into()),
            ServerName::IpAddress(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)).into()),
        ];
        for name in names {
            let (server, client) =
                handshake(pki.server(true), pki.client(true), name.clone()).await;
            assert_eq!(
                server.unwrap().as_deref(),
                Some(&b"http/1.1"[..]),
                "{name:?}"
            );
            client.unwrap();
        }
    }

    #[tokio::test]
    async fn server_name_outside_the_sans_is_rejected() {
        let pki = Pki::new(&["berth.test"]);
        let (_, client) = handshake(pki.server(false), pki.client(false), dns("other.test")).await;
        let err = client.unwrap_err().to_string();
        assert!(err.contains("not valid for name"), "{err}");
    }

    #[tokio::test]
    async fn verifying_server_rejects_client_without_certificate() {
        let pki = Pki::new(&[]);
        let (server, client) =
            handshake(pki.server(true), pki.client(false), dns("localhost")).await;
        let err = server.unwrap_err().to_string();
        assert!(err.contains("peer sent no certificates"), "{err}");
        assert!(client.is_err());
    }

    #[tokio::test]
    async fn verifying_server_rejects_client_from_another_ca() {
        let pki = Pki::new(&[]);
        let other = Pki::new(&[]);
        let (cert, key) = (other.path("cert.pem"), other.path("key.pem"));
        let client = client_config(Some(&pki.path("ca.pem")), Some((&cert, &key)), true).unwrap();
        let (server, client) = handshake(pki.server(true), client, dns("localhost")).await;
        let err = server.unwrap_err().to_string();
        assert!(err.contains("UnknownIssuer"), "{err}");
        assert!(client.is_err());
    }

    #[tokio::test]
    async fn verifying_server_accepts_client_issued_later() {
        let pki = Pki::new(&[]);
        let out = tempfile::tempdir().unwrap();
        issue_client(pki.dir.path(), out.path(), "alice", 7).unwrap();
        let (cert, key) = (out.path().join("cert.pem"), out.path().join("key.pem"));
        let client =
            client_config(Some(&out.path().join("ca.pem")), Some((&cert, &key)), true).unwrap();
        let (server, client) = handshake(pki.server(true), client, dns("localhost")).await;
        server.unwrap();
        client.unwrap();
    }

    #[tokio::test]
    async fn encrypt_only_server_accepts_anonymous_client() {
        let pki = Pki::new(&[]);
        let (server, client) =
            handshake(pki.server(false), pki.client(false), dns("localhost")).await;
        server.unwrap();
        client.unwrap();
    }

    #[tokio::test]
    async fn client_rejects_server_from_another_ca() {
        let pki = Pki::new(&[]);
        let other = Pki::new(&[]);
        let (server, client) =
            handshake(pki.server(false), other.client(false), dns("localhost")).await;
        let err = client.unwrap_err().to_string();
        assert!(err.contains("UnknownIssuer"), "{err}");
        assert!(server.is_err());
    }

    #[tokio::test]
    async fn non_verifying_client_accepts_any_server() {
        let pki = Pki::new(&[]);
        let other = Pki::new(&[]);
        let (cert, key) = (pki.path("cert.pem"), pki.path("key.pem"));
        // Wrong CA and a name the certificate does not cover: both ignored.
        let client =
            client_config(Some(&other.path("ca.pem")), Some((&cert, &key)), false).unwrap();
        let (server, client) =
            handshake(pki.server(true), client, dns("not-the-server.test")).await;
        server.unwrap();
        client.unwrap();
    }

    #[tokio::test]
    async fn sec1_and_pkcs1_keys_are_usable() {
        for (cert, key) in [
            ("ec-cert.pem", "ec-sec1-key.pem"),
            ("rsa-cert.pem", "rsa-pkcs1-key.pem"),
        ] {
            let (cert, key) = (fixture(cert), fixture(key));
            let server = server_config(&cert, &key, Some(&cert)).unwrap();
            let client = client_config(Some(&cert), Some((&cert, &key)), true).unwrap();
            let (server, client) = handshake(server, client, dns("localhost")).await;
            server.unwrap();
            client.unwrap();
        }
    }

    #[test]
    fn verifying_client_needs_a_ca() {
        let err = client_config(None, None, true).unwrap_err();
        assert!(matches!(err, TlsError::MissingCa), "{err}");
        client_config(None, None, false).unwrap();
    }

    #[test]
    fn mismatched_certificate_and_key_are_rejected() {
        let pki = Pki::new(&[]);
        let err =
            server_config(&pki.path("server-cert.pem"), &pki.path("key.pem"), None).unwrap_err();
        assert!(matches!(err, TlsError::Identity { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("server-cert.pem") && msg.contains("key.pem"),
            "{msg}"
        );
    }

    #[test]
    fn missing_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("server-cert.pem");
        let err = server_config(&cert, &dir.path().join("server-key.pem"), None).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("cannot read TLS certificate {}", cert.display())),
            "{msg}"
        );
        assert!(msg.contains("berth tls init"), "{msg}");
    }
}
