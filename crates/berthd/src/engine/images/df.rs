//! The image part of `GET /system/df`: every image with its shared size, and the bytes all
//! layers take once.

use berth_api::images::ImageSummary;
use berth_api::ApiError;

use super::list::layer_use_counts;
use super::store_err;
use crate::engine::Engine;

impl Engine {
    /// (LayersSize, images with SharedSize and Containers filled in).
    pub fn images_disk_usage(&self) -> Result<(i64, Vec<ImageSummary>), ApiError> {
        let db = self.db();
        let records = db.images().map_err(store_err)?;
        let counts = layer_use_counts(&records);
        let mut images = Vec::new();
        for img in &records {
            let mut s = self.image_summary(img, Some(&counts))?;
            s.containers = 0;
            images.push(s);
        }
        let layers_size = db.layers().map_err(store_err)?.iter().map(|l| l.size).sum();
        Ok((layers_size, images))
    }
}
