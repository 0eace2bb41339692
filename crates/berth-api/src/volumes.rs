//! Volume endpoints' bodies (API 1.41–1.47).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A volume as `GET /volumes/{name}` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Driver")]
    pub driver: String,
    #[serde(rename = "Mountpoint")]
    pub mountpoint: String,
    /// RFC 3339.
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    #[serde(rename = "Labels")]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "Scope")]
    pub scope: String,
    #[serde(rename = "Options")]
    pub options: BTreeMap<String, String>,
    #[serde(rename = "UsageData", skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<VolumeUsage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeUsage {
    #[serde(rename = "Size")]
    pub size: i64,
    #[serde(rename = "RefCount")]
    pub ref_count: i64,
}

/// `POST /volumes/create` body. Unknown fields are ignored, as dockerd does.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct VolumeCreateBody {
    #[serde(rename = "Name", default)]
    pub name: String,
    #[serde(rename = "Driver", default)]
    pub driver: String,
    #[serde(rename = "DriverOpts", default)]
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(rename = "Labels", default)]
    pub labels: Option<BTreeMap<String, String>>,
}

/// `GET /volumes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeList {
    #[serde(rename = "Volumes")]
    pub volumes: Vec<Volume>,
    #[serde(rename = "Warnings")]
    pub warnings: Vec<String>,
}

/// `POST /volumes/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumePruneResponse {
    #[serde(rename = "VolumesDeleted")]
    pub volumes_deleted: Vec<String>,
    #[serde(rename = "SpaceReclaimed")]
    pub space_reclaimed: i64,
}
