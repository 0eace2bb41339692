//! `read_archive` on a real `docker save` from dockerd 20.10 (the format
//! before docker 25: `<id>/layer.tar`, `<id>.json`, `manifest.json`,
//! `repositories`, and layer.tar symlinks for repeated layers), then a
//! round trip of its images through `write_archive`.
//!
//! The fixture: `docker import` of a two-file tar as `berthtest/base:1.0`
//! (with `-c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]'`), then a classic-builder
//! build `FROM` it with LABEL, COPY, ENV, COPY, WORKDIR, tagged
//! `berthtest/app:latest` and `berthtest/app:v2`; both saved together.

use std::fs;
use std::path::Path;

use berth_image::{read_archive, write_archive, Compression, ImageConfig, SaveImage, SaveLayer};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/docker-20.10-save.tar"
);
const APP_ID: &str = "sha256:9f2fadd44c7f0ae685c9e408913401faa374cb2ae951f2f92b1394c11175f590";
const BASE_ID: &str = "sha256:8a9ff983265054b69213bb305eb2f4df7c907092a6f5de0d900d32ebb571fbc6";

fn extract(archive: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    tar::Archive::new(archive).unpack(dir.path()).unwrap();
    dir
}

fn sha256_file(path: &Path) -> String {
    ImageConfig::digest_of(&fs::read(path).unwrap())
}

#[test]
fn reads_docker_20_10_save() {
    let dir = extract(&fs::read(FIXTURE).unwrap());
    let images = read_archive(dir.path()).unwrap();
    assert_eq!(images.len(), 2);
    let (app, base) = (&images[0], &images[1]);

    assert_eq!(app.config_digest, APP_ID);
    assert_eq!(app.repo_tags, ["berthtest/app:latest", "berthtest/app:v2"]);
    assert_eq!(app.layers.len(), 3);
    let config = app.config.config.as_ref().unwrap();
    assert_eq!(config.working_dir.as_deref(), Some("/data"));
    assert_eq!(
        config.env.as_deref(),
        Some(&["PATH=/bin".to_string(), "FOO=bar".to_string()][..])
    );
    assert_eq!(app.config.history.len(), 6);

    assert_eq!(base.config_digest, BASE_ID);
    assert_eq!(base.repo_tags, ["berthtest/base:1.0"]);
    assert_eq!(base.config.comment.as_deref(), Some("Imported from -"));
    // base's layer.tar is a symlink to the identical layer of app.
    assert_eq!(base.layers[0].path, app.layers[0].path);

    for image in &images {
        assert_eq!(sha256_file(&image.config_path), image.config_digest);
        for (layer, diff_id) in image.layers.iter().zip(&image.config.rootfs.diff_ids) {
            assert_eq!(layer.digest, None);
            assert_eq!(layer.media_type, None);
            assert_eq!(&sha256_file(&layer.path), diff_id);
        }
    }
}

#[test]
fn rewrites_docker_20_10_save_in_the_docker_25_format() {
    let dir = extract(&fs::read(FIXTURE).unwrap());
    let images = read_archive(dir.path()).unwrap();
    let save: Vec<SaveImage> = images
        .iter()
        .map(|image| SaveImage {
            config: fs::read(&image.config_path).unwrap(),
            repo_tags: image.repo_tags.clone(),
            layers: image
                .layers
                .iter()
                .zip(&image.config.rootfs.diff_ids)
                .map(|(layer, diff_id)| SaveLayer {
                    path: layer.path.clone(),
                    diff_id: diff_id.clone(),
                    compressed: Compression::None,
                })
                .collect(),
        })
        .collect();
    let mut archive = Vec::new();
    write_archive(&mut archive, &save).unwrap();
    let out = extract(&archive);
    let again = read_archive(out.path()).unwrap();
    assert_eq!(again.len(), 2);
    for (a, b) in again.iter().zip(&images) {
        assert_eq!(a.config_digest, b.config_digest);
        assert_eq!(a.repo_tags, b.repo_tags);
        let digests: Vec<_> = a.layers.iter().map(|l| l.digest.clone().unwrap()).collect();
        assert_eq!(digests, b.config.rootfs.diff_ids);
    }
    // The shared layer is stored once: 3 layers + 2 configs + 2 manifests.
    assert_eq!(
        fs::read_dir(out.path().join("blobs/sha256"))
            .unwrap()
            .count(),
        7
    );
}
