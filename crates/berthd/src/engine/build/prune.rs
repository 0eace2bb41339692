//! `POST /build/prune`: forgets every cache entry and removes the intermediate images
//! builds left (untagged, unused by containers); tagged results stay.

use std::sync::Arc;

use berth_api::ApiError;

use crate::engine::images::store_err;
use crate::engine::Engine;

impl Engine {
    /// Returns the removed images' IDs and the bytes their layers took.
    pub async fn prune_build_cache(self: &Arc<Self>) -> Result<(Vec<String>, i64), ApiError> {
        let entries = self.db().build_cache_entries().map_err(store_err)?;
        let layer_bytes = |e: &Engine| -> Result<i64, ApiError> {
            Ok(e.db()
                .layers()
                .map_err(store_err)?
                .iter()
                // health hook (system prune): what the disk gives back, blobs included.
                .map(|l| l.size + l.blob_size)
                .sum())
        };
        let before = layer_bytes(self)?;
        self.db().build_cache_clear().map_err(store_err)?;
        let mut removed = Vec::new();
        // Newest first: a step's image before the one it was built on.
        for e in entries.iter().rev() {
            if removed.contains(&e.image_id) {
                continue;
            }
            if !self
                .db()
                .tags_of(&e.image_id)
                .map_err(store_err)?
                .is_empty()
            {
                continue;
            }
            if self.remove_image(&e.image_id, false).await.is_ok() {
                removed.push(e.image_id.clone());
            }
        }
        let after = layer_bytes(self)?;
        Ok((removed, (before - after).max(0)))
    }
}
