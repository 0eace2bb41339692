//! Reading PEM certificates and keys from files.

use std::fs;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

use crate::TlsError;

/// Reads a file, naming it and its role in the error.
fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Loads every certificate in a PEM file (a leaf followed by its chain, or a
/// bundle of CAs). Fails when there is none.
pub(crate) fn load_certs(
    path: &Path,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let data = read(path, what)?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(data.as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| TlsError::Pem {
            what,
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// Loads the first private key in a PEM file: PKCS#8 (`PRIVATE KEY`), SEC1
/// (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
pub(crate) fn load_key(
    path: &Path,
    what: &'static str,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let data = read(path, what)?;
    rustls_pemfile::private_key(&mut BufReader::new(data.as_slice()))
        .map_err(|err| TlsError::Pem {
            what,
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?
        .ok_or_else(|| TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        })
}

/// Loads a CA bundle as a trust-anchor store. Every certificate in the file
/// must be usable as a trust anchor.
pub(crate) fn load_roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path, "CA certificate")? {
        roots.add(cert).map_err(|err| TlsError::InvalidCa {
            path: path.to_path_buf(),
            reason: err.to_string(),
        })?;
    }
    Ok(Arc::new(roots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_a_read_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let err = load_key(&path, "key").unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()));
    }

    #[test]
    fn file_without_blocks_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        fs::write(&path, "not pem at all\n").unwrap();
        let err = load_certs(&path, "CA certificate").unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
        let err = load_key(&path, "key").unwrap_err();
        assert!(matches!(err, TlsError::NoPrivateKey { .. }), "{err}");
    }

    #[test]
    fn garbage_in_a_certificate_block_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cert.pem");
        fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = load_certs(&path, "certificate").unwrap_err();
        assert!(matches!(err, TlsError::Pem { .. }), "{err}");
    }
}
