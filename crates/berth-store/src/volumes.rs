//! Volume records in `berth.db`. The data itself lives in `<root>/volumes/<name>/_data`,
//! managed by the engine's volume driver.

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
}
