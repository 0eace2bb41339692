//! # berth-registry
//!
//! The registry client behind `docker pull`, `push` and `login` on berthd: the
//! [distribution API](https://distribution.github.io/distribution/spec/api/) over HTTP/1.1,
//! with rustls on the ring provider only.
//!
//! - [`RegistryConfig`]: dockerd's `insecure-registries` (plus 127.0.0.0/8 and ::1 always),
//!   `registry-mirrors` for Docker Hub, and `certs.d/<host>/` CA and client certificates;
//! - [`Registries`]: which endpoints serve a registry domain and in which order (mirrors,
//!   then `registry-1.docker.io`; HTTPS, then — for insecure registries — unverified HTTPS
//!   and plain HTTP), `/v2/` pings, and `login`;
//! - [`Repository`]: manifests (fetched with their exact bytes and digest), blob downloads
//!   streamed to a file and verified against their digest, blob existence checks,
//!   cross-repository mounts, monolithic and chunked uploads, manifest uploads, tag lists;
//! - [`Credentials`] and the Basic and Bearer-token flows ([`auth`]): tokens fetched per
//!   scope, cached until they expire, fetched again after a 401;
//! - [`manifest`]: Docker schema 2 / OCI manifests and indexes, platform selection.
//!
//! Nothing here knows about the image store or the Engine API: berthd decides what to
//! download and where to put it.

pub mod auth;
mod client;
mod config;
mod error;
pub mod manifest;
mod transport;

pub use auth::Credentials;
pub use client::{
    server_domain, Access, Endpoint, Mount, ProgressFn, Registries, Repository, SearchResult,
    DEFAULT_CHUNK_SIZE,
};
pub use config::{
    Cidr, RegistryConfig, DEFAULT_CERTS_DIRS, DOCKER_HUB_DOMAIN, DOCKER_HUB_HOST, DOCKER_HUB_INDEX,
};
pub use error::{ErrorEntry, RegistryError};
pub use manifest::{Descriptor, FetchedManifest, Manifest, PlatformSpec};
