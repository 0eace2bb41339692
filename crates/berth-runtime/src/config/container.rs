//! `ContainerConfig` (the create body's top level, and inspect's `Config`) and the parts of
//! an image's config that feed a container.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::{null_default, strslice};

/// A set in Docker's JSON shape: `{"80/tcp": {}}`; only the keys carry meaning.
pub type KeySet = BTreeMap<String, serde_json::Value>;

/// Docker's `ContainerConfig`. Field names are Docker's; unknown fields are ignored and
/// `null` is accepted wherever Docker clients send it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    #[serde(deserialize_with = "null_default")]
    pub hostname: String,
    #[serde(deserialize_with = "null_default")]
    pub domainname: String,
    #[serde(deserialize_with = "null_default")]
    pub user: String,
    #[serde(deserialize_with = "null_default")]
    pub attach_stdin: bool,
    #[serde(deserialize_with = "null_default")]
    pub attach_stdout: bool,
    #[serde(deserialize_with = "null_default")]
    pub attach_stderr: bool,
    #[serde(deserialize_with = "null_default")]
    pub exposed_ports: KeySet,
    #[serde(deserialize_with = "null_default")]
    pub tty: bool,
    #[serde(deserialize_with = "null_default")]
    pub open_stdin: bool,
    #[serde(deserialize_with = "null_default")]
    pub stdin_once: bool,
    #[serde(deserialize_with = "null_default")]
    pub env: Vec<String>,
    /// `None` (JSON `null`) and `Some([])` differ: only `None` inherits the image's.
    #[serde(deserialize_with = "strslice")]
    pub cmd: Option<Vec<String>>,
    pub healthcheck: Option<HealthConfig>,
    #[serde(deserialize_with = "null_default")]
    pub args_escaped: bool,
    #[serde(deserialize_with = "null_default")]
    pub image: String,
    #[serde(deserialize_with = "null_default")]
    pub volumes: KeySet,
    #[serde(deserialize_with = "null_default")]
    pub working_dir: String,
    /// `None` inherits the image's entrypoint; `Some([""])` (`--entrypoint ""`) resets it.
    #[serde(deserialize_with = "strslice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(deserialize_with = "null_default")]
    pub network_disabled: bool,
    #[serde(deserialize_with = "null_default")]
    pub mac_address: String,
    #[serde(deserialize_with = "null_default")]
    pub on_build: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub stop_signal: String,
    pub stop_timeout: Option<i64>,
    #[serde(deserialize_with = "null_default")]
    pub shell: Vec<String>,
}

/// Docker's `HealthConfig`; durations are nanoseconds, 0 means "inherit".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthConfig {
    #[serde(deserialize_with = "null_default")]
    pub test: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub interval: i64,
    #[serde(deserialize_with = "null_default")]
    pub timeout: i64,
    #[serde(deserialize_with = "null_default")]
    pub retries: i64,
    #[serde(deserialize_with = "null_default")]
    pub start_period: i64,
    #[serde(deserialize_with = "null_default")]
    pub start_interval: i64,
}

/// What a container inherits from its image: the `config` object of the image's config
/// JSON (same field names), so it deserializes straight from there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageRuntimeConfig {
    #[serde(deserialize_with = "null_default")]
    pub user: String,
    #[serde(deserialize_with = "null_default")]
    pub exposed_ports: KeySet,
    #[serde(deserialize_with = "null_default")]
    pub env: Vec<String>,
    #[serde(deserialize_with = "strslice")]
    pub cmd: Option<Vec<String>>,
    #[serde(deserialize_with = "strslice")]
    pub entrypoint: Option<Vec<String>>,
    pub healthcheck: Option<HealthConfig>,
    #[serde(deserialize_with = "null_default")]
    pub args_escaped: bool,
    #[serde(deserialize_with = "null_default")]
    pub working_dir: String,
    #[serde(deserialize_with = "null_default")]
    pub volumes: KeySet,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub stop_signal: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserializes_a_docker_cli_create_body() {
        let body = r#"{
            "Hostname": "", "Domainname": "", "User": "", "AttachStdin": false,
            "AttachStdout": true, "AttachStderr": true, "Tty": false, "OpenStdin": false,
            "StdinOnce": false, "Env": null, "Cmd": ["sh", "-c", "echo hi"],
            "Image": "busybox", "Volumes": {}, "WorkingDir": "", "Entrypoint": null,
            "OnBuild": null, "Labels": {}, "StopTimeout": null,
            "HostConfig": {"Binds": null}, "NetworkingConfig": {"EndpointsConfig": {}}
        }"#;
        let c: ContainerConfig = serde_json::from_str(body).unwrap();
        assert_eq!(c.cmd.as_deref().unwrap()[2], "echo hi");
        assert!(c.env.is_empty());
        assert_eq!(c.entrypoint, None);
        assert!(c.attach_stdout);
        assert_eq!(c.image, "busybox");
    }

    #[test]
    fn image_config_from_oci_image_json() {
        let cfg = r#"{"Env":["PATH=/bin"],"Cmd":["sh"],"ExposedPorts":{"80/tcp":{}},
                      "Entrypoint":null,"WorkingDir":"/app","Labels":null}"#;
        let i: ImageRuntimeConfig = serde_json::from_str(cfg).unwrap();
        assert_eq!(i.env, vec!["PATH=/bin"]);
        assert!(i.exposed_ports.contains_key("80/tcp"));
        assert_eq!(i.working_dir, "/app");
    }

    #[test]
    fn round_trips_through_json() {
        let c = ContainerConfig {
            cmd: Some(vec!["true".into()]),
            entrypoint: Some(vec![]),
            ..Default::default()
        };
        let back: ContainerConfig =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
