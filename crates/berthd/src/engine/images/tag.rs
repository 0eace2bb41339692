//! `POST /images/{name}/tag`.

use berth_api::ApiError;
use berth_image::Reference;

use super::{now_unix, store_err};
use crate::engine::Engine;

impl Engine {
    /// Points `repo:tag` (tag defaults to `latest`) at the image `name` resolves to.
    pub async fn tag_image(
        &self,
        name: &str,
        repo: &str,
        tag: Option<&str>,
    ) -> Result<(), ApiError> {
        let target = match tag.filter(|t| !t.is_empty()) {
            Some(t) => format!("{repo}:{t}"),
            None => repo.to_string(),
        };
        let r = Reference::parse(&target).map_err(|e| ApiError::invalid(e.to_string()))?;
        if r.digest().is_some() {
            return Err(ApiError::invalid(
                "refusing to create a tag with a digest reference",
            ));
        }
        let r = r.with_default_tag();
        let img = self.resolve_image(name)?;
        let _guard = self.images.commit.lock().await;
        self.db()
            .set_tag(&r.to_string(), &img.id, now_unix())
            .map_err(store_err)?;
        self.image_event("tag", &img.id, Some(&r.familiar_string()));
        Ok(())
    }
}
