//! Image, layer and tag records in `berth.db`.
//!
//! Only metadata: the bytes live in the [`ContentStore`](crate::ContentStore) (configs,
//! layer blobs) and the [`LayerStore`](crate::LayerStore) (unpacked layers).

use rusqlite::{params, OptionalExtension};

use crate::{Db, StoreError};

/// A layer as recorded: identity, where its blob is, how big it is unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRecord {
    pub chain_id: String,
    pub diff_id: String,
    pub parent: Option<String>,
    /// Digest of the stored blob (compressed or not, as it came in).
    pub blob_digest: String,
    pub media_type: String,
    pub blob_size: i64,
    /// Bytes of regular files once unpacked.
    pub size: i64,
}

/// An image as recorded. Its config blob is the content-store blob named `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// `sha256:<hex>` of the config.
    pub id: String,
    /// Creation time from the config (Unix seconds).
    pub created: i64,
    /// Sum of the unpacked sizes of its layers.
    pub size: i64,
    /// When it was added to this daemon (Unix seconds).
    pub added: i64,
    pub last_tag_time: Option<i64>,
    /// Chain IDs, base layer first.
    pub layers: Vec<String>,
}

impl Db {
    pub fn layer(&self, chain_id: &str) -> Result<Option<LayerRecord>, StoreError> {
        self.conn()
            .query_row(
                "SELECT chain_id, diff_id, parent, blob_digest, media_type, blob_size, size
                 FROM layers WHERE chain_id = ?1",
                [chain_id],
                |r| {
                    Ok(LayerRecord {
                        chain_id: r.get(0)?,
                        diff_id: r.get(1)?,
                        parent: r.get(2)?,
                        blob_digest: r.get(3)?,
                        media_type: r.get(4)?,
                        blob_size: r.get(5)?,
                        size: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records a layer (a no-op when it is already known).
    pub fn insert_layer(&self, l: &LayerRecord) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO layers
                 (chain_id, diff_id, parent, blob_digest, media_type, blob_size, size)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    l.chain_id,
                    l.diff_id,
                    l.parent,
                    l.blob_digest,
                    l.media_type,
                    l.blob_size,
                    l.size
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// All recorded layers.
    pub fn layers(&self) -> Result<Vec<LayerRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT chain_id FROM layers ORDER BY chain_id")
            .map_err(|e| self.err(e))?;
        let ids: Vec<String> = st
            .query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        drop(st);
        drop(conn);
        ids.iter()
            .filter_map(|id| self.layer(id).transpose())
            .collect()
    }

    /// Records an image and its layer list (the layers must be recorded already). Returns
    /// false when the image was already known (nothing changes then).
    pub fn insert_image(&self, img: &ImageRecord) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let added = tx
            .execute(
                "INSERT OR IGNORE INTO images (id, created, size, added, last_tag_time)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![img.id, img.created, img.size, img.added, img.last_tag_time],
            )
            .map_err(|e| self.err(e))?
            == 1;
        if added {
            for (i, chain) in img.layers.iter().enumerate() {
                tx.execute(
                    "INSERT INTO image_layers (image_id, position, chain_id) VALUES (?1, ?2, ?3)",
                    params![img.id, i as i64, chain],
                )
                .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(added)
    }

    pub fn image(&self, id: &str) -> Result<Option<ImageRecord>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT id, created, size, added, last_tag_time FROM images WHERE id = ?1",
                [id],
                |r| {
                    Ok(ImageRecord {
                        id: r.get(0)?,
                        created: r.get(1)?,
                        size: r.get(2)?,
                        added: r.get(3)?,
                        last_tag_time: r.get(4)?,
                        layers: Vec::new(),
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some(mut img) = row else { return Ok(None) };
        let mut st = conn
            .prepare("SELECT chain_id FROM image_layers WHERE image_id = ?1 ORDER BY position")
            .map_err(|e| self.err(e))?;
        img.layers = st
            .query_map([id], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(Some(img))
    }

    /// Every image, newest first.
    pub fn images(&self) -> Result<Vec<ImageRecord>, StoreError> {
        let ids: Vec<String> = {
            let conn = self.conn();
            let mut st = conn
                .prepare("SELECT id FROM images ORDER BY created DESC, id")
                .map_err(|e| self.err(e))?;
            let ids = st
                .query_map([], |r| r.get(0))
                .and_then(Iterator::collect)
                .map_err(|e| self.err(e))?;
            ids
        };
        ids.iter()
            .filter_map(|id| self.image(id).transpose())
            .collect()
    }

    /// Image IDs starting with `prefix` (`sha256:` optional).
    pub fn images_by_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let hex = prefix.strip_prefix("sha256:").unwrap_or(prefix);
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT id FROM images WHERE id >= ?1 AND id < ?2 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let lo = format!("sha256:{}", hex.to_ascii_lowercase());
        let hi = format!("{lo}\u{10FFFF}");
        st.query_map([lo, hi], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    /// Points `name` at `image_id`; returns the image it pointed at before, if another.
    pub fn set_tag(
        &self,
        name: &str,
        image_id: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let previous: Option<String> = tx
            .query_row("SELECT image_id FROM tags WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO tags (name, image_id) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
            [name, image_id],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "UPDATE images SET last_tag_time = ?1 WHERE id = ?2",
            params![now, image_id],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(previous.filter(|p| p != image_id))
    }

    /// Removes a tag; returns whether it existed.
    pub fn remove_tag(&self, name: &str) -> Result<bool, StoreError> {
        self.conn()
            .execute("DELETE FROM tags WHERE name = ?1", [name])
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    pub fn image_by_tag(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row("SELECT image_id FROM tags WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn image_by_digest(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT image_id FROM repo_digests WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records a repo digest (`docker.io/library/busybox@sha256:…`: the manifest an image
    /// was pulled by or pushed as), moving it when it named another image.
    pub fn set_repo_digest(&self, name: &str, image_id: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO repo_digests (name, image_id) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                [name, image_id],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Full tag names of an image, sorted.
    pub fn tags_of(&self, image_id: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT name FROM tags WHERE image_id = ?1 ORDER BY name")
            .map_err(|e| self.err(e))?;
        st.query_map([image_id], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    /// Repo digests (`name@sha256:...`) of an image.
    pub fn digests_of(&self, image_id: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT name FROM repo_digests WHERE image_id = ?1 ORDER BY name")
            .map_err(|e| self.err(e))?;
        st.query_map([image_id], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    /// Deletes an image record (its tags and digests go with it) and returns the layers
    /// no other image references any more, top layer first: the caller removes their
    /// directories and blobs, then calls [`delete_layer`](Self::delete_layer) for each.
    pub fn delete_image(&self, id: &str) -> Result<Vec<LayerRecord>, StoreError> {
        let chain: Vec<String> = self.image(id)?.map(|i| i.layers).unwrap_or_default();
        self.conn()
            .execute("DELETE FROM images WHERE id = ?1", [id])
            .map_err(|e| self.err(e))?;
        let mut unused = Vec::new();
        for chain_id in chain.iter().rev() {
            let refs: i64 = self
                .conn()
                .query_row(
                    "SELECT COUNT(*) FROM image_layers WHERE chain_id = ?1",
                    [chain_id],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            if refs == 0 {
                if let Some(l) = self.layer(chain_id)? {
                    unused.push(l);
                }
            }
        }
        Ok(unused)
    }

    /// Forgets a layer record (after its directory and blob are gone).
    pub fn delete_layer(&self, chain_id: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM layers WHERE chain_id = ?1", [chain_id])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Whether any layer record still uses this blob (two chains can share one blob).
    pub fn blob_in_use(&self, digest: &str) -> Result<bool, StoreError> {
        self.conn()
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM layers WHERE blob_digest = ?1)
                     OR EXISTS(SELECT 1 FROM images WHERE id = ?1)",
                [digest],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(n: u8, parent: Option<&str>) -> LayerRecord {
        LayerRecord {
            chain_id: format!("sha256:{:064x}", n),
            diff_id: format!("sha256:{:064x}", n + 100),
            parent: parent.map(str::to_string),
            blob_digest: format!("sha256:{:064x}", n + 200),
            media_type: "application/vnd.docker.image.rootfs.diff.tar".into(),
            blob_size: 10,
            size: 5,
        }
    }

    fn image(n: u8, layers: &[&LayerRecord]) -> ImageRecord {
        ImageRecord {
            id: format!("sha256:{:064x}", 300 + n as u32),
            created: n as i64,
            size: 0,
            added: 0,
            last_tag_time: None,
            layers: layers.iter().map(|l| l.chain_id.clone()).collect(),
        }
    }

    #[test]
    fn shared_layers_are_freed_only_by_the_last_image() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("db")).unwrap();
        let base = layer(1, None);
        let top = layer(2, Some(&base.chain_id));
        for l in [&base, &top] {
            db.insert_layer(l).unwrap();
        }
        let a = image(1, &[&base]);
        let b = image(2, &[&base, &top]);
        assert!(db.insert_image(&a).unwrap());
        assert!(!db.insert_image(&a).unwrap());
        db.insert_image(&b).unwrap();
        assert_eq!(db.image(&b.id).unwrap().unwrap().layers.len(), 2);
        assert_eq!(db.images().unwrap()[0].id, b.id);

        let freed = db.delete_image(&b.id).unwrap();
        assert_eq!(freed, vec![top.clone()]);
        db.delete_layer(&top.chain_id).unwrap();
        assert!(db.blob_in_use(&base.blob_digest).unwrap());
        let freed = db.delete_image(&a.id).unwrap();
        assert_eq!(freed, vec![base.clone()]);
        db.delete_layer(&base.chain_id).unwrap();
        assert!(db.layers().unwrap().is_empty());
    }

    #[test]
    fn tags_move_and_prefixes_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("db")).unwrap();
        let l = layer(1, None);
        db.insert_layer(&l).unwrap();
        let a = image(1, &[&l]);
        let b = image(2, &[&l]);
        db.insert_image(&a).unwrap();
        db.insert_image(&b).unwrap();
        let name = "docker.io/library/busybox:latest";
        assert_eq!(db.set_tag(name, &a.id, 5).unwrap(), None);
        assert_eq!(db.set_tag(name, &b.id, 6).unwrap(), Some(a.id.clone()));
        assert_eq!(db.image_by_tag(name).unwrap(), Some(b.id.clone()));
        assert_eq!(db.tags_of(&b.id).unwrap(), vec![name.to_string()]);
        assert!(db.tags_of(&a.id).unwrap().is_empty());
        assert_eq!(db.image(&b.id).unwrap().unwrap().last_tag_time, Some(6));
        // Both IDs share the prefix "sha256:0000".
        assert_eq!(db.images_by_prefix("0000").unwrap().len(), 2);
        assert_eq!(db.images_by_prefix(&a.id).unwrap(), vec![a.id.clone()]);
        assert!(db.images_by_prefix("zz").unwrap().is_empty());
        let digest = format!("docker.io/library/busybox@sha256:{:064x}", 9);
        db.set_repo_digest(&digest, &a.id).unwrap();
        db.set_repo_digest(&digest, &b.id).unwrap();
        assert_eq!(db.image_by_digest(&digest).unwrap(), Some(b.id.clone()));
        assert_eq!(db.digests_of(&b.id).unwrap(), vec![digest.clone()]);
        assert!(db.remove_tag(name).unwrap());
        assert!(!db.remove_tag(name).unwrap());
        db.delete_image(&b.id).unwrap();
        assert!(db.tags_of(&b.id).unwrap().is_empty());
    }
}
