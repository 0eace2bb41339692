//! `DELETE /images/{name}`: untag, and delete the image once nothing names it; free its
//! layers and blobs when no other image uses them.

use berth_api::images::ImageDeleteItem;
use berth_api::ApiError;
use berth_image::Reference;
use berth_store::ImageRecord;

use super::{familiar, store_err};
use crate::engine::Engine;

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

impl Engine {
    pub async fn remove_image(
        &self,
        name: &str,
        force: bool,
    ) -> Result<Vec<ImageDeleteItem>, ApiError> {
        let img = self.resolve_image(name)?;
        let _guard = self.images.commit.lock().await;
        let db = self.db();
        let tags = db.tags_of(&img.id).map_err(store_err)?;
        // An image a container was made from stays until the container is gone: refuse
        // before changing anything when this would delete it (its last name, or by ID);
        // with --force only its names go.
        let by_last_name = tags.len() <= 1;
        let users = db.containers_using_image(&img.id).map_err(store_err)?;
        if let Some(user) = users.first() {
            if by_last_name && !force {
                return Err(ApiError::conflict(format!(
                    "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                    short(user),
                    short(&img.id)
                )));
            }
        }
        let mut out = Vec::new();
        // Named by one of its tags: remove that tag; the image goes only with its last name.
        let by_tag = Reference::parse(name)
            .ok()
            .map(|r| r.with_default_tag().to_string())
            .filter(|full| tags.contains(full));
        if let Some(tag) = by_tag {
            db.remove_tag(&tag).map_err(store_err)?;
            out.push(ImageDeleteItem {
                untagged: Some(familiar(&tag)),
                deleted: None,
            });
            self.image_event("untag", &img.id, Some(&familiar(&tag)));
            if tags.len() > 1 {
                return Ok(out);
            }
        } else {
            if tags.len() > 1 && !force {
                return Err(ApiError::conflict(format!(
                    "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    short(&img.id)
                )));
            }
            for tag in &tags {
                db.remove_tag(tag).map_err(store_err)?;
                out.push(ImageDeleteItem {
                    untagged: Some(familiar(tag)),
                    deleted: None,
                });
                self.image_event("untag", &img.id, Some(&familiar(tag)));
            }
        }
        if !users.is_empty() {
            return Ok(out);
        }
        for digest in db.digests_of(&img.id).map_err(store_err)? {
            out.push(ImageDeleteItem {
                untagged: Some(familiar(&digest)),
                deleted: None,
            });
        }
        out.extend(self.delete_image_locked(&img)?.0);
        Ok(out)
    }

    /// Deletes an image record, its config blob, and every layer (directory, blob, record)
    /// no other image uses. Call with the commit lock held. Returns the delete items and
    /// the bytes freed on disk.
    pub(super) fn delete_image_locked(
        &self,
        img: &ImageRecord,
    ) -> Result<(Vec<ImageDeleteItem>, i64), ApiError> {
        let db = self.db();
        let images = &self.images;
        let config_size = images.content.size(&img.id).unwrap_or(0) as i64;
        let freed_layers = db.delete_image(&img.id).map_err(store_err)?;
        let mut out = vec![ImageDeleteItem {
            untagged: None,
            deleted: Some(img.id.clone()),
        }];
        let mut freed = config_size;
        images.content.delete(&img.id).map_err(store_err)?;
        for layer in freed_layers {
            images.layers.delete(&layer.chain_id).map_err(store_err)?;
            db.delete_layer(&layer.chain_id).map_err(store_err)?;
            freed += layer.size;
            if !db.blob_in_use(&layer.blob_digest).map_err(store_err)? {
                images
                    .content
                    .delete(&layer.blob_digest)
                    .map_err(store_err)?;
                freed += layer.blob_size;
            }
            out.push(ImageDeleteItem {
                untagged: None,
                deleted: Some(layer.chain_id.clone()),
            });
        }
        self.image_event("delete", &img.id, None);
        Ok((out, freed))
    }
}
