//! Reading an extracted `docker save` or OCI layout archive.

use std::fs;
use std::path::{Path, PathBuf};

use super::files::{digest_of_blob_path, io_error, parse_json, read_metadata, Root};
use super::oci::{Descriptor, DockerManifestItem, Index, Manifest};
use super::*;
use crate::config::ImageConfig;
use crate::mediatypes::{is_index, is_manifest};
use crate::reference::Reference;

/// How deep image indexes may nest before the archive is rejected.
const MAX_INDEX_DEPTH: usize = 4;

/// One image found in an archive. Paths are canonical and inside the
/// archive directory.
#[derive(Debug, Clone)]
pub struct ArchiveImage {
    /// The parsed config (the bytes are at `config_path`).
    pub config: ImageConfig,
    pub config_path: PathBuf,
    /// sha256 of the config file's bytes: the image ID.
    pub config_digest: String,
    /// Bottom first, one per `config.rootfs.diff_ids` entry.
    pub layers: Vec<ArchiveLayer>,
    /// Familiar `name:tag` strings (`busybox:latest`); empty if untagged.
    pub repo_tags: Vec<String>,
}

/// One layer blob of an [`ArchiveImage`]. The caller unpacks it and checks
/// that the uncompressed tar matches the config's diff_id (and the blob
/// matches `digest`, when there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveLayer {
    pub path: PathBuf,
    /// From the OCI manifest; `None` in Docker's format (the layer may
    /// still be compressed: detect it from the first bytes).
    pub media_type: Option<String>,
    /// The digest the file should have (`sha256:<hex>`), when the archive
    /// says: OCI manifests, and `blobs/sha256/<hex>` paths in
    /// `manifest.json`.
    pub digest: Option<String>,
}

/// Reads the images of an archive that the caller has extracted into
/// `dir`. `manifest.json` is used when present (Docker's format, also
/// written by docker 25+ next to the OCI layout), `index.json` otherwise.
/// From multi-platform indexes the `linux/<host architecture>` image is
/// taken.
pub fn read_archive(dir: &Path) -> Result<Vec<ArchiveImage>, ArchiveError> {
    let root = Root::new(dir)?;
    if root.has(MANIFEST_JSON) {
        read_docker(&root)
    } else if root.has(INDEX_JSON) {
        read_oci(&root)
    } else if root.has(REPOSITORIES) {
        Err(ArchiveError::LegacyFormat)
    } else {
        Err(ArchiveError::NotAnArchive)
    }
}

fn read_docker(root: &Root) -> Result<Vec<ArchiveImage>, ArchiveError> {
    let path = root.resolve(MANIFEST_JSON, MANIFEST_JSON)?;
    let items: Vec<DockerManifestItem> =
        parse_json(&read_metadata(&path, MANIFEST_JSON)?, MANIFEST_JSON)?;
    items
        .into_iter()
        .map(|item| {
            let config_path = root.resolve(MANIFEST_JSON, &item.config)?;
            let expected = Expected {
                digest: digest_of_blob_path(&item.config),
                size: None,
            };
            let (config, config_digest) =
                load_config(&config_path, MANIFEST_JSON, &item.config, &expected)?;
            let layers = item
                .layers
                .iter()
                .map(|rel| {
                    Ok(ArchiveLayer {
                        path: root.resolve(MANIFEST_JSON, rel)?,
                        media_type: None,
                        digest: digest_of_blob_path(rel),
                    })
                })
                .collect::<Result<Vec<_>, ArchiveError>>()?;
            check_layer_count(MANIFEST_JSON, &config_digest, &config, layers.len())?;
            let repo_tags = item.repo_tags.unwrap_or_default();
            for tag in &repo_tags {
                tagged_reference(MANIFEST_JSON, tag)?;
            }
            Ok(ArchiveImage {
                config,
                config_path,
                config_digest,
                layers,
                repo_tags,
            })
        })
        .collect()
}

fn read_oci(root: &Root) -> Result<Vec<ArchiveImage>, ArchiveError> {
    let path = root.resolve(INDEX_JSON, INDEX_JSON)?;
    let index: Index = parse_json(&read_metadata(&path, INDEX_JSON)?, INDEX_JSON)?;
    let mut images: Vec<(String, ArchiveImage)> = Vec::new();
    for entry in &index.manifests {
        let name = name_from_annotations(entry)?;
        let manifest = pick_manifest(root, INDEX_JSON, entry, 0)?;
        let pos = match images.iter().position(|(d, _)| *d == manifest.digest) {
            Some(pos) => pos,
            None => {
                images.push((manifest.digest.clone(), read_oci_image(root, &manifest)?));
                images.len() - 1
            }
        };
        let tags = &mut images[pos].1.repo_tags;
        if let Some(name) = name.filter(|n| !tags.contains(n)) {
            tags.push(name);
        }
    }
    Ok(images.into_iter().map(|(_, image)| image).collect())
}

/// Follows nested indexes down to the manifest for the host platform.
fn pick_manifest(
    root: &Root,
    referrer: &str,
    entry: &Descriptor,
    depth: usize,
) -> Result<Descriptor, ArchiveError> {
    if entry.media_type.is_empty() || is_manifest(&entry.media_type) {
        return Ok(entry.clone());
    }
    if !is_index(&entry.media_type) {
        return Err(ArchiveError::UnsupportedMediaType {
            referrer: referrer.to_string(),
            digest: entry.digest.clone(),
            media_type: entry.media_type.clone(),
        });
    }
    if depth >= MAX_INDEX_DEPTH {
        return Err(ArchiveError::TooDeep {
            digest: entry.digest.clone(),
        });
    }
    let bytes = read_blob(root, referrer, entry)?;
    let nested: Index = parse_json(&bytes, &entry.digest)?;
    let (os, arch) = ("linux", host_arch());
    let chosen = nested.manifests.iter().find(|m| {
        m.platform
            .as_ref()
            .is_some_and(|p| p.os == os && p.architecture == arch)
            && root.blob(&entry.digest, &m.digest).is_ok()
    });
    match chosen {
        Some(m) => pick_manifest(root, &entry.digest, m, depth + 1),
        None => Err(ArchiveError::NoMatchingPlatform {
            digest: entry.digest.clone(),
            platform: format!("{os}/{arch}"),
        }),
    }
}

fn read_oci_image(root: &Root, desc: &Descriptor) -> Result<ArchiveImage, ArchiveError> {
    let manifest: Manifest = parse_json(&read_blob(root, INDEX_JSON, desc)?, &desc.digest)?;
    let referrer = format!("manifest {}", desc.digest);
    let config_path = root.blob(&referrer, &manifest.config.digest)?;
    let expected = Expected {
        digest: Some(manifest.config.digest.clone()),
        size: manifest.config.size,
    };
    let (config, config_digest) =
        load_config(&config_path, &referrer, &manifest.config.digest, &expected)?;
    let layers = manifest
        .layers
        .iter()
        .map(|layer| {
            if !crate::mediatypes::is_layer(&layer.media_type) {
                return Err(ArchiveError::UnsupportedLayerMediaType {
                    referrer: referrer.clone(),
                    digest: layer.digest.clone(),
                    media_type: layer.media_type.clone(),
                });
            }
            let path = root.blob(&referrer, &layer.digest)?;
            let actual = fs::metadata(&path).map_err(|e| io_error(&path, e))?.len();
            check_size(&referrer, &layer.digest, layer.size, actual)?;
            Ok(ArchiveLayer {
                path,
                media_type: Some(layer.media_type.clone()),
                digest: Some(layer.digest.clone()),
            })
        })
        .collect::<Result<Vec<_>, ArchiveError>>()?;
    check_layer_count(&referrer, &config_digest, &config, layers.len())?;
    Ok(ArchiveImage {
        config,
        config_path,
        config_digest,
        layers,
        repo_tags: Vec::new(),
    })
}

/// The `name:tag` an index entry is annotated with: the full name
/// (`io.containerd.image.name`), or `org.opencontainers.image.ref.name`
/// when that is a full reference. A bare tag in the latter names no
/// repository, so such an image loads untagged.
fn name_from_annotations(entry: &Descriptor) -> Result<Option<String>, ArchiveError> {
    let annotations = &entry.annotations;
    let full = annotations.get(ANNOTATION_IMAGE_NAME).or_else(|| {
        annotations
            .get(ANNOTATION_REF_NAME)
            .filter(|r| r.contains([':', '/', '@']))
    });
    let Some(full) = full else {
        return Ok(None);
    };
    let reference = Reference::parse(full)
        .map_err(|source| ArchiveError::InvalidTag {
            referrer: INDEX_JSON.to_string(),
            tag: full.clone(),
            source,
        })?
        .with_default_tag();
    Ok(reference
        .tag()
        .map(|tag| format!("{}:{tag}", reference.familiar_name())))
}

/// Checks that `tag` is a `name:tag` reference, as `docker load` does.
pub(super) fn tagged_reference(referrer: &str, tag: &str) -> Result<Reference, ArchiveError> {
    let reference = Reference::parse(tag).map_err(|source| ArchiveError::InvalidTag {
        referrer: referrer.to_string(),
        tag: tag.to_string(),
        source,
    })?;
    if reference.tag().is_none() || reference.digest().is_some() {
        return Err(ArchiveError::NotATag {
            referrer: referrer.to_string(),
            tag: tag.to_string(),
        });
    }
    Ok(reference)
}

/// What a descriptor says a blob is.
struct Expected {
    digest: Option<String>,
    size: Option<u64>,
}

fn read_blob(root: &Root, referrer: &str, desc: &Descriptor) -> Result<Vec<u8>, ArchiveError> {
    let path = root.blob(referrer, &desc.digest)?;
    let bytes = read_metadata(&path, &desc.digest)?;
    let expected = Expected {
        digest: Some(desc.digest.clone()),
        size: desc.size,
    };
    verify(referrer, &desc.digest, &bytes, &expected)?;
    Ok(bytes)
}

fn load_config(
    path: &Path,
    referrer: &str,
    name: &str,
    expected: &Expected,
) -> Result<(ImageConfig, String), ArchiveError> {
    let bytes = read_metadata(path, name)?;
    let digest = verify(referrer, name, &bytes, expected)?;
    Ok((parse_json(&bytes, name)?, digest))
}

/// Checks bytes against their descriptor; returns their sha256 digest.
fn verify(
    referrer: &str,
    name: &str,
    bytes: &[u8],
    expected: &Expected,
) -> Result<String, ArchiveError> {
    check_size(referrer, name, expected.size, bytes.len() as u64)?;
    let actual = ImageConfig::digest_of(bytes);
    match &expected.digest {
        Some(digest) if *digest != actual => Err(ArchiveError::DigestMismatch {
            referrer: referrer.to_string(),
            path: name.to_string(),
            expected: digest.clone(),
            actual,
        }),
        _ => Ok(actual),
    }
}

fn check_size(
    referrer: &str,
    name: &str,
    expected: Option<u64>,
    actual: u64,
) -> Result<(), ArchiveError> {
    match expected {
        Some(expected) if expected != actual => Err(ArchiveError::SizeMismatch {
            referrer: referrer.to_string(),
            path: name.to_string(),
            expected,
            actual,
        }),
        _ => Ok(()),
    }
}

fn check_layer_count(
    referrer: &str,
    config_digest: &str,
    config: &ImageConfig,
    layers: usize,
) -> Result<(), ArchiveError> {
    let diff_ids = config.rootfs.diff_ids.len();
    if diff_ids != layers {
        return Err(ArchiveError::LayerCount {
            referrer: referrer.to_string(),
            config: config_digest.to_string(),
            diff_ids,
            layers,
        });
    }
    Ok(())
}

/// The Go name (GOARCH) of the architecture this binary runs on.
pub(super) fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}
