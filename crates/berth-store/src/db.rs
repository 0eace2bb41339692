//! `berth.db`: the SQLite metadata database and its schema migrations.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension};

use crate::StoreError;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
/// Append new steps, never edit old ones.
const MIGRATIONS: &[&str] = &[
    // 1: daemon-wide key/value facts (daemon ID, ...).
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;",
    // 2: the image store. Layers are keyed by chain ID (one directory each, shared by every
    // image that has them); `image_layers` is the reference count that decides when a layer
    // and its blob may go. Tags and digests use full names (docker.io/library/busybox:latest).
    "CREATE TABLE layers (
        chain_id TEXT PRIMARY KEY NOT NULL,
        diff_id TEXT NOT NULL,
        parent TEXT,
        blob_digest TEXT NOT NULL,
        media_type TEXT NOT NULL,
        blob_size INTEGER NOT NULL,
        size INTEGER NOT NULL
     ) STRICT;
     CREATE TABLE images (
        id TEXT PRIMARY KEY NOT NULL,
        created INTEGER NOT NULL,
        size INTEGER NOT NULL,
        added INTEGER NOT NULL,
        last_tag_time INTEGER
     ) STRICT;
     CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        chain_id TEXT NOT NULL REFERENCES layers(chain_id),
        PRIMARY KEY (image_id, position)
     ) STRICT;
     CREATE INDEX image_layers_chain ON image_layers(chain_id);
     CREATE TABLE tags (
        name TEXT PRIMARY KEY NOT NULL,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
     ) STRICT;
     CREATE INDEX tags_image ON tags(image_id);
     CREATE TABLE repo_digests (
        name TEXT PRIMARY KEY NOT NULL,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
     ) STRICT;",
    // 3: volumes (the local driver's; labels and options as JSON objects).
    "CREATE TABLE volumes (
        name TEXT PRIMARY KEY NOT NULL,
        driver TEXT NOT NULL,
        created INTEGER NOT NULL,
        labels TEXT NOT NULL,
        options TEXT NOT NULL,
        anonymous INTEGER NOT NULL
     ) STRICT;",
    // 4: containers. `config` and `host_config` hold the create request's JSON as
    // normalised by the engine; `state` the mutable run state as JSON.
    "CREATE TABLE containers (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL UNIQUE,
        created INTEGER NOT NULL,
        image_id TEXT NOT NULL REFERENCES images(id),
        image_ref TEXT NOT NULL,
        config TEXT NOT NULL,
        host_config TEXT NOT NULL,
        state TEXT NOT NULL
     ) STRICT;
     CREATE INDEX containers_image ON containers(image_id);",
    // 5: networks. `endpoints` is a container's membership of a network: its requested
    // settings always, its address and links while it runs. `sandboxes` holds a running
    // container's pinned network namespace and published ports, so a restarted berthd can
    // rebuild its rules and proxies.
    "CREATE TABLE networks (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL UNIQUE,
        driver TEXT NOT NULL,
        created INTEGER NOT NULL,
        internal INTEGER NOT NULL,
        attachable INTEGER NOT NULL,
        labels TEXT NOT NULL,
        options TEXT NOT NULL,
        ipam TEXT NOT NULL
     ) STRICT;
     CREATE TABLE endpoints (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        network_id TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
        config TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        ip TEXT NOT NULL,
        mac TEXT NOT NULL,
        ifname TEXT NOT NULL,
        host_if TEXT NOT NULL,
        PRIMARY KEY (container_id, network_id)
     ) STRICT;
     CREATE INDEX endpoints_network ON endpoints(network_id);
     CREATE TABLE sandboxes (
        container_id TEXT PRIMARY KEY NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        netns TEXT NOT NULL,
        ports TEXT NOT NULL
     ) STRICT;",
    // 6: the mounts of each container as resolved at create (inspect's `Mounts`; the
    // volumes a container uses, so in-use volumes are not removed). `inherited` marks
    // mounts copied from `--volumes-from`.
    "CREATE TABLE container_mounts (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        destination TEXT NOT NULL,
        type TEXT NOT NULL,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        driver TEXT NOT NULL,
        mode TEXT NOT NULL,
        rw INTEGER NOT NULL,
        propagation TEXT NOT NULL,
        copy_data INTEGER NOT NULL,
        inherited INTEGER NOT NULL,
        PRIMARY KEY (container_id, destination)
     ) STRICT;
     CREATE INDEX container_mounts_volume ON container_mounts(name);",
    // 7: the build step cache —
    // a step's cache key → the image it produced on `parent_id`.
    "CREATE TABLE build_cache (
        key TEXT PRIMARY KEY NOT NULL,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        parent_id TEXT NOT NULL,
        created INTEGER NOT NULL,
        last_used INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX build_cache_image ON build_cache(image_id);
     CREATE INDEX build_cache_parent ON build_cache(parent_id);",
];

/// The schema version this build of berth writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The metadata database. One connection behind a mutex: berthd's writes are small and
/// rare next to the cost of a container start, and SQLite serialises writers anyway.
#[derive(Debug)]
pub struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let err = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        migrate(&mut conn, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The schema version found in the file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Reads a daemon-wide fact.
    pub fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Writes a daemon-wide fact.
    pub fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The daemon's stable ID (`docker info` → ID), generated on first start.
    pub fn daemon_id(&self) -> Result<String, StoreError> {
        if let Some(id) = self.meta_get("daemon_id")? {
            return Ok(id);
        }
        let bytes: [u8; 16] = rand::random();
        let h = hex::encode(bytes);
        let id = format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        );
        self.meta_set("daemon_id", &id)?;
        Ok(id)
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (each statement
        // is atomic), so a poisoned mutex is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let err = |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(err)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(err)?;
        tx.commit().map_err(err)?;
        tracing::info!(version = i + 1, db = %path.display(), "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_and_keeps_daemon_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let id = {
            let db = Db::open(&path).unwrap();
            assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
            db.daemon_id().unwrap()
        };
        let db = Db::open(&path).unwrap();
        assert_eq!(db.daemon_id().unwrap(), id);
        assert_eq!(id.len(), 36);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
                .unwrap();
        }
        let err = Db::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err}");
        assert!(err.to_string().contains("upgrade berth"));
    }
}
