//! Docker container options → an OCI runtime spec (a bundle's `config.json`).
//!
//! This crate owns the translation moby does in `daemon/oci_linux.go`: it takes a
//! container's `ContainerConfig` and `HostConfig` as the Docker Engine API sends them, the
//! image's config and a few facts about the host, and produces the [`oci_spec`] `Spec` a
//! runtime (youki's libcontainer in `berth-shim`, or runc/crun) executes. It carries
//! Docker's security defaults: the 14 default capabilities, the default seccomp profile
//! (embedded), masked and read-only `/proc` paths, the default device rules, and Docker's
//! validation messages for resources, mounts, ulimits, sysctls and security options.
//!
//! It owns no side effects beyond reading the image's `/etc/passwd` and `/etc/group`
//! (without leaving the rootfs) and writing `config.json` ([`write_bundle`]): it spawns no
//! process, mounts nothing, writes no cgroup, creates no volume or bind source directory.
//! Host facts come through the [`HostFacts`] trait ([`LinuxHost`] reads the machine,
//! [`FakeHost`] is for tests), so every rule is testable without root.
//!
//! Flow: [`build_spec`] with a [`SpecInput`] → [`write_bundle`]. Callers that want Docker's
//! create-time checks early can call [`merge_image_config`] and [`parse_bind`] on their
//! own; `build_spec` repeats them.

mod bundle;
pub mod caps;
pub mod config;
mod devices;
mod error;
pub mod exec;
pub mod host;
pub mod mounts;
pub mod namespaces;
pub mod process;
pub mod resources;
mod rlimits;
mod rootfs;
pub mod seccomp;
pub mod security_opt;
mod serde_util;
mod spec;
mod sysctls;
mod user;

pub use bundle::{write_bundle, CONFIG_JSON};
pub use caps::CapSet;
pub use config::{merge_image_config, ContainerConfig, HostConfig, ImageRuntimeConfig};
pub use error::{ErrorKind, SpecError};
pub use exec::{exec_process, ExecRequest};
pub use host::{FakeHost, HostFacts, KernelVersion, LinuxHost};
pub use mounts::{parse_bind, BindSource, BindSpec, ResolvedMount};
pub use namespaces::NamespacePaths;
pub use rlimits::DEFAULT_NOFILE;
pub use spec::{
    build_spec, container_hostname, SpecInput, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS,
};
pub use user::{resolve_user, ExecUser};

/// The OCI spec types this crate produces.
pub use oci_spec::runtime::Spec;
