//! Writing a `docker save` archive the way docker 25+ does: an OCI image
//! layout plus Docker's `manifest.json` and `repositories`, all pointing at
//! the same `blobs/sha256/<hex>` files. Layers are stored uncompressed, so
//! each layer blob's digest is its diff_id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::files::{blob_path, io_error};
use super::oci::{Descriptor, DockerManifestItem, Index, Manifest, OciLayout};
use super::read::tagged_reference;
use super::*;
use crate::compression::Compression;
use crate::config::ImageConfig;
use crate::mediatypes::{OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST};
use crate::reference::Reference;

/// An image to save.
#[derive(Debug, Clone)]
pub struct SaveImage {
    /// The config, byte for byte as stored (its digest is the image ID).
    pub config: Vec<u8>,
    /// Tags to save it under (`busybox:latest`, `user/app:1`); may be empty.
    pub repo_tags: Vec<String>,
    /// Bottom first, matching the config's `rootfs.diff_ids`.
    pub layers: Vec<SaveLayer>,
}

/// A layer blob on disk.
#[derive(Debug, Clone)]
pub struct SaveLayer {
    pub path: PathBuf,
    /// sha256 of the uncompressed tar; checked while writing.
    pub diff_id: String,
    /// How the file at `path` is compressed; it is written uncompressed.
    pub compressed: Compression,
}

/// An image checked and ready to write.
struct Planned<'a> {
    image: &'a SaveImage,
    config_digest: String,
    tags: Vec<Reference>,
}

/// Writes `images` as a tar to `out`. Layers shared between images are
/// written once; compressed layers are decompressed into a temporary file
/// next to them first (a tar header needs the size up front). Nothing is
/// held in memory but metadata. The output is deterministic: entries in a
/// fixed order, owned by root, with mtime 0.
pub fn write_archive<W: Write>(out: W, images: &[SaveImage]) -> Result<(), ArchiveError> {
    let planned = images.iter().map(plan).collect::<Result<Vec<_>, _>>()?;
    let mut tar = tar::Builder::new(out);
    append_dir(&mut tar, "blobs/")?;
    append_dir(&mut tar, "blobs/sha256/")?;
    let mut written: HashSet<String> = HashSet::new();
    let mut layer_sizes: HashMap<String, u64> = HashMap::new();
    for layer in images.iter().flat_map(|i| &i.layers) {
        if !layer_sizes.contains_key(&layer.diff_id) {
            let size = append_layer(&mut tar, layer)?;
            written.insert(layer.diff_id.clone());
            layer_sizes.insert(layer.diff_id.clone(), size);
        }
    }
    let mut index = Vec::new();
    let mut docker_manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for p in &planned {
        let layers: Vec<Descriptor> = p
            .image
            .layers
            .iter()
            .map(|l| descriptor(OCI_LAYER, &l.diff_id, layer_sizes[&l.diff_id]))
            .collect();
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_string()),
            config: descriptor(OCI_CONFIG, &p.config_digest, p.image.config.len() as u64),
            layers,
        };
        let manifest_bytes = to_json(&manifest)?;
        let manifest_digest = ImageConfig::digest_of(&manifest_bytes);
        for (digest, bytes) in [
            (&p.config_digest, &p.image.config),
            (&manifest_digest, &manifest_bytes),
        ] {
            if written.insert(digest.clone()) {
                append_bytes(&mut tar, &blob_path(digest)?, bytes)?;
            }
        }
        let entry = descriptor(OCI_MANIFEST, &manifest_digest, manifest_bytes.len() as u64);
        if p.tags.is_empty() {
            index.push(entry.clone());
        }
        for tag in &p.tags {
            let mut annotated = entry.clone();
            annotated.annotations = BTreeMap::from([
                (ANNOTATION_IMAGE_NAME.to_string(), tag.to_string()),
                (
                    ANNOTATION_REF_NAME.to_string(),
                    tag.tag().unwrap_or_default().to_string(),
                ),
            ]);
            index.push(annotated);
            if let Some(top) = p.image.layers.last() {
                let hex = top.diff_id.trim_start_matches("sha256:").to_string();
                repositories
                    .entry(tag.familiar_name())
                    .or_default()
                    .insert(tag.tag().unwrap_or_default().to_string(), hex);
            }
        }
        docker_manifest.push(DockerManifestItem {
            config: blob_path(&p.config_digest)?,
            repo_tags: (!p.tags.is_empty())
                .then(|| p.tags.iter().map(Reference::familiar_string).collect()),
            layers: p
                .image
                .layers
                .iter()
                .map(|l| blob_path(&l.diff_id))
                .collect::<Result<_, _>>()?,
        });
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(OCI_INDEX.to_string()),
        manifests: index,
    };
    append_bytes(&mut tar, INDEX_JSON, &to_json(&index)?)?;
    append_bytes(&mut tar, MANIFEST_JSON, &to_json(&docker_manifest)?)?;
    let layout = OciLayout {
        image_layout_version: "1.0.0",
    };
    append_bytes(&mut tar, OCI_LAYOUT, &to_json(&layout)?)?;
    if !repositories.is_empty() {
        append_bytes(&mut tar, REPOSITORIES, &to_json(&repositories)?)?;
    }
    tar.into_inner()
        .and_then(|mut out| out.flush())
        .map_err(ArchiveError::Write)
}

/// Checks an image before anything is written: the config parses, its
/// diff_ids are the layers given, and the tags are `name:tag`.
fn plan(image: &SaveImage) -> Result<Planned<'_>, ArchiveError> {
    let config_digest = ImageConfig::digest_of(&image.config);
    let config: ImageConfig =
        serde_json::from_slice(&image.config).map_err(|source| ArchiveError::Json {
            file: format!("image config {config_digest}"),
            source,
        })?;
    let diff_ids = &config.rootfs.diff_ids;
    if diff_ids.len() != image.layers.len() {
        return Err(ArchiveError::LayerCount {
            referrer: "the save request".to_string(),
            config: config_digest,
            diff_ids: diff_ids.len(),
            layers: image.layers.len(),
        });
    }
    for (index, (layer, expected)) in image.layers.iter().zip(diff_ids).enumerate() {
        if layer.diff_id != *expected {
            return Err(ArchiveError::LayerMismatch {
                config: config_digest,
                index,
                given: layer.diff_id.clone(),
                expected: expected.clone(),
            });
        }
        blob_path(&layer.diff_id)?;
    }
    let tags = image
        .repo_tags
        .iter()
        .map(|t| tagged_reference("the save request", t))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Planned {
        image,
        config_digest,
        tags,
    })
}

fn descriptor(media_type: &str, digest: &str, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest: digest.to_string(),
        size: Some(size),
        annotations: BTreeMap::new(),
        platform: None,
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ArchiveError> {
    serde_json::to_vec(value).map_err(|e| ArchiveError::Write(e.into()))
}

fn header(path: &str, size: u64, kind: tar::EntryType) -> Result<tar::Header, ArchiveError> {
    let mut header = tar::Header::new_ustar();
    header.set_path(path).map_err(ArchiveError::Write)?;
    header.set_size(size);
    header.set_entry_type(kind);
    header.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    Ok(header)
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, path: &str) -> Result<(), ArchiveError> {
    let header = header(path, 0, tar::EntryType::Directory)?;
    tar.append(&header, io::empty())
        .map_err(ArchiveError::Write)
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    bytes: &[u8],
) -> Result<(), ArchiveError> {
    let header = header(path, bytes.len() as u64, tar::EntryType::Regular)?;
    tar.append(&header, bytes).map_err(ArchiveError::Write)
}

/// Writes a layer as `blobs/sha256/<diff_id hex>`, uncompressed, checking
/// its content against the diff_id. Returns its size.
fn append_layer<W: Write>(
    tar: &mut tar::Builder<W>,
    layer: &SaveLayer,
) -> Result<u64, ArchiveError> {
    let name = blob_path(&layer.diff_id)?;
    let file = File::open(&layer.path).map_err(|e| io_error(&layer.path, e))?;
    let (source, size) = match layer.compressed {
        Compression::None => {
            let size = file.metadata().map_err(|e| io_error(&layer.path, e))?.len();
            (file, size)
        }
        compression => decompress_to_temp(&layer.path, file, compression)?,
    };
    let mut reader = HashingReader::new(source.take(size));
    let header = header(&name, size, tar::EntryType::Regular)?;
    tar.append(&header, &mut reader)
        .map_err(ArchiveError::Write)?;
    let (actual, count) = reader.finish();
    if count != size {
        let changed = io::Error::other(format!(
            "layer file changed size while writing ({size} → {count} bytes)"
        ));
        return Err(io_error(&layer.path, changed));
    }
    if actual != layer.diff_id {
        return Err(ArchiveError::DiffIdMismatch {
            path: layer.path.clone(),
            expected: layer.diff_id.clone(),
            actual,
        });
    }
    Ok(size)
}

/// Decompresses a layer into an anonymous temporary file in the layer's
/// directory; returns it rewound, with its size.
fn decompress_to_temp(
    path: &Path,
    file: File,
    compression: Compression,
) -> Result<(File, u64), ArchiveError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let temp = match dir {
        Some(dir) => tempfile::tempfile_in(dir),
        None => tempfile::tempfile(),
    };
    let mut temp = temp.map_err(|e| io_error(path, e))?;
    let mut decoder = compression
        .decoder(BufReader::new(file))
        .map_err(|e| io_error(path, e))?;
    let size = io::copy(&mut decoder, &mut temp).map_err(|e| io_error(path, e))?;
    temp.rewind().map_err(|e| io_error(path, e))?;
    Ok((temp, size))
}

/// Hashes and counts what passes through.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    fn finish(self) -> (String, u64) {
        (
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
        )
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
