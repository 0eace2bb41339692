//! Unpacked layers: `<root>/layers/<chain-id hex>/`, one directory per layer, each holding
//! that layer's diff with whiteouts already in overlayfs form — ready to be a lowerdir.
//!
//! A layer is unpacked into `<root>/layer-tmp/` first and renamed into place only once its
//! diff ID is verified, so a crash or a bad layer never leaves a half layer visible.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::content::HashingReader;
use crate::unpack::{decompress, unpack_layer, Compression};
use crate::{parse_digest, StoreError};

/// What unpacking a layer blob found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackedLayer {
    /// sha256 of the uncompressed tar.
    pub diff_id: String,
    /// Bytes of regular files in the layer.
    pub size: u64,
    /// sha256 and size of the blob as given (compressed or not).
    pub blob_digest: String,
    pub blob_size: u64,
    pub compression: Compression,
}

/// A layer unpacked into the temp area, removed on drop unless published.
#[derive(Debug)]
pub struct TempLayer {
    path: PathBuf,
}

impl TempLayer {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempLayer {
    fn drop(&mut self) {
        if self.path.exists() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[derive(Debug, Clone)]
pub struct LayerStore {
    dir: PathBuf,
    tmp: PathBuf,
}

impl LayerStore {
    /// Opens the store under `root`, clearing half-unpacked layers of an earlier run.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let dir = root.join("layers");
        let tmp = root.join("layer-tmp");
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        if tmp.exists() {
            tracing::info!(path = %tmp.display(), "removing half-unpacked layers from an earlier run");
            std::fs::remove_dir_all(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        Ok(Self { dir, tmp })
    }

    /// The directory of a layer (whether or not it exists).
    pub fn path(&self, chain_id: &str) -> Result<PathBuf, StoreError> {
        Ok(self.dir.join(parse_digest(chain_id)?))
    }

    pub fn exists(&self, chain_id: &str) -> bool {
        self.path(chain_id).map(|p| p.is_dir()).unwrap_or(false)
    }

    /// Unpacks the layer blob at `blob` (gzip, zstd or plain tar) into a temp directory.
    pub fn unpack_file(&self, blob: &Path) -> Result<(TempLayer, UnpackedLayer), StoreError> {
        let file = File::open(blob).map_err(|e| StoreError::io(blob, e))?;
        let blob_size = file.metadata().map_err(|e| StoreError::io(blob, e))?.len();
        let (compression, reader) = decompress(file).map_err(|e| StoreError::io(blob, e))?;
        let temp = TempLayer {
            path: self.tmp.join(hex::encode(rand::random::<[u8; 12]>())),
        };
        std::fs::create_dir(&temp.path).map_err(|e| StoreError::io(&temp.path, e))?;
        let stats = unpack_layer(reader, &temp.path)?;
        let blob_digest = match compression {
            // The blob is the tar itself: its digest is the diff ID just computed.
            Compression::None => stats.diff_id.clone(),
            _ => {
                let f = File::open(blob).map_err(|e| StoreError::io(blob, e))?;
                HashingReader::new(f)
                    .finish()
                    .map_err(|e| StoreError::io(blob, e))?
                    .0
            }
        };
        Ok((
            temp,
            UnpackedLayer {
                diff_id: stats.diff_id,
                size: stats.size,
                blob_digest,
                blob_size,
                compression,
            },
        ))
    }

    /// Moves an unpacked layer into place under `chain_id`. If another writer got there
    /// first, its copy is kept and this one is discarded.
    pub fn publish(&self, temp: TempLayer, chain_id: &str) -> Result<(), StoreError> {
        let dest = self.path(chain_id)?;
        match std::fs::rename(&temp.path, &dest) {
            Ok(()) => Ok(()),
            Err(_) if dest.is_dir() => Ok(()), // `temp` is removed on drop
            Err(e) => Err(StoreError::io(&dest, e)),
        }
    }

    /// Removes a layer directory; a missing one is not an error.
    pub fn delete(&self, chain_id: &str) -> Result<(), StoreError> {
        let p = self.path(chain_id)?;
        match std::fs::remove_dir_all(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&p, e)),
        }
    }

    /// Chain IDs of the layer directories present on disk.
    pub fn list(&self) -> Result<Vec<String>, StoreError> {
        crate::content::list_digest_dir(&self.dir)
    }
}
