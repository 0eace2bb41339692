//! Round trips through write_archive → tar extraction → read_archive, an
//! OCI-only layout with a multi-platform index, and the error cases.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use tempfile::TempDir;

use super::read::host_arch;
use super::*;
use crate::compression::Compression;
use crate::config::ImageConfig;
use crate::mediatypes;

/// Builds a small layer tar with the given files; returns its bytes.
fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append(&h, *data).unwrap();
    }
    tar.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn config(diff_ids: &[&str], created: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "test"}],
    }))
    .unwrap()
}

/// Layer files on disk: the plain tar, and how it is stored.
struct Layers {
    dir: TempDir,
}

impl Layers {
    fn new() -> Self {
        Layers {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn add(&self, name: &str, files: &[(&str, &[u8])], compressed: Compression) -> SaveLayer {
        let tar = layer_tar(files);
        let diff_id = ImageConfig::digest_of(&tar);
        let stored = match compressed {
            Compression::None => tar,
            Compression::Gzip => gzip(&tar),
            Compression::Zstd => zstd::stream::encode_all(&tar[..], 3).unwrap(),
        };
        let path = self.dir.path().join(name);
        fs::write(&path, stored).unwrap();
        SaveLayer {
            path,
            diff_id,
            compressed,
        }
    }
}

fn write_to_vec(images: &[SaveImage]) -> Vec<u8> {
    let mut out = Vec::new();
    write_archive(&mut out, images).unwrap();
    out
}

fn extract(archive: &[u8]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    tar::Archive::new(archive).unpack(dir.path()).unwrap();
    dir
}

fn sha256_file(path: &Path) -> String {
    ImageConfig::digest_of(&fs::read(path).unwrap())
}

fn sample_images(layers: &Layers) -> Vec<SaveImage> {
    let a = layers.add("a.tar", &[("etc/a", b"a")], Compression::None);
    let b = layers.add("b.tar.gz", &[("etc/b", b"bb")], Compression::Gzip);
    let c = layers.add("c.tar.zst", &[("etc/c", b"ccc")], Compression::Zstd);
    let image = |ls: &[&SaveLayer], tags: &[&str], created: &str| SaveImage {
        config: config(
            &ls.iter().map(|l| l.diff_id.as_str()).collect::<Vec<_>>(),
            created,
        ),
        repo_tags: tags.iter().map(|t| t.to_string()).collect(),
        layers: ls.iter().map(|l| (*l).clone()).collect(),
    };
    vec![
        image(
            &[&a, &b],
            &["busybox:latest", "user/app:1"],
            "2024-01-01T00:00:00Z",
        ),
        image(&[&a, &c], &["localhost:5000/x:v2"], "2024-01-02T00:00:00Z"),
        image(&[&a], &[], "2024-01-03T00:00:00Z"),
    ]
}

#[test]
fn write_then_read_round_trip() {
    let layers = Layers::new();
    let images = sample_images(&layers);
    let archive = write_to_vec(&images);
    assert_eq!(archive, write_to_vec(&images), "output is deterministic");

    let mut names = Vec::new();
    for entry in tar::Archive::new(&archive[..]).entries().unwrap() {
        let entry = entry.unwrap();
        assert_eq!(entry.header().mtime().unwrap(), 0);
        names.push(entry.path().unwrap().to_string_lossy().into_owned());
    }
    let blobs = names
        .iter()
        .filter(|n| n.starts_with("blobs/sha256/") && n.len() > 13);
    // 3 distinct layers + 3 configs + 3 manifests.
    assert_eq!(blobs.count(), 9);
    assert_eq!(names[..2], ["blobs/", "blobs/sha256/"]);
    assert_eq!(
        names[names.len() - 4..],
        ["index.json", "manifest.json", "oci-layout", "repositories"]
    );

    let dir = extract(&archive);
    let read = read_archive(dir.path()).unwrap();
    assert_eq!(read.len(), 3);
    for (got, want) in read.iter().zip(&images) {
        assert_eq!(fs::read(&got.config_path).unwrap(), want.config);
        assert_eq!(got.config_digest, ImageConfig::digest_of(&want.config));
        assert_eq!(got.config.rootfs.diff_ids.len(), want.layers.len());
        for (layer, diff_id) in got.layers.iter().zip(&got.config.rootfs.diff_ids) {
            assert_eq!(layer.digest.as_ref(), Some(diff_id));
            assert_eq!(
                &sha256_file(&layer.path),
                diff_id,
                "layers are stored uncompressed"
            );
            assert_eq!(layer.media_type, None);
        }
    }
    assert_eq!(read[0].repo_tags, ["busybox:latest", "user/app:1"]);
    assert_eq!(read[1].repo_tags, ["localhost:5000/x:v2"]);
    assert!(read[2].repo_tags.is_empty());

    let index: Value =
        serde_json::from_slice(&fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        4,
        "one entry per tag, one for the untagged image"
    );
    assert_eq!(
        entries[0]["annotations"],
        json!({"io.containerd.image.name": "docker.io/library/busybox:latest",
               "org.opencontainers.image.ref.name": "latest"})
    );
    assert_eq!(entries[0]["digest"], entries[1]["digest"]);
    assert_eq!(entries[3].get("annotations"), None);
    let repositories: Value =
        serde_json::from_slice(&fs::read(dir.path().join("repositories")).unwrap()).unwrap();
    let top_b = images[0].layers[1].diff_id.trim_start_matches("sha256:");
    assert_eq!(repositories["busybox"]["latest"], top_b);
    assert_eq!(repositories["user/app"]["1"], top_b);
    let layout = fs::read_to_string(dir.path().join("oci-layout")).unwrap();
    assert_eq!(layout, r#"{"imageLayoutVersion":"1.0.0"}"#);

    // Without manifest.json the OCI layout gives the same images.
    fs::remove_file(dir.path().join("manifest.json")).unwrap();
    let oci = read_archive(dir.path()).unwrap();
    assert_eq!(oci.len(), 3);
    for (o, d) in oci.iter().zip(&read) {
        assert_eq!(o.config_digest, d.config_digest);
        assert_eq!(o.repo_tags, d.repo_tags);
        let paths = |i: &ArchiveImage| i.layers.iter().map(|l| l.path.clone()).collect::<Vec<_>>();
        assert_eq!(paths(o), paths(d));
        assert!(o
            .layers
            .iter()
            .all(|l| l.media_type.as_deref() == Some(mediatypes::OCI_LAYER)));
    }
}

/// Writes `bytes` as a blob of `dir`; returns its descriptor JSON.
fn put_blob(dir: &Path, media_type: &str, bytes: &[u8]) -> Value {
    let digest = ImageConfig::digest_of(bytes);
    let path = dir
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
    json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
}

fn put_json(dir: &Path, media_type: &str, value: &Value) -> Value {
    put_blob(dir, media_type, &serde_json::to_vec(value).unwrap())
}

/// An OCI-only layout: a multi-platform index with the host's image, an
/// image for another platform whose blobs are absent, and an attestation.
fn multi_platform_layout(dir: &Path) -> (Value, String) {
    let tar = layer_tar(&[("hello", b"world")]);
    let layer = put_blob(dir, mediatypes::OCI_LAYER_GZIP, &gzip(&tar));
    let diff_id = ImageConfig::digest_of(&tar);
    let cfg = put_blob(
        dir,
        mediatypes::OCI_CONFIG,
        &config(&[&diff_id], "2024-01-01T00:00:00Z"),
    );
    let manifest = put_json(
        dir,
        mediatypes::OCI_MANIFEST,
        &json!({"schemaVersion": 2, "mediaType": mediatypes::OCI_MANIFEST,
                "config": cfg, "layers": [layer.clone()]}),
    );
    let mut host = manifest.clone();
    host["platform"] = json!({"architecture": host_arch(), "os": "linux"});
    let other = json!({"mediaType": mediatypes::OCI_MANIFEST,
        "digest": format!("sha256:{}", "0".repeat(64)), "size": 10,
        "platform": {"architecture": "s390x", "os": "linux"}});
    let attestation = json!({"mediaType": mediatypes::OCI_MANIFEST,
        "digest": format!("sha256:{}", "1".repeat(64)), "size": 10,
        "platform": {"architecture": "unknown", "os": "unknown"}});
    let nested = put_json(
        dir,
        mediatypes::OCI_INDEX,
        &json!({"schemaVersion": 2, "manifests": [other, host, attestation]}),
    );
    let mut tag_only = nested.clone();
    tag_only["annotations"] = json!({"org.opencontainers.image.ref.name": "1.0"});
    let mut named = nested.clone();
    named["annotations"] = json!({"io.containerd.image.name": "docker.io/library/busybox:1.0"});
    let mut full_ref = nested;
    full_ref["annotations"] = json!({"org.opencontainers.image.ref.name": "example.com/a/b:2"});
    let index = json!({"schemaVersion": 2, "manifests": [tag_only, named, full_ref]});
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    (layer, diff_id)
}

#[test]
fn reads_oci_layout_with_platform_index() {
    let dir = tempfile::tempdir().unwrap();
    let (layer, diff_id) = multi_platform_layout(dir.path());
    let images = read_archive(dir.path()).unwrap();
    assert_eq!(images.len(), 1);
    let image = &images[0];
    assert_eq!(image.repo_tags, ["busybox:1.0", "example.com/a/b:2"]);
    assert_eq!(image.config.rootfs.diff_ids, [diff_id]);
    assert_eq!(image.layers.len(), 1);
    assert_eq!(
        image.layers[0].media_type.as_deref(),
        Some(mediatypes::OCI_LAYER_GZIP)
    );
    assert_eq!(
        image.layers[0].digest.as_ref(),
        layer["digest"].as_str().map(String::from).as_ref()
    );
    assert_eq!(sha256_file(&image.layers[0].path), layer["digest"]);
    assert_eq!(sha256_file(&image.config_path), image.config_digest);
}

fn read_err(dir: &Path) -> String {
    read_archive(dir).unwrap_err().to_string()
}

/// Rewrites the JSON file `name` in `dir`.
fn edit_json(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) {
    let path = dir.join(name);
    let mut v: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut v);
    fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn reports_broken_oci_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    multi_platform_layout(d);
    // The blob of the manifest for the host is corrupted.
    let index: Value = serde_json::from_slice(&fs::read(d.join("index.json")).unwrap()).unwrap();
    let nested_digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let nested_path: PathBuf = d.join("blobs/sha256").join(&nested_digest[7..]);
    let nested = fs::read(&nested_path).unwrap();
    fs::write(&nested_path, [&nested[..], b" "].concat()).unwrap();
    let err = read_err(d);
    assert!(
        err.contains(&format!("{nested_digest} is {} bytes", nested.len() + 1)),
        "{err}"
    );
    fs::write(&nested_path, nested.to_ascii_uppercase()).unwrap();
    assert!(read_err(d).contains("has digest sha256:"));
    let empty = put_json(
        d,
        mediatypes::OCI_INDEX,
        &json!({"schemaVersion": 2, "manifests": []}),
    );
    edit_json(d, "index.json", |v| {
        for m in v["manifests"].as_array_mut().unwrap() {
            *m = empty.clone();
        }
    });
    assert!(read_err(d).ends_with(&format!(
        "has no linux/{} image in this archive",
        host_arch()
    )));
    edit_json(d, "index.json", |v| {
        v["manifests"][0]["mediaType"] = json!("text/plain")
    });
    assert!(read_err(d).contains(r#"of media type "text/plain", which is not an image manifest"#));
    edit_json(d, "index.json", |v| {
        v["manifests"][0]["mediaType"] = json!(mediatypes::OCI_MANIFEST);
        v["manifests"][0]["digest"] = json!("sha256:../../x");
    });
    assert!(read_err(d).starts_with(r#"unsupported digest "sha256:../../x""#));
}

#[test]
fn reports_broken_docker_archives() {
    let layers = Layers::new();
    let images = sample_images(&layers);
    let dir = extract(&write_to_vec(&images[..1]));
    let d = dir.path();
    fs::remove_file(d.join("index.json")).unwrap();
    let original: Value =
        serde_json::from_slice(&fs::read(d.join("manifest.json")).unwrap()).unwrap();
    let reset = |edit: &dyn Fn(&mut Value)| {
        let mut v = original.clone();
        edit(&mut v);
        fs::write(d.join("manifest.json"), serde_json::to_vec(&v).unwrap()).unwrap();
    };

    reset(&|v| v[0]["Config"] = json!("missing.json"));
    assert_eq!(
        read_err(d),
        "manifest.json references missing file missing.json"
    );
    reset(&|v| v[0]["Layers"][1] = json!("../../etc/passwd"));
    assert!(read_err(d).contains("references ../../etc/passwd, which is outside the archive"));
    std::os::unix::fs::symlink("/etc/hostname", d.join("escape")).unwrap();
    reset(&|v| v[0]["Layers"][1] = json!("escape"));
    assert!(read_err(d).contains("references escape, which is outside the archive"));
    reset(&|v| v[0]["Layers"].as_array_mut().unwrap().truncate(1));
    assert!(read_err(d).contains("has 2 layers (rootfs.diff_ids) but manifest.json lists 1"));
    reset(&|v| v[0]["RepoTags"] = json!(["Busybox:latest"]));
    assert!(read_err(d).contains("must be lowercase"));
    reset(&|v| v[0]["RepoTags"] = json!([format!("busybox@sha256:{}", "a".repeat(64))]));
    assert!(read_err(d).ends_with("a name:tag reference is needed"));
    reset(&|v| v[0]["RepoTags"] = json!(null));
    assert!(read_archive(d).unwrap()[0].repo_tags.is_empty());
    let config_blob = d.join(original[0]["Config"].as_str().unwrap());
    fs::write(&config_blob, b"{}").unwrap();
    assert!(read_err(d).contains(
        "has digest sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    ));
    fs::remove_file(d.join("manifest.json")).unwrap();
    fs::remove_file(d.join("repositories")).unwrap();
    assert_eq!(
        read_err(d),
        "archive has no manifest.json or index.json: not a docker save / OCI archive"
    );
    fs::write(d.join("repositories"), b"{}").unwrap();
    assert!(read_err(d).contains("pre-1.10 docker save format is not supported"));
}

#[test]
fn write_checks_its_input() {
    let layers = Layers::new();
    let mut images = sample_images(&layers);
    let write_err =
        |images: &[SaveImage]| write_archive(Vec::new(), images).unwrap_err().to_string();

    let mut tampered = images.clone();
    fs::write(&tampered[0].layers[0].path, layer_tar(&[("x", b"changed")])).unwrap();
    tampered.truncate(1);
    assert!(write_err(&tampered).contains("the layer file is corrupt"));

    images[0].layers.swap(0, 1);
    assert!(write_err(&images[..1]).contains("layer 0 is sha256:"));
    images[0].layers.pop();
    assert!(write_err(&images[..1])
        .contains("has 2 layers (rootfs.diff_ids) but the save request lists 1"));
    images[1].repo_tags = vec!["Bad:tag".to_string()];
    assert!(write_err(&images[1..2]).contains("must be lowercase"));
    images[1].config = b"not json".to_vec();
    assert!(write_err(&images[1..2]).starts_with("image config sha256:"));
}
