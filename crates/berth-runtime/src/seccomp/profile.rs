//! Docker's seccomp profile JSON (moby `profiles/seccomp/seccomp.go` types).

use std::path::PathBuf;

use oci_spec::runtime::{Arch, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag};
use serde::Deserialize;

use crate::serde_util::null_default;

/// A profile in Docker's format: OCI fields plus `archMap` and per-rule conditions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Profile {
    pub default_action: Option<LinuxSeccompAction>,
    pub default_errno_ret: Option<u32>,
    #[serde(deserialize_with = "null_default")]
    pub architectures: Vec<Arch>,
    #[serde(deserialize_with = "null_default")]
    pub arch_map: Vec<ArchMap>,
    #[serde(deserialize_with = "null_default")]
    pub flags: Vec<LinuxSeccompFilterFlag>,
    pub listener_path: Option<PathBuf>,
    pub listener_metadata: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub syscalls: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: Arch,
    #[serde(default, deserialize_with = "null_default")]
    pub sub_architectures: Vec<Arch>,
}

/// One `syscalls` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// The legacy single-name form; exclusive with `names`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub names: Vec<String>,
    pub action: LinuxSeccompAction,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_default")]
    pub args: Vec<LinuxSeccompArg>,
    #[serde(default, deserialize_with = "null_default")]
    pub includes: Filter,
    #[serde(default, deserialize_with = "null_default")]
    pub excludes: Filter,
}

/// Conditions of a rule: the container's capabilities, the host's arch and kernel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Filter {
    #[serde(deserialize_with = "null_default")]
    pub caps: Vec<String>,
    #[serde(deserialize_with = "null_default")]
    pub arches: Vec<String>,
    pub min_kernel: Option<String>,
}
