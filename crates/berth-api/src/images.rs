//! Image endpoints' response bodies, as API 1.41–1.47 define them (bollard-stubs follows a
//! newer spec that dropped fields current clients still read, like `VirtualSize`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// An item of `GET /images/json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    pub parent_id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub created: i64,
    pub size: i64,
    pub shared_size: i64,
    /// Same as `Size`; removed in API 1.44 but read by older clients.
    pub virtual_size: i64,
    pub labels: HashMap<String, String>,
    pub containers: i64,
}

/// `GET /images/{name}/json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageInspect {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "RepoTags")]
    pub repo_tags: Vec<String>,
    #[serde(rename = "RepoDigests")]
    pub repo_digests: Vec<String>,
    #[serde(rename = "Parent")]
    pub parent: String,
    #[serde(rename = "Comment")]
    pub comment: String,
    /// RFC 3339 with nanoseconds.
    #[serde(rename = "Created")]
    pub created: String,
    #[serde(rename = "Container")]
    pub container: String,
    #[serde(rename = "ContainerConfig")]
    pub container_config: serde_json::Value,
    #[serde(rename = "DockerVersion")]
    pub docker_version: String,
    #[serde(rename = "Author")]
    pub author: String,
    /// The image config's `config` object as stored.
    #[serde(rename = "Config")]
    pub config: serde_json::Value,
    #[serde(rename = "Architecture")]
    pub architecture: String,
    #[serde(rename = "Variant", skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(rename = "Os")]
    pub os: String,
    #[serde(rename = "OsVersion", skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(rename = "Size")]
    pub size: i64,
    #[serde(rename = "VirtualSize")]
    pub virtual_size: i64,
    #[serde(rename = "GraphDriver")]
    pub graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    #[serde(rename = "Metadata")]
    pub metadata: ImageMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphDriver {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Data")]
    pub data: HashMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub typ: String,
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageMetadata {
    /// RFC 3339, or Go's zero time when never tagged.
    #[serde(rename = "LastTagTime")]
    pub last_tag_time: String,
}

/// An item of `GET /images/{name}/history`, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryItem {
    /// The image ID on the top entry, `<missing>` below it.
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub tags: Option<Vec<String>>,
    pub size: i64,
    pub comment: String,
}

/// An item of `DELETE /images/{name}` and of `ImagesDeleted` in a prune.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDeleteItem {
    #[serde(rename = "Untagged", skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    #[serde(rename = "Deleted", skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

/// `POST /images/prune`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePruneResponse {
    #[serde(rename = "ImagesDeleted")]
    pub images_deleted: Option<Vec<ImageDeleteItem>>,
    #[serde(rename = "SpaceReclaimed")]
    pub space_reclaimed: i64,
}

/// One line of a JSON progress stream (`load`, `import`, `pull`, `push`, `build`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JsonMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(rename = "progressDetail", skip_serializing_if = "Option::is_none")]
    pub progress_detail: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux: Option<serde_json::Value>,
    #[serde(rename = "errorDetail", skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<ErrorDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub message: String,
}

impl JsonMessage {
    pub fn stream(text: impl Into<String>) -> Self {
        Self {
            stream: Some(text.into()),
            ..Default::default()
        }
    }
    pub fn status(text: impl Into<String>) -> Self {
        Self {
            status: Some(text.into()),
            ..Default::default()
        }
    }
    /// An error line; Docker clients stop and print `message`.
    pub fn error(message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            error_detail: Some(ErrorDetail {
                message: message.clone(),
            }),
            error: Some(message),
            ..Default::default()
        }
    }
    /// The line as sent: JSON plus `\r\n`, like dockerd.
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_default();
        v.extend_from_slice(b"\r\n");
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_match_the_spec() {
        let s = serde_json::to_value(ImageSummary::default()).unwrap();
        for k in [
            "Id",
            "ParentId",
            "RepoTags",
            "RepoDigests",
            "Created",
            "Size",
            "SharedSize",
            "VirtualSize",
            "Labels",
            "Containers",
        ] {
            assert!(s.get(k).is_some(), "{k}");
        }
        let e = JsonMessage::error("boom");
        assert_eq!(
            String::from_utf8(e.to_line()).unwrap(),
            "{\"errorDetail\":{\"message\":\"boom\"},\"error\":\"boom\"}\r\n"
        );
        let d = serde_json::to_string(&ImageDeleteItem {
            untagged: Some("a:b".into()),
            deleted: None,
        })
        .unwrap();
        assert_eq!(d, r#"{"Untagged":"a:b"}"#);
    }
}
