//! # berth-api
//!
//! The Docker Engine API as berthd serves it: the wire types (re-exported from
//! `bollard-stubs`, generated from Docker's swagger spec, plus the few fields older clients
//! still read), the range of API versions served and how a request's version is checked,
//! and Docker's error body `{"message": ...}`.
//!
//! This crate owns *no engine logic*: it does not know how containers run or where images
//! live. The daemon maps engine results onto these types and engine errors onto
//! [`ErrorKind`]s; [`ErrorKind::status`] is the single place where an error kind becomes an
//! HTTP status code.

mod error;
mod events;
pub mod images;
mod version;
pub mod volumes;

pub use error::{ApiError, ErrorBody, ErrorKind};
pub mod detach;
pub use events::{parse_filter_json, Event, EventFilters};
pub use version::{ApiVersion, VersionError, MAX_API_VERSION, MIN_API_VERSION};

/// Generated Docker Engine API models (`SystemInfo`, `SystemVersion`, `EventMessage`, ...).
pub use bollard_stubs::models;
