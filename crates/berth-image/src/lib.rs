//! berth-image: what images look like, without storing them.
//!
//! This crate owns the formats:
//! - image references ([`Reference`]): Docker's normalization
//!   (`nginx` → `docker.io/library/nginx:latest`) and familiar forms;
//! - the image config JSON ([`ImageConfig`], [`ContainerConfig`]), digests
//!   and layer ChainIDs ([`chain_ids`]);
//! - the `--change` instructions of `docker import` / `docker commit`
//!   ([`apply_changes`]);
//! - Docker and OCI media types ([`mediatypes`]) and layer compression
//!   ([`Compression`]);
//! - `docker save` / `docker load` archives in Docker's and the OCI layout
//!   ([`read_archive`] on an extracted archive, [`write_archive`] to a tar
//!   stream).
//!
//! It does not own storage (the content store, unpacking layers, image
//! metadata: `berth-store`), registry I/O (pull/push), or extracting an
//! uploaded archive safely: it only reads and writes the files and streams
//! it is handed.

mod archive;
mod changes;
mod compression;
mod config;
pub mod mediatypes;
mod reference;

pub use archive::{
    read_archive, write_archive, ArchiveError, ArchiveImage, ArchiveLayer, SaveImage, SaveLayer,
};
pub use changes::{apply_changes, ChangeError};
pub use compression::Compression;
pub use config::{
    chain_ids, ContainerConfig, EmptyObject, HealthConfig, History, ImageConfig, RootFs,
};
pub use reference::{is_image_id_like, Reference, ReferenceError};
