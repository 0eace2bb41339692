//! `GET /images/{name}/history`: the config's history, newest first, with layer sizes.

use berth_api::images::HistoryItem;
use berth_api::ApiError;

use super::store_err;
use crate::engine::Engine;

impl Engine {
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>, ApiError> {
        let img = self.resolve_image(name)?;
        let db = self.db();
        let cfg = self.image_config(&img.id)?;
        let mut sizes = Vec::new();
        for chain in &img.layers {
            sizes.push(
                db.layer(chain)
                    .map_err(store_err)?
                    .map(|l| l.size)
                    .unwrap_or(0),
            );
        }
        let created = |v: &serde_json::Value| {
            v.as_str()
                .and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(|t| t.unix_timestamp())
                .unwrap_or(0)
        };
        let mut items = Vec::new();
        let mut layer = 0;
        match cfg["history"].as_array().filter(|h| !h.is_empty()) {
            Some(history) => {
                for h in history {
                    let empty = h["empty_layer"].as_bool().unwrap_or(false);
                    let size = if empty {
                        0
                    } else {
                        layer += 1;
                        sizes.get(layer - 1).copied().unwrap_or(0)
                    };
                    items.push(HistoryItem {
                        id: "<missing>".into(),
                        created: created(&h["created"]),
                        created_by: h["created_by"].as_str().unwrap_or("").to_string(),
                        tags: None,
                        size,
                        comment: h["comment"].as_str().unwrap_or("").to_string(),
                    });
                }
            }
            // No history recorded: one entry per layer.
            None => {
                for size in &sizes {
                    items.push(HistoryItem {
                        id: "<missing>".into(),
                        created: img.created,
                        size: *size,
                        ..Default::default()
                    });
                }
            }
        }
        items.reverse();
        if let Some(top) = items.first_mut() {
            top.id = img.id.clone();
            top.tags = Some(self.image_names(&img.id)?.0);
        }
        Ok(items)
    }
}
