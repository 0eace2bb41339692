//! The `Mounts` entries and `Devices` mappings of a `HostConfig`.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::SpecError;
use crate::serde_util::null_default;

/// One `HostConfig.Mounts` entry (`--mount type=...`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Mount {
    #[serde(deserialize_with = "null_default")]
    pub target: String,
    #[serde(deserialize_with = "null_default")]
    pub source: String,
    /// `bind`, `volume`, `tmpfs` (`npipe`, `cluster` and `image` are refused).
    #[serde(deserialize_with = "null_default")]
    pub r#type: String,
    #[serde(deserialize_with = "null_default")]
    pub read_only: bool,
    #[serde(deserialize_with = "null_default")]
    pub consistency: String,
    pub bind_options: Option<BindOptions>,
    pub volume_options: Option<VolumeOptions>,
    pub tmpfs_options: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BindOptions {
    #[serde(deserialize_with = "null_default")]
    pub propagation: String,
    #[serde(deserialize_with = "null_default")]
    pub non_recursive: bool,
    #[serde(deserialize_with = "null_default")]
    pub create_mountpoint: bool,
    #[serde(deserialize_with = "null_default")]
    pub read_only_non_recursive: bool,
    #[serde(deserialize_with = "null_default")]
    pub read_only_force_recursive: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    #[serde(deserialize_with = "null_default")]
    pub no_copy: bool,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    pub driver_config: Option<VolumeDriver>,
    #[serde(deserialize_with = "null_default")]
    pub subpath: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeDriver {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    #[serde(deserialize_with = "null_default")]
    pub size_bytes: i64,
    #[serde(deserialize_with = "null_default")]
    pub mode: u32,
    /// Extra options as `[["exec"], ["nr_inodes", "100"]]`.
    #[serde(deserialize_with = "null_default")]
    pub options: Vec<Vec<String>>,
}

/// One `HostConfig.Devices` entry (`--device /dev/x:/dev/y:rwm`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeviceMapping {
    #[serde(deserialize_with = "null_default")]
    pub path_on_host: String,
    #[serde(deserialize_with = "null_default")]
    pub path_in_container: String,
    #[serde(deserialize_with = "null_default")]
    pub cgroup_permissions: String,
}

/// Whether `mode` is a non-empty combination of `r`, `w`, `m`, each at most once.
pub(crate) fn valid_device_mode(mode: &str) -> bool {
    !mode.is_empty()
        && mode.len() <= 3
        && mode.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
        && mode
            .chars()
            .enumerate()
            .all(|(i, c)| !mode[..i].contains(c))
}

/// The docker CLI's `--device` syntax: `host[:container][:permissions]`.
impl FromStr for DeviceMapping {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, SpecError> {
        let parts: Vec<&str> = s.splitn(4, ':').collect();
        let mut permissions = "rwm";
        let mut dst = "";
        match parts.len() {
            1..=3 => {
                if parts.len() == 3 {
                    permissions = parts[2];
                }
                if parts.len() >= 2 {
                    // Docker's quirk: a valid mode in the middle wins over the third part.
                    if valid_device_mode(parts[1]) {
                        permissions = parts[1];
                    } else {
                        dst = parts[1];
                    }
                }
            }
            _ => {
                return Err(SpecError::invalid(format!(
                    "invalid device specification: {s}"
                )))
            }
        }
        let src = parts[0];
        Ok(DeviceMapping {
            path_on_host: src.to_string(),
            path_in_container: if dst.is_empty() { src } else { dst }.to_string(),
            cgroup_permissions: permissions.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(s: &str) -> (String, String, String) {
        let d: DeviceMapping = s.parse().unwrap();
        (d.path_on_host, d.path_in_container, d.cgroup_permissions)
    }

    #[test]
    fn device_syntax() {
        let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(dev("/dev/fuse"), t("/dev/fuse", "/dev/fuse", "rwm"));
        assert_eq!(dev("/dev/sda:/dev/xvda"), t("/dev/sda", "/dev/xvda", "rwm"));
        assert_eq!(dev("/dev/sda:r"), t("/dev/sda", "/dev/sda", "r"));
        assert_eq!(
            dev("/dev/sda:/dev/xvda:rw"),
            t("/dev/sda", "/dev/xvda", "rw")
        );
        assert!("/a:/b:rw:x".parse::<DeviceMapping>().is_err());
    }

    #[test]
    fn device_modes() {
        assert!(valid_device_mode("rwm"));
        assert!(valid_device_mode("mr"));
        assert!(!valid_device_mode(""));
        assert!(!valid_device_mode("rr"));
        assert!(!valid_device_mode("rwx"));
    }

    #[test]
    fn mount_json() {
        let m: Mount = serde_json::from_str(
            r#"{"Type":"tmpfs","Target":"/run","TmpfsOptions":{"SizeBytes":1024,"Mode":1023,
                "Options":[["exec"]]},"BindOptions":null}"#,
        )
        .unwrap();
        assert_eq!(m.r#type, "tmpfs");
        let t = m.tmpfs_options.unwrap();
        assert_eq!((t.size_bytes, t.mode), (1024, 0o1777));
        assert_eq!(t.options, vec![vec!["exec".to_string()]]);
    }
}
