//! `POST /images/prune`: remove dangling images (or, with `dangling=false`, every unused one).

use std::collections::BTreeMap;

use berth_api::images::{ImageDeleteItem, ImagePruneResponse};
use berth_api::ApiError;

use super::{familiar, store_err};
use crate::engine::Engine;

const FILTERS: &[&str] = &["dangling", "label", "label!", "until"];

impl Engine {
    pub async fn prune_images(
        &self,
        filters: &BTreeMap<String, Vec<String>>,
    ) -> Result<ImagePruneResponse, ApiError> {
        if let Some(bad) = filters.keys().find(|k| !FILTERS.contains(&k.as_str())) {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        let dangling_only = !filters
            .get("dangling")
            .and_then(|v| v.first())
            .is_some_and(|v| matches!(v.as_str(), "false" | "0"));
        let until = match filters.get("until").and_then(|v| v.first()) {
            Some(u) => Some(crate::api::parse_until(u)?),
            None => None,
        };
        let _guard = self.images.commit.lock().await;
        let db = self.db();
        let mut deleted = Vec::new();
        let mut reclaimed = 0;
        for img in db.images().map_err(store_err)? {
            let tags = db.tags_of(&img.id).map_err(store_err)?;
            if dangling_only && !tags.is_empty() {
                continue;
            }
            if until.is_some_and(|u| img.created >= u) {
                continue;
            }
            if !db
                .containers_using_image(&img.id)
                .map_err(store_err)?
                .is_empty()
            {
                continue;
            }
            let cfg = self.image_config(&img.id)?;
            let labels = &cfg["config"]["Labels"];
            let has = |spec: &String| match spec.split_once('=') {
                Some((k, v)) => labels[k].as_str() == Some(v),
                None => labels.get(spec.as_str()).is_some(),
            };
            if filters
                .get("label")
                .is_some_and(|want| !want.iter().all(has))
            {
                continue;
            }
            if filters.get("label!").is_some_and(|not| not.iter().any(has)) {
                continue;
            }
            for tag in &tags {
                db.remove_tag(tag).map_err(store_err)?;
                deleted.push(ImageDeleteItem {
                    untagged: Some(familiar(tag)),
                    deleted: None,
                });
                self.image_event("untag", &img.id, Some(&familiar(tag)));
            }
            let (items, freed) = self.delete_image_locked(&img)?;
            deleted.extend(items);
            reclaimed += freed;
        }
        self.events.publish(
            berth_api::models::EventMessageTypeEnum::IMAGE,
            "prune",
            "",
            std::collections::HashMap::from([("reclaimed".to_string(), reclaimed.to_string())]),
        );
        Ok(ImagePruneResponse {
            images_deleted: (!deleted.is_empty()).then_some(deleted),
            space_reclaimed: reclaimed,
        })
    }
}
