//! Container records in `berth.db`: identity, the create request as the engine normalised
//! it, and the run state. The container's files live under `<root>/containers/<id>/`.

use rusqlite::{params, OptionalExtension};

use crate::{Db, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    /// 64 hex digits.
    pub id: String,
    /// Without the leading `/` Docker shows in inspect.
    pub name: String,
    /// Unix nanoseconds.
    pub created: i64,
    pub image_id: String,
    /// The image as the user named it (`busybox`), for `ps`.
    pub image_ref: String,
    /// JSON of the container config (Docker's `Config`).
    pub config: String,
    /// JSON of the host config (Docker's `HostConfig`).
    pub host_config: String,
    /// JSON of the run state.
    pub state: String,
}

const COLUMNS: &str = "id, name, created, image_id, image_ref, config, host_config, state";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContainerRecord> {
    Ok(ContainerRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        created: r.get(2)?,
        image_id: r.get(3)?,
        image_ref: r.get(4)?,
        config: r.get(5)?,
        host_config: r.get(6)?,
        state: r.get(7)?,
    })
}

impl Db {
    /// Records a new container. A name already taken is reported as `Ok(Some(holder id))`.
    pub fn insert_container(&self, c: &ContainerRecord) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        let holder: Option<String> = conn
            .query_row(
                "SELECT id FROM containers WHERE name = ?1",
                [&c.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if holder.is_some() {
            return Ok(holder);
        }
        conn.execute(
            &format!("INSERT INTO containers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![
                c.id,
                c.name,
                c.created,
                c.image_id,
                c.image_ref,
                c.config,
                c.host_config,
                c.state
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(None)
    }

    pub fn container(&self, id: &str) -> Result<Option<ContainerRecord>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"),
                [id],
                row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn container_by_name(&self, name: &str) -> Result<Option<ContainerRecord>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE name = ?1"),
                [name],
                row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// IDs starting with `prefix`.
    pub fn containers_by_prefix(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT id FROM containers WHERE id >= ?1 AND id < ?2 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let lo = prefix.to_ascii_lowercase();
        let hi = format!("{lo}\u{10FFFF}");
        st.query_map([lo, hi], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    /// Every container, newest first.
    pub fn containers(&self) -> Result<Vec<ContainerRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM containers ORDER BY created DESC"
            ))
            .map_err(|e| self.err(e))?;
        st.query_map([], row)
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    pub fn set_container_state(&self, id: &str, state: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE containers SET state = ?1 WHERE id = ?2",
                [state, id],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Replaces the stored host config (`docker update`).
    pub fn set_container_host_config(&self, id: &str, host_config: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE containers SET host_config = ?1 WHERE id = ?2",
                [host_config, id],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Renames; a name already taken is reported as `Ok(false)`.
    pub fn rename_container(&self, id: &str, name: &str) -> Result<bool, StoreError> {
        match self
            .conn()
            .execute("UPDATE containers SET name = ?1 WHERE id = ?2", [name, id])
        {
            Ok(_) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Ok(false)
            }
            Err(e) => Err(self.err(e)),
        }
    }

    pub fn delete_container(&self, id: &str) -> Result<bool, StoreError> {
        self.conn()
            .execute("DELETE FROM containers WHERE id = ?1", [id])
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// IDs of the containers made from an image (in-use protection for `rmi` and prune).
    pub fn containers_using_image(&self, image_id: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT id FROM containers WHERE image_id = ?1 ORDER BY created")
            .map_err(|e| self.err(e))?;
        st.query_map([image_id], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImageRecord, LayerRecord};

    #[test]
    fn names_are_unique_and_images_are_protected() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("db")).unwrap();
        let chain = format!("sha256:{:064x}", 1);
        db.insert_layer(&LayerRecord {
            chain_id: chain.clone(),
            diff_id: chain.clone(),
            parent: None,
            blob_digest: chain.clone(),
            media_type: "t".into(),
            blob_size: 1,
            size: 1,
        })
        .unwrap();
        let image = format!("sha256:{:064x}", 2);
        db.insert_image(&ImageRecord {
            id: image.clone(),
            created: 0,
            size: 1,
            added: 0,
            last_tag_time: None,
            layers: vec![chain],
        })
        .unwrap();
        let c = |id: &str, name: &str| ContainerRecord {
            id: id.into(),
            name: name.into(),
            created: 1,
            image_id: image.clone(),
            image_ref: "busybox".into(),
            config: "{}".into(),
            host_config: "{}".into(),
            state: "{}".into(),
        };
        let a = format!("{:064x}", 0xaa);
        let b = format!("{:064x}", 0xab);
        assert_eq!(db.insert_container(&c(&a, "web")).unwrap(), None);
        assert_eq!(db.insert_container(&c(&b, "web")).unwrap(), Some(a.clone()));
        assert_eq!(db.insert_container(&c(&b, "db")).unwrap(), None);
        assert_eq!(db.containers_by_prefix("00").unwrap().len(), 2);
        assert_eq!(db.container_by_name("db").unwrap().unwrap().id, b);
        assert!(!db.rename_container(&b, "web").unwrap());
        assert!(db.rename_container(&b, "cache").unwrap());
        assert_eq!(db.containers_using_image(&image).unwrap().len(), 2);
        db.set_container_state(&a, "{\"Running\":true}").unwrap();
        assert_eq!(
            db.container(&a).unwrap().unwrap().state,
            "{\"Running\":true}"
        );
        assert!(db.delete_container(&a).unwrap());
        assert_eq!(db.containers().unwrap().len(), 1);
    }
}
