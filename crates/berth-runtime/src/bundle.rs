//! Writing a bundle's `config.json` so that a crash never leaves a torn one behind.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use oci_spec::runtime::Spec;

use crate::error::SpecError;

/// The spec's file name inside a bundle directory.
pub const CONFIG_JSON: &str = "config.json";

/// Writes `spec` to `dir/config.json` atomically: a temporary file in `dir`, fsynced,
/// renamed over the old one, then the directory fsynced. Mode 0600: the spec holds the
/// container's environment, which may carry secrets.
pub fn write_bundle(dir: &Path, spec: &Spec) -> Result<(), SpecError> {
    let json = serde_json::to_vec(spec)
        .map_err(|e| SpecError::Internal(format!("serializing the OCI spec: {e}")))?;
    let tmp = dir.join(format!(".{CONFIG_JSON}.{}.tmp", std::process::id()));
    let target = dir.join(CONFIG_JSON);
    let ctx = |what: &str, p: &Path| format!("{what} {}", p.display());

    let write = || -> Result<(), SpecError> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| SpecError::io(ctx("creating", &tmp), e))?;
        f.write_all(&json)
            .and_then(|()| f.sync_all())
            .map_err(|e| SpecError::io(ctx("writing", &tmp), e))?;
        fs::rename(&tmp, &target).map_err(|e| SpecError::io(ctx("renaming into", &target), e))
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| SpecError::io(ctx("syncing", dir), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = Spec::default();
        spec.set_hostname(Some("first".into()));
        write_bundle(dir.path(), &spec).unwrap();
        spec.set_hostname(Some("second".into()));
        write_bundle(dir.path(), &spec).unwrap();

        let path = dir.path().join(CONFIG_JSON);
        let back = Spec::load(&path).unwrap();
        assert_eq!(back.hostname().as_deref(), Some("second"));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![CONFIG_JSON], "no temporary file left behind");
    }

    #[test]
    fn missing_directory_is_an_internal_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_bundle(&dir.path().join("nope"), &Spec::default()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Internal);
        assert!(err.to_string().starts_with("creating "), "{err}");
    }
}
