//! Generating a CA, a server certificate and client certificates, laid out
//! like Docker's "protect the daemon socket" guide.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SigningKey,
    PKCS_ECDSA_P256_SHA256,
};
use rustls::pki_types::{CertificateDer, DnsName, UnixTime};
use rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use rustls::RootCertStore;
use time::{Duration, OffsetDateTime};

use crate::fsutil::{ensure_dir, write_atomic, CERT_MODE, KEY_MODE};
use crate::pem::{load_certs, load_key};
use crate::{provider, TlsError};

/// CA certificate (`--tlscacert`).
pub const CA_CERT: &str = "ca.pem";
/// CA private key; keep it offline once all certificates are issued.
pub const CA_KEY: &str = "ca-key.pem";
/// Server certificate (`berthd --tlscert`).
pub const SERVER_CERT: &str = "server-cert.pem";
/// Server private key (`berthd --tlskey`).
pub const SERVER_KEY: &str = "server-key.pem";
/// Client certificate (`--tlscert`, found by `DOCKER_CERT_PATH`).
pub const CLIENT_CERT: &str = "cert.pem";
/// Client private key (`--tlskey`, found by `DOCKER_CERT_PATH`).
pub const CLIENT_KEY: &str = "key.pem";

/// The longest validity accepted, in days (100 years).
pub const MAX_DAYS: u32 = 36_500;

/// Names the server certificate is always valid for, besides the requested ones.
const DEFAULT_SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// How far `notBefore` is back-dated, to tolerate clock skew between hosts.
const BACKDATE: Duration = Duration::hours(1);

/// What [`init`] generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitOptions {
    /// Output directory; created with mode 0700 when missing.
    pub dir: PathBuf,
    /// Extra names for the server certificate: DNS names, or IP addresses
    /// (which become IP SANs). `localhost`, `127.0.0.1` and `::1` are always
    /// included.
    pub hostnames: Vec<String>,
    /// Validity of all three certificates, in days.
    pub days: u32,
    /// Replace existing files instead of refusing.
    pub force: bool,
}

/// What [`init`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// Every file written, in order: CA cert and key, server cert and key,
    /// client cert and key.
    pub written: Vec<PathBuf>,
    /// The server certificate's subject alternative names.
    pub server_names: Vec<String>,
    /// When the certificates expire.
    pub not_after: OffsetDateTime,
}

/// What [`issue_client`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueReport {
    /// Every file written: the client certificate and key, and a copy of the
    /// CA certificate unless the output directory already had it.
    pub written: Vec<PathBuf>,
    /// When the client certificate expires.
    pub not_after: OffsetDateTime,
}

/// Generates a CA, a server certificate and a client certificate into
/// `opts.dir`, using Docker's file names ([`CA_CERT`], [`CA_KEY`],
/// [`SERVER_CERT`], [`SERVER_KEY`], [`CLIENT_CERT`], [`CLIENT_KEY`]).
///
/// Keys are ECDSA P-256 in PKCS#8 PEM, mode 0600; certificates are mode
/// 0644. Each file is written atomically. Unless `opts.force` is set, nothing
/// is written when any of the files already exists.
pub fn init(opts: &InitOptions) -> Result<InitReport, TlsError> {
    let validity = Validity::new(opts.days)?;
    let (sans, server_names) = server_sans(&opts.hostnames)?;
    let paths = [
        CA_CERT,
        CA_KEY,
        SERVER_CERT,
        SERVER_KEY,
        CLIENT_CERT,
        CLIENT_KEY,
    ]
    .map(|name| opts.dir.join(name));
    if !opts.force {
        for path in &paths {
            refuse_existing(
                path,
                "pass --force to replace the existing certificates and keys",
            )?;
        }
    }

    let ca_key = new_key("CA key")?;
    let mut ca_params = base_params(&validity)?;
    // Verifiers look issuers up by name, so tell the CAs of different runs
    // apart by the start of their key identifier.
    let key_id: String = ca_params.key_identifier(&ca_key)[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dn = &mut ca_params.distinguished_name;
    dn.push(DnType::CommonName, format!("berth CA {key_id}"));
    dn.push(DnType::OrganizationName, "berth");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|source| TlsError::Generate {
            what: "CA certificate",
            source,
        })?;
    let ca_cert_pem = ca_cert.pem();
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(ca_params, ca_key);

    // X.509 caps common names at 64 characters; "localhost" is always there.
    let server_cn = server_names
        .iter()
        .find(|name| name.len() <= 64)
        .map_or("localhost", String::as_str);
    let mut server_params = leaf_params(&validity, server_cn, ExtendedKeyUsagePurpose::ServerAuth)?;
    server_params.subject_alt_names = sans;
    let (server_cert, server_key) = sign_leaf(&server_params, &issuer, "server certificate")?;

    let client_params = leaf_params(&validity, "client", ExtendedKeyUsagePurpose::ClientAuth)?;
    let (client_cert, client_key) = sign_leaf(&client_params, &issuer, "client certificate")?;

    ensure_dir(&opts.dir)?;
    let contents = [
        (ca_cert_pem, CERT_MODE),
        (ca_key_pem, KEY_MODE),
        (server_cert, CERT_MODE),
        (server_key, KEY_MODE),
        (client_cert, CERT_MODE),
        (client_key, KEY_MODE),
    ];
    for (path, (pem, mode)) in paths.iter().zip(&contents) {
        write_atomic(path, pem.as_bytes(), *mode)?;
    }
    Ok(InitReport {
        written: paths.to_vec(),
        server_names,
        not_after: validity.not_after,
    })
}

/// Signs a new client certificate (common name `name`, valid `days` days)
/// with the CA in `ca_dir` ([`CA_CERT`] and [`CA_KEY`]) and writes it to
/// `out_dir` as [`CLIENT_CERT`] and [`CLIENT_KEY`], plus a copy of
/// [`CA_CERT`], so `out_dir` can be used directly as `DOCKER_CERT_PATH`.
///
/// Existing files are never overwritten (an existing identical `ca.pem` is
/// kept). The CA key must be an unencrypted PKCS#8 key, as [`init`] writes.
pub fn issue_client(
    ca_dir: &Path,
    out_dir: &Path,
    name: &str,
    days: u32,
) -> Result<IssueReport, TlsError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TlsError::EmptyClientName);
    }
    let validity = Validity::new(days)?;
    let cert_path = out_dir.join(CLIENT_CERT);
    let key_path = out_dir.join(CLIENT_KEY);
    let ca_copy = out_dir.join(CA_CERT);
    const HINT: &str = "remove it or choose another output directory";
    refuse_existing(&cert_path, HINT)?;
    refuse_existing(&key_path, HINT)?;

    let ca_cert_path = ca_dir.join(CA_CERT);
    let ca_key_path = ca_dir.join(CA_KEY);
    let ca_pem = fs::read(&ca_cert_path).map_err(|source| TlsError::Read {
        what: "CA certificate",
        path: ca_cert_path.clone(),
        source,
    })?;
    let copy_ca = match fs::read(&ca_copy) {
        Ok(existing) if existing == ca_pem => false,
        Ok(_) => {
            return Err(TlsError::Exists {
                path: ca_copy,
                hint: "it holds a different CA; remove it or choose another output directory",
            })
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => true,
        Err(source) => {
            return Err(TlsError::Read {
                what: "CA certificate",
                path: ca_copy,
                source,
            })
        }
    };
    let ca_der = load_certs(&ca_cert_path, "CA certificate")?.swap_remove(0);
    let ca_key = ca_key_pair(&ca_key_path)?;
    check_ca_key(&ca_der, &ca_key, &ca_cert_path, &ca_key_path)?;
    let issuer = Issuer::from_ca_cert_der(&ca_der, ca_key).map_err(|err| TlsError::InvalidCa {
        path: ca_cert_path.clone(),
        reason: err.to_string(),
    })?;

    let params = leaf_params(&validity, name, ExtendedKeyUsagePurpose::ClientAuth)?;
    let (cert_pem, key_pem) = sign_leaf(&params, &issuer, "client certificate")?;
    check_client_chains(&cert_pem, ca_der, &ca_cert_path)?;

    ensure_dir(out_dir)?;
    write_atomic(&cert_path, cert_pem.as_bytes(), CERT_MODE)?;
    write_atomic(&key_path, key_pem.as_bytes(), KEY_MODE)?;
    let mut written = vec![cert_path, key_path];
    if copy_ca {
        write_atomic(&ca_copy, &ca_pem, CERT_MODE)?;
        written.push(ca_copy);
    }
    Ok(IssueReport {
        written,
        not_after: validity.not_after,
    })
}

/// The validity window shared by the certificates of one run.
struct Validity {
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl Validity {
    fn new(days: u32) -> Result<Self, TlsError> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(TlsError::InvalidDays {
                days,
                max: MAX_DAYS,
            });
        }
        // Whole seconds: that is all X.509 times carry.
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        Ok(Self {
            not_before: now - BACKDATE,
            not_after: now + Duration::days(i64::from(days)),
        })
    }
}

fn refuse_existing(path: &Path, hint: &'static str) -> Result<(), TlsError> {
    // symlink_metadata: a dangling symlink is still something we would clobber.
    if fs::symlink_metadata(path).is_ok() {
        return Err(TlsError::Exists {
            path: path.to_path_buf(),
            hint,
        });
    }
    Ok(())
}

fn new_key(what: &'static str) -> Result<KeyPair, TlsError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|source| TlsError::Generate { what, source })
}

/// Parameters common to every certificate: validity, a random serial number
/// and an empty subject.
fn base_params(validity: &Validity) -> Result<CertificateParams, TlsError> {
    let mut serial = [0u8; 16];
    provider()
        .secure_random
        .fill(&mut serial)
        .map_err(|_| TlsError::Generate {
            what: "certificate serial number",
            source: rcgen::Error::RingUnspecified,
        })?;
    // Positive, non-zero and exactly 16 bytes long once DER-encoded.
    serial[0] = (serial[0] & 0x7f) | 0x40;

    let mut params = CertificateParams::default();
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.distinguished_name = DistinguishedName::new();
    Ok(params)
}

/// Parameters of an end-entity certificate for one purpose: subject
/// `CN=common_name`, `basicConstraints` CA:false, digitalSignature, the given extended key usage, subject and
/// authority key identifiers.
fn leaf_params(
    validity: &Validity,
    common_name: &str,
    purpose: ExtendedKeyUsagePurpose,
) -> Result<CertificateParams, TlsError> {
    let mut params = base_params(validity)?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![purpose];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// Generates a key and signs a certificate for it; returns both as PEM.
fn sign_leaf(
    params: &CertificateParams,
    issuer: &Issuer<'_, impl SigningKey>,
    what: &'static str,
) -> Result<(String, String), TlsError> {
    let key = new_key(what)?;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(|source| TlsError::Generate { what, source })?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Turns the requested names into SANs, always adding the loopback names.
/// Returns the SANs and their textual form, deduplicated, requested first.
fn server_sans(hostnames: &[String]) -> Result<(Vec<SanType>, Vec<String>), TlsError> {
    let mut sans = Vec::new();
    let mut names = Vec::new();
    let defaults = DEFAULT_SERVER_NAMES.iter().map(|s| s.to_string());
    for raw in hostnames.iter().cloned().chain(defaults) {
        let (san, name) = parse_server_name(&raw)?;
        if !sans.contains(&san) {
            sans.push(san);
            names.push(name);
        }
    }
    Ok((sans, names))
}

/// Parses one DNS name (wildcards allowed in the first label) or IP address
/// (IPv6 optionally in brackets).
fn parse_server_name(raw: &str) -> Result<(SanType, String), TlsError> {
    let invalid = |reason: &str| TlsError::InvalidHostname {
        name: raw.to_string(),
        reason: reason.to_string(),
    };
    let name = raw.trim();
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    let unbracketed = name
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = IpAddr::from_str(unbracketed) {
        return Ok((SanType::IpAddress(ip), ip.to_string()));
    }
    let dns = name.trim_end_matches('.').to_ascii_lowercase();
    let base = dns.strip_prefix("*.").unwrap_or(&dns);
    DnsName::try_from(base)
        .map_err(|_| invalid("not a valid DNS name or IP address (no scheme or port)"))?;
    let ia5 = Ia5String::try_from(dns.clone()).map_err(|err| invalid(&err.to_string()))?;
    Ok((SanType::DnsName(ia5), dns))
}

/// Loads the CA key for signing (rcgen with ring signs with PKCS#8 keys only).
fn ca_key_pair(path: &Path) -> Result<KeyPair, TlsError> {
    let der = load_key(path, "CA key")?;
    KeyPair::try_from(&der).map_err(|err| TlsError::CaKey {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })
}

/// Makes sure the CA key is the one the CA certificate was issued for.
fn check_ca_key(
    ca: &CertificateDer<'_>,
    key: &KeyPair,
    cert_path: &Path,
    key_path: &Path,
) -> Result<(), TlsError> {
    let parsed = ParsedCertificate::try_from(ca).map_err(|err| TlsError::InvalidCa {
        path: cert_path.to_path_buf(),
        reason: err.to_string(),
    })?;
    if parsed.subject_public_key_info().as_ref() != key.subject_public_key_info().as_slice() {
        return Err(TlsError::CaMismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
            reason: "their public keys differ".into(),
        });
    }
    Ok(())
}

/// Verifies a freshly issued client certificate the way the daemon will, so
/// a CA whose names or extensions do not survive re-issuing is caught here.
fn check_client_chains(
    cert_pem: &str,
    ca: CertificateDer<'static>,
    ca_path: &Path,
) -> Result<(), TlsError> {
    let invalid = |reason: String| TlsError::InvalidCa {
        path: ca_path.to_path_buf(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    roots.add(ca).map_err(|err| invalid(err.to_string()))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
        .build()
        .map_err(|err| invalid(err.to_string()))?;
    let cert = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| invalid("the issued certificate cannot be re-read".into()))?;
    verifier
        .verify_client_cert(&cert, &[], UnixTime::now())
        .map_err(|err| invalid(format!("a certificate issued by it does not verify: {err}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::os::unix::fs::PermissionsExt;

    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::{parse_x509_pem, X509Certificate};

    use super::*;

    const ALL: [&str; 6] = [
        CA_CERT,
        CA_KEY,
        SERVER_CERT,
        SERVER_KEY,
        CLIENT_CERT,
        CLIENT_KEY,
    ];

    fn options(dir: &Path, force: bool) -> InitOptions {
        InitOptions {
            dir: dir.to_path_buf(),
            hostnames: vec![
                "berth.test".into(),
                "192.0.2.7".into(),
                "[2001:db8::1]".into(),
            ],
            days: 30,
            force,
        }
    }

    fn snapshot(dir: &Path) -> Vec<Vec<u8>> {
        ALL.iter().map(|f| fs::read(dir.join(f)).unwrap()).collect()
    }

    /// Parses the certificate in `path` and hands it to `check`.
    fn with_cert(path: &Path, check: impl FnOnce(&X509Certificate<'_>)) {
        let data = fs::read(path).unwrap();
        let (_, pem) = parse_x509_pem(&data).unwrap();
        check(&pem.parse_x509().unwrap());
    }

    fn common_name(cert: &X509Certificate<'_>) -> String {
        let cn = cert.subject().iter_common_name().next().unwrap();
        cn.as_str().unwrap().to_string()
    }

    fn key_ids(cert: &X509Certificate<'_>) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut ski = None;
        let mut aki = None;
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => {
                    ski = Some(id.0.to_vec())
                }
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(id) => {
                    aki = id.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => {}
            }
        }
        (ski.expect("subject key identifier"), aki)
    }

    #[test]
    fn init_writes_six_files_with_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("certs");
        let report = init(&options(&dir, false)).unwrap();

        let expected: Vec<PathBuf> = ALL.iter().map(|f| dir.join(f)).collect();
        assert_eq!(report.written, expected);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 6, "stray files");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for path in &report.written {
            let name = path.file_name().unwrap().to_str().unwrap();
            let want = if name.contains("key") { 0o600 } else { 0o644 };
            assert_eq!(mode(path), want, "{name}");
            let text = fs::read_to_string(path).unwrap();
            let header = if want == 0o600 {
                "PRIVATE KEY"
            } else {
                "CERTIFICATE"
            };
            assert!(
                text.starts_with(&format!("-----BEGIN {header}-----")),
                "{name}"
            );
        }
        assert_eq!(
            report.server_names,
            [
                "berth.test",
                "192.0.2.7",
                "2001:db8::1",
                "localhost",
                "127.0.0.1",
                "::1"
            ]
        );
    }

    #[test]
    fn init_refuses_to_overwrite_unless_forced() {
        let tmp = tempfile::tempdir().unwrap();
        init(&options(tmp.path(), false)).unwrap();
        let before = snapshot(tmp.path());

        let err = init(&options(tmp.path(), false)).unwrap_err();
        assert!(matches!(err, TlsError::Exists { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&*tmp.path().join(CA_CERT).to_string_lossy()),
            "{msg}"
        );
        assert!(msg.contains("--force"), "{msg}");
        assert_eq!(snapshot(tmp.path()), before);

        // A single leftover file is enough to refuse.
        fs::remove_file(tmp.path().join(CA_CERT)).unwrap();
        let err = init(&options(tmp.path(), false)).unwrap_err();
        assert!(err.to_string().contains(CA_KEY), "{err}");

        init(&options(tmp.path(), true)).unwrap();
        let after = snapshot(tmp.path());
        for (old, new) in before.iter().zip(&after).skip(1) {
            assert_ne!(old, new, "file not replaced");
        }
    }

    #[test]
    fn certificates_carry_what_go_expects() {
        let tmp = tempfile::tempdir().unwrap();
        init(&options(tmp.path(), false)).unwrap();
        let mut serials = Vec::new();
        let mut ca_key_id = Vec::new();

        with_cert(&tmp.path().join(CA_CERT), |ca| {
            let bc = ca.basic_constraints().unwrap().unwrap().value;
            assert!(bc.ca);
            let ku = ca.key_usage().unwrap().unwrap().value;
            assert!(ku.key_cert_sign() && ku.crl_sign());
            assert!(common_name(ca).starts_with("berth CA "));
            assert_eq!(ca.subject(), ca.issuer());
            ca_key_id = key_ids(ca).0;
            serials.push(ca.raw_serial().to_vec());
        });

        with_cert(&tmp.path().join(SERVER_CERT), |server| {
            assert_eq!(common_name(server), "berth.test");
            let eku = server.extended_key_usage().unwrap().unwrap().value;
            assert!(eku.server_auth && !eku.client_auth);
            assert!(!server.basic_constraints().unwrap().unwrap().value.ca);
            let sans = &server.subject_alternative_name().unwrap().unwrap().value;
            let mut dns = Vec::new();
            let mut ips = Vec::new();
            for name in &sans.general_names {
                match name {
                    GeneralName::DNSName(d) => dns.push(d.to_string()),
                    GeneralName::IPAddress(ip) => ips.push(match ip.len() {
                        4 => IpAddr::from(<[u8; 4]>::try_from(*ip).unwrap()),
                        _ => IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap()),
                    }),
                    other => panic!("unexpected SAN {other:?}"),
                }
            }
            assert_eq!(dns, ["berth.test", "localhost"]);
            assert_eq!(
                ips,
                [
                    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
                    "2001:db8::1".parse::<IpAddr>().unwrap(),
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(Ipv6Addr::LOCALHOST),
                ]
            );
            assert_eq!(key_ids(server).1.as_ref(), Some(&ca_key_id));
            let days = (server.validity().not_after.timestamp()
                - server.validity().not_before.timestamp())
                / 86_400;
            assert_eq!(days, 30, "30 days plus the back-dating hour");
            serials.push(server.raw_serial().to_vec());
        });

        with_cert(&tmp.path().join(CLIENT_CERT), |client| {
            assert_eq!(common_name(client), "client");
            let eku = client.extended_key_usage().unwrap().unwrap().value;
            assert!(eku.client_auth && !eku.server_auth);
            assert_eq!(key_ids(client).1.as_ref(), Some(&ca_key_id));
            serials.push(client.raw_serial().to_vec());
        });

        for serial in &serials {
            assert_eq!(serial.len(), 16);
            assert!(serial[0] & 0x80 == 0 && serial[0] != 0, "positive, minimal");
        }
        assert!(serials[0] != serials[1] && serials[1] != serials[2]);
    }

    #[test]
    fn issue_client_signs_with_the_existing_ca() {
        let tmp = tempfile::tempdir().unwrap();
        init(&options(tmp.path(), false)).unwrap();
        let out = tmp.path().join("alice");

        let report = issue_client(tmp.path(), &out, "alice", 10).unwrap();
        let files = [CLIENT_CERT, CLIENT_KEY, CA_CERT].map(|f| out.join(f));
        assert_eq!(report.written, files);
        assert_eq!(
            fs::read(out.join(CA_CERT)).unwrap(),
            fs::read(tmp.path().join(CA_CERT)).unwrap()
        );
        let mode = fs::metadata(out.join(CLIENT_KEY))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        with_cert(&out.join(CLIENT_CERT), |cert| {
            assert_eq!(common_name(cert), "alice");
            assert!(cert.issuer().to_string().starts_with("CN=berth CA "));
            assert!(
                cert.extended_key_usage()
                    .unwrap()
                    .unwrap()
                    .value
                    .client_auth
            );
        });

        // Never overwrites.
        let err = issue_client(tmp.path(), &out, "alice", 10).unwrap_err();
        assert!(matches!(err, TlsError::Exists { .. }), "{err}");
        // Next to the CA, an identical ca.pem is kept but cert.pem is not replaced.
        let err = issue_client(tmp.path(), tmp.path(), "bob", 10).unwrap_err();
        assert!(err.to_string().contains(CLIENT_CERT), "{err}");
    }

    #[test]
    fn issue_client_keeps_an_identical_ca_copy_and_refuses_a_different_one() {
        let tmp = tempfile::tempdir().unwrap();
        init(&options(tmp.path(), false)).unwrap();
        let same = tmp.path().join("same");
        fs::create_dir(&same).unwrap();
        fs::copy(tmp.path().join(CA_CERT), same.join(CA_CERT)).unwrap();
        let report = issue_client(tmp.path(), &same, "carol", 1).unwrap();
        assert_eq!(report.written.len(), 2);

        let other = tmp.path().join("other");
        fs::create_dir(&other).unwrap();
        fs::write(other.join(CA_CERT), "something else").unwrap();
        let err = issue_client(tmp.path(), &other, "dave", 1).unwrap_err();
        assert!(err.to_string().contains("different CA"), "{err}");
    }

    #[test]
    fn issue_client_detects_a_foreign_ca_key() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        init(&options(&a, false)).unwrap();
        init(&options(&b, false)).unwrap();
        fs::copy(b.join(CA_KEY), a.join(CA_KEY)).unwrap();
        let err = issue_client(&a, &tmp.path().join("out"), "eve", 1).unwrap_err();
        assert!(matches!(err, TlsError::CaMismatch { .. }), "{err}");
        assert!(!tmp.path().join("out").exists());
    }

    #[test]
    fn issue_client_reports_a_missing_ca() {
        let tmp = tempfile::tempdir().unwrap();
        let err = issue_client(tmp.path(), &tmp.path().join("out"), "x", 1).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("cannot read TLS CA certificate"), "{msg}");
        assert!(msg.contains("berth tls init"), "{msg}");
    }

    #[test]
    fn bad_input_is_rejected_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("certs");
        for bad in ["tcp://host:2376", "host:2376", "", "bad name"] {
            let mut opts = options(&dir, false);
            opts.hostnames = vec![bad.to_string()];
            let err = init(&opts).unwrap_err();
            assert!(
                matches!(err, TlsError::InvalidHostname { .. }),
                "{bad}: {err}"
            );
        }
        for days in [0, MAX_DAYS + 1] {
            let mut opts = options(&dir, false);
            opts.days = days;
            assert!(matches!(init(&opts), Err(TlsError::InvalidDays { .. })));
        }
        assert!(matches!(
            issue_client(tmp.path(), &dir, " ", 1),
            Err(TlsError::EmptyClientName)
        ));
        assert!(!dir.exists());
    }

    #[test]
    fn server_names_are_normalised_and_deduplicated() {
        let given = ["Berth.Test.", "*.berth.test", "localhost", "::1", "[::1]"];
        let (sans, names) = server_sans(&given.map(String::from)).unwrap();
        assert_eq!(
            names,
            [
                "berth.test",
                "*.berth.test",
                "localhost",
                "::1",
                "127.0.0.1"
            ]
        );
        assert_eq!(sans.len(), names.len());
    }
}
