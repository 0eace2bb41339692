//! The builder's step cache: a step's cache key → the image that step produced.
//!
//! Every build step's result is an image (intermediate ones are untagged); a row here says
//! "this key, applied on `parent_id`, gave `image_id`". Deleting the image deletes its rows
//! (`ON DELETE CASCADE`), so a hit always names an image that exists.

use rusqlite::{params, OptionalExtension};

use crate::{Db, StoreError};

/// One cache entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub key: String,
    pub image_id: String,
    pub parent_id: String,
    pub created: i64,
    pub last_used: i64,
}

impl Db {
    /// The image a step's key gave before (and marks the entry used).
    pub fn build_cache_get(&self, key: &str, now: i64) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        let id: Option<String> = conn
            .query_row(
                "SELECT image_id FROM build_cache WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if id.is_some() {
            conn.execute(
                "UPDATE build_cache SET last_used = ?2 WHERE key = ?1",
                params![key, now],
            )
            .map_err(|e| self.err(e))?;
        }
        Ok(id)
    }

    /// Records (or replaces) a step's result.
    pub fn build_cache_put(
        &self,
        key: &str,
        image_id: &str,
        parent_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO build_cache (key, image_id, parent_id, created, last_used)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![key, image_id, parent_id, now],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every entry, oldest first.
    pub fn build_cache_entries(&self) -> Result<Vec<CacheEntry>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT key, image_id, parent_id, created, last_used FROM build_cache
                 ORDER BY created",
            )
            .map_err(|e| self.err(e))?;
        st.query_map([], |r| {
            Ok(CacheEntry {
                key: r.get(0)?,
                image_id: r.get(1)?,
                parent_id: r.get(2)?,
                created: r.get(3)?,
                last_used: r.get(4)?,
            })
        })
        .and_then(Iterator::collect)
        .map_err(|e| self.err(e))
    }

    /// Forgets every entry; returns how many there were.
    pub fn build_cache_clear(&self) -> Result<usize, StoreError> {
        self.conn()
            .execute("DELETE FROM build_cache", [])
            .map_err(|e| self.err(e))
    }

    /// Whether an image is the parent of a cached step (an intermediate image of a build,
    /// which `docker images` hides unless `-a`, like dockerd's images with children).
    pub fn build_cache_has_children(&self, image_id: &str) -> Result<bool, StoreError> {
        self.conn()
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM build_cache WHERE parent_id = ?1)",
                [image_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageRecord;

    #[test]
    fn entries_follow_their_image() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("berth.db")).unwrap();
        let img = |id: &str| ImageRecord {
            id: id.into(),
            created: 1,
            size: 0,
            added: 1,
            last_tag_time: None,
            layers: vec![],
        };
        db.insert_image(&img("sha256:a")).unwrap();
        db.insert_image(&img("sha256:b")).unwrap();
        db.build_cache_put("k1", "sha256:b", "sha256:a", 5).unwrap();
        assert_eq!(
            db.build_cache_get("k1", 6).unwrap().as_deref(),
            Some("sha256:b")
        );
        assert_eq!(db.build_cache_get("k2", 6).unwrap(), None);
        assert!(db.build_cache_has_children("sha256:a").unwrap());
        assert!(!db.build_cache_has_children("sha256:b").unwrap());
        assert_eq!(db.build_cache_entries().unwrap()[0].last_used, 6);
        db.delete_image("sha256:b").unwrap();
        assert_eq!(
            db.build_cache_get("k1", 7).unwrap(),
            None,
            "gone with its image"
        );
        db.build_cache_put("k3", "sha256:a", "", 5).unwrap();
        assert_eq!(db.build_cache_clear().unwrap(), 1);
    }
}
