//! Volume records in `berth.db`, and the mounts of each container (which volumes are in
//! use). The data itself lives in `<root>/volumes/<name>/_data`, managed by the engine's
//! volume driver, or with a volume plugin.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension};

use crate::{Db, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRecord {
    pub name: String,
    pub driver: String,
    /// Unix seconds.
    pub created: i64,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// Made for a container's anonymous mount (pruned by default).
    pub anonymous: bool,
}

type Row = (String, String, i64, String, String, bool);

fn decode(r: Row) -> VolumeRecord {
    VolumeRecord {
        name: r.0,
        driver: r.1,
        created: r.2,
        labels: serde_json::from_str(&r.3).unwrap_or_default(),
        options: serde_json::from_str(&r.4).unwrap_or_default(),
        anonymous: r.5,
    }
}

const COLUMNS: &str = "name, driver, created, labels, options, anonymous";

impl Db {
    /// Records a new volume; false (and no change) when the name is taken.
    pub fn insert_volume(&self, v: &VolumeRecord) -> Result<bool, StoreError> {
        let labels = serde_json::to_string(&v.labels).unwrap_or_else(|_| "{}".into());
        let options = serde_json::to_string(&v.options).unwrap_or_else(|_| "{}".into());
        self.conn()
            .execute(
                &format!(
                    "INSERT OR IGNORE INTO volumes ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                ),
                params![v.name, v.driver, v.created, labels, options, v.anonymous],
            )
            .map(|n| n == 1)
            .map_err(|e| self.err(e))
    }

    pub fn volume(&self, name: &str) -> Result<Option<VolumeRecord>, StoreError> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM volumes WHERE name = ?1"),
                [name],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()
            .map(|r| r.map(decode))
            .map_err(|e| self.err(e))
    }

    /// Every volume, by name.
    pub fn volumes(&self) -> Result<Vec<VolumeRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!("SELECT {COLUMNS} FROM volumes ORDER BY name"))
            .map_err(|e| self.err(e))?;
        let rows: Vec<Row> = st
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows.into_iter().map(decode).collect())
    }

    /// Forgets a volume; returns whether it existed.
    pub fn delete_volume(&self, name: &str) -> Result<bool, StoreError> {
        self.conn()
            .execute("DELETE FROM volumes WHERE name = ?1", [name])
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }
}

/// One mount of a container, as inspect shows it (Docker's `MountPoint`) plus what the
/// engine needs at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountRecord {
    /// `bind`, `volume` or `tmpfs`.
    pub kind: String,
    /// The volume's name (empty for binds and tmpfs).
    pub name: String,
    /// The host path (a volume's mountpoint once known).
    pub source: String,
    pub destination: String,
    /// The volume driver (empty for binds and tmpfs).
    pub driver: String,
    pub mode: String,
    pub rw: bool,
    pub propagation: String,
    /// Copy the image's content at `destination` into the volume while it is empty.
    pub copy_data: bool,
    /// Copied from another container (`--volumes-from`).
    pub inherited: bool,
}

const MOUNT_COLUMNS: &str =
    "type, name, source, destination, driver, mode, rw, propagation, copy_data, inherited";

fn mount_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MountRecord> {
    Ok(MountRecord {
        kind: r.get(0)?,
        name: r.get(1)?,
        source: r.get(2)?,
        destination: r.get(3)?,
        driver: r.get(4)?,
        mode: r.get(5)?,
        rw: r.get(6)?,
        propagation: r.get(7)?,
        copy_data: r.get(8)?,
        inherited: r.get(9)?,
    })
}

impl Db {
    /// Replaces the mounts recorded for a container (which must exist).
    pub fn set_container_mounts(
        &self,
        container_id: &str,
        mounts: &[MountRecord],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM container_mounts WHERE container_id = ?1",
            [container_id],
        )
        .map_err(|e| self.err(e))?;
        for m in mounts {
            tx.execute(
                &format!(
                    "INSERT INTO container_mounts (container_id, {MOUNT_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ),
                params![
                    container_id,
                    m.kind,
                    m.name,
                    m.source,
                    m.destination,
                    m.driver,
                    m.mode,
                    m.rw,
                    m.propagation,
                    m.copy_data,
                    m.inherited
                ],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// A container's mounts, by destination.
    pub fn container_mounts(&self, container_id: &str) -> Result<Vec<MountRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!(
                "SELECT {MOUNT_COLUMNS} FROM container_mounts WHERE container_id = ?1
                 ORDER BY destination"
            ))
            .map_err(|e| self.err(e))?;
        st.query_map([container_id], mount_row)
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    /// Records where a mounted volume's data is (a plugin says so only at mount time).
    pub fn set_mount_source(
        &self,
        container_id: &str,
        destination: &str,
        source: &str,
    ) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "UPDATE container_mounts SET source = ?3
                 WHERE container_id = ?1 AND destination = ?2",
                params![container_id, destination, source],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The IDs of the containers that mount a volume, sorted.
    pub fn volume_users(&self, volume: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT DISTINCT container_id FROM container_mounts
                 WHERE type = 'volume' AND name = ?1 ORDER BY container_id",
            )
            .map_err(|e| self.err(e))?;
        st.query_map([volume], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    /// How many containers use each volume that is in use.
    pub fn volume_ref_counts(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT name, COUNT(DISTINCT container_id) FROM container_mounts
                 WHERE type = 'volume' GROUP BY name",
            )
            .map_err(|e| self.err(e))?;
        let rows: Vec<(String, i64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("db")).unwrap();
        let v = VolumeRecord {
            name: "data".into(),
            driver: "local".into(),
            created: 7,
            labels: BTreeMap::from([("a".into(), "b".into())]),
            options: BTreeMap::new(),
            anonymous: false,
        };
        assert!(db.insert_volume(&v).unwrap());
        assert!(!db.insert_volume(&v).unwrap());
        assert_eq!(db.volume("data").unwrap(), Some(v.clone()));
        assert_eq!(db.volumes().unwrap(), vec![v]);
        assert!(db.delete_volume("data").unwrap());
        assert!(!db.delete_volume("data").unwrap());
        assert_eq!(db.volume("data").unwrap(), None);
    }

    #[test]
    fn container_mounts_follow_their_container() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("db")).unwrap();
        db.conn()
            .execute_batch(
                "INSERT INTO images (id, created, size, added) VALUES ('img', 0, 0, 0);
                 INSERT INTO containers VALUES ('c1', 'one', 0, 'img', 'i', '{}', '{}', '{}');
                 INSERT INTO containers VALUES ('c2', 'two', 0, 'img', 'i', '{}', '{}', '{}');",
            )
            .unwrap();
        let vol = |dest: &str| MountRecord {
            kind: "volume".into(),
            name: "data".into(),
            destination: dest.into(),
            driver: "local".into(),
            rw: true,
            copy_data: true,
            ..Default::default()
        };
        let bind = MountRecord {
            kind: "bind".into(),
            source: "/h".into(),
            destination: "/b".into(),
            propagation: "rprivate".into(),
            ..Default::default()
        };
        db.set_container_mounts("c1", &[vol("/d"), bind.clone()])
            .unwrap();
        db.set_container_mounts("c2", &[vol("/x"), vol("/y")])
            .unwrap();
        assert_eq!(
            db.container_mounts("c1").unwrap(),
            vec![bind.clone(), vol("/d")]
        );
        assert_eq!(db.volume_users("data").unwrap(), vec!["c1", "c2"]);
        assert_eq!(db.volume_ref_counts().unwrap()["data"], 2);
        db.set_mount_source("c1", "/d", "/mnt/p").unwrap();
        assert_eq!(db.container_mounts("c1").unwrap()[1].source, "/mnt/p");
        db.conn()
            .execute("DELETE FROM containers WHERE id = 'c2'", [])
            .unwrap();
        assert_eq!(db.volume_users("data").unwrap(), vec!["c1"]);
        assert!(db.set_container_mounts("nope", &[vol("/d")]).is_err());
    }
}
