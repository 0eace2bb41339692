//! `GET /images/{name}/json`.

use std::collections::HashMap;

use berth_api::images::{GraphDriver, ImageInspect, ImageMetadata, RootFs};
use berth_api::ApiError;

use super::rfc3339;
use crate::engine::Engine;

impl Engine {
    pub fn inspect_image(&self, name: &str) -> Result<ImageInspect, ApiError> {
        let img = self.resolve_image(name)?;
        let cfg = self.image_config(&img.id)?;
        let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
        let dirs: Vec<String> = img
            .layers
            .iter()
            .rev()
            .filter_map(|c| self.images.layers.path(c).ok())
            .map(|p| p.display().to_string())
            .collect();
        let mut data = HashMap::new();
        if let Some((upper, lower)) = dirs.split_first() {
            data.insert("UpperDir".to_string(), upper.clone());
            if !lower.is_empty() {
                data.insert("LowerDir".to_string(), lower.join(":"));
            }
        }
        let comment = cfg["history"]
            .as_array()
            .and_then(|h| h.last())
            .map(|h| s(&h["comment"]))
            .unwrap_or_default();
        let (repo_tags, repo_digests) = self.image_names(&img.id)?;
        Ok(ImageInspect {
            id: img.id.clone(),
            repo_tags,
            repo_digests,
            parent: String::new(),
            comment,
            created: cfg["created"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| rfc3339(img.created)),
            container: s(&cfg["container"]),
            container_config: cfg
                .get("container_config")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
            docker_version: s(&cfg["docker_version"]),
            author: s(&cfg["author"]),
            config: cfg
                .get("config")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
            architecture: s(&cfg["architecture"]),
            variant: cfg["variant"].as_str().map(str::to_string),
            os: s(&cfg["os"]),
            os_version: cfg["os.version"].as_str().map(str::to_string),
            size: img.size,
            virtual_size: img.size,
            graph_driver: GraphDriver {
                name: "overlay2".into(),
                data,
            },
            root_fs: RootFs {
                typ: "layers".into(),
                layers: cfg["rootfs"]["diff_ids"]
                    .as_array()
                    .map(|a| a.iter().map(s).collect())
                    .unwrap_or_default(),
            },
            metadata: ImageMetadata {
                last_tag_time: img
                    .last_tag_time
                    .map(rfc3339)
                    .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            },
        })
    }
}
