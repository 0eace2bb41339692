//! The image config JSON (Docker image spec v1.2, OCI image config) with
//! Docker's field names.
//!
//! Every field is optional and unknown fields are kept in `extra`, so a
//! config read from anywhere serializes back with the same content. (Keep
//! the original bytes when the digest matters: re-serializing changes key
//! order and whitespace, and drops explicit `null`s.)

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The image config: what `docker image inspect` shows and what the image
/// ID is the digest of. Fields are in Docker's (alphabetical) key order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Legacy: the config of the build container. Kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<Value>,
    /// RFC 3339 time, e.g. `2024-01-02T03:04:05.123456789Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub os: String,
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Fields this type does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The layers of an image, as uncompressed-tar digests, bottom first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff_ids: Vec<String>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            kind: "layers".to_string(),
            diff_ids: Vec::new(),
        }
    }
}

/// One step of how the image was made; `empty_layer` steps have no layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The JSON value `{}` used as the value of `ExposedPorts` and `Volumes`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyObject {}

/// The container defaults an image carries (`config` in the image config),
/// Docker's `container.Config`, in its field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stdout: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_stderr: Option<bool>,
    /// `"80/tcp": {}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_stdin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin_once: Option<bool>,
    /// `KEY=value` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "Option::is_none"
    )]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, EmptyObject>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "Option::is_none"
    )]
    pub shell: Option<Vec<String>>,
    /// Fields this type does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Docker's `HealthConfig`; durations are nanoseconds, 0 means "inherit".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Docker's `strslice.StrSlice`: a JSON array of strings, or one string.
fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrSlice {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<StrSlice>::deserialize(d)?.map(|s| match s {
        StrSlice::One(s) => vec![s],
        StrSlice::Many(v) => v,
    }))
}

impl ImageConfig {
    /// The digest of config bytes, which is the image ID: `sha256:<hex>`.
    pub fn digest_of(bytes: &[u8]) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
    }
}

/// OCI ChainIDs of a layer stack: `chain[0] = diff[0]`,
/// `chain[n] = sha256(chain[n-1] + " " + diff[n])`. A ChainID names a layer
/// together with everything below it.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut chain: Vec<String> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match chain.last() {
            None => diff_id.clone(),
            Some(parent) => ImageConfig::digest_of(format!("{parent} {diff_id}").as_bytes()),
        };
        chain.push(next);
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config written by dockerd 20.10's classic builder.
    const DOCKER_CONFIG: &str = r##"{"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"80/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/bin","FOO=bar"],"Cmd":["/bin/sh"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":3},"Image":"sha256:fd9f","Volumes":null,"WorkingDir":"/data","Entrypoint":null,"OnBuild":null,"Labels":{"org.example.test":"yes"},"StopSignal":"SIGTERM"},"container":"c573fd7a6bef","container_config":{"Hostname":"c573fd7a6bef","Cmd":["/bin/sh","-c","#(nop) WORKDIR /data"]},"created":"2026-11-23T13:11:19.142510471Z","docker_version":"20.10.24+dfsg1","history":[{"created":"2026-11-23T13:11:18.758560682Z","comment":"Imported from -"},{"created":"2026-11-23T13:11:18.873043821Z","created_by":"/bin/sh -c #(nop)  LABEL org.example.test=yes","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:dde95862852057e53c1cb4e1563ff3802b7d7e465d601c0f45d78f2c190ed624"]}}"##;

    #[test]
    fn parses_docker_config() {
        let cfg: ImageConfig = serde_json::from_str(DOCKER_CONFIG).unwrap();
        assert_eq!(cfg.architecture, "amd64");
        assert_eq!(cfg.os, "linux");
        assert_eq!(cfg.rootfs.kind, "layers");
        assert_eq!(cfg.rootfs.diff_ids.len(), 1);
        assert_eq!(cfg.history.len(), 2);
        assert_eq!(cfg.history[1].empty_layer, Some(true));
        assert_eq!(cfg.container.as_deref(), Some("c573fd7a6bef"));
        let c = cfg.config.as_ref().unwrap();
        assert_eq!(c.cmd.as_deref(), Some(&["/bin/sh".to_string()][..]));
        assert_eq!(c.entrypoint, None);
        assert_eq!(c.working_dir.as_deref(), Some("/data"));
        assert_eq!(c.tty, Some(false));
        assert!(c.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
        let hc = c.healthcheck.as_ref().unwrap();
        assert_eq!(
            (hc.interval, hc.retries, hc.timeout),
            (Some(5_000_000_000), Some(3), None)
        );
        assert!(cfg.extra.is_empty() && c.extra.is_empty());
    }

    #[test]
    fn round_trips_including_unknown_fields() {
        let mut v: Value = serde_json::from_str(DOCKER_CONFIG).unwrap();
        v["moby.future"] = serde_json::json!({"x": [1, 2]});
        v["config"]["FutureField"] = serde_json::json!("y");
        v["history"][0]["future"] = serde_json::json!(true);
        v["os.version"] = serde_json::json!("10.0");
        v["variant"] = serde_json::json!("v8");
        let cfg: ImageConfig = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(cfg.os_version.as_deref(), Some("10.0"));
        assert_eq!(cfg.extra["moby.future"], serde_json::json!({"x": [1, 2]}));
        let back = serde_json::to_value(&cfg).unwrap();
        // Explicit nulls are dropped; everything else survives.
        let mut expected = v;
        for k in ["Volumes", "Entrypoint", "OnBuild"] {
            expected["config"].as_object_mut().unwrap().remove(k);
        }
        assert_eq!(back, expected);
    }

    #[test]
    fn minimal_and_odd_configs() {
        let cfg: ImageConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg.rootfs, RootFs::default());
        assert_eq!(
            serde_json::to_string(&cfg).unwrap(),
            r#"{"rootfs":{"type":"layers"}}"#
        );
        let cfg: ImageConfig = serde_json::from_str(
            r#"{"config":{"Cmd":"echo hi","Entrypoint":null,"Shell":["/bin/bash","-c"]}}"#,
        )
        .unwrap();
        let c = cfg.config.unwrap();
        assert_eq!(c.cmd, Some(vec!["echo hi".to_string()]));
        assert_eq!(c.shell.map(|s| s.len()), Some(2));
        assert_eq!(c.entrypoint, None);
    }

    #[test]
    fn serializes_docker_names() {
        let c = ContainerConfig {
            exposed_ports: Some(BTreeMap::from([("80/tcp".to_string(), EmptyObject {})])),
            working_dir: Some("/w".into()),
            on_build: Some(vec!["RUN x".into()]),
            args_escaped: Some(true),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"ExposedPorts":{"80/tcp":{}},"ArgsEscaped":true,"WorkingDir":"/w","OnBuild":["RUN x"]}"#
        );
    }

    #[test]
    fn digest_and_chain_ids() {
        assert_eq!(
            ImageConfig::digest_of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Values from the OCI image spec's ChainID example.
        let diff = [
            "sha256:a9561eb1b190625c9adb5a9513e72c4dedafc1cb2d4c5236c9a6957ec7dfd5a9",
            "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b",
        ]
        .map(String::from);
        let chain = chain_ids(&diff);
        assert_eq!(chain[0], diff[0]);
        let expected = ImageConfig::digest_of(format!("{} {}", diff[0], diff[1]).as_bytes());
        assert_eq!(chain[1], expected);
        assert!(chain_ids(&[]).is_empty());
    }
}
