//! Test images without a registry: the busybox rootfs (`scripts/busybox-rootfs`), and
//! hand-built `docker save` archives (the classic format dockerd 20.10 writes), made here
//! independently of berth's own archive code so the tests check it rather than mirror it.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Builds the busybox rootfs tar into `dir` and returns its path.
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let out = dir.join("busybox-rootfs.tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/busybox-rootfs");
    let status = Command::new(script)
        .arg(&out)
        .status()
        .expect("run scripts/busybox-rootfs");
    assert!(
        status.success(),
        "scripts/busybox-rootfs failed (is busybox-static installed?)"
    );
    out
}

/// One entry of a hand-made layer.
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

/// A layer tar with exactly these entries, in this order (no safety checks: tests use this
/// to build malicious layers too).
pub fn layer_tar(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        match e {
            Entry::File(name, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(data.len() as u64);
                set_name(&mut h, name);
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
            Entry::Dir(name) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                set_name(&mut h, name);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            Entry::Symlink(name, target) | Entry::Hardlink(name, target) => {
                h.set_entry_type(if matches!(e, Entry::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                h.set_mode(0o777);
                h.set_size(0);
                set_name(&mut h, name);
                set_link(&mut h, target);
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

// Raw header writes, so names like `../x` or `/abs` reach the tar as given.
fn set_name(h: &mut tar::Header, name: &str) {
    let gnu = h.as_gnu_mut().unwrap();
    gnu.name = [0; 100];
    gnu.name[..name.len()].copy_from_slice(name.as_bytes());
}

fn set_link(h: &mut tar::Header, target: &str) {
    let gnu = h.as_gnu_mut().unwrap();
    gnu.linkname = [0; 100];
    gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
}

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// An image for [`docker_archive`]: its layers (uncompressed tars), tags and labels.
pub struct TestImage {
    pub layers: Vec<Vec<u8>>,
    pub tags: Vec<String>,
    pub labels: Vec<(String, String)>,
    /// Overrides the config's diff IDs (to make a lying archive).
    pub diff_ids: Option<Vec<String>>,
}

/// The image config for `img`, as bytes (its sha256 is the image ID).
pub fn image_config(img: &TestImage) -> Vec<u8> {
    let diff_ids: Vec<String> = img
        .diff_ids
        .clone()
        .unwrap_or_else(|| img.layers.iter().map(|l| sha256(l)).collect());
    let history: Vec<serde_json::Value> = img
        .layers
        .iter()
        .enumerate()
        .map(|(i, _)| serde_json::json!({"created": "2024-01-01T00:00:00Z", "created_by": format!("layer {i}")}))
        .collect();
    let labels: serde_json::Map<String, serde_json::Value> = img
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"], "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap()
}

/// A `docker save` archive in dockerd 20.10's classic layout: `<config hex>.json`,
/// `<layer id>/layer.tar`, `manifest.json`, `repositories`.
pub fn docker_archive(images: &[TestImage]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut manifest = Vec::new();
    let mut written = std::collections::HashSet::new();
    let add = |b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        b.append_data(&mut h, name, data).unwrap();
    };
    for img in images {
        let config = image_config(img);
        let config_name = format!("{}.json", &sha256(&config)[7..]);
        add(&mut b, &config_name, &config);
        let mut layer_names = Vec::new();
        for layer in &img.layers {
            let id = &sha256(layer)[7..];
            let name = format!("{id}/layer.tar");
            if written.insert(name.clone()) {
                add(&mut b, &name, layer);
            }
            layer_names.push(name);
        }
        manifest.push(
            serde_json::json!({"Config": config_name, "RepoTags": img.tags, "Layers": layer_names}),
        );
    }
    add(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    b.into_inner().unwrap()
}

/// Files under `dir` (recursively), for "nothing leaked" checks.
pub fn count_files(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                1 + count_files(&p)
            } else {
                1
            }
        })
        .sum()
}

/// An OCI image layout archive (`oci-layout`, `index.json`, `blobs/sha256/...`) holding one
/// image named `name` whose layers all carry `layer_media_type`.
pub fn oci_archive(img: &TestImage, name: &str, layer_media_type: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let add = |b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        b.append_data(&mut h, path, data).unwrap();
    };
    let blob = |b: &mut tar::Builder<Vec<u8>>, data: &[u8]| {
        let d = sha256(data);
        add(b, &format!("blobs/sha256/{}", &d[7..]), data);
        d
    };
    let config = image_config(img);
    let config_digest = blob(&mut b, &config);
    let layers: Vec<serde_json::Value> = img
        .layers
        .iter()
        .map(|l| serde_json::json!({"mediaType": layer_media_type, "digest": blob(&mut b, l), "size": l.len()}))
        .collect();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": layers,
    }))
    .unwrap();
    let manifest_digest = blob(&mut b, &manifest);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": {"io.containerd.image.name": name},
        }],
    });
    add(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    add(&mut b, "index.json", &serde_json::to_vec(&index).unwrap());
    b.into_inner().unwrap()
}
