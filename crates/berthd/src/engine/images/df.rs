//! The image part of `GET /system/df`: every image with its shared size and the number of
//! containers using it, and the bytes all layers take once.
//!
//! Sizes here are what the bytes take on disk, which is what a prune would give back: a
//! layer costs its unpacked directory *and* its stored blob (kept for push and save), an
//! image also its config blob. `LayersSize` is measured on disk (`layers/` and `blobs/`),
//! not summed from records, so layers no image references (a crash's leftovers until the
//! next start-up check) are counted too: `df` never says 0 while they take space
//! (moby#21925). See docs/api-compat.md.

use std::collections::HashMap;

use berth_api::images::ImageSummary;
use berth_api::ApiError;
use berth_store::{ImageRecord, LayerRecord};

use super::list::layer_use_counts;
use super::store_err;
use crate::engine::volumes::dir_size;
use crate::engine::Engine;

/// Disk bytes of one image: its layers (each counted once) and its config blob; and the
/// part of it that other images share.
pub fn image_disk_size(
    img: &ImageRecord,
    layers: &HashMap<String, LayerRecord>,
    use_counts: &HashMap<String, usize>,
    config_size: i64,
) -> (i64, i64) {
    let mut size = config_size;
    let mut shared = 0;
    for chain in &img.layers {
        let bytes = layers.get(chain).map(|l| l.size + l.blob_size).unwrap_or(0);
        size += bytes;
        if use_counts.get(chain).copied().unwrap_or(0) > 1 {
            shared += bytes;
        }
    }
    (size, shared)
}

impl Engine {
    /// (LayersSize, images with SharedSize and Containers filled in).
    pub fn images_disk_usage(&self) -> Result<(i64, Vec<ImageSummary>), ApiError> {
        let db = self.db();
        let records = db.images().map_err(store_err)?;
        let counts = layer_use_counts(&records);
        let layers: HashMap<String, LayerRecord> = db
            .layers()
            .map_err(store_err)?
            .into_iter()
            .map(|l| (l.chain_id.clone(), l))
            .collect();
        let mut users: HashMap<String, i64> = HashMap::new();
        for c in db.containers().map_err(store_err)? {
            *users.entry(c.image_id).or_insert(0) += 1;
        }
        let mut images = Vec::new();
        for img in &records {
            let mut s = self.image_summary(img, Some(&counts))?;
            let config_size = self
                .images
                .content
                .path(&img.id)
                .ok()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len() as i64)
                .unwrap_or(0);
            let (size, shared) = image_disk_size(img, &layers, &counts, config_size);
            s.size = size;
            s.virtual_size = size;
            s.shared_size = shared;
            s.containers = users.get(&img.id).copied().unwrap_or(0);
            images.push(s);
        }
        let root = self.root.path();
        let layers_size = dir_size(&root.join("layers")) + dir_size(&root.join("blobs"));
        Ok((layers_size, images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(chain: &str, size: i64, blob: i64) -> (String, LayerRecord) {
        (
            chain.to_string(),
            LayerRecord {
                chain_id: chain.into(),
                diff_id: chain.into(),
                parent: None,
                blob_digest: String::new(),
                media_type: String::new(),
                blob_size: blob,
                size,
            },
        )
    }

    #[test]
    fn images_cost_their_layers_blobs_and_config() {
        let layers: HashMap<_, _> = [layer("a", 100, 40), layer("b", 10, 5)].into();
        let img = |ls: &[&str]| ImageRecord {
            id: "x".into(),
            created: 0,
            size: 0,
            added: 0,
            last_tag_time: None,
            layers: ls.iter().map(|s| s.to_string()).collect(),
        };
        let one = img(&["a"]);
        let two = img(&["a", "b"]);
        let counts = layer_use_counts(&[one.clone(), two.clone()]);
        assert_eq!(image_disk_size(&one, &layers, &counts, 7), (147, 140));
        assert_eq!(image_disk_size(&two, &layers, &counts, 7), (162, 140));
        let alone = layer_use_counts(std::slice::from_ref(&two));
        assert_eq!(image_disk_size(&two, &layers, &alone, 0), (155, 0));
    }
}
