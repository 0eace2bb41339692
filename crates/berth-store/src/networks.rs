//! Network records in `berth.db`: networks, each container's endpoint on a network (the
//! requested settings, and the address and links while it runs), and each running
//! container's network sandbox (its pinned namespace and published ports). The engine
//! decides what these mean; the kernel state is made by `berth-net`.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Row};

use crate::{Db, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRecord {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    /// `bridge`, `host`, `null`, `macvlan`.
    pub driver: String,
    /// Unix nanoseconds.
    pub created: i64,
    pub internal: bool,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// Docker's `IPAM` object as JSON (`{"Driver":..,"Config":[{"Subnet":..}],"Options":..}`).
    pub ipam: String,
}

/// A container's membership of a network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointRecord {
    pub container_id: String,
    pub network_id: String,
    /// The requested `EndpointSettings` (IPAMConfig, Aliases, ...) as JSON.
    pub config: String,
    /// Set while the container runs; empty otherwise.
    pub endpoint_id: String,
    pub ip: String,
    pub mac: String,
    /// The interface inside the container (`eth0`).
    pub ifname: String,
    /// The host end of the veth pair (bridge networks).
    pub host_if: String,
}

/// A running container's network sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxRecord {
    pub container_id: String,
    /// The pinned namespace file; empty for host networking.
    pub netns: String,
    /// The published ports as made, JSON.
    pub ports: String,
}

const NET_COLUMNS: &str = "id, name, driver, created, internal, attachable, labels, options, ipam";
const EP_COLUMNS: &str = "container_id, network_id, config, endpoint_id, ip, mac, ifname, host_if";

fn network_row(r: &Row<'_>) -> rusqlite::Result<NetworkRecord> {
    let labels: String = r.get(6)?;
    let options: String = r.get(7)?;
    Ok(NetworkRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        driver: r.get(2)?,
        created: r.get(3)?,
        internal: r.get(4)?,
        attachable: r.get(5)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        options: serde_json::from_str(&options).unwrap_or_default(),
        ipam: r.get(8)?,
    })
}

fn endpoint_row(r: &Row<'_>) -> rusqlite::Result<EndpointRecord> {
    Ok(EndpointRecord {
        container_id: r.get(0)?,
        network_id: r.get(1)?,
        config: r.get(2)?,
        endpoint_id: r.get(3)?,
        ip: r.get(4)?,
        mac: r.get(5)?,
        ifname: r.get(6)?,
        host_if: r.get(7)?,
    })
}

impl Db {
    /// Records a new network; false (and no change) when the name is taken.
    pub fn insert_network(&self, n: &NetworkRecord) -> Result<bool, StoreError> {
        let labels = serde_json::to_string(&n.labels).unwrap_or_else(|_| "{}".into());
        let options = serde_json::to_string(&n.options).unwrap_or_else(|_| "{}".into());
        self.conn()
            .execute(
                &format!("INSERT OR IGNORE INTO networks ({NET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![n.id, n.name, n.driver, n.created, n.internal, n.attachable, labels, options, n.ipam],
            )
            .map(|c| c == 1)
            .map_err(|e| self.err(e))
    }

    /// Rewrites a network's settings (the predefined `bridge` after a `--bip` change).
    pub fn update_network(&self, n: &NetworkRecord) -> Result<(), StoreError> {
        let labels = serde_json::to_string(&n.labels).unwrap_or_else(|_| "{}".into());
        let options = serde_json::to_string(&n.options).unwrap_or_else(|_| "{}".into());
        self.conn()
            .execute(
                "UPDATE networks SET labels = ?2, options = ?3, ipam = ?4, internal = ?5 WHERE id = ?1",
                params![n.id, labels, options, n.ipam, n.internal],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn networks_where(&self, clause: &str, arg: &str) -> Result<Vec<NetworkRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!(
                "SELECT {NET_COLUMNS} FROM networks {clause} ORDER BY created"
            ))
            .map_err(|e| self.err(e))?;
        let rows = if clause.is_empty() {
            st.query_map([], network_row)
        } else {
            st.query_map([arg], network_row)
        }
        .and_then(Iterator::collect)
        .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    pub fn network(&self, id: &str) -> Result<Option<NetworkRecord>, StoreError> {
        Ok(self.networks_where("WHERE id = ?1", id)?.pop())
    }

    pub fn network_by_name(&self, name: &str) -> Result<Option<NetworkRecord>, StoreError> {
        Ok(self.networks_where("WHERE name = ?1", name)?.pop())
    }

    /// Networks whose ID starts with `prefix`.
    pub fn networks_by_prefix(&self, prefix: &str) -> Result<Vec<NetworkRecord>, StoreError> {
        let pattern = format!("{}%", prefix.replace(['%', '_'], ""));
        self.networks_where("WHERE id LIKE ?1", &pattern)
    }

    /// Every network, oldest first.
    pub fn networks(&self) -> Result<Vec<NetworkRecord>, StoreError> {
        self.networks_where("", "")
    }

    /// Forgets a network and every endpoint on it; returns whether it existed.
    pub fn delete_network(&self, id: &str) -> Result<bool, StoreError> {
        self.conn()
            .execute("DELETE FROM networks WHERE id = ?1", [id])
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Inserts or replaces a container's endpoint on a network.
    pub fn put_endpoint(&self, e: &EndpointRecord) -> Result<(), StoreError> {
        self.conn()
            .execute(
                &format!("INSERT OR REPLACE INTO endpoints ({EP_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![e.container_id, e.network_id, e.config, e.endpoint_id, e.ip, e.mac, e.ifname, e.host_if],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    fn endpoints_where(&self, clause: &str, arg: &str) -> Result<Vec<EndpointRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!(
                "SELECT {EP_COLUMNS} FROM endpoints {clause} ORDER BY rowid"
            ))
            .map_err(|e| self.err(e))?;
        let rows = if clause.is_empty() {
            st.query_map([], endpoint_row)
        } else {
            st.query_map([arg], endpoint_row)
        }
        .and_then(Iterator::collect)
        .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// A container's endpoints, in the order they were added.
    pub fn container_endpoints(
        &self,
        container_id: &str,
    ) -> Result<Vec<EndpointRecord>, StoreError> {
        self.endpoints_where("WHERE container_id = ?1", container_id)
    }

    /// The endpoints on a network.
    pub fn network_endpoints(&self, network_id: &str) -> Result<Vec<EndpointRecord>, StoreError> {
        self.endpoints_where("WHERE network_id = ?1", network_id)
    }

    /// Every endpoint.
    pub fn endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        self.endpoints_where("", "")
    }

    pub fn delete_endpoint(
        &self,
        container_id: &str,
        network_id: &str,
    ) -> Result<bool, StoreError> {
        self.conn()
            .execute(
                "DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2",
                [container_id, network_id],
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    pub fn put_sandbox(&self, s: &SandboxRecord) -> Result<(), StoreError> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO sandboxes (container_id, netns, ports) VALUES (?1, ?2, ?3)",
                params![s.container_id, s.netns, s.ports],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn sandbox(&self, container_id: &str) -> Result<Option<SandboxRecord>, StoreError> {
        self.conn()
            .query_row(
                "SELECT container_id, netns, ports FROM sandboxes WHERE container_id = ?1",
                [container_id],
                |r| {
                    Ok(SandboxRecord {
                        container_id: r.get(0)?,
                        netns: r.get(1)?,
                        ports: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn sandboxes(&self) -> Result<Vec<SandboxRecord>, StoreError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT container_id, netns, ports FROM sandboxes")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(SandboxRecord {
                    container_id: r.get(0)?,
                    netns: r.get(1)?,
                    ports: r.get(2)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    pub fn delete_sandbox(&self, container_id: &str) -> Result<bool, StoreError> {
        self.conn()
            .execute(
                "DELETE FROM sandboxes WHERE container_id = ?1",
                [container_id],
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_and_endpoint_records() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("db")).unwrap();
        let n = NetworkRecord {
            id: "ab".repeat(32),
            name: "front".into(),
            driver: "bridge".into(),
            created: 5,
            internal: false,
            attachable: false,
            labels: BTreeMap::from([("k".into(), "v".into())]),
            options: BTreeMap::new(),
            ipam: "{}".into(),
        };
        assert!(db.insert_network(&n).unwrap());
        assert!(!db.insert_network(&n).unwrap());
        assert_eq!(db.network_by_name("front").unwrap(), Some(n.clone()));
        assert_eq!(db.networks_by_prefix("abab").unwrap(), vec![n.clone()]);
        assert!(db.networks_by_prefix("ff").unwrap().is_empty());
        // Endpoints need a container row.
        db.conn()
            .execute_batch(
                "INSERT INTO images (id, created, size, added) VALUES ('i', 0, 0, 0);
                 INSERT INTO containers VALUES ('c1', 'one', 0, 'i', 'busybox', '{}', '{}', '{}');",
            )
            .unwrap();
        let e = EndpointRecord {
            container_id: "c1".into(),
            network_id: n.id.clone(),
            config: "{}".into(),
            ip: "172.30.0.2".into(),
            ..Default::default()
        };
        db.put_endpoint(&e).unwrap();
        assert_eq!(db.network_endpoints(&n.id).unwrap(), vec![e.clone()]);
        db.put_sandbox(&SandboxRecord {
            container_id: "c1".into(),
            netns: "/x".into(),
            ports: "[]".into(),
        })
        .unwrap();
        assert_eq!(db.sandboxes().unwrap().len(), 1);
        assert!(db.delete_network(&n.id).unwrap());
        assert!(db.container_endpoints("c1").unwrap().is_empty(), "cascade");
        db.conn().execute_batch("DELETE FROM containers").unwrap();
        assert!(db.sandbox("c1").unwrap().is_none(), "cascade");
    }
}
